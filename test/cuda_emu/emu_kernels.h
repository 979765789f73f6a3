//===- emu_kernels.h - generated CUDA built for the CPU emulator --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Builds the CUDA source edg-compile stores in model.bin with the host C++
// compiler ($CXX, else c++) against cuda_emu.h, dlopens the result and
// launches its kernels by name on host memory. Shared by edg-kernel-check
// --device=emu (kernel by kernel) and the emulated device of the CUDA
// executor tests (emu_device.h). Building takes a few seconds, so built
// sources are cached per process.
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_CUDA_EMU_EMU_KERNELS_H
#define EDG_TEST_CUDA_EMU_EMU_KERNELS_H

#include "runtime/cuda/launch_info.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edg::cuda_emu {

class EmuKernels {
public:
  /// The kernels of `source`, built on first use for this source. Throws
  /// edg::Error with the compiler command when the source does not build.
  static std::shared_ptr<const EmuKernels> get(const std::string &source);
  ~EmuKernels();
  EmuKernels(const EmuKernels &) = delete;
  EmuKernels &operator=(const EmuKernels &) = delete;

  /// Runs `kernel` over `grid` with `block` threads; `args` are its
  /// parameters, each 8 bytes (a host pointer or an int64). Not reentrant:
  /// the emulator's shared memory is one static buffer.
  void launch(const std::string &kernel, cuda::GridShape grid, unsigned block,
              const std::vector<uint64_t> &args) const;

private:
  EmuKernels() = default;
  void *handle_ = nullptr;
  void *launcher_ = nullptr; // edg_emu_launch
};

} // namespace edg::cuda_emu

#endif // EDG_TEST_CUDA_EMU_EMU_KERNELS_H
