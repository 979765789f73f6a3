//===- EDGTensorGradOps.td - tensor-level backward ops -----*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// What edg-decompose-grads turns the coarse gradient ops of EDGTrainOps.td
// into, so that a training step has a kernel-level schedule (CUDA) like the
// forward: GEMMs in their three forms, the FlashAttention backward, and
// elementwise / row / column kernels. All gradients are fp32-accumulated and
// rounded once to their result type. Included from EDGOps.td; verifiers live
// in EDGTensorGradOps.cpp.
//===----------------------------------------------------------------------===//
#ifndef EDG_TENSOR_GRAD_OPS_TD
#define EDG_TENSOR_GRAD_OPS_TD

def EDG_LinearGradInputOp : EDG_Op<"linear_grad_input", [Pure]> {
  let summary = "dx = dy W: the input gradient of edg.linear";
  let description = [{
    grad [..., out], weight [out, in] (HF layout) -> dinput [..., in].
  }];
  let arguments = (ins AnyRankedTensor:$grad, AnyRankedTensor:$weight);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $grad `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_LinearGradWeightOp : EDG_Op<"linear_grad_weight", [Pure]> {
  let summary = "dW = dy^T x summed over every row: the weight gradient";
  let description = [{
    grad [..., out], input [..., in] (the same leading dims) -> dweight
    [out, in], typed like the weight.
  }];
  let arguments = (ins AnyRankedTensor:$grad, AnyRankedTensor:$input);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = [{
    $grad `,` $input attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_SdpaGradOp : EDG_Op<"sdpa_grad", [Pure, AttrSizedOperandSegments]> {
  let summary = "gradient of edg.sdpa with respect to q, k and v";
  let description = [{
    The forward's operands and attributes, plus its result `out` [B, T, H*hd]
    and the result's gradient `grad` [B, T, H*hd]. Results dquery
    [B, T, H*hd], dkey and dvalue [B, S, K*hd]. With `rope_theta`, q and k
    are the unrotated inputs and dq, dk are with respect to them (the
    rotation's transpose is applied). Rows that see no key get zero
    gradient and pass nothing to k and v.
  }];
  let arguments = (ins
    AnyRankedTensor:$query, AnyRankedTensor:$key, AnyRankedTensor:$value,
    Optional<TensorOf<[AnySignlessInteger]>>:$positions,
    Optional<TensorOf<[I1]>>:$key_valid,
    AnyRankedTensor:$out, AnyRankedTensor:$grad,
    I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$head_dim,
    F64Attr:$scale, OptionalAttr<F64Attr>:$softcap, EDG_MaskAttr:$mask,
    OptionalAttr<F64Attr>:$rope_theta);
  let results = (outs AnyRankedTensor:$dquery, AnyRankedTensor:$dkey,
                      AnyRankedTensor:$dvalue);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`positions` $positions^)?
    (`key_valid` $key_valid^)? `out` $out `grad` $grad attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_GeluTanhGradOp : EDG_Op<"gelu_tanh_grad",
    [Pure, SameOperandsAndResultType]> {
  let summary = "grad * gelu_tanh'(input), computed in fp32";
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$grad);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` type($result)";
}

def EDG_SoftcapGradOp : EDG_Op<"softcap_grad",
    [Pure, SameOperandsAndResultType]> {
  let summary = "grad * (1 - (y / cap)^2): the soft-cap's derivative";
  let description = [{
    `input` is the soft-cap's result y = cap * tanh(x / cap), so the capped
    logits (a GEMM epilogue) are all the backward needs.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$grad,
                       F64Attr:$cap);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` type($result)";
}

def EDG_RmsNormGradRowsOp : EDG_Op<"rms_norm_grad_rows", [Pure]> {
  let summary = "per-row part of edg.rms_norm_grad";
  let description = [{
    input [..., d], weight [d], grad [..., d] -> (dinput [..., d], partial
    [..., d] fp32). With r = rsqrt(mean(x^2) + eps) and g = grad (1 + w):
    `dinput = r g - x r^3 mean(g x)` and `partial = grad x r`, whose column
    sum (edg.column_sum) is dweight.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       AnyRankedTensor:$grad, F64Attr:$eps);
  let results = (outs AnyRankedTensor:$dinput, AnyRankedTensor:$partial);
  let assemblyFormat = [{
    $input `,` $weight `grad` $grad attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_ColumnSumOp : EDG_Op<"column_sum", [Pure]> {
  let summary = "sum over every leading axis: [..., d] -> [d]";
  let description = [{
    Summed in fp32 in row order (deterministic), rounded once to the result
    type.
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def EDG_CrossEntropyRowsOp : EDG_Op<"cross_entropy_rows", [Pure]> {
  let summary = "per-row cross-entropy: logsumexp(logits) - logits[label]";
  let description = [{
    logits [B, T, V], labels [B, T] -> [B, T] fp32; 0 where the label is
    `ignore_index`.
  }];
  let arguments = (ins AnyRankedTensor:$logits,
                       TensorOf<[AnySignlessInteger]>:$labels,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_DistillKlRowsOp : EDG_Op<"distill_kl_rows", [Pure]> {
  let summary = "per-row distillation loss weight * tau^2 * KL(teacher || student)";
  let description = [{
    Operands and attributes as `edg.distill_kl`: logits [B, T, V],
    teacher_logits [B, Tt, V], teacher_index [B, T], labels [B, T] ->
    [B, T] fp32: `weight * tau^2 * KL(softmax(t/tau) || softmax(s/tau))` of
    each row against its teacher row, 0 where the label is `ignore_index`.
    `edg.label_mean` of it is `edg.distill_kl`.
  }];
  let arguments = (ins AnyRankedTensor:$logits, AnyRankedTensor:$teacher_logits,
                       TensorOf<[AnySignlessInteger]>:$teacher_index,
                       TensorOf<[AnySignlessInteger]>:$labels,
                       DefaultValuedAttr<F64Attr, "1.0">:$temperature,
                       DefaultValuedAttr<F64Attr, "1.0">:$weight,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $logits `,` $teacher_logits `,` $teacher_index `,` $labels attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_LabelMeanOp : EDG_Op<"label_mean", [Pure]> {
  let summary = "sum of per-row values over the rows whose label counts";
  let description = [{
    values [B, T] fp32, labels [B, T] -> scalar fp32: the sum of the values
    divided by the number of labels that are not `ignore_index` (torch's
    mean reduction; NaN when none counts).
  }];
  let arguments = (ins AnyRankedTensor:$values,
                       TensorOf<[AnySignlessInteger]>:$labels,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs 0DTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $values `,` $labels attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Kernel level
//===----------------------------------------------------------------------===//

def EDG_AttentionBackwardOp : EDG_Op<"attention_backward", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "runs the backward kernels of an edg.attention_kernel";
  let description = [{
    Built by edg-lower-to-kernels from edg.sdpa_grad. Operands: the forward
    launch's (q, k, v[, positions][, key_valid]), then out and dout.
    Results: dq, dk, dv, and the fp32 row statistics lse and delta
    [B, H, T] the three kernels (`_bwd_stats`, `_bwd_dkdv`, `_bwd_dq`)
    pass between them.
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel,
                       Variadic<AnyType>:$operands);
  let results = (outs Variadic<AnyType>:$results);
  let assemblyFormat = [{
    $kernel `(` $operands `)` attr-dict `:` functional-type($operands, $results)
  }];
}

#endif // EDG_TENSOR_GRAD_OPS_TD
