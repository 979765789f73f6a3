//===- cuda_executor_optimizer.cc - AdamW and clipping on the device -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Model::train_step on CUDA runs @grad_step on the device and then this:
// the optimizer of @train_step (cpu::plan_optimizer: its clipping and the
// AdamW update of every weight not frozen) over the gradients grad_step left
// in the arena, with the kernels edg-emit-cuda generates for training
// modules (passes/EmitCudaOptimizer.cpp):
//
//   edg_opt_sumsq_<t>   per gradient, up to 256 blocks: fp64 partial sums
//                       of g^2 -> partials [#grads, 256] (zeroed first)
//   edg_opt_clip        one block: norm = sqrt(sum of the partials), in
//                       order; coefficient min(1, max / (norm + 1e-6))
//                       -> clip {norm, coef}
//   edg_opt_adamw_f32   per f32 weight [n]: torch's AdamW (single-tensor
//                       path) on the device weight, with the gradient times
//                       coef and fp32 moments [n]; per-step scalars from
//                       `hyper`
//   edg_opt_adamw_master_<t>  per bf16 / f16 weight [n]: the same on its
//                       fp32 master copy [n] (loaded from the host's fp32
//                       weight), then the device weight = the master rounded
//                       once to t
//
// so no gradient leaves the device and no weight is uploaded between steps.
// The masters make a bf16 / f16 model train as the CPU path does (it
// updates the host's fp32 weights): an update smaller than half an ulp of
// the weight's storage type accumulates in the master instead of being lost.
// The per-weight scalars (scheduled learning rate, bias corrections, ...)
// are computed on the host exactly as cpu::adamw_step computes them and
// uploaded as one small table per step. The device weights are then the
// newest; download_training_state brings them (the fp32 masters where there
// are some, and the moments) back to the host when the API needs them there
// (Model::Impl::sync_host). A master is reloaded from the host after
// reset_optimizer and when sync_weights uploads a changed host weight.
//===----------------------------------------------------------------------===//
#include "runtime/core/status.h"
#include "runtime/core/train_state.h"
#include "runtime/cpu/train_steps.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/device_schedule.h"

#include <cmath>

