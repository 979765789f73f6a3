//===- cuda_device.h - find a CUDA device without linking libcuda -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The runtime must start on machines without a GPU or driver: it never links
// libcuda (a missing libcuda.so.1 would stop the program before main), and
// it does not even need the CUDA toolkit to build. cuda_status() dlopens the
// CUDA runtime (libcudart.so.13/.12/...) and asks cudaGetDeviceCount; error
// 35 (cudaErrorInsufficientDriver) means no driver, 100 no device.
//
// select_backend() is the runtime's choice at model load: EDG_DEVICE=cpu or
// cuda forces one (an error when CUDA cannot serve it), unset or auto picks
// CUDA when a device answers and a CUDA executor exists, else the CPU, with
// one line on stderr saying why (printed once per process).
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_CUDA_DEVICE_H
#define EDG_RUNTIME_CUDA_CUDA_DEVICE_H

#include <string>

namespace edg::cuda {

struct CudaStatus {
  bool runtime_found = false; // libcudart could be loaded
  bool available = false;     // at least one device answered
  int devices = 0;
  int error = 0;              // cudaGetDeviceCount's error code, 0 on success
  int cc_major = 0, cc_minor = 0; // compute capability of device 0
  std::string library;        // the libcudart that was loaded
  std::string message;        // one line: what was found, or why not
};

/// Probes once per process (thread-safe) and caches the answer.
const CudaStatus &cuda_status();

/// Name and description of a CUDA runtime error code ("cudaErrorX: text"),
/// through the loaded libcudart when there is one.
std::string error_text(int code);

enum class Backend { cpu, cuda };

/// The backend for a model, from EDG_DEVICE and cuda_status().
/// `have_cuda_executor`: whether the model can run on CUDA at all (model.bin
/// holds kernel-level schedules, edg-compile --target=cuda|all).
/// Throws edg::Error for EDG_DEVICE=cuda when CUDA cannot serve, and for an
/// unknown EDG_DEVICE value.
Backend select_backend(bool have_cuda_executor);

/// Throws edg::Error "<file>:<line>: <expr> failed: <error_text>".
[[noreturn]] void fail_call(int code, const char *expr, const char *file,
                            int line);
/// The same for a cublasStatus_t ("CUBLAS_STATUS_NOT_INITIALIZED (1)").
[[noreturn]] void fail_cublas(int code, const char *expr, const char *file,
                              int line);

} // namespace edg::cuda

/// Wraps every CUDA runtime / driver / cuBLAS call: a non-zero status becomes
/// an edg::Error naming the call, the file and the line.
#define EDG_CUDA_CHECK(expr)                                                   \
  do {                                                                         \
    int edg_cuda_status_ = static_cast<int>(expr);                             \
    if (edg_cuda_status_ != 0)                                                 \
      ::edg::cuda::fail_call(edg_cuda_status_, #expr, __FILE__, __LINE__);     \
  } while (0)

/// EDG_CUDA_CHECK for cuBLAS / cuBLASLt calls (cublasStatus_t codes).
#define EDG_CUBLAS_CHECK(expr)                                                 \
  do {                                                                         \
    int edg_cublas_status_ = static_cast<int>(expr);                           \
    if (edg_cublas_status_ != 0)                                               \
      ::edg::cuda::fail_cublas(edg_cublas_status_, #expr, __FILE__, __LINE__); \
  } while (0)

#endif // EDG_RUNTIME_CUDA_CUDA_DEVICE_H
