//===- Autodiff.cpp - graph-level reverse-mode autodiff ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Reverse-mode differentiation of a scalar loss function at the graph level:
// the forward ops are cloned into the gradient function, then each is
// visited in reverse order and gets ONE coarse gradient op (EDGTrainOps.td)
// that recomputes the op's internals from its forward operands. Only the
// values between graph-level ops are kept from the forward pass, which is
// activation recomputation at layer-op granularity (docs/training.md).
//
// Adjoints: every float value with users on the path to the loss gets one
// adjoint value; several contributions (the residual stream read by a norm
// and an add, an embedding table read by embed and the tied lm_head, the
// encoder output read by every cross-attention) are summed with edg.add.
// The seed d loss / d loss = 1 is implicit: loss ops (cross_entropy,
// distill_kl) and edg.add trees of them are "unit" values, and their
// gradient ops take no incoming gradient.
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/Train.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::edg {
#define GEN_PASS_DEF_AUTODIFF
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {
bool isFloatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}

/// Builds the backward half of the gradient function, appended after the
/// cloned forward ops.
class GradientBuilder {
public:
  GradientBuilder(OpBuilder &builder) : b(builder) {}

  /// Marks `loss` as the seed (adjoint 1).
  void seed(Value loss) { unit.insert(loss); }

  /// Emits the gradient op of `op` if a gradient reaches one of its results.
  LogicalResult visit(Operation *op);

  /// Gradient of each weight symbol, in first-contribution order.
  const llvm::MapVector<StringAttr, Value> &weightGradients() const {
    return weightAdj;
  }

private:
  Value adjointOf(Value v) const { return adj.lookup(v); }

  /// Adds `g` to the adjoint of `primal` (a weight read or an activation);
  /// integer values (ids, positions, masks) have no gradient.
  void accumulate(Value primal, Value g, Location loc) {
    if (!g || !isFloatTensor(primal))
      return;
    if (auto use = primal.getDefiningOp<UseWeightOp>()) {
      Value &slot = weightAdj[use.getNameAttr().getAttr()];
      slot = slot ? b.create<AddOp>(loc, slot, g).getResult() : g;
      return;
    }
    Value &slot = adj[primal];
    slot = slot ? b.create<AddOp>(loc, slot, g).getResult() : g;
  }

  /// The forward op's attributes, which its gradient op shares by name.
  template <class GradOp>
  GradOp create(Operation *fwd, TypeRange types, ValueRange operands) {
    return b.create<GradOp>(fwd->getLoc(), types, operands, fwd->getAttrs());
  }

  OpBuilder &b;
  DenseMap<Value, Value> adj;
  llvm::DenseSet<Value> unit;
  llvm::MapVector<StringAttr, Value> weightAdj;
};

LogicalResult GradientBuilder::visit(Operation *op) {
  if (isa<UseWeightOp>(op))
    return success();
  bool isUnit = llvm::any_of(op->getResults(),
                             [&](Value r) { return unit.contains(r); });
  bool reached = isUnit || llvm::any_of(op->getResults(), [&](Value r) {
                   return adj.count(r) != 0;
                 });
  if (!reached)
    return success(); // no path to the loss (e.g. the teacher)
  Location loc = op->getLoc();
  Value g = op->getNumResults() == 1 ? adjointOf(op->getResult(0)) : Value();

  // Loss ops only appear as (sums of) the loss itself.
  if (isa<CrossEntropyOp, DistillKlOp>(op) && !isUnit)
    return op->emitOpError(
        "feeds the loss other than through edg.add; edg-autodiff only "
        "differentiates sums of loss terms");

  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](AddOp a) {
        if (isUnit) {
          unit.insert(a.getLhs());
          unit.insert(a.getRhs());
        } else {
          accumulate(a.getLhs(), g, loc);
          accumulate(a.getRhs(), g, loc);
        }
        return success();
      })
      .Case([&](CrossEntropyOp c) {
        auto grad = create<CrossEntropyGradOp>(
            c, {c.getLogits().getType()}, {c.getLogits(), c.getLabels()});
        accumulate(c.getLogits(), grad.getDlogits(), loc);
        return success();
      })
      .Case([&](DistillKlOp k) {
        auto grad = create<DistillKlGradOp>(k, {k.getLogits().getType()},
                                            k->getOperands());
        accumulate(k.getLogits(), grad.getDlogits(), loc);
        return success();
      })
      .Case([&](LmHeadOp h) {
        auto grad = create<LmHeadGradOp>(
            h, {h.getInput().getType(), h.getTable().getType()},
            {h.getInput(), h.getTable(), g});
        accumulate(h.getInput(), grad.getDinput(), loc);
        accumulate(h.getTable(), grad.getDtable(), loc);
        return success();
      })
      .Case([&](RmsNormOp n) {
        auto grad = create<RmsNormGradOp>(
            n, {n.getInput().getType(), n.getWeight().getType()},
            {n.getInput(), n.getWeight(), g});
        accumulate(n.getInput(), grad.getDinput(), loc);
        accumulate(n.getWeight(), grad.getDweight(), loc);
        return success();
      })
      .Case([&](MlpOp m) {
        auto grad = create<MlpGradOp>(
            m,
            {m.getInput().getType(), m.getGateProj().getType(),
             m.getUpProj().getType(), m.getDownProj().getType()},
            {m.getInput(), m.getGateProj(), m.getUpProj(), m.getDownProj(), g});
        accumulate(m.getInput(), grad.getDinput(), loc);
        accumulate(m.getGateProj(), grad.getDgateProj(), loc);
        accumulate(m.getUpProj(), grad.getDupProj(), loc);
        accumulate(m.getDownProj(), grad.getDdownProj(), loc);
        return success();
      })
      .Case([&](SelfAttentionOp a) -> LogicalResult {
        if (a.getMask().getKind() == MaskKind::prefix)
          return a.emitOpError("has a prefix mask, which has no gradient "
                               "kernel; train PrefixLM as encoder-decoder "
                               "(objective=seq2seq)");
        SmallVector<Value> operands = {a.getInput(), a.getPositions(),
                                       a.getQProj(), a.getKProj(),
                                       a.getVProj(), a.getOProj(), g};
        if (a.getKeyValid())
          operands.push_back(a.getKeyValid());
        auto grad = create<SelfAttentionGradOp>(
            a,
            {a.getInput().getType(), a.getQProj().getType(),
             a.getKProj().getType(), a.getVProj().getType(),
             a.getOProj().getType()},
            operands);
        accumulate(a.getInput(), grad.getDinput(), loc);
        accumulate(a.getQProj(), grad.getDqProj(), loc);
        accumulate(a.getKProj(), grad.getDkProj(), loc);
        accumulate(a.getVProj(), grad.getDvProj(), loc);
        accumulate(a.getOProj(), grad.getDoProj(), loc);
        return success();
      })
      .Case([&](CrossAttentionOp a) {
        SmallVector<Value> operands = {a.getInput(), a.getEncoder(),
                                       a.getQProj(), a.getKProj(),
                                       a.getVProj(), a.getOProj(), g};
        if (a.getEncoderValid())
          operands.push_back(a.getEncoderValid());
        auto grad = create<CrossAttentionGradOp>(
            a,
            {a.getInput().getType(), a.getEncoder().getType(),
             a.getQProj().getType(), a.getKProj().getType(),
             a.getVProj().getType(), a.getOProj().getType()},
            operands);
        accumulate(a.getInput(), grad.getDinput(), loc);
        accumulate(a.getEncoder(), grad.getDencoder(), loc);
        accumulate(a.getQProj(), grad.getDqProj(), loc);
        accumulate(a.getKProj(), grad.getDkProj(), loc);
        accumulate(a.getVProj(), grad.getDvProj(), loc);
        accumulate(a.getOProj(), grad.getDoProj(), loc);
        return success();
      })
      .Case([&](EmbedOp e) {
        auto grad = create<EmbedGradOp>(e, {e.getTable().getType()},
                                        {e.getIds(), g});
        accumulate(e.getTable(), grad.getDtable(), loc);
        return success();
      })
      .Default([&](Operation *other) {
        return other->emitOpError()
               << "has no gradient rule; edg-autodiff differentiates the "
                  "graph-level ops (embed, rms_norm, self_attention, "
                  "cross_attention, mlp, add, lm_head, cross_entropy, "
                  "distill_kl)";
      });
}
} // namespace

