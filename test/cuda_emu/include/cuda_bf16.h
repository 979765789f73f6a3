// cuda_bf16.h - empty stand-in for the CUDA header under the CPU emulator
// (test/cuda_emu/cuda_emu.h provides the types and functions).
// SPDX-License-Identifier: Apache-2.0
