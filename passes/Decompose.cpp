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
#include "passes/DecomposeUtils.h"
#include "passes/Passes.h"

namespace mlir::edg {
#define GEN_PASS_DEF_DECOMPOSE
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {

// The forward pieces live in DecomposeUtils.h: edg-decompose-grads rebuilds
// them, op for op, inside the gradient ops.

void decompose(SelfAttentionOp op) {
  OpBuilder b(op);
  AttentionCore c = buildSelfAttentionCore(b, op);
  Value y =
      buildLinear(b, childLoc(op.getLoc(), "o_proj"), c.out, op.getOProj());
  op.replaceAllUsesWith(y);
  op.erase();
}

void decompose(CrossAttentionOp op) {
  OpBuilder b(op);
  AttentionCore c = buildCrossAttentionCore(b, op);
  Value y =
      buildLinear(b, childLoc(op.getLoc(), "o_proj"), c.out, op.getOProj());
  op.replaceAllUsesWith(y);
  op.erase();
}

void decompose(MlpOp op) {
  OpBuilder b(op);
  MlpCore c = buildMlpCore(b, op);
  Value y = buildLinear(b, childLoc(op.getLoc(), "down_proj"), c.prod,
                        op.getDownProj());
  op.replaceAllUsesWith(y);
  op.erase();
}

void decompose(LmHeadOp op) {
  OpBuilder b(op);
  Value y = buildLmHead(b, op);
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
