//===- EDGTensorOps.td - edg tensor- and kernel-level ops --*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The ops edg-decompose produces from graph-level ops (linear, rope, sdpa,
// gelu_tanh, mul, softcap, cast; rms_norm, add and embed are reused from the
// graph level) and the kernel-level ops (fusion regions, kernels, launches,
// library GEMMs, specialised attention kernels) the emitters print. Included
// from EDGOps.td; verifiers live in EDGTensorOps.cpp.
//
// Layout convention: attention heads stay flattened in the last dim
// ([B, T, H*hd], feature h*hd + j, MODEL_SPEC §1.5), so no reshape or
// transpose op is needed between the projections and the attention core.
//
// Rounding: every op result of a bf16 (f16) tensor type is one rounding point
// of MODEL_SPEC §3; ops that HF computes as several rounded steps say so and
// the generated code rounds at each of them.
//===----------------------------------------------------------------------===//
#ifndef EDG_TENSOR_OPS_TD
#define EDG_TENSOR_OPS_TD

include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/IR/RegionKindInterface.td"

//===----------------------------------------------------------------------===//
// Tensor level
//===----------------------------------------------------------------------===//

def EDG_LinearOp : EDG_Op<"linear", [Pure]> {
  let summary = "y = x W^T with W [out, in] as HF stores it";
  let description = [{
    input [..., in], weight [out, in], result [..., out]. Accumulates in fp32
    and rounds once to the result type (MODEL_SPEC §3). `softcap` c, set by
    edg-fuse when the only user was an `edg.softcap`, is an epilogue:
    `c * tanh(y / c)` with the soft-cap's own rounding points (final logits).
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       OptionalAttr<F64Attr>:$softcap);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_RopeOp : EDG_Op<"rope", [Pure]> {
  let summary = "rotate-half RoPE over every head of a flattened-heads tensor";
  let description = [{
    input [B, T, N*hd], positions [B, T]. inv_freq[i] = theta^(-2i/hd) and
    angle = pos * inv_freq[i] in fp32; cos and sin are rounded to the element
    type, then `x*cos + rotate_half(x)*sin` with each product and the sum
    rounded (HF, MODEL_SPEC §1.5 and §3).
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       TensorOf<[AnySignlessInteger]>:$positions,
                       I64Attr:$head_dim, F64Attr:$theta);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $positions attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def EDG_SdpaOp : EDG_Op<"sdpa", [Pure, AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention core: scale, soft-cap, mask, GQA";
  let description = [{
    query [B, T, H*hd], key and value [B, S, K*hd], result [B, T, H*hd].
    HF eager order (MODEL_SPEC §1.5): `s = q.k` (rounded), `s = s * scale`
    (rounded), `s = c * tanh(s / c)` when `softcap` (three rounded steps),
    mask (after the cap), softmax in fp32 rounded to the element type,
    `out = p.v`. Query head h reads KV head h / (H/K).

    `positions` [B, T] are the query positions and, for self-attention
    (S == T), the key positions; without them query t sits at S - T + t and
    key j at j. `key_valid` [B, S] is false on padding keys and is ANDed into
    the mask. `rope_theta`, set by edg-fuse, means q and k arrive unrotated
    and the kernel applies `edg.rope` (head_dim, theta, positions) on load.
  }];
  let arguments = (ins
    AnyRankedTensor:$query, AnyRankedTensor:$key, AnyRankedTensor:$value,
    Optional<TensorOf<[AnySignlessInteger]>>:$positions,
    Optional<TensorOf<[I1]>>:$key_valid,
    I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$head_dim,
    F64Attr:$scale, OptionalAttr<F64Attr>:$softcap, EDG_MaskAttr:$mask,
    OptionalAttr<F64Attr>:$rope_theta);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`positions` $positions^)?
    (`key_valid` $key_valid^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

class EDG_UnaryElementwiseOp<string mnemonic, list<Trait> traits = []>
    : EDG_Op<mnemonic, !listconcat([Pure, SameOperandsAndResultType], traits)> {
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def EDG_GeluTanhOp : EDG_UnaryElementwiseOp<"gelu_tanh"> {
  let summary = "torch gelu(approximate=\"tanh\"), computed in fp32";
  let description = [{
    `0.5 u (1 + tanh(sqrt(2/pi) (u + 0.044715 u^3)))`, one rounding of the
    result (MODEL_SPEC §1.7, §3).
  }];
}

def EDG_MulOp : EDG_Op<"mul", [Pure, SameOperandsAndResultType, Commutative]> {
  let summary = "elementwise product (the GeGLU gate times up)";
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def EDG_SoftcapOp : EDG_Op<"softcap", [Pure, SameOperandsAndResultType]> {
  let summary = "cap * tanh(x / cap): three rounded steps, as HF eager";
  let arguments = (ins AnyRankedTensor:$input, F64Attr:$cap);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def EDG_CastOp : EDG_Op<"cast", [Pure]> {
  let summary = "element type conversion (round to nearest even)";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Kernel level
//===----------------------------------------------------------------------===//

def EDG_FusionOp : EDG_Op<"fusion", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "a group of elementwise / row ops that becomes one kernel";
  let description = [{
    Built by edg-fuse. The body reads only its block arguments (one per
    operand) and yields the values used outside the group. Every body op is
    elementwise on one shape [..., d] or `edg.rms_norm` over its last dim;
    rank-1 operands [d] (norm gains) broadcast along rows.

    ```mlir
    %r:2 = edg.fusion (%a, %w1, %x, %w2) : (...) -> (...) {
    ^bb0(%ba: ..., %bw1: ..., %bx: ..., %bw2: ...):
      %n = edg.rms_norm %ba, %bw1 {eps = 1.0e-06 : f64} : ...
      %s = edg.add %bx, %n : ...
      %m = edg.rms_norm %s, %bw2 {eps = 1.0e-06 : f64} : ...
      edg.yield %s, %m : ...
    }
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
}

def EDG_YieldOp : EDG_Op<"yield", [Pure, Terminator, ReturnLike,
    ParentOneOf<["FusionOp", "KernelOp"]>]> {
  let summary = "results of a fusion region or kernel body";
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ /* nothing to yield */ }]>];
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

def EDG_KernelOp : EDG_Op<"kernel", [Symbol, IsolatedFromAbove,
    HasParent<"::mlir::ModuleOp">,
    SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "an outlined generated kernel (what the emitters print)";
  let description = [{
    Built by edg-lower-to-kernels from an `edg.fusion` or a single op. `kind`:
    `elementwise` (one loop over n elements), `row` (one row of static width
    `row_width` at a time: contains `edg.rms_norm`), `rope`, `embed`, and
    the single-op training kinds `rms_norm_grad`, `column_sum`, `embed_grad`,
    `cross_entropy_rows`, `label_mean`, `cross_entropy_grad`,
    `distill_kl_rows`, `distill_kl_grad` (row_width: the row they walk, d
    or V; 0 for label_mean).
    `signature` is the canonical dataflow string the runtime looks kernels up
    by (`t0=gelu_tanh(i0);t1=mul(t0,i1)->t1`); `origin` names the model op it
    came from (its location) and `uses` counts the launches that share it.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<FunctionType>:$function_type,
                       StrAttr:$kind, StrAttr:$signature, StrAttr:$origin,
                       DefaultValuedAttr<I64Attr, "0">:$row_width,
                       DefaultValuedAttr<I64Attr, "1">:$uses);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name attr-dict `:` $function_type $body
  }];
  let hasVerifier = 1;
}

def EDG_AttentionKernelOp : EDG_Op<"attention_kernel", [Symbol,
    HasParent<"::mlir::ModuleOp">]> {
  let summary = "one specialisation of the generated FlashAttention kernel";
  let description = [{
    Everything the kernel is specialised on: mask kind and window, soft-cap,
    scale, head_dim, heads and the GQA group, element type, fused RoPE,
    whether positions and key padding are passed. Launched with
    `(q, k, v[, positions][, key_valid]) -> out` in `edg.sdpa`'s layout.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, EDG_MaskAttr:$mask,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, F64Attr:$scale,
                       OptionalAttr<F64Attr>:$softcap,
                       OptionalAttr<F64Attr>:$rope_theta,
                       TypeAttr:$element_type, UnitAttr:$has_positions,
                       UnitAttr:$has_key_valid, StrAttr:$origin,
                       DefaultValuedAttr<I64Attr, "1">:$uses);
  let assemblyFormat = "$sym_name attr-dict";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getGroup() { return getNumHeads() / getNumKvHeads(); }
    unsigned getNumOperandsExpected() {
      return 3 + (getHasPositions() ? 1 : 0) + (getHasKeyValid() ? 1 : 0);
    }
  }];
}

def EDG_LaunchOp : EDG_Op<"launch", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "runs an edg.kernel or edg.attention_kernel";
  let description = [{
    The host schedule's kernel call. Operands are the kernel's inputs in
    order; results its outputs. edg-plan-memory records each result's arena
    offset in `arena_offsets`.
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel,
                       Variadic<AnyType>:$operands);
  let results = (outs Variadic<AnyType>:$results);
  let assemblyFormat = [{
    $kernel `(` $operands `)` attr-dict `:` functional-type($operands, $results)
  }];
}

def EDG_GemmOp : EDG_Op<"gemm", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "library GEMM (cuBLASLt on CUDA, BLAS on CPU)";
  let description = [{
    `form` nt (default, edg.linear): a [..., k], b [n, k], result [..., n].
    nn (edg.linear_grad_input): a [..., k], b [k, n], result [..., n].
    tn (edg.linear_grad_weight): a [..., m], b [..., n] over the same rows,
    result [m, n] summed over the rows. fp32 accumulation. `epilogue`
    names an elementwise `edg.kernel` the runtime runs in place on the result
    right after the GEMM (the final-logit soft-cap).
  }];
  let arguments = (ins AnyRankedTensor:$a, AnyRankedTensor:$b,
                       OptionalAttr<FlatSymbolRefAttr>:$epilogue,
                       DefaultValuedAttr<EnumAttr<EDG_Dialect, EDG_GemmForm,
                         "gemm_form">, "::mlir::edg::GemmForm::nt">:$form);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $a `,` $b attr-dict `:` functional-type(operands, results)
  }];
}

#endif // EDG_TENSOR_OPS_TD
