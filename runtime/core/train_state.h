//===- train_state.h - optimizer state and checkpoints ----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// What training keeps between steps besides the graph: the weights (the
// WeightStore's fp32 tensors are the master copy: CPU runs in fp32), the
// AdamW moments of every trained weight, the global step and each weight's
// own update count (a weight frozen for its first N steps starts its bias
// correction at 1 when it starts to train, as torch does for a parameter
// that had no gradient), and run-time overrides of the hyperparameters
// compiled into model.bin.
//
// A checkpoint is a directory:
//   model.safetensors      every manifest weight, fp32, HF names (the tied
//                          LM head is not a manifest weight, so it is not
//                          written and HF's from_pretrained re-ties it)
//   optimizer.safetensors  exp_avg.<name>, exp_avg_sq.<name>; metadata:
//                          global_step, per-weight steps, caller metadata
// It is written into `<dir>.tmp.<pid>` and renamed over `<dir>`, so a crash
// never leaves a half-written checkpoint under the final name.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_TRAIN_STATE_H
#define EDG_RUNTIME_CORE_TRAIN_STATE_H

#include "runtime/core/tensor.h"
#include "runtime/core/weights.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace edg {

/// Hyperparameters that replace the ones compiled into the adamw_update and
/// clip_grad_norm steps when set.
struct TrainOverrides {
  std::optional<double> lr, beta1, beta2, eps, weight_decay, min_lr_ratio;
  std::optional<int64_t> warmup_steps, total_steps;
  /// 0 disables clipping (the gradient norm is still measured).
  std::optional<double> max_grad_norm;
};

class TrainState {
public:
  TrainState(WeightStore &weights, std::vector<std::string> names)
      : weights_(&weights), names_(std::move(names)),
        param_steps_(names_.size(), 0), exp_avg_(names_.size()),
        exp_avg_sq_(names_.size()) {}

  WeightStore &weights() { return *weights_; }
  const std::string &name(int32_t index) const {
    return names_.at(size_t(index));
  }

  /// Completed optimizer steps; during a train_step call, the 1-based
  /// number of the step being taken.
  int64_t global_step = 0;
  TrainOverrides overrides;
  /// Gradient norm measured by the last clip_grad_norm step.
  float last_grad_norm = 0.0f;

  /// Update count of weight `index` (0 until its first update).
  int64_t &param_step(int32_t index) { return param_steps_.at(size_t(index)); }
  /// First and second moments of weight `index`, allocated (zeros) with the
  /// weight's shape on first use.
  Tensor &exp_avg(int32_t index) { return moment(exp_avg_, index); }
  Tensor &exp_avg_sq(int32_t index) { return moment(exp_avg_sq_, index); }

  /// Writes a checkpoint directory (see the file comment); `metadata` is
  /// stored with the optimizer state and returned by load().
  /// `copy_files` (e.g. the HF config.json) are copied into the directory
  /// before it is renamed into place.
  void save(const std::string &dir,
            const std::map<std::string, std::string> &metadata,
            const std::vector<std::string> &copy_files = {}) const;
  /// Restores the moments, steps and metadata of a checkpoint written by
  /// save(). The weights are bound separately (from dir/model.safetensors).
  std::map<std::string, std::string> load(const std::string &dir);

private:
  Tensor &moment(std::vector<Tensor> &set, int32_t index);

  WeightStore *weights_;
  std::vector<std::string> names_;
  std::vector<int64_t> param_steps_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
};

} // namespace edg

#endif // EDG_RUNTIME_CORE_TRAIN_STATE_H
