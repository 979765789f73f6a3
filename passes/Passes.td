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

//===----------------------------------------------------------------------===//
// Training (docs/training.md)
//===----------------------------------------------------------------------===//

def BuildObjective : Pass<"edg-build-objective", "::mlir::ModuleOp"> {
  let summary = "Build the loss function of a training objective";
  let description = [{
    Creates `@<function>` (default `@loss`) returning a scalar f32 loss, by
    inlining the entry points and appending the loss ops:
    - `lm`: `(ids, positions, valid, labels)` -> cross_entropy(@forward);
      labels are already aligned (label[t] is the token that follows t).
    - `seq2seq` (PrefixLM, UL2, SFT): `(enc_ids, enc_positions, enc_valid,
      dec_ids, dec_positions, dec_valid, labels)` -> cross_entropy(@decode
      over @encode).
    - `prefixlm-kd`: seq2seq plus `(teacher_ids, teacher_positions,
      teacher_valid, teacher_index)`; adds `kd-weight *
      edg.distill_kl(student, @teacher, ...)` (or uses it alone with
      `kd-only`). The teacher's weights become `frozen`, and those named
      `<teacher-prefix>X` get `init_from @X` so that the decoder-only
      checkpoint binds them.
    Arguments carry `edg.arg_name` attributes that model.bin records.
  }];
  let options = [
    Option<"objective", "objective", "std::string", /*default=*/"\"lm\"",
           "lm | seq2seq | prefixlm-kd">,
    Option<"function", "function", "std::string", /*default=*/"\"loss\"",
           "name of the loss function to create">,
    Option<"teacher", "teacher", "std::string", /*default=*/"\"teacher\"",
           "prefixlm-kd: the decoder-only teacher function">,
    Option<"teacherPrefix", "teacher-prefix", "std::string",
           /*default=*/"\"teacher.\"",
           "prefixlm-kd: weight-name prefix of the teacher's weights">,
    Option<"kdWeight", "kd-weight", "double", /*default=*/"1.0",
           "prefixlm-kd: weight of the distillation term">,
    Option<"kdTemperature", "kd-temperature", "double", /*default=*/"1.0",
           "prefixlm-kd: softmax temperature of the distillation term">,
    Option<"kdOnly", "kd-only", "bool", /*default=*/"false",
           "prefixlm-kd: the loss is the distillation term alone (no CE)">,
    Option<"ignoreIndex", "ignore-index", "int64_t", /*default=*/"-100",
           "label value that does not count in the loss">
  ];
  let dependentDialects = ["::mlir::edg::EDGDialect",
                           "::mlir::func::FuncDialect"];
}

