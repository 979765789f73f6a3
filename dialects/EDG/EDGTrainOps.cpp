//===- EDGTrainOps.cpp - verifiers of the edg training ops ------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Verifiers for the gradient, loss and optimizer ops of EDGTrainOps.td. A
// gradient op's results must be typed exactly like the values they are the
// gradients of (the activation or the weight), and its `grad` operand like
// the forward op's result, so that edg-autodiff's accumulation with edg.add
// type-checks. The forward ops' own checks (head counts, projection shapes)
// are not repeated: a gradient op is built from a verified forward op.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGOps.h"

#include "llvm/ADT/STLExtras.h"

#include <cstdio>

using namespace mlir;
using namespace mlir::edg;

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

int64_t dimOf(Value v, int64_t i) {
  ArrayRef<int64_t> s = shapeOf(v);
  return i < 0 ? s[s.size() + i] : s[i];
}

bool agree(int64_t a, int64_t b) { return a == kDyn || b == kDyn || a == b; }

/// `result` (named `name`) must have the type of `like` (named `what`).
LogicalResult sameType(Operation *op, Value result, StringRef name, Value like,
                       StringRef what) {
  if (result.getType() == like.getType())
    return success();
  return op->emitOpError() << name << " must have the type of " << what << " ("
                           << like.getType() << "), got " << result.getType();
}

LogicalResult positive(Operation *op, std::optional<double> value,
                       StringRef name) {
  if (!value || *value > 0.0)
    return success();
  char text[32];
  std::snprintf(text, sizeof(text), "%g", *value);
  return op->emitOpError() << name << " must be > 0, got " << text;
}

std::optional<double> toDouble(std::optional<APFloat> v) {
  if (!v)
    return std::nullopt;
  return v->convertToDouble();
}

/// Logits [B, T, V] and labels [B, T] of a loss or loss gradient.
LogicalResult verifyLogitsLabels(Operation *op, Value logits, Value labels) {
  if (shapeOf(logits).size() != 3)
    return op->emitOpError("logits must have rank 3 ([batch, seq, vocab])");
  ArrayRef<int64_t> l = shapeOf(labels);
  if (l.size() != 2 || !agree(l[0], dimOf(logits, 0)) ||
      !agree(l[1], dimOf(logits, 1)))
    return op->emitOpError("labels must be [batch, seq] of the logits");
  return success();
}

