//===- Passes.td - EDG passes ------------------------------*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Every EDG pass: adaptation of a decoder-only Gemma 2 into an
// encoder-decoder T5Gemma (arXiv 2504.06225 §3), training, and lowering.
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_TD
#define EDG_PASSES_TD

include "mlir/Pass/PassBase.td"

def CausalToBidirectional : Pass<"edg-causal-to-bidirectional", "::mlir::ModuleOp"> {
  let summary = "Rewrite causal masks to bidirectional ones in encoder functions";
  let description = [{
    In the functions named by `functions` (default: `encode`), rewrite
    `#edg.mask<causal>` to `#edg.mask<bidirectional>` and
    `#edg.mask<sliding_causal, W>` to `#edg.mask<sliding_bidirectional, W>`,
    the exact T5Gemma window |i - j| < W (MODEL_SPEC §2.3). Masks already
    bidirectional are kept; any other mask is an error.
  }];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "functions whose self-attention becomes bidirectional">
  ];
  let dependentDialects = ["::mlir::edg::EDGDialect"];
}

def InsertCrossAttention : Pass<"edg-insert-cross-attention", "::mlir::ModuleOp"> {
  let summary = "Insert a cross-attention sub-layer into every decoder layer";
  let description = [{
    In the function named by `function` (default: `decode`), after every
    self-attention residual (`self_attention -> rms_norm -> add`), insert
    `rms_norm(pre_cross_attn_layernorm) -> edg.cross_attention ->
    rms_norm(post_cross_attn_layernorm) -> add` (MODEL_SPEC §2.4). The
    cross-attention copies the layer's heads, kv heads, head_dim, scale and
    soft-cap, and reads `%encoder` / `%encoder_valid` (arguments 3 and 4;
    appended when the function has only `(%ids, %positions, %valid)`).

    New weights are named `<prefix>cross_attn.{q,k,v,o}_proj.weight`,
    `<prefix>{pre,post}_cross_attn_layernorm.weight`, where `<prefix>` is
    what precedes `self_attn.q_proj.weight` in the layer's query weight, and
    are declared after the layer's post-self-attention norm weight. With
    `init-from-self-attention` (balanced pairs only, where the encoder width
    equals the decoder width) they get `init_from` the self-attention
    weights and norms; otherwise they are fresh (`#edg.init<normal, 0.02>`,
    norms `#edg.init<zeros>`), as the paper does for unbalanced pairs.
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"decode\"",
           "the decoder function to extend">,
    Option<"encoderHidden", "encoder-hidden", "int64_t", /*default=*/"0",
           "encoder width D_enc when the function has no %encoder argument "
           "(0: the result width of @encode)">,
    Option<"initFromSelfAttention", "init-from-self-attention", "bool",
           /*default=*/"true",
           "initialise cross-attention from the layer's self-attention "
           "(balanced pairs only); false gives fresh weights">
  ];
  let dependentDialects = ["::mlir::edg::EDGDialect"];
}

def AdaptEncoderDecoder : Pass<"edg-adapt-encoder-decoder", "::mlir::ModuleOp"> {
  let summary = "Turn a decoder-only Gemma 2 into an encoder-decoder T5Gemma";
  let description = [{
    The paper's adaptation (arXiv 2504.06225 §3): clone the decoder-only
    `@forward` (`encoder-from`) into `@encode` (bidirectional masks, no LM
    head: it returns the final-normed hidden states) and `@forward`
    (`decoder-from`) into `@decode` (cross-attention inserted, LM head tied
    to `model.decoder.embed_tokens.weight`). Weights `P model.X` become
    `model.encoder.X` / `model.decoder.X` with `init_from` the decoder-only
    key, norms take T5Gemma's names (`input_layernorm` ->
    `pre_self_attn_layernorm`, `post_attention_layernorm` ->
    `post_self_attn_layernorm`), as do op locations. Cross-attention is
    initialised from self-attention on a balanced pair and fresh on an
    unbalanced one. The decoder-only functions and the weights only they read
    are removed, and `edg.config`'s model_type becomes "t5gemma".
    `warmup-freeze=N` gives every weight but cross-attention
    `frozen_steps N` (the paper's warm-up for unbalanced pairs).
  }];
  let options = [
    Option<"decoderFrom", "decoder-from", "std::string",
           /*default=*/"\"forward\"",
           "decoder-only function the decoder is cloned from">,
    Option<"encoderFrom", "encoder-from", "std::string", /*default=*/"\"\"",
           "decoder-only function the encoder is cloned from "
           "(default: decoder-from)">,
    Option<"warmupFreeze", "warmup-freeze", "int64_t", /*default=*/"0",
           "freeze every weight but cross-attention for this many steps">
  ];
  let dependentDialects = ["::mlir::edg::EDGDialect",
                           "::mlir::func::FuncDialect"];
}

#endif // EDG_PASSES_TD
