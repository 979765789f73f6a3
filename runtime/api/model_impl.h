//===- model_impl.h - the state behind edg::Model ----------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Model::Impl, shared by the files that implement the API: model.cc
// (loading, inference, generation) and train.cc (training). Private to the
// runtime library; applications see only include/edg/edg.h.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_API_MODEL_IMPL_H
#define EDG_RUNTIME_API_MODEL_IMPL_H

#include "runtime/core/model_file.h"
#include "runtime/core/train_state.h"
#include "runtime/core/weights.h"
#include "runtime/cpu/executor.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/include/edg/edg.h"

#include <memory>
#include <string>

namespace edg {

struct Model::Impl {
  ModelFile file;
  WeightStore weights;
  std::string model_type;
  std::unique_ptr<cpu::Executor> executor;
  /// CUDA (select_backend chose it): the device, and the executor of the
  /// kernel-level schedules, created on the first run after binding.
  bool use_cuda = false;
  std::unique_ptr<cuda::DeviceApi> device;
  std::unique_ptr<cuda::CudaExecutor> cuda_executor;
  /// The CUDA executor when CUDA was selected (opening the device and
  /// creating the executor on first use), else null.
  cuda::CudaExecutor *cuda();
  /// Training on CUDA updates the device weights and moments; this brings
  /// them back to the host (weights, train) when they are newer there. Every
  /// use of the host's weights goes through it.
  void sync_host();
  /// The CPU executor, after sync_host.
  cpu::Executor &cpu_executor();
  /// Optimizer state, created by the first training call after binding.
  std::unique_ptr<TrainState> train;
  TrainOverrides overrides;
};

/// What the runtime's own tools reach behind the public API: the test tools
/// run a Model on the emulated CUDA device of test/cuda_emu this way.
struct ModelInternals {
  static Model::Impl &of(Model &m) { return *m.impl_; }
  /// Runs every entry point with a device schedule on `device` from now on
  /// (the weights must be bound; they are uploaded here).
  static void use_device(Model &m, std::unique_ptr<cuda::DeviceApi> device) {
    Model::Impl &impl = of(m);
    impl.cuda_executor.reset();
    impl.device = std::move(device);
    impl.cuda_executor = std::make_unique<cuda::CudaExecutor>(
        impl.file, impl.weights, *impl.device);
    impl.use_cuda = true;
  }
};

} // namespace edg

#endif // EDG_RUNTIME_API_MODEL_IMPL_H
