//===- Decompose.cpp - graph level -> tensor level --------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// edg-decompose: each coarse layer op becomes the tensor-level ops HF eager
// executes, in the same order, so that every rounding point of MODEL_SPEC §3
// is an op result (a bf16 model rounds exactly where HF does):
//
//   self_attention(x, pos, valid)      cross_attention(x, enc, enc_valid)
//     q = linear(x, Wq)  [B,T,H*hd]      q = linear(x, Wq)
//     k = linear(x, Wk)  [B,T,K*hd]      k = linear(enc, Wk)  [B,S,K*hd]
//     v = linear(x, Wv)                  v = linear(enc, Wv)
//     q = rope(q, pos); k = rope(k, pos) (no RoPE)
//     o = sdpa(q, k, v, pos, valid)      o = sdpa(q, k, v, key_valid=enc_valid)
//     y = linear(o, Wo)  [B,T,d]         y = linear(o, Wo)
//
//   mlp(x): y = linear(mul(gelu_tanh(linear(x, Wg)), linear(x, Wu)), Wd)
//   lm_head(x, E): y = softcap(linear(x, E), c)      (tied table, §1.8)
//
// The soft-cap of attention scores stays an attribute of sdpa: it must run
// between the scale and the mask (§4.6), inside the attention core.
//===----------------------------------------------------------------------===//
#include "passes/KernelUtils.h"
#include "passes/Passes.h"

namespace mlir::edg {
#define GEN_PASS_DEF_DECOMPOSE
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {

/// `base.suffix` as a NameLoc wrapping the original location, so emitted
/// kernels and diagnostics name the HF sub-module ("...self_attn.q_proj").
Location childLoc(Location loc, StringRef suffix) {
  std::string base = locationName(loc);
  if (base.empty())
    return loc;
  return NameLoc::get(StringAttr::get(loc.getContext(), base + "." + suffix),
                      loc);
}

/// tensor<[x dims except last] x width x elt>.
RankedTensorType withWidth(Value x, int64_t width) {
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(t.getShape());
  shape.back() = width;
  return RankedTensorType::get(shape, t.getElementType());
}

Value linear(OpBuilder &b, Location loc, Value x, Value w) {
  int64_t out = cast<RankedTensorType>(w.getType()).getDimSize(0);
  return b.create<LinearOp>(loc, withWidth(x, out), x, w, FloatAttr())
      .getResult();
}

void decompose(SelfAttentionOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  int64_t H = op.getNumHeads(), hd = op.getHeadDim();
  Value x = op.getInput(), pos = op.getPositions();
  Value q = linear(b, childLoc(loc, "q_proj"), x, op.getQProj());
  Value k = linear(b, childLoc(loc, "k_proj"), x, op.getKProj());
  Value v = linear(b, childLoc(loc, "v_proj"), x, op.getVProj());
  auto hdAttr = b.getI64IntegerAttr(hd);
  q = b.create<RopeOp>(childLoc(loc, "rope_q"), q.getType(), q, pos, hdAttr,
                       op.getRopeThetaAttr());
  k = b.create<RopeOp>(childLoc(loc, "rope_k"), k.getType(), k, pos, hdAttr,
                       op.getRopeThetaAttr());
  Value o = b.create<SdpaOp>(childLoc(loc, "sdpa"), withWidth(x, H * hd), q, k,
                             v, pos, op.getKeyValid(), op.getNumHeadsAttr(),
                             op.getNumKvHeadsAttr(), op.getHeadDimAttr(),
                             op.getScaleAttr(), op.getSoftcapAttr(),
                             op.getMaskAttr(), FloatAttr());
  Value y = linear(b, childLoc(loc, "o_proj"), o, op.getOProj());
  op.replaceAllUsesWith(y);
  op.erase();
}

void decompose(CrossAttentionOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  int64_t H = op.getNumHeads(), hd = op.getHeadDim();
  Value x = op.getInput(), enc = op.getEncoder();
  Value q = linear(b, childLoc(loc, "q_proj"), x, op.getQProj());
  Value k = linear(b, childLoc(loc, "k_proj"), enc, op.getKProj());
  Value v = linear(b, childLoc(loc, "v_proj"), enc, op.getVProj());
  // Cross-attention: no RoPE, no causality; only encoder padding masks keys.
  auto mask = MaskAttr::get(op.getContext(), MaskKind::bidirectional, 0);
  Value o = b.create<SdpaOp>(childLoc(loc, "sdpa"), withWidth(x, H * hd), q, k,
                             v, Value(), op.getEncoderValid(),
                             op.getNumHeadsAttr(), op.getNumKvHeadsAttr(),
                             op.getHeadDimAttr(), op.getScaleAttr(),
                             op.getSoftcapAttr(), mask, FloatAttr());
  Value y = linear(b, childLoc(loc, "o_proj"), o, op.getOProj());
  op.replaceAllUsesWith(y);
  op.erase();
}

void decompose(MlpOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value x = op.getInput();
  Value g = linear(b, childLoc(loc, "gate_proj"), x, op.getGateProj());
  Value u = linear(b, childLoc(loc, "up_proj"), x, op.getUpProj());
  // The gate gets the activation (MODEL_SPEC §4.9); HF names it act_fn.
  Value a = b.create<GeluTanhOp>(childLoc(loc, "act_fn"), g.getType(), g);
  Value m = b.create<MulOp>(childLoc(loc, "mul"), a.getType(), a, u);
  Value y = linear(b, childLoc(loc, "down_proj"), m, op.getDownProj());
  op.replaceAllUsesWith(y);
  op.erase();
}

void decompose(LmHeadOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value y = linear(b, loc, op.getInput(), op.getTable());
  if (auto cap = op.getFinalSoftcapAttr())
    y = b.create<SoftcapOp>(childLoc(loc, "final_softcap"), y.getType(), y, cap);
  op.replaceAllUsesWith(y);
  op.erase();
}

struct Decompose : mlir::edg::impl::DecomposeBase<Decompose> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<SelfAttentionOp, CrossAttentionOp, MlpOp, LmHeadOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (auto a = dyn_cast<SelfAttentionOp>(op))
        decompose(a);
      else if (auto c = dyn_cast<CrossAttentionOp>(op))
        decompose(c);
      else if (auto m = dyn_cast<MlpOp>(op))
        decompose(m);
      else
        decompose(cast<LmHeadOp>(op));
    }
  }
};
} // namespace
