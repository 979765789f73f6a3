//===- CompilePipeline.cpp - edg-compile-pipeline ---------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The lowering edg-compile runs before emitting code, also registered as the
// `edg-compile-pipeline` pass pipeline so that every stage can be inspected
// with edg-opt: decompose-grads and decompose (graph -> tensor level), CSE,
// fuse, lower-to-kernels, plan-memory. Emission (edg-emit-cpp /
// edg-emit-cuda) is not part of it: edg-compile calls the emitters on the
// planned module itself.
//
// edg-compile runs it on a copy of the module; the graph-level functions the
// CPU executor runs are exported from the original, so nothing here changes
// them. The gradient ops are decomposed first and recompute their forward
// pieces with the ops edg-decompose makes of the forward ops; CSE then
// merges the two, so a @grad_step's backward reads the forward's
// activations. Inference functions have nothing for CSE to merge.
//===----------------------------------------------------------------------===//
#include "passes/KernelUtils.h"
#include "passes/Passes.h"

#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::edg;

namespace {
struct CompilePipelineCLOptions
    : public PassPipelineOptions<CompilePipelineCLOptions> {
  Option<int64_t> maxBatch{*this, "max-batch",
                           llvm::cl::desc("largest batch the model accepts"),
                           llvm::cl::init(8)};
  Option<int64_t> maxSeq{*this, "max-seq",
                         llvm::cl::desc("longest sequence the model accepts"),
                         llvm::cl::init(2048)};
};
} // namespace

void mlir::edg::buildCompilePipeline(OpPassManager &pm,
                                     const CompilePipelineOptions &options) {
  pm.addPass(createDecomposeGrads());
  pm.addPass(createDecompose());
  pm.addPass(createCSEPass());
  pm.addPass(createFuse());
  pm.addPass(createLowerToKernels());
  PlanMemoryOptions plan;
  plan.maxBatch = options.maxBatch;
  plan.maxSeq = options.maxSeq;
  pm.addPass(createPlanMemory(plan));
}

void mlir::edg::registerCompilePipeline() {
  PassPipelineRegistration<CompilePipelineCLOptions>(
      "edg-compile-pipeline",
      "Lower graph-level functions to kernels with a planned arena "
      "(decompose-grads, decompose, cse, fuse, lower-to-kernels, "
      "plan-memory)",
      [](OpPassManager &pm, const CompilePipelineCLOptions &o) {
        CompilePipelineOptions options;
        options.maxBatch = o.maxBatch;
        options.maxSeq = o.maxSeq;
        buildCompilePipeline(pm, options);
      });
}
