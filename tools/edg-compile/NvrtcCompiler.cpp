//===- NvrtcCompiler.cpp - generated CUDA -> cubin / PTX --------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// NVRTC compiles the generated translation unit once per architecture:
// `-arch=sm_XY` gives SASS (nvrtcGetCUBIN), `-arch=compute_XY` PTX that the
// driver JIT-compiles on GPUs newer than any cubin. The CUDA headers the
// kernels include (cuda_bf16.h, mma.h) come from the toolkit found at build
// time (EDG_CUDA_INCLUDE_DIR) or $EDG_CUDA_INCLUDE. Without EDG_ENABLE_CUDA
// this file only reports that NVRTC is missing.
//===----------------------------------------------------------------------===//
#include "tools/edg-compile/KernelCompilers.h"

#include <cstdlib>

#ifdef EDG_ENABLE_CUDA
#include <nvrtc.h>
#endif

using namespace llvm;

bool edg::tools::haveNvrtc() {
#ifdef EDG_ENABLE_CUDA
  return true;
#else
  return false;
#endif
}

Expected<std::vector<uint8_t>> edg::tools::compileCuda(StringRef source,
                                                       StringRef arch) {
#ifndef EDG_ENABLE_CUDA
  return createStringError(inconvertibleErrorCode(),
                           "this edg-compile was built without CUDA (NVRTC); "
                           "reconfigure with -DEDG_ENABLE_CUDA=ON");
#else
  auto fail = [&](const std::string &what, nvrtcResult r) {
    return createStringError(inconvertibleErrorCode(),
                             "NVRTC " + what + " for " + arch.str() + ": " +
                                 nvrtcGetErrorString(r));
  };
  nvrtcProgram prog;
  std::string text = source.str();
  if (nvrtcResult r = nvrtcCreateProgram(&prog, text.c_str(), "edg_kernels.cu",
                                         0, nullptr, nullptr))
    return fail("could not create a program", r);
  const char *env = std::getenv("EDG_CUDA_INCLUDE");
  std::string include = "-I" + std::string(env ? env : EDG_CUDA_INCLUDE_DIR);
  std::string archFlag = "-arch=" + arch.str();
  const char *options[] = {"-std=c++17", archFlag.c_str(), include.c_str(),
                           "-default-device", "-lineinfo"};
  nvrtcResult compiled = nvrtcCompileProgram(prog, 5, options);
  size_t logSize = 0;
  nvrtcGetProgramLogSize(prog, &logSize);
  std::string log(logSize, '\0');
  if (logSize)
    nvrtcGetProgramLog(prog, log.data());
  if (compiled != NVRTC_SUCCESS) {
    nvrtcDestroyProgram(&prog);
    return createStringError(inconvertibleErrorCode(),
                             "NVRTC failed to compile the generated CUDA for " +
                                 arch.str() + ":\n" + log);
  }
  std::vector<uint8_t> out;
  bool ptx = arch.starts_with("compute_");
  size_t size = 0;
  nvrtcResult got = ptx ? nvrtcGetPTXSize(prog, &size)
                        : nvrtcGetCUBINSize(prog, &size);
  if (got == NVRTC_SUCCESS) {
    out.resize(size);
    got = ptx ? nvrtcGetPTX(prog, reinterpret_cast<char *>(out.data()))
              : nvrtcGetCUBIN(prog, reinterpret_cast<char *>(out.data()));
  }
  nvrtcDestroyProgram(&prog);
  if (got != NVRTC_SUCCESS)
    return fail(ptx ? "could not return PTX" : "could not return a cubin", got);
  return out;
#endif
}
