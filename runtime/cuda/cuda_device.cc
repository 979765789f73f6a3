//===- cuda_device.cc - find a CUDA device without linking libcuda -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Only dlopen/dlsym and the C ABI of four CUDA runtime functions; no CUDA
// header is included, so this builds without the toolkit. cudaError_t is an
// int-sized enum and the attribute numbers are those of cuda_runtime_api.h
// (cudaDevAttrComputeCapabilityMajor = 75, ...Minor = 76).
//===----------------------------------------------------------------------===//
#include "runtime/cuda/cuda_device.h"

#include "runtime/core/status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>

namespace edg::cuda {

namespace {
using GetDeviceCountFn = int (*)(int *);
using ErrorStringFn = const char *(*)(int);
using DeviceGetAttributeFn = int (*)(int *, int, int);

struct Runtime {
  void *handle = nullptr;
  GetDeviceCountFn get_device_count = nullptr;
  ErrorStringFn error_name = nullptr, error_string = nullptr;
  DeviceGetAttributeFn get_attribute = nullptr;
  std::string library;
};

Runtime &runtime() {
  static Runtime rt = [] {
    Runtime r;
    for (const char *name : {"libcudart.so.13", "libcudart.so.12",
                             "libcudart.so.11.0", "libcudart.so"}) {
      if ((r.handle = ::dlopen(name, RTLD_NOW | RTLD_LOCAL))) {
        r.library = name;
        break;
      }
    }
    if (!r.handle)
      return r;
    r.get_device_count = reinterpret_cast<GetDeviceCountFn>(
        ::dlsym(r.handle, "cudaGetDeviceCount"));
    r.error_name =
        reinterpret_cast<ErrorStringFn>(::dlsym(r.handle, "cudaGetErrorName"));
    r.error_string = reinterpret_cast<ErrorStringFn>(
        ::dlsym(r.handle, "cudaGetErrorString"));
    r.get_attribute = reinterpret_cast<DeviceGetAttributeFn>(
        ::dlsym(r.handle, "cudaDeviceGetAttribute"));
    return r;
  }();
  return rt;
}

CudaStatus probe() {
  CudaStatus s;
  Runtime &rt = runtime();
  if (!rt.handle || !rt.get_device_count) {
    s.message = "no CUDA runtime library (libcudart.so) found";
    return s;
  }
  s.runtime_found = true;
  s.library = rt.library;
  s.error = rt.get_device_count(&s.devices);
  if (s.error != 0) {
    s.devices = 0;
    s.message = "cudaGetDeviceCount failed with " + error_text(s.error) +
                (s.error == 35 ? " (no NVIDIA driver on this machine)" : "");
    return s;
  }
  if (s.devices == 0) {
    s.message = "the CUDA runtime sees no device";
    return s;
  }
  s.available = true;
  if (rt.get_attribute) {
    rt.get_attribute(&s.cc_major, 75, 0);
    rt.get_attribute(&s.cc_minor, 76, 0);
  }
  s.message = std::to_string(s.devices) + " CUDA device" +
              (s.devices == 1 ? "" : "s") + ", device 0 is sm_" +
              std::to_string(s.cc_major) + std::to_string(s.cc_minor);
  return s;
}
} // namespace

const CudaStatus &cuda_status() {
  static const CudaStatus status = probe();
  return status;
}

std::string error_text(int code) {
  Runtime &rt = runtime();
  std::string name = rt.error_name ? rt.error_name(code) : "cudaError";
  std::string text = rt.error_string ? rt.error_string(code) : "";
  return name + " (" + std::to_string(code) + ")" +
         (text.empty() ? "" : ": " + text);
}

Backend select_backend(bool have_cuda_executor) {
  const char *env = std::getenv("EDG_DEVICE");
  std::string want = env ? env : "";
  if (want == "cpu")
    return Backend::cpu;
  if (!want.empty() && want != "cuda" && want != "auto")
    fail("EDG_DEVICE=", want, " is not one of cpu, cuda, auto");
  const CudaStatus &s = cuda_status();
  if (want == "cuda") {
    check(s.available, "EDG_DEVICE=cuda, but no CUDA device answers: ",
          s.message);
    check(have_cuda_executor, "EDG_DEVICE=cuda: ", s.message,
          ", but model.bin has no CUDA schedule (compile it with "
          "edg-compile --target=cuda or all); use EDG_DEVICE=cpu");
    return Backend::cuda;
  }
  if (s.available && have_cuda_executor)
    return Backend::cuda;
  static std::once_flag once;
  std::call_once(once, [&] {
    std::fprintf(stderr, "edg: %s; running on CPU\n",
                 s.available
                     ? (s.message + ", but model.bin has no CUDA schedule "
                                    "(edg-compile --target=cuda or all)")
                           .c_str()
                     : ("no CUDA device (" + s.message + ")").c_str());
  });
  return Backend::cpu;
}

void fail_call(int code, const char *expr, const char *file, int line) {
  fail(file, ":", line, ": ", expr, " failed: ", error_text(code));
}

void fail_cublas(int code, const char *expr, const char *file, int line) {
  // cublasStatus_t values of cublas_api.h.
  const char *name = code == 1    ? "CUBLAS_STATUS_NOT_INITIALIZED"
                     : code == 3  ? "CUBLAS_STATUS_ALLOC_FAILED"
                     : code == 7  ? "CUBLAS_STATUS_INVALID_VALUE"
                     : code == 8  ? "CUBLAS_STATUS_ARCH_MISMATCH"
                     : code == 11 ? "CUBLAS_STATUS_MAPPING_ERROR"
                     : code == 13 ? "CUBLAS_STATUS_EXECUTION_FAILED"
                     : code == 14 ? "CUBLAS_STATUS_INTERNAL_ERROR"
                     : code == 15 ? "CUBLAS_STATUS_NOT_SUPPORTED"
                                  : "cublasStatus";
  fail(file, ":", line, ": ", expr, " failed: ", name, " (", code, ")");
}

} // namespace edg::cuda
