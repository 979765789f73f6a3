//===- Optimizer.cpp - the training step: clipping and AdamW ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Turns the gradient function edg-autodiff built into the function the
// runtime calls once per optimizer step:
//
//   %loss, %g... = <grad_step body>
//   %norm, %c... = edg.clip_grad_norm %g... {max_norm}      (optional)
//   edg.adamw_update @w_i, %c_i {lr, betas, eps, weight_decay, schedule,
//                                frozen_steps of w_i}
//   return %loss
//
// The updates are side effects on the weight symbols: the runtime keeps the
// fp32 master weights, the moments and the step counter in its training
// state (runtime/core/train_state.h), so the graph stays a pure dataflow
// graph up to these sinks.
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/Train.h"

namespace mlir::edg {
#define GEN_PASS_DEF_OPTIMIZER
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {
LogicalResult checkOptions(ModuleOp module, const TrainStepOptions &o) {
  auto bad = [&](const char *what) {
    return module.emitError() << "edg-optimizer: " << what;
  };
  if (!(o.lr >= 0.0))
    return bad("lr must be >= 0");
  if (!(o.beta1 >= 0.0 && o.beta1 < 1.0 && o.beta2 >= 0.0 && o.beta2 < 1.0))
    return bad("beta1 and beta2 must be in [0, 1)");
  if (!(o.eps > 0.0))
    return bad("eps must be > 0");
  if (!(o.weightDecay >= 0.0))
    return bad("weight-decay must be >= 0");
  if (o.warmupSteps < 0 || o.totalSteps < 0)
    return bad("warmup-steps and total-steps must be >= 0");
  if (o.totalSteps > 0 && o.totalSteps <= o.warmupSteps)
    return bad("total-steps must exceed warmup-steps (or be 0: no decay)");
  if (!(o.minLrRatio >= 0.0 && o.minLrRatio <= 1.0))
    return bad("min-lr-ratio must be in [0, 1]");
  if (!(o.maxGradNorm >= 0.0))
    return bad("max-grad-norm must be >= 0 (0 disables clipping)");
  return success();
}
} // namespace

LogicalResult mlir::edg::buildTrainStep(ModuleOp module,
                                        const TrainStepOptions &options) {
  if (failed(checkOptions(module, options)))
    return failure();
  MLIRContext *ctx = module.getContext();
  auto grad = module.lookupSymbol<func::FuncOp>(options.function);
  if (!grad || grad.isExternal() || !grad.getBody().hasOneBlock())
    return module.emitError()
           << "edg-optimizer: no single-block function @" << options.function
           << " (build it with edg-autodiff)";
  auto order = grad->getAttrOfType<ArrayAttr>(kGradWeightsAttr);
  if (!order || order.size() + 1 != grad.getNumResults())
    return grad.emitError() << "edg-optimizer: @" << options.function
                            << " needs an '" << kGradWeightsAttr
                            << "' attribute naming the weight of each "
                               "gradient result after the loss";

  // Every gradient must belong to a trainable weight of matching type.
  SmallVector<WeightOp> weights;
  for (auto [i, attr] : llvm::enumerate(order)) {
    auto ref = dyn_cast<FlatSymbolRefAttr>(attr);
    auto w = ref ? module.lookupSymbol<WeightOp>(ref) : WeightOp();
    if (!w)
      return grad.emitError() << "edg-optimizer: gradient " << i
                              << " names " << attr << ", which is no weight";
    if (w.getFrozen())
      return grad.emitError() << "edg-optimizer: gradient " << i << " is of @"
                              << w.getSymName() << ", which is frozen";
    if (w.getType() != grad.getResultTypes()[i + 1])
      return grad.emitError() << "edg-optimizer: gradient " << i
                              << " has type " << grad.getResultTypes()[i + 1]
                              << ", weight @" << w.getSymName() << " is "
                              << w.getType();
    weights.push_back(w);
  }

  Type loss = grad.getResultTypes()[0];
  FailureOr<func::FuncOp> created = createFunction(
      module, options.output,
      FunctionType::get(ctx, grad.getArgumentTypes(), {loss}), grad.getLoc());
  if (failed(created))
    return failure();
  func::FuncOp step = *created;
  for (unsigned i = 0; i < grad.getNumArguments(); ++i)
    if (DictionaryAttr attrs = grad.getArgAttrDict(i))
      step.setArgAttrs(i, attrs);

  OpBuilder b = OpBuilder::atBlockBegin(&step.getBody().front());
  SmallVector<Value> values = inlineBody(b, grad, step.getArguments());
  SmallVector<Value> grads(values.begin() + 1, values.end());
  Location optLoc = NameLoc::get(StringAttr::get(ctx, "optimizer"));

  if (options.maxGradNorm > 0.0 && !grads.empty()) {
    SmallVector<Type> types = {RankedTensorType::get({}, Float32Type::get(ctx))};
    for (Value g : grads)
      types.push_back(g.getType());
    auto clip = b.create<ClipGradNormOp>(
        optLoc, types, grads, b.getF64FloatAttr(options.maxGradNorm));
    grads.assign(clip.getClipped().begin(), clip.getClipped().end());
  }

  for (auto [w, g] : llvm::zip(weights, grads)) {
    SmallVector<NamedAttribute> attrs = {
        b.getNamedAttr("weight", FlatSymbolRefAttr::get(w.getSymNameAttr())),
        b.getNamedAttr("lr", b.getF64FloatAttr(options.lr)),
        b.getNamedAttr("beta1", b.getF64FloatAttr(options.beta1)),
        b.getNamedAttr("beta2", b.getF64FloatAttr(options.beta2)),
        b.getNamedAttr("eps", b.getF64FloatAttr(options.eps)),
        b.getNamedAttr("weight_decay", b.getF64FloatAttr(options.weightDecay)),
        b.getNamedAttr("warmup_steps", b.getI64IntegerAttr(options.warmupSteps)),
        b.getNamedAttr("total_steps", b.getI64IntegerAttr(options.totalSteps)),
        b.getNamedAttr("min_lr_ratio", b.getF64FloatAttr(options.minLrRatio)),
        b.getNamedAttr("frozen_steps",
                       b.getI64IntegerAttr(w.getFrozenSteps().value_or(0)))};
    Location loc = NameLoc::get(StringAttr::get(ctx, w.getSymName()));
    b.create<AdamWUpdateOp>(loc, TypeRange{}, ValueRange{g}, attrs);
  }
  b.create<func::ReturnOp>(grad.getLoc(), values[0]);
  return success();
}

namespace {
struct Optimizer : mlir::edg::impl::OptimizerBase<Optimizer> {
  using Base::Base;

  void runOnOperation() override {
    TrainStepOptions o;
    o.function = function;
    o.output = output;
    o.lr = lr;
    o.beta1 = beta1;
    o.beta2 = beta2;
    o.eps = eps;
    o.weightDecay = weightDecay;
    o.warmupSteps = warmupSteps;
    o.totalSteps = totalSteps;
    o.minLrRatio = minLrRatio;
    o.maxGradNorm = maxGradNorm;
    if (failed(buildTrainStep(getOperation(), o)))
      signalPassFailure();
  }
};
} // namespace