LogicalResult mlir::edg::buildGradient(ModuleOp module, StringRef function,
                                       StringRef output) {
  MLIRContext *ctx = module.getContext();
  auto loss = module.lookupSymbol<func::FuncOp>(function);
  if (!loss || loss.isExternal())
    return module.emitError() << "edg-autodiff: no function @" << function
                              << " with a body (build it with "
                                 "edg-build-objective)";
  auto scalar = RankedTensorType::get({}, Float32Type::get(ctx));
  if (loss.getNumResults() != 1 || loss.getResultTypes()[0] != scalar ||
      !loss.getBody().hasOneBlock())
    return loss.emitError() << "edg-autodiff: @" << function
                            << " must have one block and return one "
                               "tensor<f32> loss";

  FailureOr<func::FuncOp> created =
      createFunction(module, output, loss.getFunctionType(), loss.getLoc());
  if (failed(created))
    return failure();
  func::FuncOp grad = *created;
  for (unsigned i = 0; i < loss.getNumArguments(); ++i)
    if (DictionaryAttr attrs = loss.getArgAttrDict(i))
      grad.setArgAttrs(i, attrs);

  // Forward: the loss function's body, then the backward ops after it.
  OpBuilder b = OpBuilder::atBlockBegin(&grad.getBody().front());
  Value lossValue = inlineBody(b, loss, grad.getArguments())[0];
  SmallVector<Operation *> forward;
  for (Operation &op : grad.getBody().front())
    forward.push_back(&op);

  GradientBuilder builder(b);
  builder.seed(lossValue);
  for (Operation *op : llvm::reverse(forward))
    if (failed(builder.visit(op))) {
      grad.erase();
      return failure();
    }

  // Results: the loss, then the gradient of each trainable weight in module
  // (checkpoint) order.
  SmallVector<Value> results = {lossValue};
  SmallVector<Type> types = {scalar};
  SmallVector<Attribute> order;
  const auto &grads = builder.weightGradients();
  for (WeightOp w : module.getOps<WeightOp>()) {
    auto it = grads.find(w.getSymNameAttr());
    if (it == grads.end() || w.getFrozen())
      continue;
    results.push_back(it->second);
    types.push_back(it->second.getType());
    order.push_back(FlatSymbolRefAttr::get(w.getSymNameAttr()));
  }
  b.create<func::ReturnOp>(loss.getLoc(), results);
  grad.setFunctionType(FunctionType::get(ctx, loss.getArgumentTypes(), types));
  grad->setAttr(kGradWeightsAttr, ArrayAttr::get(ctx, order));
  return success();
}

namespace {
struct Autodiff : mlir::edg::impl::AutodiffBase<Autodiff> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(buildGradient(getOperation(), function, output)))
      signalPassFailure();
  }
};
} // namespace