/// The distillation operands shared by distill_kl and its gradient.
LogicalResult verifyDistill(Operation *op, Value logits, Value teacher,
                            Value index, Value labels, double temperature,
                            double weight) {
  if (failed(verifyLogitsLabels(op, logits, labels)))
    return failure();
  if (shapeOf(teacher).size() != 3 || !agree(dimOf(teacher, 0), dimOf(logits, 0)) ||
      !agree(dimOf(teacher, 2), dimOf(logits, 2)))
    return op->emitOpError(
        "teacher_logits must be [batch, teacher_seq, vocab] with the "
        "student's batch and vocabulary");
  if (shapeOf(index).size() != 2 || !agree(dimOf(index, 0), dimOf(labels, 0)) ||
      !agree(dimOf(index, 1), dimOf(labels, 1)))
    return op->emitOpError("teacher_index must be [batch, seq] like labels");
  if (failed(positive(op, temperature, "temperature")))
    return failure();
  if (weight < 0.0)
    return op->emitOpError("weight must be >= 0");
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// Losses and their gradients
//===----------------------------------------------------------------------===//

LogicalResult DistillKlOp::verify() {
  return verifyDistill(*this, getLogits(), getTeacherLogits(),
                       getTeacherIndex(), getLabels(),
                       getTemperature().convertToDouble(),
                       getWeight().convertToDouble());
}

LogicalResult DistillKlGradOp::verify() {
  if (failed(verifyDistill(*this, getLogits(), getTeacherLogits(),
                           getTeacherIndex(), getLabels(),
                           getTemperature().convertToDouble(),
                           getWeight().convertToDouble())))
    return failure();
  return sameType(*this, getDlogits(), "dlogits", getLogits(), "the logits");
}

LogicalResult CrossEntropyGradOp::verify() {
  if (failed(verifyLogitsLabels(*this, getLogits(), getLabels())))
    return failure();
  return sameType(*this, getDlogits(), "dlogits", getLogits(), "the logits");
}

//===----------------------------------------------------------------------===//
// Graph-level gradients
//===----------------------------------------------------------------------===//

LogicalResult EmbedGradOp::verify() {
  ArrayRef<int64_t> ids = shapeOf(getIds()), g = shapeOf(getGrad()),
                    t = shapeOf(getDtable());
  if (ids.size() != 2 || g.size() != 3 || !agree(ids[0], g[0]) ||
      !agree(ids[1], g[1]))
    return emitOpError("grad must be [batch, seq, hidden] of the ids");
  if (t.size() != 2 || !agree(t[1], g[2]))
    return emitOpError("dtable must be [vocab, hidden] with the grad's hidden");
  return positive(*this, getScale().convertToDouble(), "scale");
}

LogicalResult RmsNormGradOp::verify() {
  if (failed(sameType(*this, getGrad(), "grad", getInput(), "the input")) ||
      failed(sameType(*this, getDinput(), "dinput", getInput(), "the input")) ||
      failed(sameType(*this, getDweight(), "dweight", getWeight(),
                      "the weight")))
    return failure();
  if (shapeOf(getWeight()).size() != 1 ||
      !agree(dimOf(getWeight(), 0), dimOf(getInput(), -1)))
    return emitOpError("weight must be [hidden] of the input");
  return positive(*this, getEps().convertToDouble(), "eps");
}

LogicalResult SelfAttentionGradOp::verify() {
  if (shapeOf(getInput()).size() != 3)
    return emitOpError("input must have rank 3 ([batch, seq, hidden])");
  int64_t heads = getNumHeads(), kv = getNumKvHeads(), hd = getHeadDim();
  if (heads <= 0 || kv <= 0 || hd <= 0 || heads % kv != 0)
    return emitOpError("needs num_heads, num_kv_heads, head_dim > 0 with "
                       "num_heads divisible by num_kv_heads");
  if (dimOf(getQProj(), 0) != heads * hd || dimOf(getKProj(), 0) != kv * hd)
    return emitOpError("projection shapes disagree with the head counts");
  if (failed(sameType(*this, getGrad(), "grad", getInput(), "the input")) ||
      failed(sameType(*this, getDinput(), "dinput", getInput(), "the input")) ||
      failed(sameType(*this, getDqProj(), "dq_proj", getQProj(), "q_proj")) ||
      failed(sameType(*this, getDkProj(), "dk_proj", getKProj(), "k_proj")) ||
      failed(sameType(*this, getDvProj(), "dv_proj", getVProj(), "v_proj")) ||
      failed(sameType(*this, getDoProj(), "do_proj", getOProj(), "o_proj")) ||
      failed(positive(*this, getScale().convertToDouble(), "scale")) ||
      failed(positive(*this, toDouble(getSoftcap()), "softcap")))
    return failure();
  if (getMask().getKind() == MaskKind::prefix)
    return emitOpError("has no gradient kernel for the prefix mask");
  return success();
}

LogicalResult CrossAttentionGradOp::verify() {
  if (shapeOf(getInput()).size() != 3 || shapeOf(getEncoder()).size() != 3)
    return emitOpError("input and encoder must have rank 3");
  int64_t heads = getNumHeads(), kv = getNumKvHeads(), hd = getHeadDim();
  if (heads <= 0 || kv <= 0 || hd <= 0 || heads % kv != 0)
    return emitOpError("needs num_heads, num_kv_heads, head_dim > 0 with "
                       "num_heads divisible by num_kv_heads");
  if (failed(sameType(*this, getGrad(), "grad", getInput(), "the input")) ||
      failed(sameType(*this, getDinput(), "dinput", getInput(), "the input")) ||
      failed(sameType(*this, getDencoder(), "dencoder", getEncoder(),
                      "the encoder")) ||
      failed(sameType(*this, getDqProj(), "dq_proj", getQProj(), "q_proj")) ||
      failed(sameType(*this, getDkProj(), "dk_proj", getKProj(), "k_proj")) ||
      failed(sameType(*this, getDvProj(), "dv_proj", getVProj(), "v_proj")) ||
      failed(sameType(*this, getDoProj(), "do_proj", getOProj(), "o_proj")) ||
      failed(positive(*this, getScale().convertToDouble(), "scale")) ||
      failed(positive(*this, toDouble(getSoftcap()), "softcap")))
    return failure();
  return success();
}

LogicalResult MlpGradOp::verify() {
  if (failed(sameType(*this, getGrad(), "grad", getInput(), "the input")) ||
      failed(sameType(*this, getDinput(), "dinput", getInput(), "the input")) ||
      failed(sameType(*this, getDgateProj(), "dgate_proj", getGateProj(),
                      "gate_proj")) ||
      failed(sameType(*this, getDupProj(), "dup_proj", getUpProj(),
                      "up_proj")) ||
      failed(sameType(*this, getDdownProj(), "ddown_proj", getDownProj(),
                      "down_proj")))
    return failure();
  return success();
}

LogicalResult LmHeadGradOp::verify() {
  if (shapeOf(getInput()).size() != 3 || shapeOf(getGrad()).size() != 3)
    return emitOpError("input and grad must have rank 3");
  if (!agree(dimOf(getGrad(), 2), dimOf(getTable(), 0)))
    return emitOpError("grad must be [batch, seq, vocab] of the table");
  if (failed(sameType(*this, getDinput(), "dinput", getInput(), "the input")) ||
      failed(sameType(*this, getDtable(), "dtable", getTable(), "the table")) ||
      failed(positive(*this, toDouble(getFinalSoftcap()), "final_softcap")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

LogicalResult ClipGradNormOp::verify() {
  if (getGrads().size() != getClipped().size())
    return emitOpError() << "has " << getGrads().size() << " gradients but "
                         << getClipped().size() << " clipped results";
  for (auto [i, pair] : llvm::enumerate(llvm::zip(getGrads(), getClipped())))
    if (std::get<0>(pair).getType() != std::get<1>(pair).getType())
      return emitOpError() << "clipped result " << i
                           << " must have the type of gradient " << i;
  return positive(*this, getMaxNorm().convertToDouble(), "max_norm");
}

LogicalResult AdamWUpdateOp::verify() {
  double lr = getLr().convertToDouble(), b1 = getBeta1().convertToDouble(),
         b2 = getBeta2().convertToDouble();
  if (!(lr >= 0.0))
    return emitOpError("lr must be >= 0");
  if (!(b1 >= 0.0 && b1 < 1.0) || !(b2 >= 0.0 && b2 < 1.0))
    return emitOpError("beta1 and beta2 must be in [0, 1)");
  if (failed(positive(*this, getEps().convertToDouble(), "eps")))
    return failure();
  if (getWeightDecay().convertToDouble() < 0.0)
    return emitOpError("weight_decay must be >= 0");
  // I64Attr getters return the raw bits as uint64_t.
  int64_t warmup = int64_t(getWarmupSteps()), total = int64_t(getTotalSteps());
  if (warmup < 0 || total < 0 || int64_t(getFrozenSteps()) < 0)
    return emitOpError("warmup_steps, total_steps and frozen_steps must be >= 0");
  if (total > 0 && total <= warmup)
    return emitOpError("total_steps must exceed warmup_steps (or be 0 for no "
                       "decay)");
  double ratio = getMinLrRatio().convertToDouble();
  if (!(ratio >= 0.0 && ratio <= 1.0))
    return emitOpError("min_lr_ratio must be in [0, 1]");
  return success();
}

LogicalResult
AdamWUpdateOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight =
      symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, getWeightAttr());
  if (!weight)
    return emitOpError() << "no edg.weight named " << getWeightAttr();
  if (weight.getFrozen())
    return emitOpError() << "updates " << getWeightAttr()
                         << ", which is frozen";
  if (weight.getType() != getGrad().getType())
    return emitOpError() << "gradient type " << getGrad().getType()
                         << " does not match the weight's type "
                         << weight.getType();
  return success();
}
