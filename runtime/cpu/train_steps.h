//===- train_steps.h - training steps of a model.bin schedule ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The CPU executor hands every step whose kind is a training op (gradient,
// loss, clipping, AdamW; edg_model.fbs OpKind >= embed_grad) to
// run_train_step, which unpacks the step's fields and calls train_kernels.h.
// Keeping them here leaves the executor's dispatch a list of cases.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CPU_TRAIN_STEPS_H
#define EDG_RUNTIME_CPU_TRAIN_STEPS_H

#include "runtime/core/model_file.h"
#include "runtime/core/tensor.h"

#include <vector>

namespace edg {
class TrainState;
} // namespace edg

namespace edg::cpu {

/// One training step's operands, resolved by the executor.
struct TrainStepArgs {
  const schema::Step &step;
  const schema::Function &function;
  /// Step inputs in order (see edg_model.fbs for each kind's order).
  std::vector<const Tensor *> inputs;
  /// Bound weights of the step, and their manifest indices.
  std::vector<const Tensor *> weights;
  std::vector<int32_t> weight_ids;
  /// Required by adamw_update and clip_grad_norm; null otherwise is fine.
  TrainState *state = nullptr;
};

/// True for the op kinds run_train_step implements.
bool is_train_step(schema::OpKind kind);

/// Runs the step and returns its outputs in order. Throws edg::Error naming
/// the step's location on bad inputs, or when an optimizer step runs without
/// a training state (call Model::train_step, not run("train_step")).
std::vector<Tensor> run_train_step(const TrainStepArgs &args);

/// The optimizer of `train_step` (its clip_grad_norm and adamw_update steps,
/// in order, with their compiled hyperparameters and the state's overrides)
/// applied to gradients computed elsewhere: grad_step on a device.
/// `grads[i]` is the gradient of manifest weight `weights[i]`; they are
/// clipped in place. state.global_step must already count this step.
void apply_optimizer(const schema::Function &train_step, TrainState &state,
                     const std::vector<int32_t> &weights,
                     std::vector<Tensor> &grads);

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_TRAIN_STEPS_H
