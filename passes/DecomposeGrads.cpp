//===- DecomposeGrads.cpp - coarse gradient ops -> tensor level -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// edg-decompose-grads rewrites the coarse gradient ops of edg-autodiff
// (EDGTrainOps.td) into the tensor-level ops of EDGTensorGradOps.td, so a
// training step lowers to GEMMs, the FlashAttention backward and generated
// kernels like the forward does. It runs before edg-decompose; the forward
// pieces a gradient needs are rebuilt with DecomposeUtils.h, i.e. exactly the
// ops edg-decompose makes of the forward op, so that CSE afterwards merges
// them with the forward pass that precedes the gradient in @grad_step.
//
// For y = linear(x, W) = x W^T:  dx = linear_grad_input(dy, W)   (dy W)
//                                dW = linear_grad_weight(dy, x)  (dy^T x)
//
//   self_attention_grad            cross_attention_grad
//     q, k, v, o: the forward        q from x, k/v from the encoder, o
//     do = dx(dy, Wo); dWo = dW(dy, o)
//     dq, dk, dv = sdpa_grad(q, k, v, pos, valid, out o, grad do)
//       (q, k before RoPE; rope_theta: the kernel rotates and transposes)
//     dWq/k/v = dW(dq/k/v, x)          dWk/v = dW(dk/v, enc)
//     dx = dx(dq,Wq)+dx(dk,Wk)+dx(dv,Wv) dx = dx(dq,Wq);
//                                      denc = dx(dk,Wk)+dx(dv,Wv)
//   mlp_grad: g, u, a = gelu_tanh(g), m = a*u (the forward)
//     dm = dx(dy, Wd); dWd = dW(dy, m); da = dm*u; du = dm*a;
//     dg = gelu_tanh_grad(g, da); dWg = dW(dg, x); dWu = dW(du, x);
//     dx = dx(dg, Wg) + dx(du, Wu)
//   lm_head_grad: z = softcap(linear(x, E)) (the forward's capped logits)
//     dz = softcap_grad(z, dy) (dy without a cap); dx = dx(dz, E);
//     dtable = dW(dz, x)
//   rms_norm_grad: (dx, partial) = rms_norm_grad_rows; dw = column_sum(partial)
//   cross_entropy: label_mean(cross_entropy_rows(logits, labels), labels)
//   distill_kl: label_mean(distill_kl_rows(logits, teacher, index, labels),
//                          labels)
//
// embed_grad, cross_entropy_grad and distill_kl_grad are single kernels
// already and stay; clipping and AdamW have no tensor-level form and stay
// too (the runtime's generated optimizer kernels run them).
//===----------------------------------------------------------------------===//
#include "passes/DecomposeUtils.h"
#include "passes/Passes.h"

#include "llvm/ADT/TypeSwitch.h"