namespace edg::cuda {

namespace fb = ::edg::schema;

namespace {

constexpr int64_t kPartials = 256; // blocks of edg_opt_sumsq (fixed)
constexpr size_t kHyper = 8;       // floats per update in `hyper`

std::string suffix(fb::DType t) {
  return float_kernel_suffix(t, "optimizer: a gradient");
}

/// adamw_step's fp32 scalars (runtime/cpu/train_kernels.cc), as the kernel
/// reads them: decay, w1, b2, w2, step_size, bc2_sqrt, eps.
void adamw_scalars(const cpu::AdamWParams &p, float *out) {
  const double bc1 = 1.0 - std::pow(p.beta1, double(p.step));
  const double bc2 = 1.0 - std::pow(p.beta2, double(p.step));
  out[0] = float(1.0 - p.lr * p.weight_decay);
  out[1] = float(1.0 - p.beta1);
  out[2] = float(p.beta2);
  out[3] = float(1.0 - p.beta2);
  out[4] = float(p.lr / bc1);
  out[5] = float(std::sqrt(bc2));
  out[6] = float(p.eps);
  out[7] = 0.0f;
}

} // namespace

float CudaExecutor::optimizer_step(const std::string &grad_fn,
                                   const std::vector<int32_t> &weights,
                                   const cpu::OptimizerPlan &plan,
                                   TrainState &state) {
  auto kept = results_.find(grad_fn);
  check(kept != results_.end() && kept->second.size() == weights.size() + 1,
        "optimizer: '", grad_fn, "' has not run on the device, or does not "
        "return a loss and one gradient per weight");
  const std::vector<DeviceValue> &grads = kept->second; // [0] is the loss

  // hyper: [0] the max norm, then kHyper floats per update.
  std::vector<float> hyper(1 + kHyper * plan.updates.size(), 0.0f);
  hyper[0] = float(plan.max_norm.value_or(0.0));
  for (size_t k = 0; k < plan.updates.size(); ++k)
    adamw_scalars(plan.updates[k].params, &hyper[1 + kHyper * k]);
  const size_t hyper_bytes = hyper.size() * sizeof(float);
  if (hyper_bytes > hyper_bytes_) {
    hyper_ = allocate(hyper_bytes);
    hyper_bytes_ = hyper_bytes;
  }
  device_.copy_to_device(hyper_, hyper.data(), hyper_bytes);
  if (!clip_)
    clip_ = allocate(2 * sizeof(float));

  float norm = 0.0f;
  if (plan.max_norm) {
    const size_t partial_bytes = weights.size() * kPartials * sizeof(double);
    if (partial_bytes > partials_bytes_) {
      partials_ = allocate(partial_bytes);
      partials_bytes_ = partial_bytes;
    }
    // A small gradient's sumsq launches fewer than 256 blocks; the others'
    // partials stay 0.
    device_.memset(partials_, 0, partial_bytes);
    for (size_t i = 0; i < weights.size(); ++i) {
      const DeviceValue &g = grads[i + 1];
      const int64_t n = int64_t(g.bytes / device_dtype_size(g.dtype));
      launch(kernel("edg_opt_sumsq_" + suffix(g.dtype)),
             {g.ptr, partials_ + DevicePtr(i * kPartials * sizeof(double))},
             {n});
    }
    launch(kernel("edg_opt_clip"), {partials_, hyper_, clip_},
           {int64_t(weights.size()) * kPartials});
    float out[2];
    device_.copy_to_host(out, clip_, sizeof(out));
    norm = out[0];
  } else {
    const float no_clip[2] = {0.0f, 1.0f}; // {norm, coefficient}
    device_.copy_to_device(clip_, no_clip, sizeof(no_clip));
  }

  for (size_t k = 0; k < plan.updates.size(); ++k) {
    const int32_t w = plan.updates[k].weight;
    size_t i = 0;
    while (i < weights.size() && weights[i] != w)
      ++i;
    check(i < weights.size(), plan.updates[k].where,
          ": train_step updates a weight grad_step has no gradient for");
    const DeviceValue &g = grads[i + 1];
    const int64_t n = int64_t(g.bytes / device_dtype_size(g.dtype));
    check(weight_ptrs_.count(w) != 0, plan.updates[k].where,
          ": the weight is not on the device");
    check(g.dtype == file_.model().weights()->Get(uint32_t(w))->dtype(),
          plan.updates[k].where, ": the gradient's type is not the weight's");
    Moments &mo = moments_[w];
    if (!mo.m) {
      mo.m = allocate(size_t(n) * sizeof(float));
      mo.v = allocate(size_t(n) * sizeof(float));
    }
    if (!mo.loaded) { // the training state's moments (zeros when new)
      const Tensor &m = state.exp_avg(w), &v = state.exp_avg_sq(w);
      check(m.numel() == n, plan.updates[k].where, ": moments of ", m.numel(),
            " elements for a gradient of ", n);
      device_.copy_to_device(mo.m, m.data<float>(), m.nbytes());
      device_.copy_to_device(mo.v, v.data<float>(), v.nbytes());
      mo.loaded = true;
    }
    const DevicePtr scalars =
        hyper_ + DevicePtr((1 + kHyper * k) * sizeof(float));
    if (g.dtype == fb::DType::f32) {
      launch(kernel("edg_opt_adamw_f32"),
             {weight_ptrs_.at(w), mo.m, mo.v, g.ptr, clip_, scalars}, {n});
    } else {
      load_master(w, mo, n);
      launch(kernel("edg_opt_adamw_master_" + suffix(g.dtype)),
             {mo.master, weight_ptrs_.at(w), mo.m, mo.v, g.ptr, clip_, scalars},
             {n});
    }
    ahead_.insert(w);
  }
  device_.synchronize();
  return norm;
}

void CudaExecutor::load_master(int32_t w, Moments &mo, int64_t n) {
  if (!mo.master)
    mo.master = allocate(size_t(n) * sizeof(float));
  if (mo.master_loaded)
    return;
  // The host's fp32 weight: the newest whenever the master is not loaded
  // (new, reset_optimizer, or sync_weights uploaded a changed weight).
  const Tensor &host = weights_.get(w);
  check(host.numel() == n, "optimizer: weight ", w, " has ", host.numel(),
        " elements for a gradient of ", n);
  device_.copy_to_device(mo.master, host.data<float>(), host.nbytes());
  mo.master_loaded = true;
}

void CudaExecutor::download_training_state(WeightStore &weights,
                                           TrainState &state) {
  const fb::Model &model = file_.model();
  for (int32_t w : ahead_) {
    const fb::DType dtype = model.weights()->Get(uint32_t(w))->dtype();
    const Moments &mo = moments_.at(w);
    Tensor &host = weights.get(w);
    if (mo.master_loaded) { // bf16 / f16: the fp32 master, nothing rounded
      device_.copy_to_host(host.data<float>(), mo.master, host.nbytes());
    } else {
      std::vector<uint8_t> bytes(size_t(host.numel()) *
                                 device_dtype_size(dtype));
      device_.copy_to_host(bytes.data(), weight_ptrs_.at(w), bytes.size());
      Tensor t = host_tensor(bytes, dtype, host.shape());
      std::copy(t.data<float>(), t.data<float>() + t.numel(),
                host.data<float>());
    }
    // The device has these already: its weight is the master rounded, as
    // sync_weights would upload it, and the master stays current.
    weight_versions_[w] = weights.version(w);
    device_.copy_to_host(state.exp_avg(w).data<float>(), mo.m,
                         state.exp_avg(w).nbytes());
    device_.copy_to_host(state.exp_avg_sq(w).data<float>(), mo.v,
                         state.exp_avg_sq(w).nbytes());
  }
  ahead_.clear();
}

void CudaExecutor::reset_optimizer() {
  for (auto &[w, mo] : moments_)
    mo.loaded = mo.master_loaded = false;
  ahead_.clear();
}

} // namespace edg::cuda