def Autodiff : Pass<"edg-autodiff", "::mlir::ModuleOp"> {
  let summary = "Build the gradient function of a loss function";
  let description = [{
    From `@<function>` (a scalar loss; default `@loss`) builds
    `@<output>` (default `@grad_step`) with the same arguments, returning
    the loss followed by the gradient of every trainable weight the loss
    reads (not `frozen`; `frozen_steps` weights are included, the optimizer
    skips them). The forward ops are cloned, then one coarse gradient op per
    forward op is emitted in reverse order (edg.self_attention ->
    edg.self_attention_grad, ...); gradients of values with several users
    (the residual stream, the tied embedding) are summed with edg.add. The
    weight order is recorded in the `edg.grad_weights` attribute.
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"loss\"",
           "the loss function to differentiate">,
    Option<"output", "output", "std::string", /*default=*/"\"grad_step\"",
           "name of the gradient function to create">
  ];
  let dependentDialects = ["::mlir::edg::EDGDialect",
                           "::mlir::func::FuncDialect"];
}

def Optimizer : Pass<"edg-optimizer", "::mlir::ModuleOp"> {
  let summary = "Build the training step: gradients, clipping, AdamW";
  let description = [{
    From `@<function>` (default `@grad_step`, built by edg-autodiff) builds
    `@<output>` (default `@train_step`) returning the loss, with the global
    gradient-norm clip (`edg.clip_grad_norm`, omitted when
    `max-grad-norm` is 0) and one `edg.adamw_update` per weight as side
    effects. Hyperparameters and the warm-up + cosine schedule become
    attributes of the updates; a weight's `frozen_steps` is copied to its
    update. The runtime may override the hyperparameters at run time.
  }];
  let options = [
    Option<"function", "function", "std::string",
           /*default=*/"\"grad_step\"", "the gradient function">,
    Option<"output", "output", "std::string", /*default=*/"\"train_step\"",
           "name of the training-step function to create">,
    Option<"lr", "lr", "double", /*default=*/"1e-4", "peak learning rate">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "AdamW beta2">,
    Option<"eps", "eps", "double", /*default=*/"1e-8", "AdamW epsilon">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.01",
           "decoupled weight decay (torch.optim.AdamW's default)">,
    Option<"warmupSteps", "warmup-steps", "int64_t", /*default=*/"0",
           "linear learning-rate warm-up steps">,
    Option<"totalSteps", "total-steps", "int64_t", /*default=*/"0",
           "end of the cosine decay (0: constant after warm-up)">,
    Option<"minLrRatio", "min-lr-ratio", "double", /*default=*/"0.1",
           "final learning rate of the cosine decay, as a fraction of lr">,
    Option<"maxGradNorm", "max-grad-norm", "double", /*default=*/"1.0",
           "global gradient-norm clip (0: no clipping)">
  ];
  let dependentDialects = ["::mlir::edg::EDGDialect",
                           "::mlir::func::FuncDialect"];
}

//===----------------------------------------------------------------------===//
// Lowering and code generation (edg-compile)
//===----------------------------------------------------------------------===//

def Decompose : Pass<"edg-decompose", "::mlir::ModuleOp"> {
  let summary = "Graph-level ops -> tensor-level linear/rope/sdpa/gelu_tanh/mul";
  let description = [{
    Rewrites `edg.self_attention`, `edg.cross_attention`, `edg.mlp` and
    `edg.lm_head` into tensor-level ops in HF eager order (MODEL_SPEC §1.5,
    §1.7, §1.8, §3): q/k/v projections, RoPE on q and k (never v, never in
    cross-attention), `edg.sdpa` (scale, soft-cap before the mask, fp32
    softmax, GQA), output projection; gate/up projections, gelu_tanh on the
    gate, product, down projection; tied logits then the final soft-cap. New
    ops are named `<module>.q_proj`, `.rope_q`, `.sdpa`, `.act_fn`, ... after
    the op they come from. `edg.embed`, `edg.rms_norm`, `edg.add` and ops
    this pass does not know (training ops) are kept.
  }];
  let dependentDialects = ["::mlir::edg::EDGDialect"];
}

def DecomposeGrads : Pass<"edg-decompose-grads", "::mlir::ModuleOp"> {
  let summary = "Coarse gradient ops -> tensor-level GEMMs, sdpa_grad, rows";
  let description = [{
    Rewrites the gradient ops of edg-autodiff into the tensor-level ops of
    EDGTensorGradOps.td so that a training step lowers to kernels:
    `edg.self_attention_grad` / `edg.cross_attention_grad` become the
    forward's projections and `edg.sdpa` (recomputed exactly as
    edg-decompose builds them, so CSE merges them with the forward pass),
    `edg.linear_grad_input` / `edg.linear_grad_weight` per projection and
    one `edg.sdpa_grad` (q and k before RoPE, the sdpa's attributes plus
    `rope_theta`); `edg.mlp_grad` the GeGLU backward with
    `edg.gelu_tanh_grad`; `edg.lm_head_grad` the tied-logit GEMMs behind
    `edg.softcap_grad` of the recomputed capped logits;
    `edg.rms_norm_grad` becomes `edg.rms_norm_grad_rows` + `edg.column_sum`
    and the loss `edg.cross_entropy` `edg.cross_entropy_rows` +
    `edg.label_mean`.
    Contributions are summed with `edg.add`. `edg.embed_grad`,
    `edg.cross_entropy_grad` (single kernels) and ops without a tensor-level
    form (distillation, clip_grad_norm, adamw_update) are kept. Run it
    before edg-decompose, and CSE after that.
  }];
  let dependentDialects = ["::mlir::edg::EDGDialect"];
}

