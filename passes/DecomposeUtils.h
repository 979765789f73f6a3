//===- DecomposeUtils.h - forward pieces of edg-decompose -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The tensor-level forward computation of each graph-level layer op, shared
// by edg-decompose (which finishes it with the output projection) and
// edg-decompose-grads (which recomputes it inside a gradient op). Both must
// build the very same ops, attributes and order: in @grad_step the
// recomputation then CSEs with the forward pass that precedes it, so the
// backward reads the forward's activations instead of computing them twice.
//
// The builders are templates over the op class because a forward op and its
// gradient op (edg.mlp / edg.mlp_grad, ...) share operand and attribute
// accessor names (EDGOps.td / EDGTrainOps.td).
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_DECOMPOSEUTILS_H
#define EDG_PASSES_DECOMPOSEUTILS_H

#include "dialects/EDG/EDGOps.h"
#include "passes/KernelUtils.h"

#include "mlir/IR/Builders.h"

namespace mlir::edg {

/// `base.suffix` as a NameLoc wrapping `loc`, so emitted kernels and
/// diagnostics name the HF sub-module ("...self_attn.q_proj"); `loc` itself
/// when it carries no name.
inline Location childLoc(Location loc, StringRef suffix) {
  std::string base = locationName(loc);
  if (base.empty())
    return loc;
  return NameLoc::get(StringAttr::get(loc.getContext(), base + "." + suffix),
                      loc);
}

/// tensor<[x dims except last] x width x elt>.
inline RankedTensorType withWidth(Value x, int64_t width) {
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(t.getShape());
  shape.back() = width;
  return RankedTensorType::get(shape, t.getElementType());
}

/// edg.linear x [..., in], w [out, in] -> [..., out], no epilogue.
inline Value buildLinear(OpBuilder &b, Location loc, Value x, Value w) {
  int64_t out = cast<RankedTensorType>(w.getType()).getDimSize(0);
  return b.create<LinearOp>(loc, withWidth(x, out), x, w, FloatAttr())
      .getResult();
}

/// The attention core: q/k/v projections (before RoPE) and the sdpa result
/// o [B, T, H*hd] that feeds o_proj.
struct AttentionCore {
  Value q, k, v, out;
};

/// self_attention(x, pos, valid) up to the sdpa:
///   q = linear(x, Wq) [B,T,H*hd], k/v = linear(x, Wk/Wv) [B,T,K*hd],
///   o = sdpa(rope(q, pos), rope(k, pos), v, pos, valid).
template <typename OpT>
AttentionCore buildSelfAttentionCore(OpBuilder &b, OpT op) {
  Location loc = op.getLoc();
  int64_t H = op.getNumHeads(), hd = op.getHeadDim();
  Value x = op.getInput(), pos = op.getPositions();
  AttentionCore c;
  c.q = buildLinear(b, childLoc(loc, "q_proj"), x, op.getQProj());
  c.k = buildLinear(b, childLoc(loc, "k_proj"), x, op.getKProj());
  c.v = buildLinear(b, childLoc(loc, "v_proj"), x, op.getVProj());
  auto hdAttr = b.getI64IntegerAttr(hd);
  Value rq = b.create<RopeOp>(childLoc(loc, "rope_q"), c.q.getType(), c.q, pos,
                              hdAttr, op.getRopeThetaAttr());
  Value rk = b.create<RopeOp>(childLoc(loc, "rope_k"), c.k.getType(), c.k, pos,
                              hdAttr, op.getRopeThetaAttr());
  c.out = b.create<SdpaOp>(childLoc(loc, "sdpa"), withWidth(x, H * hd), rq, rk,
                           c.v, pos, op.getKeyValid(), op.getNumHeadsAttr(),
                           op.getNumKvHeadsAttr(), op.getHeadDimAttr(),
                           op.getScaleAttr(), op.getSoftcapAttr(),
                           op.getMaskAttr(), FloatAttr());
  return c;
}

/// The mask of cross-attention: no causality; only encoder padding (the
/// sdpa's key_valid) masks keys.
inline MaskAttr crossAttentionMask(MLIRContext *ctx) {
  return MaskAttr::get(ctx, MaskKind::bidirectional, 0);
}

/// cross_attention(x, enc, enc_valid) up to the sdpa: q from x [B,T,H*hd],
/// k/v from the encoder [B,S,K*hd], no RoPE, o = sdpa(q, k, v, enc_valid).
template <typename OpT>
AttentionCore buildCrossAttentionCore(OpBuilder &b, OpT op) {
  Location loc = op.getLoc();
  int64_t H = op.getNumHeads(), hd = op.getHeadDim();
  Value x = op.getInput(), enc = op.getEncoder();
  AttentionCore c;
  c.q = buildLinear(b, childLoc(loc, "q_proj"), x, op.getQProj());
  c.k = buildLinear(b, childLoc(loc, "k_proj"), enc, op.getKProj());
  c.v = buildLinear(b, childLoc(loc, "v_proj"), enc, op.getVProj());
  c.out = b.create<SdpaOp>(
      childLoc(loc, "sdpa"), withWidth(x, H * hd), c.q, c.k, c.v, Value(),
      op.getEncoderValid(), op.getNumHeadsAttr(), op.getNumKvHeadsAttr(),
      op.getHeadDimAttr(), op.getScaleAttr(), op.getSoftcapAttr(),
      crossAttentionMask(op.getContext()), FloatAttr());
  return c;
}

/// GeGLU up to the down projection: gate g, up u [B,T,I], a = gelu_tanh(g)
/// (the gate gets the activation, MODEL_SPEC §4.9; HF names it act_fn) and
/// the product m = a * u that feeds down_proj.
struct MlpCore {
  Value gate, up, act, prod;
};

template <typename OpT> MlpCore buildMlpCore(OpBuilder &b, OpT op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  MlpCore c;
  c.gate = buildLinear(b, childLoc(loc, "gate_proj"), x, op.getGateProj());
  c.up = buildLinear(b, childLoc(loc, "up_proj"), x, op.getUpProj());
  c.act =
      b.create<GeluTanhOp>(childLoc(loc, "act_fn"), c.gate.getType(), c.gate);
  c.prod = b.create<MulOp>(childLoc(loc, "mul"), c.act.getType(), c.act, c.up);
  return c;
}

/// Tied logits [B,T,V] = linear(x, E), then the final soft-cap when the op
/// has one (§1.8): the capped logits.
template <typename OpT> Value buildLmHead(OpBuilder &b, OpT op) {
  Location loc = op.getLoc();
  Value y = buildLinear(b, loc, op.getInput(), op.getTable());
  if (auto cap = op.getFinalSoftcapAttr())
    y = b.create<SoftcapOp>(childLoc(loc, "final_softcap"), y.getType(), y,
                            cap);
  return y;
}

} // namespace mlir::edg

#endif // EDG_PASSES_DECOMPOSEUTILS_H
