//===- EDGOps.cpp - edg operation verifiers ---------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Verifiers for what a user (or a frontend bug) can get wrong: weight shapes
// that disagree with the op's head counts and widths, dtypes that differ
// between activations and weights, non-positive scales and caps, and weight
// references that name no weight or the wrong type. Dynamic dimensions are
// accepted wherever a static one is expected.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGOps.h"

#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

#include <cstdio>

using namespace mlir;
using namespace mlir::edg;

#define GET_OP_CLASSES
#include "dialects/EDG/EDGOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;

/// Dims of a ranked tensor value.
ArrayRef<int64_t> dims(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

int64_t dim(Value v, int64_t i) {
  auto d = dims(v);
  return i < 0 ? d[d.size() + i] : d[i];
}

bool dimsAgree(int64_t a, int64_t b) { return a == kDyn || b == kDyn || a == b; }

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleave(
      shape, os, [&](int64_t d) { os << (d == kDyn ? std::string("?") : std::to_string(d)); },
      ", ");
  os << "]";
  return s;
}

/// `value` must have exactly `expected` as shape (kDyn matches anything).
/// `meaning` says what the dims are, e.g. "[num_heads*head_dim, hidden]".
LogicalResult expectShape(Operation *op, Value value, StringRef name,
                          ArrayRef<int64_t> expected, StringRef meaning) {
  ArrayRef<int64_t> got = dims(value);
  bool ok = got.size() == expected.size() &&
            llvm::all_of(llvm::zip(got, expected), [](auto p) {
              return dimsAgree(std::get<0>(p), std::get<1>(p));
            });
  if (ok)
    return success();
  return op->emitOpError() << name << " must be " << shapeString(expected)
                           << " " << meaning << ", got " << shapeString(got);
}

/// Weights and activations must share an element type (one dtype per model).
LogicalResult expectSameElementType(Operation *op, Value weight, StringRef name,
                                    Value input) {
  Type w = getElementTypeOrSelf(weight.getType());
  Type x = getElementTypeOrSelf(input.getType());
  if (w == x)
    return success();
  return op->emitOpError() << name << " element type " << w
                           << " does not match the input's " << x;
}

LogicalResult expectRank(Operation *op, Value v, StringRef name, int64_t rank,
                         StringRef meaning) {
  if (static_cast<int64_t>(dims(v).size()) == rank)
    return success();
  return op->emitOpError() << name << " must have rank " << rank << " "
                           << meaning << ", got rank " << dims(v).size();
}

LogicalResult expectPositive(Operation *op, std::optional<APFloat> value,
                             StringRef name) {
  if (!value || value->convertToDouble() > 0.0)
    return success();
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value->convertToDouble());
  return op->emitOpError() << name << " must be > 0, got " << text;
}

/// Head counts shared by both attention ops.
LogicalResult verifyHeads(Operation *op, int64_t heads, int64_t kvHeads,
                          int64_t headDim) {
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0)
    return op->emitOpError("num_heads, num_kv_heads and head_dim must be > 0");
  if (heads % kvHeads != 0)
    return op->emitOpError() << "num_heads (" << heads
                             << ") must be divisible by num_kv_heads ("
                             << kvHeads << ")";
  return success();
}

/// Q/K/V/O projections: q [H*hd, dq], k/v [K*hd, dkv], o [dq, H*hd].
LogicalResult verifyProjections(Operation *op, Value input, Value kvInput,
                                Value q, Value k, Value v, Value o,
                                int64_t heads, int64_t kvHeads, int64_t hd) {
  int64_t dq = dim(input, -1), dkv = dim(kvInput, -1);
  if (failed(expectShape(op, q, "q_proj", {heads * hd, dq},
                         "([num_heads*head_dim, hidden])")) ||
      failed(expectShape(op, k, "k_proj", {kvHeads * hd, dkv},
                         "([num_kv_heads*head_dim, kv hidden])")) ||
      failed(expectShape(op, v, "v_proj", {kvHeads * hd, dkv},
                         "([num_kv_heads*head_dim, kv hidden])")) ||
      failed(expectShape(op, o, "o_proj", {dq, heads * hd},
                         "([hidden, num_heads*head_dim])")))
    return failure();
  for (auto [w, name] : {std::pair{q, "q_proj"}, {k, "k_proj"}, {v, "v_proj"},
                         {o, "o_proj"}})
    if (failed(expectSameElementType(op, w, name, input)))
      return failure();
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// WeightOp / UseWeightOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (getInitFrom() && *getInitFrom() == getSymName())
    return emitOpError("cannot be initialised from itself");
  if (getFrozen() && getFrozenSteps())
    return emitOpError("is frozen for good; frozen_steps would be ignored");
  if (getFrozenSteps() && *getFrozenSteps() <= 0)
    return emitOpError("frozen_steps must be > 0");
  return success();
}

LogicalResult
UseWeightOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight =
      symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, getNameAttr());
  if (!weight)
    return emitOpError() << "no edg.weight named " << getNameAttr();
  if (weight.getType() != getType())
    return emitOpError() << "result type " << getType()
                         << " does not match the weight's type "
                         << weight.getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Graph-level ops
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::verify() {
  if (failed(expectRank(*this, getIds(), "ids", 2, "([batch, seq])")) ||
      failed(expectRank(*this, getTable(), "table", 2, "([vocab, hidden])")) ||
      failed(expectShape(*this, getResult(), "result",
                         {dim(getIds(), 0), dim(getIds(), 1), dim(getTable(), 1)},
                         "([batch, seq, hidden])")) ||
      failed(expectSameElementType(*this, getTable(), "table", getResult())) ||
      failed(expectPositive(*this, getScale(), "scale")))
    return failure();
  return success();
}

