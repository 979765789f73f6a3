//===- Train.h - objectives, autodiff and optimizer builders ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The C++ API behind the training passes (docs/training.md). Each pass in
// Passes.td (edg-build-objective, edg-autodiff, edg-optimizer) is a thin
// wrapper over one function here, so that tools and the training pipeline
// can build the same functions without a pass manager. All of them report
// problems as diagnostics and return failure; none asserts on user input.
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_TRAIN_H
#define EDG_PASSES_TRAIN_H

#include "dialects/EDG/EDGOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir::edg {

//===----------------------------------------------------------------------===//
// Objectives
//===----------------------------------------------------------------------===//

enum class Objective { lm, seq2seq, prefixlmKd };

struct ObjectiveOptions {
  Objective objective = Objective::lm;
  /// Name of the loss function to create.
  std::string function = "loss";
  /// prefixlm-kd: the teacher function and the prefix of its weights.
  std::string teacher = "teacher";
  std::string teacherPrefix = "teacher.";
  double kdWeight = 1.0;
  double kdTemperature = 1.0;
  bool kdOnly = false;
  int64_t ignoreIndex = -100;
};

/// Parses "lm" | "seq2seq" | "prefixlm-kd" (PrefixLM, UL2 and SFT all use
/// "seq2seq": their batches differ, their graph does not).
std::optional<Objective> parseObjective(StringRef name);

/// Creates the loss function (see BuildObjective in Passes.td).
LogicalResult buildObjective(ModuleOp module, const ObjectiveOptions &options);

//===----------------------------------------------------------------------===//
// Autodiff
//===----------------------------------------------------------------------===//

/// Name of the function attribute listing the weights whose gradients a
/// gradient function returns, in result order (after the loss).
constexpr StringLiteral kGradWeightsAttr = "edg.grad_weights";
/// Name of the argument attribute naming a training input ("labels", ...).
constexpr StringLiteral kArgNameAttr = "edg.arg_name";

/// Builds `@output` = (loss, d loss / d w for every trainable weight) from
/// the scalar loss function `@function` (see Autodiff in Passes.td).
LogicalResult buildGradient(ModuleOp module, StringRef function,
                            StringRef output);

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

struct TrainStepOptions {
  std::string function = "grad_step";
  std::string output = "train_step";
  double lr = 1e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weightDecay = 0.01;
  int64_t warmupSteps = 0, totalSteps = 0;
  double minLrRatio = 0.1;
  /// 0 disables clipping.
  double maxGradNorm = 1.0;
};

/// Builds `@output` from the gradient function (see Optimizer in
/// Passes.td).
LogicalResult buildTrainStep(ModuleOp module, const TrainStepOptions &options);

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

/// Clones the body of the single-block `callee` at `builder`'s insertion
/// point with its arguments replaced by `args`, and returns the values its
/// return op would have returned. Locations are kept.
SmallVector<Value> inlineBody(OpBuilder &builder, func::FuncOp callee,
                              ValueRange args);

/// Appends an empty public function `@name` of `type` to `module`, with an
/// entry block; fails (with a diagnostic) when a symbol `name` exists.
FailureOr<func::FuncOp> createFunction(ModuleOp module, StringRef name,
                                       FunctionType type, Location loc);

} // namespace mlir::edg

#endif // EDG_PASSES_TRAIN_H
