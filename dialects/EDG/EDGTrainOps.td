//===- EDGTrainOps.td - edg training ops -------------------*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Gradient ops built by edg-autodiff, losses of the paper's objectives, and
// optimizer updates built by edg-optimizer. Included from EDGOps.td.
//
// Autodiff is graph level and coarse: one gradient op per forward op kind.
// Each takes the forward op's operands plus the gradient of its result and
// recomputes whatever it needs (projections, softmax, activations) inside,
// so only the values between graph-level ops (the residual stream, norm
// outputs) live from the forward to the backward pass. Gradients of
// activations are results typed like the activation; gradients of weights
// are results typed like the weight (docs/training.md).
//===----------------------------------------------------------------------===//
#ifndef EDG_TRAIN_OPS_TD
#define EDG_TRAIN_OPS_TD

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def EDG_DistillKlOp : EDG_Op<"distill_kl", [Pure]> {
  let summary = "knowledge-distillation loss KL(teacher || student)";
  let description = [{
    `weight * tau^2 * mean_rows KL(softmax(t/tau) || softmax(s/tau))` over the
    rows whose label is not `ignore_index`. logits [B, T, V] are the
    student's (soft-capped) logits; teacher_logits [B, Tt, V] the teacher's,
    over its own (longer) sequence; teacher_index [B, T] names, for each
    student row, the teacher row that predicts the same token (PrefixLM: the
    teacher sees prefix + target, so row t of the decoder matches teacher
    row P - 1 + t). No gradient flows to the teacher.
  }];
  let arguments = (ins AnyRankedTensor:$logits, AnyRankedTensor:$teacher_logits,
                       TensorOf<[AnySignlessInteger]>:$teacher_index,
                       TensorOf<[AnySignlessInteger]>:$labels,
                       DefaultValuedAttr<F64Attr, "1.0">:$temperature,
                       DefaultValuedAttr<F64Attr, "1.0">:$weight,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    $logits `,` $teacher_logits `,` $teacher_index `,` $labels attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Gradients of the losses (the seed of the backward pass is d loss = 1)
//===----------------------------------------------------------------------===//

def EDG_CrossEntropyGradOp : EDG_Op<"cross_entropy_grad", [Pure]> {
  let summary = "d(mean cross-entropy)/d logits";
  let description = [{
    logits [B, T, V], labels [B, T] -> dlogits [B, T, V]:
    `(softmax(logits) - onehot(label)) / N` on the N counted rows, zero on
    rows whose label is `ignore_index`.
  }];
  let arguments = (ins AnyRankedTensor:$logits,
                       TensorOf<[AnySignlessInteger]>:$labels,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs AnyRankedTensor:$dlogits);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_DistillKlGradOp : EDG_Op<"distill_kl_grad", [Pure]> {
  let summary = "d distill_kl / d student logits";
  let description = [{
    Operands and attributes as `edg.distill_kl`; dlogits [B, T, V] =
    `weight * tau / N * (softmax(s/tau) - softmax(t/tau))` on counted rows.
  }];
  let arguments = (ins AnyRankedTensor:$logits, AnyRankedTensor:$teacher_logits,
                       TensorOf<[AnySignlessInteger]>:$teacher_index,
                       TensorOf<[AnySignlessInteger]>:$labels,
                       DefaultValuedAttr<F64Attr, "1.0">:$temperature,
                       DefaultValuedAttr<F64Attr, "1.0">:$weight,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs AnyRankedTensor:$dlogits);
  let assemblyFormat = [{
    $logits `,` $teacher_logits `,` $teacher_index `,` $labels attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Gradients of the graph-level ops
//===----------------------------------------------------------------------===//

def EDG_EmbedGradOp : EDG_Op<"embed_grad", [Pure]> {
  let summary = "gradient of edg.embed: scatter-add into the table";
  let description = [{
    ids [B, T], grad [B, T, d] -> dtable [V, d] with
    `dtable[ids[b, t]] += grad[b, t] * scale` (repeated ids accumulate).
    The result type carries V.
  }];
  let arguments = (ins TensorOf<[AnySignlessInteger]>:$ids,
                       AnyRankedTensor:$grad, F64Attr:$scale);
  let results = (outs AnyStaticShapeTensor:$dtable);
  let assemblyFormat = [{
    $ids `,` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_RmsNormGradOp : EDG_Op<"rms_norm_grad", [Pure]> {
  let summary = "gradient of edg.rms_norm";
  let description = [{
    input [..., d], weight [d], grad [..., d] -> (dinput [..., d],
    dweight [d]); the rsqrt is recomputed from the input.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       AnyRankedTensor:$grad, F64Attr:$eps);
  let results = (outs AnyRankedTensor:$dinput, AnyRankedTensor:$dweight);
  let assemblyFormat = [{
    $input `,` $weight `grad` $grad attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_SelfAttentionGradOp : EDG_Op<"self_attention_grad", [Pure]> {
  let summary = "gradient of edg.self_attention (projections recomputed)";
  let description = [{
    Operands and attributes of the forward op plus grad [B, T, d], the
    gradient of its result. Recomputes q/k/v, RoPE and the attention output,
    then back-propagates through o_proj, the masked soft-capped softmax,
    RoPE and the projections. Results: dinput [B, T, d], dq_proj, dk_proj,
    dv_proj, do_proj (typed like the weights).
  }];
  let arguments = (ins
    AnyRankedTensor:$input,
    TensorOf<[AnySignlessInteger]>:$positions,
    AnyRankedTensor:$q_proj, AnyRankedTensor:$k_proj,
    AnyRankedTensor:$v_proj, AnyRankedTensor:$o_proj,
    AnyRankedTensor:$grad,
    Optional<TensorOf<[I1]>>:$key_valid,
    I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$head_dim,
    F64Attr:$scale, OptionalAttr<F64Attr>:$softcap, F64Attr:$rope_theta,
    EDG_MaskAttr:$mask);
  let results = (outs AnyRankedTensor:$dinput, AnyRankedTensor:$dq_proj,
                      AnyRankedTensor:$dk_proj, AnyRankedTensor:$dv_proj,
                      AnyRankedTensor:$do_proj);
  let assemblyFormat = [{
    $input `,` $positions (`key_valid` $key_valid^)?
    `weights` `(` $q_proj `,` $k_proj `,` $v_proj `,` $o_proj `)`
    `grad` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_CrossAttentionGradOp : EDG_Op<"cross_attention_grad", [Pure]> {
  let summary = "gradient of edg.cross_attention (projections recomputed)";
  let description = [{
    Operands and attributes of the forward op plus grad [B, T, d_dec].
    Results: dinput [B, T, d_dec], dencoder [B, S, d_enc] (flows back into
    the encoder), dq_proj, dk_proj, dv_proj, do_proj.
  }];
  let arguments = (ins
    AnyRankedTensor:$input, AnyRankedTensor:$encoder,
    AnyRankedTensor:$q_proj, AnyRankedTensor:$k_proj,
    AnyRankedTensor:$v_proj, AnyRankedTensor:$o_proj,
    AnyRankedTensor:$grad,
    Optional<TensorOf<[I1]>>:$encoder_valid,
    I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$head_dim,
    F64Attr:$scale, OptionalAttr<F64Attr>:$softcap);
  let results = (outs AnyRankedTensor:$dinput, AnyRankedTensor:$dencoder,
                      AnyRankedTensor:$dq_proj, AnyRankedTensor:$dk_proj,
                      AnyRankedTensor:$dv_proj, AnyRankedTensor:$do_proj);
  let assemblyFormat = [{
    $input `,` $encoder (`encoder_valid` $encoder_valid^)?
    `weights` `(` $q_proj `,` $k_proj `,` $v_proj `,` $o_proj `)`
    `grad` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_MlpGradOp : EDG_Op<"mlp_grad", [Pure]> {
  let summary = "gradient of edg.mlp (gate/up projections recomputed)";
  let description = [{
    input [B, T, d], gate [I, d], up [I, d], down [d, I], grad [B, T, d] ->
    (dinput, dgate_proj, dup_proj, ddown_proj).
  }];
  let arguments = (ins AnyRankedTensor:$input,
    AnyRankedTensor:$gate_proj, AnyRankedTensor:$up_proj,
    AnyRankedTensor:$down_proj, AnyRankedTensor:$grad,
    DefaultValuedAttr<EnumAttr<EDG_Dialect, EDG_Activation, "activation">,
                      "::mlir::edg::Activation::gelu_tanh">:$activation);
  let results = (outs AnyRankedTensor:$dinput, AnyRankedTensor:$dgate_proj,
                      AnyRankedTensor:$dup_proj, AnyRankedTensor:$ddown_proj);
  let assemblyFormat = [{
    $input `weights` `(` $gate_proj `,` $up_proj `,` $down_proj `)`
    `grad` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_LmHeadGradOp : EDG_Op<"lm_head_grad", [Pure]> {
  let summary = "gradient of edg.lm_head, through the final soft-cap";
  let description = [{
    input [B, T, d], table [V, d], grad [B, T, V] -> (dinput [B, T, d],
    dtable [V, d]). With `final_softcap` the capped logits are recomputed
    for the derivative 1 - (y/c)^2. dtable is the head's share of the tied
    embedding's gradient; edg-autodiff adds it to embed_grad's.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$table,
                       AnyRankedTensor:$grad,
                       OptionalAttr<F64Attr>:$final_softcap);
  let results = (outs AnyRankedTensor:$dinput, AnyRankedTensor:$dtable);
  let assemblyFormat = [{
    $input `,` $table `grad` $grad attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

def EDG_ClipGradNormOp : EDG_Op<"clip_grad_norm", [Pure]> {
  let summary = "scale gradients so that their global L2 norm <= max_norm";
  let description = [{
    `norm = sqrt(sum_i |g_i|^2)` over every element of every operand;
    each result is `g_i * min(1, max_norm / (norm + 1e-6))`, as
    torch.nn.utils.clip_grad_norm_. Results: the norm (before clipping),
    then one clipped gradient per operand, typed like it.
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$grads, F64Attr:$max_norm);
  let results = (outs 0DTensorOf<[F32]>:$norm,
                      Variadic<AnyRankedTensor>:$clipped);
  let assemblyFormat = [{
    $grads attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_AdamWUpdateOp : EDG_Op<"adamw_update", [
    MemoryEffects<[MemWrite]>,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "one AdamW step of a weight, in place";
  let description = [{
    Updates the weight symbol `weight` with its gradient `grad` (same type),
    torch.optim.AdamW semantics: with the weight's own update count t,
    `p *= 1 - lr_t*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
    p -= lr_t/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)`. The moments,
    the fp32 master copy and t live in the runtime's training state. lr_t
    follows the schedule: linear warm-up over `warmup_steps`, then (when
    `total_steps` > 0) a cosine decay to `min_lr_ratio * lr` at
    `total_steps`; it is evaluated at the global step. For the first
    `frozen_steps` global steps the weight is left untouched (the paper's
    warm-up freeze of everything but cross-attention).
  }];
  let arguments = (ins FlatSymbolRefAttr:$weight, AnyRankedTensor:$grad,
                       F64Attr:$lr,
                       DefaultValuedAttr<F64Attr, "0.9">:$beta1,
                       DefaultValuedAttr<F64Attr, "0.999">:$beta2,
                       DefaultValuedAttr<F64Attr, "1e-8">:$eps,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay,
                       DefaultValuedAttr<I64Attr, "0">:$warmup_steps,
                       DefaultValuedAttr<I64Attr, "0">:$total_steps,
                       DefaultValuedAttr<F64Attr, "0.0">:$min_lr_ratio,
                       DefaultValuedAttr<I64Attr, "0">:$frozen_steps);
  let assemblyFormat = "$weight `,` $grad attr-dict `:` type($grad)";
  let hasVerifier = 1;
}

#endif // EDG_TRAIN_OPS_TD