LogicalResult RmsNormOp::verify() {
  if (getInput().getType() != getResult().getType())
    return emitOpError("result type must equal the input type");
  if (failed(expectShape(*this, getWeight(), "weight", {dim(getInput(), -1)},
                         "([hidden])")) ||
      failed(expectSameElementType(*this, getWeight(), "weight", getInput())) ||
      failed(expectPositive(*this, getEps(), "eps")))
    return failure();
  return success();
}

LogicalResult SelfAttentionOp::verify() {
  int64_t heads = getNumHeads(), kv = getNumKvHeads(), hd = getHeadDim();
  if (getInput().getType() != getResult().getType())
    return emitOpError("result type must equal the input type");
  if (failed(expectRank(*this, getInput(), "input", 3,
                        "([batch, seq, hidden])")) ||
      failed(verifyHeads(*this, heads, kv, hd)) ||
      failed(verifyProjections(*this, getInput(), getInput(), getQProj(),
                               getKProj(), getVProj(), getOProj(), heads, kv,
                               hd)) ||
      failed(expectShape(*this, getPositions(), "positions",
                         {dim(getInput(), 0), dim(getInput(), 1)},
                         "([batch, seq])")) ||
      (getKeyValid() &&
       failed(expectShape(*this, getKeyValid(), "key_valid",
                          {dim(getInput(), 0), dim(getInput(), 1)},
                          "([batch, seq])"))) ||
      failed(expectPositive(*this, getScale(), "scale")) ||
      failed(expectPositive(*this, getSoftcap(), "softcap")) ||
      failed(expectPositive(*this, getRopeTheta(),
                            "rope_theta")))
    return failure();
  return success();
}

LogicalResult CrossAttentionOp::verify() {
  int64_t heads = getNumHeads(), kv = getNumKvHeads(), hd = getHeadDim();
  if (getInput().getType() != getResult().getType())
    return emitOpError("result type must equal the input type");
  if (failed(expectRank(*this, getInput(), "input", 3,
                        "([batch, seq, hidden])")) ||
      failed(expectRank(*this, getEncoder(), "encoder", 3,
                        "([batch, enc_seq, enc_hidden])")) ||
      failed(verifyHeads(*this, heads, kv, hd)) ||
      failed(verifyProjections(*this, getInput(), getEncoder(), getQProj(),
                               getKProj(), getVProj(), getOProj(), heads, kv,
                               hd)) ||
      (getEncoderValid() &&
       failed(expectShape(*this, getEncoderValid(), "encoder_valid",
                          {dim(getEncoder(), 0), dim(getEncoder(), 1)},
                          "([batch, enc_seq])"))) ||
      failed(expectPositive(*this, getScale(), "scale")) ||
      failed(expectPositive(*this, getSoftcap(), "softcap")))
    return failure();
  if (!dimsAgree(dim(getInput(), 0), dim(getEncoder(), 0)))
    return emitOpError("input and encoder batch sizes differ");
  return success();
}

LogicalResult MlpOp::verify() {
  if (getInput().getType() != getResult().getType())
    return emitOpError("result type must equal the input type");
  int64_t d = dim(getInput(), -1), inter = dim(getGateProj(), 0);
  if (failed(expectShape(*this, getGateProj(), "gate_proj", {inter, d},
                         "([intermediate, hidden])")) ||
      failed(expectShape(*this, getUpProj(), "up_proj", {inter, d},
                         "([intermediate, hidden])")) ||
      failed(expectShape(*this, getDownProj(), "down_proj", {d, inter},
                         "([hidden, intermediate])")))
    return failure();
  for (auto [w, name] : {std::pair{getGateProj(), "gate_proj"},
                         {getUpProj(), "up_proj"}, {getDownProj(), "down_proj"}})
    if (failed(expectSameElementType(*this, w, name, getInput())))
      return failure();
  return success();
}

LogicalResult LmHeadOp::verify() {
  if (failed(expectRank(*this, getInput(), "input", 3,
                        "([batch, seq, hidden])")) ||
      failed(expectShape(*this, getTable(), "table",
                         {dim(getTable(), 0), dim(getInput(), -1)},
                         "([vocab, hidden])")) ||
      failed(expectShape(*this, getResult(), "result",
                         {dim(getInput(), 0), dim(getInput(), 1),
                          dim(getTable(), 0)},
                         "([batch, seq, vocab])")) ||
      failed(expectSameElementType(*this, getTable(), "table", getInput())) ||
      failed(expectPositive(*this, getFinalSoftcap(), "final_softcap")))
    return failure();
  return success();
}

LogicalResult CrossEntropyOp::verify() {
  if (failed(expectRank(*this, getLogits(), "logits", 3,
                        "([batch, seq, vocab])")) ||
      failed(expectShape(*this, getLabels(), "labels",
                         {dim(getLogits(), 0), dim(getLogits(), 1)},
                         "([batch, seq])")))
    return failure();
  return success();
}
