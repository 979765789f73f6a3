//===- Pipelines.cpp - EDG pass pipelines -----------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Pass pipelines built from the individual EDG passes.
//
// edg-train-pipeline: edg-build-objective -> edg-autodiff -> edg-optimizer,
// i.e. @loss, @grad_step and @train_step from the entry points, with the
// options of the three passes in one place (docs/training.md).
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/KernelUtils.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"

namespace mlir::edg {
namespace {
struct TrainPipelineOptions
    : public PassPipelineOptions<TrainPipelineOptions> {
  Option<std::string> objective{*this, "objective",
                                llvm::cl::desc("lm | seq2seq | prefixlm-kd"),
                                llvm::cl::init("lm")};
  Option<std::string> teacher{*this, "teacher",
                              llvm::cl::desc("prefixlm-kd teacher function"),
                              llvm::cl::init("teacher")};
  Option<std::string> teacherPrefix{
      *this, "teacher-prefix",
      llvm::cl::desc("prefixlm-kd teacher weight prefix"),
      llvm::cl::init("teacher.")};
  Option<double> kdWeight{*this, "kd-weight",
                          llvm::cl::desc("distillation weight"),
                          llvm::cl::init(1.0)};
  Option<double> kdTemperature{*this, "kd-temperature",
                               llvm::cl::desc("distillation temperature"),
                               llvm::cl::init(1.0)};
  Option<bool> kdOnly{*this, "kd-only",
                      llvm::cl::desc("distillation term alone"),
                      llvm::cl::init(false)};
  Option<double> lr{*this, "lr", llvm::cl::desc("peak learning rate"),
                    llvm::cl::init(1e-4)};
  Option<double> beta1{*this, "beta1", llvm::cl::init(0.9)};
  Option<double> beta2{*this, "beta2", llvm::cl::init(0.999)};
  Option<double> eps{*this, "eps", llvm::cl::init(1e-8)};
  Option<double> weightDecay{*this, "weight-decay", llvm::cl::init(0.01)};
  Option<int64_t> warmupSteps{*this, "warmup-steps", llvm::cl::init(0)};
  Option<int64_t> totalSteps{*this, "total-steps", llvm::cl::init(0)};
  Option<double> minLrRatio{*this, "min-lr-ratio", llvm::cl::init(0.1)};
  Option<double> maxGradNorm{*this, "max-grad-norm",
                             llvm::cl::desc("0 disables clipping"),
                             llvm::cl::init(1.0)};
};

void buildTrainPipeline(OpPassManager &pm, const TrainPipelineOptions &o) {
  BuildObjectiveOptions objective;
  objective.objective = o.objective;
  objective.teacher = o.teacher;
  objective.teacherPrefix = o.teacherPrefix;
  objective.kdWeight = o.kdWeight;
  objective.kdTemperature = o.kdTemperature;
  objective.kdOnly = o.kdOnly;
  pm.addPass(createBuildObjective(objective));
  pm.addPass(createAutodiff());
  OptimizerOptions optimizer;
  optimizer.lr = o.lr;
  optimizer.beta1 = o.beta1;
  optimizer.beta2 = o.beta2;
  optimizer.eps = o.eps;
  optimizer.weightDecay = o.weightDecay;
  optimizer.warmupSteps = o.warmupSteps;
  optimizer.totalSteps = o.totalSteps;
  optimizer.minLrRatio = o.minLrRatio;
  optimizer.maxGradNorm = o.maxGradNorm;
  pm.addPass(createOptimizer(optimizer));
}
} // namespace

void registerEDGPipelines() {
  PassPipelineRegistration<TrainPipelineOptions>(
      "edg-train-pipeline",
      "Build @loss, @grad_step and @train_step (objective, autodiff, AdamW)",
      buildTrainPipeline);
  registerCompilePipeline();
}
} // namespace mlir::edg
