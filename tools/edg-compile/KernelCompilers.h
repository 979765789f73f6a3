//===- KernelCompilers.h - compile generated sources ------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The two compilers edg-compile hands generated code to: the host C++
// compiler for the CPU kernels (a shared object the runtime dlopens) and
// NVRTC for the CUDA kernels (a cubin per architecture, PTX for newer GPUs).
// NVRTC needs no GPU, so every build can compile, and check, every kernel.
//===----------------------------------------------------------------------===//
#ifndef EDG_TOOLS_EDG_COMPILE_KERNELCOMPILERS_H
#define EDG_TOOLS_EDG_COMPILE_KERNELCOMPILERS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace edg::tools {

/// Compiles `source` with `$CXX` (else `c++` on PATH) into a shared object:
/// `-O3 -fPIC -shared -fopenmp-simd -fno-trapping-math` (+ `-mavx2 -mfma` on
/// x86-64, as the runtime's own kernels) and `$EDG_CPU_CXXFLAGS`. On failure
/// the error holds the compiler's output.
llvm::Expected<std::vector<uint8_t>> compileSharedObject(llvm::StringRef source);

/// The architecture string of the host, as stored in KernelBinary.arch.
std::string hostArch();

/// True when this edg-compile was built with NVRTC (EDG_ENABLE_CUDA).
bool haveNvrtc();

/// Compiles `source` with NVRTC for `arch`: "sm_XY[a]" gives a cubin,
/// "compute_XY" gives PTX. The error holds NVRTC's log.
llvm::Expected<std::vector<uint8_t>> compileCuda(llvm::StringRef source,
                                                 llvm::StringRef arch);

} // namespace edg::tools

#endif // EDG_TOOLS_EDG_COMPILE_KERNELCOMPILERS_H
