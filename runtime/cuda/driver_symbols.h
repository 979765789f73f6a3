//===- driver_symbols.h - libcuda and libcublasLt through dlopen -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The runtime never links libcuda (a machine without the driver could not
// even start the program, TOOLCHAIN.md) nor cuBLASLt: both are dlopen'ed on
// first use and their entry points kept here, typed from the toolkit
// headers. Members are named after the exported symbols (the versioned
// `_v2` names that cuda.h's macros select), so error messages name the real
// function. Only built with EDG_ENABLE_CUDA (the headers are needed).
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_DRIVER_SYMBOLS_H
#define EDG_RUNTIME_CUDA_DRIVER_SYMBOLS_H

#include "runtime/cuda/cuda_device.h"

#include <cublasLt.h>
#include <cuda.h>

#include <string>

namespace edg::cuda {

#define EDG_DRIVER_SYMBOL(name) decltype(&::name) name = nullptr;

/// libcuda.so.1: the driver API calls the CUDA executor makes.
struct DriverSymbols {
  std::string library;
  EDG_DRIVER_SYMBOL(cuInit)
  EDG_DRIVER_SYMBOL(cuGetErrorName)
  EDG_DRIVER_SYMBOL(cuGetErrorString)
  EDG_DRIVER_SYMBOL(cuDeviceGetCount)
  EDG_DRIVER_SYMBOL(cuDeviceGet)
  EDG_DRIVER_SYMBOL(cuDeviceGetName)
  EDG_DRIVER_SYMBOL(cuDeviceGetAttribute)
  EDG_DRIVER_SYMBOL(cuDevicePrimaryCtxRetain)
  EDG_DRIVER_SYMBOL(cuDevicePrimaryCtxRelease_v2)
  EDG_DRIVER_SYMBOL(cuCtxSetCurrent)
  EDG_DRIVER_SYMBOL(cuStreamCreate)
  EDG_DRIVER_SYMBOL(cuStreamDestroy_v2)
  EDG_DRIVER_SYMBOL(cuStreamSynchronize)
  EDG_DRIVER_SYMBOL(cuMemAlloc_v2)
  EDG_DRIVER_SYMBOL(cuMemFree_v2)
  EDG_DRIVER_SYMBOL(cuMemAllocHost_v2)
  EDG_DRIVER_SYMBOL(cuMemFreeHost)
  EDG_DRIVER_SYMBOL(cuMemcpyHtoDAsync_v2)
  EDG_DRIVER_SYMBOL(cuMemcpyDtoHAsync_v2)
  EDG_DRIVER_SYMBOL(cuMemcpyDtoDAsync_v2)
  EDG_DRIVER_SYMBOL(cuMemsetD8Async)
  EDG_DRIVER_SYMBOL(cuModuleLoadData)
  EDG_DRIVER_SYMBOL(cuModuleUnload)
  EDG_DRIVER_SYMBOL(cuModuleGetFunction)
  EDG_DRIVER_SYMBOL(cuFuncSetAttribute)
  EDG_DRIVER_SYMBOL(cuLaunchKernel)
  // CUDA graphs of decode steps (stream capture).
  EDG_DRIVER_SYMBOL(cuStreamBeginCapture_v2)
  EDG_DRIVER_SYMBOL(cuStreamEndCapture)
  EDG_DRIVER_SYMBOL(cuGraphInstantiateWithFlags)
  EDG_DRIVER_SYMBOL(cuGraphLaunch)
  EDG_DRIVER_SYMBOL(cuGraphExecDestroy)
  EDG_DRIVER_SYMBOL(cuGraphDestroy)
};

/// libcublasLt.so: one GEMM with a heuristic algorithm.
struct CublasLtSymbols {
  std::string library;
  EDG_DRIVER_SYMBOL(cublasLtCreate)
  EDG_DRIVER_SYMBOL(cublasLtDestroy)
  EDG_DRIVER_SYMBOL(cublasLtMatmulDescCreate)
  EDG_DRIVER_SYMBOL(cublasLtMatmulDescDestroy)
  EDG_DRIVER_SYMBOL(cublasLtMatmulDescSetAttribute)
  EDG_DRIVER_SYMBOL(cublasLtMatrixLayoutCreate)
  EDG_DRIVER_SYMBOL(cublasLtMatrixLayoutDestroy)
  EDG_DRIVER_SYMBOL(cublasLtMatmulPreferenceCreate)
  EDG_DRIVER_SYMBOL(cublasLtMatmulPreferenceDestroy)
  EDG_DRIVER_SYMBOL(cublasLtMatmulPreferenceSetAttribute)
  EDG_DRIVER_SYMBOL(cublasLtMatmulAlgoGetHeuristic)
  EDG_DRIVER_SYMBOL(cublasLtMatmul)
};

#undef EDG_DRIVER_SYMBOL

/// Loaded once per process. Throws edg::Error saying which library or
/// symbol is missing ("no NVIDIA driver: libcuda.so.1 cannot be loaded").
const DriverSymbols &driver_symbols();
const CublasLtSymbols &cublaslt_symbols();

/// "CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", through the driver.
std::string driver_error_text(CUresult code);

/// Throws edg::Error "<call> failed: <driver_error_text> (<file>:<line>)".
[[noreturn]] void fail_driver(CUresult code, const char *call, const char *file,
                              int line);

} // namespace edg::cuda

/// Calls driver function `fn` (a DriverSymbols member) and turns a failure
/// into an edg::Error naming it: EDG_CU(cuMemAlloc_v2, &p, bytes).
#define EDG_CU(fn, ...)                                                        \
  do {                                                                         \
    CUresult edg_cu_status_ = ::edg::cuda::driver_symbols().fn(__VA_ARGS__);   \
    if (edg_cu_status_ != CUDA_SUCCESS)                                        \
      ::edg::cuda::fail_driver(edg_cu_status_, #fn, __FILE__, __LINE__);       \
  } while (0)

/// The same for cuBLASLt: EDG_LT(cublasLtMatmul, ...).
#define EDG_LT(fn, ...)                                                        \
  do {                                                                         \
    int edg_lt_status_ =                                                       \
        static_cast<int>(::edg::cuda::cublaslt_symbols().fn(__VA_ARGS__));     \
    if (edg_lt_status_ != 0)                                                   \
      ::edg::cuda::fail_cublas(edg_lt_status_, #fn, __FILE__, __LINE__);      \
  } while (0)

#endif // EDG_RUNTIME_CUDA_DRIVER_SYMBOLS_H
