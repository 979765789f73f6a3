//===- train_bench.cc - training step time of the CUDA executor --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "test/e2e/train_bench.h"

#include "runtime/core/model_file.h"
#include "runtime/core/status.h"
#include "runtime/core/train_state.h"
#include "runtime/cpu/train_steps.h"
#include "runtime/core/weights.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/device_schedule.h"
#include "runtime/cuda/kernel_image.h"
#include "test/e2e/fixture_io.h"
#include "test/e2e/synthetic_weights.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

namespace edg::conformance {

namespace fb = ::edg::schema;

namespace {

/// The batch tensor for argument `name` of a training entry point.
Tensor batch_argument(const std::string &name, int64_t B, int64_t T,
                      int64_t vocab) {
  const auto ends_with = [&](const char *suffix) {
    const std::string s = suffix;
    return name.size() >= s.size() &&
           name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (ends_with("positions"))
    return fixture::arange_positions(B, T);
  if (ends_with("valid"))
    return fixture::ones_u8(B, T);
  check(ends_with("ids") || name == "labels", "bench: grad_step takes '", name,
        "', which the training benchmark does not synthesise");
  Tensor t(DType::i32, {B, T});
  const int32_t salt = name == "labels" ? 5 : 2;
  for (int64_t i = 0; i < B * T; ++i)
    t.data<int32_t>()[i] = int32_t((salt + 7919 * i) % vocab);
  return t;
}

/// Fraction of the T x S (query, key) pairs that mask `signature` keeps.
double visible_fraction(const cuda::LaunchInfo &k, int64_t T, int64_t S) {
  const std::string &sig = k.signature;
  const bool causal = sig.find("mask=causal") != std::string::npos;
  const bool sliding = sig.find("mask=sliding") != std::string::npos;
  double f = causal ? 0.5 : 1.0;
  if (sliding)
    f = std::min(1.0, double(cuda::signature_field(k, "window")) / double(S)) *
        (sig.find("sliding_causal") != std::string::npos ? 1.0 : 2.0);
  (void)T;
  return std::min(f, 1.0);
}

/// FLOPs of one run of `fn` at `dims`.
double schedule_flops(const fb::DeviceFunction &fn, const std::vector<int64_t> &dims,
                      const std::map<std::string, cuda::LaunchInfo> &kernels) {
  double flops = 0;
  for (const fb::DeviceStep *s : *fn.steps()) {
    std::vector<double> n;
    for (const fb::SizeExpr *e : *s->sizes())
      n.push_back(double(cuda::eval_size(*e, dims)));
    if (s->kind() == fb::DeviceStepKind::gemm) {
      flops += 2 * n[0] * n[1] * n[2];
      continue;
    }
    if (s->kind() != fb::DeviceStepKind::attention &&
        s->kind() != fb::DeviceStepKind::attention_backward)
      continue;
    const cuda::LaunchInfo &k = kernels.at(s->kernel()->str());
    const double fwd = 4 * n[0] * n[1] * n[2] *
                       double(cuda::signature_field(k, "H")) *
                       double(cuda::signature_field(k, "hd")) *
                       visible_fraction(k, int64_t(n[1]), int64_t(n[2]));
    flops += s->kind() == fb::DeviceStepKind::attention ? fwd : 2.5 * fwd;
  }
  return flops;
}

} // namespace

TrainBench bench_train(const std::string &model_path, cuda::DeviceApi &device,
                       int64_t batch, int64_t seq, int64_t steps) {
  ModelFile file = ModelFile::load(model_path);
  const fb::Model &m = file.model();
  const fb::Function *graph = file.function("grad_step");
  const fb::DeviceFunction *fn = cuda::find_function(m, "grad_step");
  check(graph != nullptr && graph->argument_names() != nullptr && fn != nullptr,
        model_path, ": no grad_step with a device schedule (compile a module "
        "of edg-opt --edg-train-pipeline with --target=cuda or all)");
  check(batch <= m.max_batch() && seq <= m.max_seq(), "bench: batch ", batch,
        " x ", seq, " exceeds the compiled maxima ", m.max_batch(), " x ",
        m.max_seq());
  WeightStore weights;
  bind_synthetic_weights(weights, m);
  cuda::CudaExecutor exec(file, weights, device);

  std::vector<Tensor> tensors;
  for (const flatbuffers::String *name : *graph->argument_names())
    tensors.push_back(batch_argument(name->str(), batch, seq, m.vocab_size()));
  std::vector<const Tensor *> args;
  for (const Tensor &t : tensors)
    args.push_back(&t);
  std::vector<int64_t> dims;
  for (const fb::DeviceDim *d : *fn->dims())
    dims.push_back(tensors.at(size_t(d->argument())).dim(d->axis()));
  std::map<std::string, cuda::LaunchInfo> kernels;
  for (const cuda::LaunchInfo &k : cuda::parse_launch_lines(cuda::cuda_source(m, model_path)))
    kernels[k.name] = k;

  TrainBench r;
  r.batch = batch, r.seq = seq, r.steps = steps;
  r.flops = schedule_flops(*fn, dims, kernels);
  // Model::train_step on CUDA (runtime/api/train.cc device_train_step).
  const fb::Function *train = file.function("train_step");
  check(train != nullptr && graph->grad_weights() != nullptr, model_path,
        ": no train_step (compile a module of edg-opt --edg-train-pipeline)");
  const std::vector<int32_t> grad_weights(graph->grad_weights()->begin(),
                                          graph->grad_weights()->end());
  std::vector<std::string> names;
  for (const fb::Weight *w : *m.weights())
    names.push_back(w->name()->str());
  TrainState state(weights, names);
  auto step = [&] {
    ++state.global_step;
    exec.run_on_device("grad_step", args);
    exec.optimizer_step("grad_step", grad_weights,
                        cpu::plan_optimizer(*train, state), state);
  };
  step(); // untimed: plans, first-touch allocations, the moments' upload
  std::vector<double> times;
  for (int64_t i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    times.push_back(std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  r.seconds = times.empty() ? 0.0 : times[times.size() / 2];
  return r;
}

} // namespace edg::conformance
