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
#include "runtime/cpu/train_kernels.h"

#include <optional>
#include <string>
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

/// What `train_step`'s optimizer does in the step being taken
/// (state.global_step): its clip_grad_norm step (if any) and the AdamW
/// update of every weight that is not frozen, with the compiled
/// hyperparameters and the state's overrides, in train_step's order.
struct OptimizerPlan {
  std::optional<double> max_norm; // clipping (0: the norm is only measured)
  struct Update {
    int32_t weight;               // manifest index
    AdamWParams params;
    std::string where;            // the step's location, for errors
  };
  std::vector<Update> updates;
};

/// Plans the step; advances the update count of every weight it updates.
/// The CUDA executor runs the plan on the device (cuda_executor.h
/// optimizer_step); the CPU executor runs the steps themselves.
OptimizerPlan plan_optimizer(const schema::Function &train_step,
                             TrainState &state);

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_TRAIN_STEPS_H
