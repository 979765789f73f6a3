//===- EDGOps.td - edg operations --------------------------*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Weights (module-level symbols) and the graph-level ops of one Gemma 2 /
// T5Gemma layer. Shapes in comments use MODEL_SPEC's letters: B batch, T query
// length, S key length, d hidden, H heads, K kv heads, hd head_dim,
// I intermediate, V vocabulary.
//===----------------------------------------------------------------------===//
#ifndef EDG_OPS_TD
#define EDG_OPS_TD

include "dialects/EDG/EDGDialect.td"
include "dialects/EDG/EDGAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def EDG_WeightOp : EDG_Op<"weight", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "a parameter, named by its Hugging Face checkpoint key";
  let description = [{
    Declares one parameter tensor. The runtime binds it by name from a
    safetensors checkpoint; when the checkpoint lacks it, `init_from` names
    another checkpoint tensor to copy (the paper's initialisation of the
    encoder-decoder from the decoder-only model), and `init` gives a fresh
    initialiser. `frozen` parameters never train; `frozen_steps N` freezes one
    for the first N optimizer steps (the unbalanced-pair warm-up).

    ```mlir
    edg.weight @"model.encoder.norm.weight" : tensor<2304xbf16>
        init_from @"model.norm.weight"
    ```
  }];
  let arguments = (ins
    SymbolNameAttr:$sym_name,
    TypeAttrOf<AnyStaticShapeTensor>:$type,
    OptionalAttr<FlatSymbolRefAttr>:$init_from,
    OptionalAttr<EDG_InitAttr>:$init,
    UnitAttr:$frozen,
    OptionalAttr<I64Attr>:$frozen_steps);
  let assemblyFormat = [{
    $sym_name `:` $type (`init_from` $init_from^)? (`init` $init^)?
    (`frozen` $frozen^)? (`frozen_steps` $frozen_steps^)? attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
  }];
  let hasVerifier = 1;
}

def EDG_UseWeightOp : EDG_Op<"use_weight", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "reads a weight inside a function";
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Graph level
//===----------------------------------------------------------------------===//

def EDG_EmbedOp : EDG_Op<"embed", [Pure]> {
  let summary = "token embedding times the dtype-rounded sqrt(d) normalizer";
  let description = [{
    `result[b, t, :] = table[ids[b, t], :] * scale`, ids [B, T], table [V, d],
    result [B, T, d]. `scale` is sqrt(d) already rounded to the table's dtype
    (MODEL_SPEC §1.3). The LM head reads the same table unscaled.
  }];
  let arguments = (ins
    TensorOf<[AnySignlessInteger]>:$ids,
    AnyRankedTensor:$table,
    F64Attr:$scale);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $ids `,` $table attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_RmsNormOp : EDG_Op<"rms_norm", [Pure]> {
  let summary = "Gemma RMSNorm with gain (1 + w), computed in fp32";
  let description = [{
    `y = x * rsqrt(mean(x^2) + eps) * (1 + w)` over the last dim; x [..., d],
    w [d]. The stored weight is the offset w (MODEL_SPEC §1.4).
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       F64Attr:$eps);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_SelfAttentionOp : EDG_Op<"self_attention", [Pure]> {
  let summary = "projections, RoPE, masked soft-capped GQA attention, output";
  let description = [{
    input [B, T, d], positions [B, T] (RoPE and mask positions), optional
    key_valid [B, T] (false for padding keys). Weights: q [H*hd, d],
    k [K*hd, d], v [K*hd, d], o [d, H*hd]. Scores are
    `softcap(q.k * scale)` then masked by `mask` (MODEL_SPEC §1.5).
  }];
  let arguments = (ins
    AnyRankedTensor:$input,
    TensorOf<[AnySignlessInteger]>:$positions,
    AnyRankedTensor:$q_proj, AnyRankedTensor:$k_proj,
    AnyRankedTensor:$v_proj, AnyRankedTensor:$o_proj,
    Optional<TensorOf<[I1]>>:$key_valid,
    I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$head_dim,
    F64Attr:$scale, OptionalAttr<F64Attr>:$softcap, F64Attr:$rope_theta,
    EDG_MaskAttr:$mask);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $positions (`key_valid` $key_valid^)?
    `weights` `(` $q_proj `,` $k_proj `,` $v_proj `,` $o_proj `)`
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_CrossAttentionOp : EDG_Op<"cross_attention", [Pure]> {
  let summary = "decoder-to-encoder attention: no RoPE, no causality";
  let description = [{
    input [B, T, d_dec], encoder [B, S, d_enc] (the encoder's final-normed
    output), optional encoder_valid [B, S]. Weights: q [H*hd, d_dec],
    k [K*hd, d_enc], v [K*hd, d_enc], o [d_dec, H*hd] (MODEL_SPEC §2.5).
  }];
  let arguments = (ins
    AnyRankedTensor:$input, AnyRankedTensor:$encoder,
    AnyRankedTensor:$q_proj, AnyRankedTensor:$k_proj,
    AnyRankedTensor:$v_proj, AnyRankedTensor:$o_proj,
    Optional<TensorOf<[I1]>>:$encoder_valid,
    I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$head_dim,
    F64Attr:$scale, OptionalAttr<F64Attr>:$softcap);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $encoder (`encoder_valid` $encoder_valid^)?
    `weights` `(` $q_proj `,` $k_proj `,` $v_proj `,` $o_proj `)`
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_MlpOp : EDG_Op<"mlp", [Pure]> {
  let summary = "gated MLP: down(act(gate(x)) * up(x))";
  let description = [{
    input [B, T, d]; gate [I, d], up [I, d], down [d, I]. The activation
    applies to the gate projection (MODEL_SPEC §1.7).
  }];
  let arguments = (ins AnyRankedTensor:$input,
    AnyRankedTensor:$gate_proj, AnyRankedTensor:$up_proj,
    AnyRankedTensor:$down_proj,
    DefaultValuedAttr<EnumAttr<EDG_Dialect, EDG_Activation, "activation">,
                      "::mlir::edg::Activation::gelu_tanh">:$activation);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `weights` `(` $gate_proj `,` $up_proj `,` $down_proj `)`
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_AddOp : EDG_Op<"add", [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise sum (the residual connection)";
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def EDG_LmHeadOp : EDG_Op<"lm_head", [Pure]> {
  let summary = "logits = x . table^T, then the optional final soft-cap";
  let description = [{
    input [B, T, d], table [V, d] (tied to the embedding), result [B, T, V].
    `final_softcap` c gives `c * tanh(logits / c)` (MODEL_SPEC §1.8).
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$table,
                       OptionalAttr<F64Attr>:$final_softcap);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $table attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_CrossEntropyOp : EDG_Op<"cross_entropy", [Pure]> {
  let summary = "mean token cross-entropy, labels equal to ignore_index skipped";
  let arguments = (ins AnyRankedTensor:$logits,
                       TensorOf<[AnySignlessInteger]>:$labels,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

include "dialects/EDG/EDGTrainOps.td"
include "dialects/EDG/EDGTensorOps.td"
include "dialects/EDG/EDGTensorGradOps.td"

#endif // EDG_OPS_TD
