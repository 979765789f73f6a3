//===- driver_symbols.cc - libcuda and libcublasLt through dlopen -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "runtime/cuda/driver_symbols.h"

#include "runtime/core/status.h"
#include "runtime/cuda/cuda_device.h"

#include <dlfcn.h>
#include <mutex>

namespace edg::cuda {

namespace {
/// The first of `names` that loads, or null with every dlerror in `why`.
void *open_first(std::initializer_list<const char *> names, std::string &loaded,
                 std::string &why) {
  for (const char *name : names) {
    if (void *h = ::dlopen(name, RTLD_NOW | RTLD_LOCAL)) {
      loaded = name;
      return h;
    }
    const char *e = ::dlerror();
    why += std::string(why.empty() ? "" : "; ") + (e ? e : name);
  }
  return nullptr;
}

template <class F> void load(void *h, F &fn, const char *name, std::string &missing) {
  fn = reinterpret_cast<F>(::dlsym(h, name));
  if (!fn)
    missing += std::string(missing.empty() ? "" : ", ") + name;
}

#define EDG_LOAD(table, name) load(h, table.name, #name, missing)

DriverSymbols load_driver() {
  DriverSymbols d;
  std::string why, missing;
  void *h = open_first({"libcuda.so.1", "libcuda.so"}, d.library, why);
  check(h != nullptr, "no NVIDIA driver: libcuda.so.1 cannot be loaded (", why,
        ")");
  EDG_LOAD(d, cuInit);
  EDG_LOAD(d, cuGetErrorName);
  EDG_LOAD(d, cuGetErrorString);
  EDG_LOAD(d, cuDeviceGetCount);
  EDG_LOAD(d, cuDeviceGet);
  EDG_LOAD(d, cuDeviceGetName);
  EDG_LOAD(d, cuDeviceGetAttribute);
  EDG_LOAD(d, cuDevicePrimaryCtxRetain);
  EDG_LOAD(d, cuDevicePrimaryCtxRelease_v2);
  EDG_LOAD(d, cuCtxSetCurrent);
  EDG_LOAD(d, cuStreamCreate);
  EDG_LOAD(d, cuStreamDestroy_v2);
  EDG_LOAD(d, cuStreamSynchronize);
  EDG_LOAD(d, cuMemAlloc_v2);
  EDG_LOAD(d, cuMemFree_v2);
  EDG_LOAD(d, cuMemAllocHost_v2);
  EDG_LOAD(d, cuMemFreeHost);
  EDG_LOAD(d, cuMemcpyHtoDAsync_v2);
  EDG_LOAD(d, cuMemcpyDtoHAsync_v2);
  EDG_LOAD(d, cuMemcpyDtoDAsync_v2);
  EDG_LOAD(d, cuMemsetD8Async);
  EDG_LOAD(d, cuModuleLoadData);
  EDG_LOAD(d, cuModuleUnload);
  EDG_LOAD(d, cuModuleGetFunction);
  EDG_LOAD(d, cuFuncSetAttribute);
  EDG_LOAD(d, cuLaunchKernel);
  EDG_LOAD(d, cuStreamBeginCapture_v2);
  EDG_LOAD(d, cuStreamEndCapture);
  EDG_LOAD(d, cuGraphInstantiateWithFlags);
  EDG_LOAD(d, cuGraphLaunch);
  EDG_LOAD(d, cuGraphExecDestroy);
  EDG_LOAD(d, cuGraphDestroy);
  check(missing.empty(), d.library, " lacks ", missing,
        " (a driver older than CUDA 11?)");
  return d;
}

CublasLtSymbols load_cublaslt() {
  CublasLtSymbols t;
  std::string why, missing;
  void *h = open_first({"libcublasLt.so.13", "libcublasLt.so.12",
                        "libcublasLt.so.11", "libcublasLt.so"},
                       t.library, why);
  check(h != nullptr, "no cuBLASLt: libcublasLt.so cannot be loaded (", why,
        "); install the CUDA toolkit's cuBLAS");
  EDG_LOAD(t, cublasLtCreate);
  EDG_LOAD(t, cublasLtDestroy);
  EDG_LOAD(t, cublasLtMatmulDescCreate);
  EDG_LOAD(t, cublasLtMatmulDescDestroy);
  EDG_LOAD(t, cublasLtMatmulDescSetAttribute);
  EDG_LOAD(t, cublasLtMatrixLayoutCreate);
  EDG_LOAD(t, cublasLtMatrixLayoutDestroy);
  EDG_LOAD(t, cublasLtMatmulPreferenceCreate);
  EDG_LOAD(t, cublasLtMatmulPreferenceDestroy);
  EDG_LOAD(t, cublasLtMatmulPreferenceSetAttribute);
  EDG_LOAD(t, cublasLtMatmulAlgoGetHeuristic);
  EDG_LOAD(t, cublasLtMatmul);
  check(missing.empty(), t.library, " lacks ", missing);
  return t;
}
#undef EDG_LOAD

/// Loads once; a failure is remembered and rethrown on every call.
template <class T> const T &once(T (*loader)()) {
  static std::once_flag flag;
  static T table;
  static std::string error;
  std::call_once(flag, [&] {
    try {
      table = loader();
    } catch (const Error &e) {
      error = e.what();
    }
  });
  check(error.empty(), error);
  return table;
}
} // namespace

const DriverSymbols &driver_symbols() { return once(load_driver); }
const CublasLtSymbols &cublaslt_symbols() { return once(load_cublaslt); }

std::string driver_error_text(CUresult code) {
  const char *name = nullptr, *text = nullptr;
  const DriverSymbols &d = driver_symbols();
  d.cuGetErrorName(code, &name);
  d.cuGetErrorString(code, &text);
  return std::string(name ? name : "CUresult") + " (" +
         std::to_string(int(code)) + ")" + (text ? std::string(": ") + text : "");
}

void fail_driver(CUresult code, const char *call, const char *file, int line) {
  fail(call, " failed: ", driver_error_text(code), " (", file, ":", line, ")");
}

} // namespace edg::cuda