namespace mlir::edg {
#define GEN_PASS_DEF_DECOMPOSEGRADS
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {

/// dx [..., in] = dy [..., out] * W [out, in], typed `type` (the input's).
Value gradInput(OpBuilder &b, Location loc, Value dy, Value w, Type type) {
  return b.create<LinearGradInputOp>(loc, type, dy, w).getResult();
}

/// dW [out, in] = sum over rows of dy [..., out]^T x [..., in], typed like
/// the weight.
Value gradWeight(OpBuilder &b, Location loc, Value dy, Value x, Value w) {
  return b.create<LinearGradWeightOp>(loc, w.getType(), dy, x).getResult();
}

Value add(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return b.create<AddOp>(loc, lhs.getType(), lhs, rhs).getResult();
}

/// dq, dk, dv of the attention core. `mask`, `positions` and `ropeTheta`
/// are the forward sdpa's (after edg-fuse moves RoPE into it), so the
/// backward shares its edg.attention_kernel.
template <typename OpT>
SdpaGradOp buildSdpaGrad(OpBuilder &b, OpT op, const AttentionCore &c,
                         Value positions, Value keyValid, MaskAttr mask,
                         FloatAttr ropeTheta, Value dout) {
  return b.create<SdpaGradOp>(
      childLoc(op.getLoc(), "sdpa.grad"),
      TypeRange{c.q.getType(), c.k.getType(), c.v.getType()}, c.q, c.k, c.v,
      positions, keyValid, c.out, dout, op.getNumHeadsAttr(),
      op.getNumKvHeadsAttr(), op.getHeadDimAttr(), op.getScaleAttr(),
      op.getSoftcapAttr(), mask, ropeTheta);
}

/// Back through o_proj: do [B,T,H*hd] and dWo.
template <typename OpT>
std::pair<Value, Value> outputProjectionGrad(OpBuilder &b, OpT op,
                                             const AttentionCore &c) {
  Location loc = op.getLoc();
  Value dout = gradInput(b, childLoc(loc, "o_proj.dinput"), op.getGrad(),
                         op.getOProj(), c.out.getType());
  Value dwo = gradWeight(b, childLoc(loc, "o_proj.dweight"), op.getGrad(),
                         c.out, op.getOProj());
  return {dout, dwo};
}

void decompose(SelfAttentionGradOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  AttentionCore c = buildSelfAttentionCore(b, op);
  auto [dout, dwo] = outputProjectionGrad(b, op, c);
  SdpaGradOp sg = buildSdpaGrad(b, op, c, op.getPositions(), op.getKeyValid(),
                                op.getMaskAttr(), op.getRopeThetaAttr(), dout);
  Value x = op.getInput();
  Value dwq = gradWeight(b, childLoc(loc, "q_proj.dweight"), sg.getDquery(), x,
                         op.getQProj());
  Value dwk = gradWeight(b, childLoc(loc, "k_proj.dweight"), sg.getDkey(), x,
                         op.getKProj());
  Value dwv = gradWeight(b, childLoc(loc, "v_proj.dweight"), sg.getDvalue(), x,
                         op.getVProj());
  Type xType = op.getDinput().getType();
  Value dxq = gradInput(b, childLoc(loc, "q_proj.dinput"), sg.getDquery(),
                        op.getQProj(), xType);
  Value dxk = gradInput(b, childLoc(loc, "k_proj.dinput"), sg.getDkey(),
                        op.getKProj(), xType);
  Value dxv = gradInput(b, childLoc(loc, "v_proj.dinput"), sg.getDvalue(),
                        op.getVProj(), xType);
  Location sumLoc = childLoc(loc, "dinput");
  Value dx = add(b, sumLoc, add(b, sumLoc, dxq, dxk), dxv);
  op.replaceAllUsesWith(ValueRange{dx, dwq, dwk, dwv, dwo});
  op.erase();
}

void decompose(CrossAttentionGradOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  AttentionCore c = buildCrossAttentionCore(b, op);
  auto [dout, dwo] = outputProjectionGrad(b, op, c);
  SdpaGradOp sg =
      buildSdpaGrad(b, op, c, Value(), op.getEncoderValid(),
                    crossAttentionMask(op.getContext()), FloatAttr(), dout);
  Value x = op.getInput(), enc = op.getEncoder();
  Value dwq = gradWeight(b, childLoc(loc, "q_proj.dweight"), sg.getDquery(), x,
                         op.getQProj());
  Value dwk = gradWeight(b, childLoc(loc, "k_proj.dweight"), sg.getDkey(), enc,
                         op.getKProj());
  Value dwv = gradWeight(b, childLoc(loc, "v_proj.dweight"), sg.getDvalue(),
                         enc, op.getVProj());
  Value dx = gradInput(b, childLoc(loc, "q_proj.dinput"), sg.getDquery(),
                       op.getQProj(), op.getDinput().getType());
  Type encType = op.getDencoder().getType();
  Value dek = gradInput(b, childLoc(loc, "k_proj.dinput"), sg.getDkey(),
                        op.getKProj(), encType);
  Value dev = gradInput(b, childLoc(loc, "v_proj.dinput"), sg.getDvalue(),
                        op.getVProj(), encType);
  Value denc = add(b, childLoc(loc, "dencoder"), dek, dev);
  op.replaceAllUsesWith(ValueRange{dx, denc, dwq, dwk, dwv, dwo});
  op.erase();
}

void decompose(MlpGradOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  MlpCore c = buildMlpCore(b, op);
  Value x = op.getInput(), dy = op.getGrad();
  // Through down_proj: dm [B,T,I].
  Value dm = gradInput(b, childLoc(loc, "down_proj.dinput"), dy,
                       op.getDownProj(), c.prod.getType());
  Value dwd = gradWeight(b, childLoc(loc, "down_proj.dweight"), dy, c.prod,
                         op.getDownProj());
  // Through m = a * u, then the activation of the gate.
  Value da = b.create<MulOp>(childLoc(loc, "mul.dact"), dm.getType(), dm, c.up);
  Value du = b.create<MulOp>(childLoc(loc, "mul.dup"), dm.getType(), dm, c.act);
  Value dg = b.create<GeluTanhGradOp>(childLoc(loc, "act_fn.grad"),
                                      c.gate.getType(), c.gate, da);
  Value dwg = gradWeight(b, childLoc(loc, "gate_proj.dweight"), dg, x,
                         op.getGateProj());
  Value dwu =
      gradWeight(b, childLoc(loc, "up_proj.dweight"), du, x, op.getUpProj());
  Type xType = op.getDinput().getType();
  Value dxg = gradInput(b, childLoc(loc, "gate_proj.dinput"), dg,
                        op.getGateProj(), xType);
  Value dxu =
      gradInput(b, childLoc(loc, "up_proj.dinput"), du, op.getUpProj(), xType);
  Value dx = add(b, childLoc(loc, "dinput"), dxg, dxu);
  op.replaceAllUsesWith(ValueRange{dx, dwg, dwu, dwd});
  op.erase();
}

void decompose(LmHeadGradOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value dz = op.getGrad();
  // The soft-cap's derivative needs the capped logits [B,T,V]: the forward's
  // (a GEMM epilogue after edg-fuse). Without a cap nothing is recomputed.
  if (auto cap = op.getFinalSoftcapAttr()) {
    Value capped = buildLmHead(b, op);
    dz = b.create<SoftcapGradOp>(childLoc(loc, "final_softcap.grad"),
                                 dz.getType(), capped, dz, cap);
  }
  Value dx = gradInput(b, childLoc(loc, "dinput"), dz, op.getTable(),
                       op.getDinput().getType());
  Value dtable =
      gradWeight(b, childLoc(loc, "dtable"), dz, op.getInput(), op.getTable());
  op.replaceAllUsesWith(ValueRange{dx, dtable});
  op.erase();
}

void decompose(RmsNormGradOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  // partial [..., d] f32 = dy * x * rsqrt(mean(x^2) + eps); its column sum
  // is dweight [d].
  auto x = cast<RankedTensorType>(op.getInput().getType());
  auto partialType = RankedTensorType::get(x.getShape(), b.getF32Type());
  auto rows = b.create<RmsNormGradRowsOp>(
      childLoc(loc, "grad_rows"),
      TypeRange{op.getDinput().getType(), partialType}, op.getInput(),
      op.getWeight(), op.getGrad(), op.getEpsAttr());
  Value dw = b.create<ColumnSumOp>(childLoc(loc, "dweight"),
                                   op.getDweight().getType(), rows.getPartial())
                 .getResult();
  op.replaceAllUsesWith(ValueRange{rows.getDinput(), dw});
  op.erase();
}

/// Per-row values [B, T] f32 of a loss over `labels` [B, T].
RankedTensorType rowsType(Value labels) {
  auto t = cast<RankedTensorType>(labels.getType());
  return RankedTensorType::get(t.getShape(), Float32Type::get(t.getContext()));
}

/// Replaces scalar loss `op` by the mean of its per-row values `rows` over
/// the counted labels.
void replaceByLabelMean(Operation *op, OpBuilder &b, Value rows, Value labels,
                        IntegerAttr ignore) {
  Value loss = b.create<LabelMeanOp>(childLoc(op->getLoc(), "mean"),
                                     op->getResult(0).getType(), rows, labels,
                                     ignore)
                   .getResult();
  op->getResult(0).replaceAllUsesWith(loss);
  op->erase();
}

void decompose(CrossEntropyOp op) {
  OpBuilder b(op);
  Value rows = b.create<CrossEntropyRowsOp>(
                    childLoc(op.getLoc(), "rows"), rowsType(op.getLabels()),
                    op.getLogits(), op.getLabels(), op.getIgnoreIndexAttr())
                   .getResult();
  replaceByLabelMean(op, b, rows, op.getLabels(), op.getIgnoreIndexAttr());
}

void decompose(DistillKlOp op) {
  OpBuilder b(op);
  Value rows = b.create<DistillKlRowsOp>(
                    childLoc(op.getLoc(), "rows"), rowsType(op.getLabels()),
                    op.getLogits(), op.getTeacherLogits(), op.getTeacherIndex(),
                    op.getLabels(), op.getTemperatureAttr(), op.getWeightAttr(),
                    op.getIgnoreIndexAttr())
                   .getResult();
  replaceByLabelMean(op, b, rows, op.getLabels(), op.getIgnoreIndexAttr());
}

struct DecomposeGrads : mlir::edg::impl::DecomposeGradsBase<DecomposeGrads> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<SelfAttentionGradOp, CrossAttentionGradOp, MlpGradOp,
              LmHeadGradOp, RmsNormGradOp, CrossEntropyOp, DistillKlOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops)
      llvm::TypeSwitch<Operation *>(op)
          .Case([](SelfAttentionGradOp o) { decompose(o); })
          .Case([](CrossAttentionGradOp o) { decompose(o); })
          .Case([](MlpGradOp o) { decompose(o); })
          .Case([](LmHeadGradOp o) { decompose(o); })
          .Case([](RmsNormGradOp o) { decompose(o); })
          .Case([](CrossEntropyOp o) { decompose(o); })
          .Case([](DistillKlOp o) { decompose(o); });
  }
};
} // namespace