def Fuse : Pass<"edg-fuse", "::mlir::ModuleOp"> {
  let summary = "Fuse elementwise chains, residual+norm, RoPE and soft-caps";
  let description = [{
    On tensor-level functions: an `edg.softcap` that is the only user of an
    `edg.linear` becomes the linear's `softcap` epilogue (the final logits);
    `edg.rope` of q and k that only feed one `edg.sdpa` with the same
    positions move into it (`rope_theta`: rotated on load by the attention
    kernel); then chains of elementwise ops and `edg.rms_norm` over one shape
    are grouped greedily along def-use edges into `edg.fusion` regions
    (gelu_tanh * mul; post-norm + residual add + next pre-norm). A group only
    grows while every outside user of its values comes after the joining op,
    so the fusion can sit at its last op.
  }];
  let options = [
    Option<"fuseRope", "fuse-rope", "bool", /*default=*/"true",
           "move q/k RoPE into the attention kernel">
  ];
  let dependentDialects = ["::mlir::edg::EDGDialect"];
}

def LowerToKernels : Pass<"edg-lower-to-kernels", "::mlir::ModuleOp"> {
  let summary = "Outline fusions into edg.kernel, GEMMs and attention kernels";
  let description = [{
    Every `edg.fusion` and every remaining elementwise, row, rope or embed op
    is outlined into a module-level `edg.kernel` (structurally identical
    kernels are shared; `uses` counts them) and replaced by `edg.launch`.
    `edg.linear` becomes a library `edg.gemm` (its soft-cap epilogue an
    in-place elementwise kernel); `edg.sdpa` becomes a launch of an
    `edg.attention_kernel` specialised by mask, window, soft-cap, scale,
    head_dim, heads/GQA group, dtype, fused RoPE and key padding.
  }];
  let dependentDialects = ["::mlir::edg::EDGDialect"];
}

def PlanMemory : Pass<"edg-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Liveness-based arena offsets for the compiled maximum shapes";
  let description = [{
    Sizes every intermediate tensor of each function for `max-batch` (the
    first dynamic dim) and `max-seq` (later dynamic dims), walks the schedule
    in order and gives each result a first-fit offset in one arena, freeing
    a slot after its last use (after the results of that op are placed, so
    an op never writes over its own inputs). Records `arena_offsets` on each
    op and `edg.arena_size` / `edg.arena_unplanned_size` on the function.
  }];
  let options = [
    Option<"maxBatch", "max-batch", "int64_t", /*default=*/"8",
           "largest batch (first dynamic dim)">,
    Option<"maxSeq", "max-seq", "int64_t", /*default=*/"2048",
           "longest sequence (later dynamic dims)">,
    Option<"alignment", "alignment", "int64_t", /*default=*/"256",
           "byte alignment of every slot">
  ];
  let dependentDialects = ["::mlir::edg::EDGDialect"];
}

def EmitCpp : Pass<"edg-emit-cpp", "::mlir::ModuleOp"> {
  let summary = "Print the generated C++ (OpenMP) of every kernel";
  let description = [{
    Writes one readable C++ function per `edg.kernel` / `edg.attention_kernel`
    (named after its pattern, commented with its origin op and signature),
    an `extern "C"` entry with one ABI for all of them, and the kernel table
    the runtime loads (runtime/cpu/generated_kernels.h). The module is left
    unchanged.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "file to write the source to ('-': stdout)">
  ];
}

def EmitCuda : Pass<"edg-emit-cuda", "::mlir::ModuleOp"> {
  let summary = "Print the generated CUDA C++ of every kernel";
  let description = [{
    Writes one NVRTC-ready translation unit: an `extern "C" __global__`
    kernel per `edg.kernel` (bf16/f16 storage, fp32 arithmetic, a rounding
    point per op result as MODEL_SPEC §3) and a FlashAttention-2-style kernel
    per `edg.attention_kernel` (tiled, online softmax, no score matrix).
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "file to write the source to ('-': stdout)">
  ];
}

#endif // EDG_PASSES_TD
