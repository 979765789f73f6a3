//===- train.cc - the training half of the EDG runtime API ------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Maps a TrainBatch onto the arguments of the training entry points (by the
// names edg-build-objective gave them, recorded in model.bin), runs
// grad_step and loss on the selected backend (CUDA when their device
// schedules exist) and train_step through the CPU executor with the training
// state (on CUDA: grad_step and the optimizer on the device, the host's
// weights and moments brought back when read: Model::Impl::sync_host), and saves or restores checkpoints (runtime/core/train_state.h).
//===----------------------------------------------------------------------===//
#include "runtime/api/model_impl.h"

#include "runtime/core/status.h"
#include "runtime/cpu/train_steps.h"

#include <filesystem>
#include <utility>

namespace edg {

namespace fb = ::edg::schema;

int64_t TrainBatch::num_targets() const {
  int64_t n = 0;
  if (labels.numel())
    for (int64_t i = 0; i < labels.numel(); ++i)
      n += labels.data<int32_t>()[i] != -100;
  return n;
}

const Tensor *Gradients::find(const std::string &name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return &grads[i];
  return nullptr;
}

namespace {
/// The batch tensor an argument name stands for.
const Tensor *batch_tensor(const TrainBatch &b, const std::string &name) {
  static const std::pair<const char *, Tensor TrainBatch::*> table[] = {
      {"ids", &TrainBatch::ids},
      {"positions", &TrainBatch::positions},
      {"valid", &TrainBatch::valid},
      {"encoder_ids", &TrainBatch::ids},
      {"encoder_positions", &TrainBatch::positions},
      {"encoder_valid", &TrainBatch::valid},
      {"decoder_ids", &TrainBatch::decoder_ids},
      {"decoder_positions", &TrainBatch::decoder_positions},
      {"decoder_valid", &TrainBatch::decoder_valid},
      {"labels", &TrainBatch::labels},
      {"teacher_ids", &TrainBatch::teacher_ids},
      {"teacher_positions", &TrainBatch::teacher_positions},
      {"teacher_valid", &TrainBatch::teacher_valid},
      {"teacher_index", &TrainBatch::teacher_index}};
  for (const auto &[key, member] : table)
    if (name == key)
      return &(b.*member);
  return nullptr;
}

const fb::Function &entry(const ModelFile &file, const char *name) {
  const fb::Function *fn = file.function(name);
  check(fn != nullptr, file.path(), ": the model has no '", name,
        "' entry point; compile a module that went through edg-opt "
        "--edg-train-pipeline (docs/training.md)");
  return *fn;
}

std::vector<const Tensor *> arguments(const ModelFile &file,
                                      const fb::Function &fn,
                                      const TrainBatch &batch) {
  check(fn.argument_names() != nullptr, file.path(), ": entry point '",
        fn.name()->str(), "' has no argument names (rebuild it with "
        "edg-build-objective)");
  std::vector<const Tensor *> args;
  for (const flatbuffers::String *n : *fn.argument_names()) {
    const Tensor *t = batch_tensor(batch, n->str());
    check(t != nullptr, file.path(), ": '", fn.name()->str(),
          "' takes an argument named '", n->str(),
          "' that TrainBatch does not have");
    check(t->numel() > 0, "train batch: '", n->str(), "' is empty but '",
          fn.name()->str(), "' needs it");
    args.push_back(t);
  }
  return args;
}

std::vector<std::string> weight_names(const ModelFile &file) {
  std::vector<std::string> names;
  if (const auto *w = file.model().weights())
    for (const fb::Weight *weight : *w)
      names.push_back(weight->name()->str());
  return names;
}

bool has_argument(const ModelFile &file, const char *fn, const char *arg) {
  const fb::Function *f = file.function(fn);
  if (!f || !f->argument_names())
    return false;
  for (const flatbuffers::String *n : *f->argument_names())
    if (n->str() == arg)
      return true;
  return false;
}
} // namespace

bool Model::is_trainable() const {
  return impl_->file.function("train_step") != nullptr;
}
bool Model::train_is_encoder_decoder() const {
  return has_argument(impl_->file, "loss", "decoder_ids");
}
bool Model::train_uses_teacher() const {
  return has_argument(impl_->file, "loss", "teacher_ids");
}

void Model::set_train_options(const TrainOptions &o) {
  TrainOverrides &v = impl_->overrides;
  v.lr = o.lr, v.beta1 = o.beta1, v.beta2 = o.beta2, v.eps = o.eps;
  v.weight_decay = o.weight_decay, v.min_lr_ratio = o.min_lr_ratio;
  v.warmup_steps = o.warmup_steps, v.total_steps = o.total_steps;
  v.max_grad_norm = o.max_grad_norm;
  if (impl_->train)
    impl_->train->overrides = v;
}

namespace {
/// The training state, created on first use after the weights are bound.
TrainState &state_of(const ModelFile &file, WeightStore &weights,
                     std::unique_ptr<TrainState> &train,
                     const TrainOverrides &overrides) {
  check(weights.bound(), "weights are not bound: call bind_weights (or "
                         "load_checkpoint) before training");
  if (!train) {
    train = std::make_unique<TrainState>(weights, weight_names(file));
    train->overrides = overrides;
  }
  return *train;
}

/// Model::train_step on CUDA: @grad_step's schedule, then @train_step's
/// optimizer on the device over the gradients it left there
/// (cuda_executor_optimizer.cc). Only the loss and the norm come back.
float device_train_step(const ModelFile &file, cuda::CudaExecutor &cuda,
                        const TrainBatch &batch, TrainState &state) {
  const fb::Function &fn = entry(file, "grad_step");
  check(fn.grad_weights() != nullptr, file.path(),
        ": grad_step does not list its weights (rebuild with edg-autodiff)");
  cuda.run_on_device("grad_step", arguments(file, fn, batch));
  const float loss = cuda.result("grad_step", 0).data<float>()[0];
  const std::vector<int32_t> weights(fn.grad_weights()->begin(),
                                     fn.grad_weights()->end());
  cpu::OptimizerPlan plan = cpu::plan_optimizer(entry(file, "train_step"), state);
  const float norm = cuda.optimizer_step("grad_step", weights, plan, state);
  if (plan.max_norm)
    state.last_grad_norm = norm;
  return loss;
}
} // namespace

float Model::train_step(const TrainBatch &batch) {
  const fb::Function &fn = entry(impl_->file, "train_step");
  std::vector<const Tensor *> args = arguments(impl_->file, fn, batch);
  TrainState &state =
      state_of(impl_->file, impl_->weights, impl_->train, impl_->overrides);
  cpu::RunOptions options;
  options.train = &state;
  ++state.global_step; // the adamw steps see the 1-based step number
  try {
    if (cuda::CudaExecutor *cuda = impl_->cuda();
        cuda && cuda->has_function("grad_step"))
      return device_train_step(impl_->file, *cuda, batch, state);
    std::vector<Tensor> out =
        impl_->cpu_executor().run("train_step", args, options);
    return out.at(0).data<float>()[0];
  } catch (...) {
    // A failure before the updates leaves the weights as they were; count
    // the step only when it ran.
    --state.global_step;
    throw;
  }
}

Gradients Model::gradients(const TrainBatch &batch) const {
  const fb::Function &fn = entry(impl_->file, "grad_step");
  check(fn.grad_weights() != nullptr, impl_->file.path(),
        ": grad_step does not list its weights (rebuild with edg-autodiff)");
  std::vector<Tensor> out = run("grad_step", arguments(impl_->file, fn, batch));
  Gradients g;
  g.loss = out.at(0).data<float>()[0];
  const auto *manifest = impl_->file.model().weights();
  for (flatbuffers::uoffset_t i = 0; i < fn.grad_weights()->size(); ++i) {
    int32_t w = fn.grad_weights()->Get(i);
    g.names.push_back(manifest->Get(flatbuffers::uoffset_t(w))->name()->str());
    g.grads.push_back(std::move(out.at(i + 1)));
  }
  return g;
}

float Model::loss(const TrainBatch &batch) const {
  const fb::Function &fn = entry(impl_->file, "loss");
  return run("loss", arguments(impl_->file, fn, batch)).at(0).data<float>()[0];
}

int64_t Model::train_steps_done() const {
  return impl_->train ? impl_->train->global_step : 0;
}

const Tensor &Model::weight(const std::string &name) const {
  check(impl_->weights.bound(), "weights are not bound: call bind_weights");
  impl_->sync_host();
  std::vector<std::string> names = weight_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return std::as_const(impl_->weights).get(int32_t(i));
  fail(impl_->file.path(), ": the model has no weight named '", name, "'");
}

std::vector<std::string> Model::weight_names() const {
  return edg::weight_names(impl_->file);
}

float Model::last_grad_norm() const {
  return impl_->train ? impl_->train->last_grad_norm : 0.0f;
}

void Model::save_checkpoint(const std::string &dir,
                            const std::map<std::string, std::string> &metadata,
                            const std::vector<std::string> &copy_files) const {
  impl_->sync_host();
  state_of(impl_->file, impl_->weights, impl_->train, impl_->overrides)
      .save(dir, metadata, copy_files);
}

std::map<std::string, std::string>
Model::load_checkpoint(const std::string &dir) {
  namespace fs = std::filesystem;
  std::string weights = (fs::path(dir) / "model.safetensors").string();
  check(fs::exists(weights), "load_checkpoint: ", weights,
        " does not exist; is ", dir, " a checkpoint written by "
        "save_checkpoint?");
  bind_weights({weights});
  return state_of(impl_->file, impl_->weights, impl_->train, impl_->overrides)
      .load(dir);
}

} // namespace edg
