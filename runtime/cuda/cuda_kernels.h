//===- cuda_kernels.h - load and launch generated CUDA kernels ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The first piece of the CUDA backend: finds the cubin of model.bin for the
// device's architecture (else the compute_80 PTX, which the driver JIT-
// compiles), loads it with cudaLibraryLoadData (runtime API; libcuda is never
// linked), reads every kernel's launch shape from the `// edg-launch:` lines
// of the stored CUDA source, and launches kernels with the generated ABI.
// Only built with EDG_ENABLE_CUDA; every call goes through EDG_CUDA_CHECK.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_CUDA_KERNELS_H
#define EDG_RUNTIME_CUDA_CUDA_KERNELS_H

#include "runtime/cuda/launch_info.h"
#include "runtime/schema/edg_model_generated.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edg::cuda {

class CudaKernels {
public:
  /// Loads the kernels of `model` for the current device. Throws edg::Error
  /// when the model has no CUDA kernels or none runs on this device.
  static std::unique_ptr<CudaKernels> load(const schema::Model &model,
                                           const std::string &path);
  ~CudaKernels();

  const std::vector<LaunchInfo> &kernels() const { return infos_; }
  /// The binary that was loaded: "sm_90a", "sm_80", "compute_80".
  const std::string &arch() const { return arch_; }

  /// Launches `k` with the generated ABI: `pointers` are device buffers
  /// (inputs then outputs; attention: q, k, v, pos|null, key_valid|null,
  /// out), `sizes` n or rows (one value) or B, T, S (attention).
  void launch(const LaunchInfo &k, const std::vector<void *> &pointers,
              const std::vector<int64_t> &sizes, cudaStream_t stream = 0);

private:
  CudaKernels() = default;
  cudaLibrary_t library_ = nullptr;
  std::string arch_;
  std::vector<LaunchInfo> infos_;
  std::vector<cudaKernel_t> handles_;
};

} // namespace edg::cuda

#endif // EDG_RUNTIME_CUDA_CUDA_KERNELS_H
