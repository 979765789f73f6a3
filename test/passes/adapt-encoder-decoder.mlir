// RUN: edg-opt %s --edg-adapt-encoder-decoder | FileCheck %s --implicit-check-not="edg.weight @model.layers" --implicit-check-not="edg.weight @model.embed_tokens" --implicit-check-not="edg.weight @model.norm" --implicit-check-not="func.func @forward"
// RUN: edg-opt %s --edg-adapt-encoder-decoder="warmup-freeze=1000" | FileCheck %s --check-prefix=FREEZE
// RUN: edg-opt %s --edg-adapt-encoder-decoder --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=LOC
// RUN: edg-opt %s --edg-adapt-encoder-decoder="encoder-from=wide" | FileCheck %s --check-prefix=UNBAL --implicit-check-not="edg.weight @enc." --implicit-check-not="edg.weight @model.layers" --implicit-check-not="func.func @forward" --implicit-check-not="func.func @wide"

// Two decoder-only Gemma 2 models, as edg-import builds them (NameLocs
// included): @forward (2 layers, d=8, H=2, K=1, hd=4, I=16, V=32; layer 0
// sliding, window 4) and, appended with `--entry wide --weight-prefix enc.`,
// @wide (1 layer, d=12). The default adapts @forward into a balanced
// 8-8 T5Gemma and leaves @wide alone; `encoder-from=wide` builds the
// unbalanced 12-8 pair.

// The module becomes a T5Gemma; encoder weights, then decoder weights, each
// initialising from the decoder-only key it was cloned from, with T5Gemma's
// norm names.
// CHECK: module attributes {edg.config = {bos_token_id = 2 : i64, eos_token_id = 1 : i64, model_type = "t5gemma", pad_token_id = 0 : i64, vocab_size = 32 : i64}}
// CHECK-NEXT: edg.weight @model.encoder.embed_tokens.weight : tensor<32x8xf32> init_from @model.embed_tokens.weight{{$}}
// CHECK-NEXT: edg.weight @model.encoder.layers.0.pre_self_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.input_layernorm.weight{{$}}
// CHECK-NEXT: edg.weight @model.encoder.layers.0.self_attn.q_proj.weight : tensor<8x8xf32> init_from @model.layers.0.self_attn.q_proj.weight{{$}}
// CHECK: edg.weight @model.encoder.layers.0.post_self_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.post_attention_layernorm.weight{{$}}
// CHECK-NEXT: edg.weight @model.encoder.layers.0.pre_feedforward_layernorm.weight : tensor<8xf32> init_from @model.layers.0.pre_feedforward_layernorm.weight{{$}}
// CHECK: edg.weight @model.encoder.norm.weight : tensor<8xf32> init_from @model.norm.weight{{$}}
// The encoder adds no weights; the decoder adds cross-attention after each
// post-self-attention norm, initialised from the same Gemma 2 layer.
// CHECK-NEXT: edg.weight @model.decoder.embed_tokens.weight : tensor<32x8xf32> init_from @model.embed_tokens.weight{{$}}
// CHECK: edg.weight @model.decoder.layers.0.post_self_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.post_attention_layernorm.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.pre_cross_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.input_layernorm.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.cross_attn.q_proj.weight : tensor<8x8xf32> init_from @model.layers.0.self_attn.q_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.cross_attn.k_proj.weight : tensor<4x8xf32> init_from @model.layers.0.self_attn.k_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.cross_attn.v_proj.weight : tensor<4x8xf32> init_from @model.layers.0.self_attn.v_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.cross_attn.o_proj.weight : tensor<8x8xf32> init_from @model.layers.0.self_attn.o_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.post_cross_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.post_attention_layernorm.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.pre_feedforward_layernorm.weight : tensor<8xf32> init_from @model.layers.0.pre_feedforward_layernorm.weight{{$}}
// CHECK: edg.weight @model.decoder.layers.1.cross_attn.q_proj.weight : tensor<8x8xf32> init_from @model.layers.1.self_attn.q_proj.weight{{$}}
// CHECK: edg.weight @model.decoder.norm.weight : tensor<8xf32> init_from @model.norm.weight{{$}}
// The second model is not a source here and stays as it was.
// CHECK-NEXT: edg.weight @enc.model.embed_tokens.weight : tensor<32x12xf32>{{$}}

// @encode: bidirectional masks (same window), no LM head: it returns the
// final-normed hidden states [B, S, d].
// CHECK-LABEL: func.func @encode(%arg0: tensor<?x?xi32>, %arg1: tensor<?x?xi32>, %arg2: tensor<?x?xi1>) -> tensor<?x?x8xf32>
// CHECK: edg.use_weight @model.encoder.embed_tokens.weight
// CHECK: edg.use_weight @model.encoder.layers.0.pre_self_attn_layernorm.weight
// CHECK: edg.self_attention {{.*}}mask = #edg.mask<sliding_bidirectional, 4>
// CHECK: edg.self_attention {{.*}}mask = #edg.mask<bidirectional>
// CHECK: [[NORM:%[^ ]+]] = edg.use_weight @model.encoder.norm.weight
// CHECK-NEXT: [[H:%[^ ]+]] = edg.rms_norm %{{[^ ]+}}, [[NORM]]
// CHECK-NEXT: return [[H]] : tensor<?x?x8xf32>
// CHECK-NOT: edg.lm_head

// @decode: causal masks kept, cross-attention reading the appended encoder
// operands, the LM head tied to the decoder's embedding.
// CHECK-LABEL: func.func @decode(%arg0: tensor<?x?xi32>, %arg1: tensor<?x?xi32>, %arg2: tensor<?x?xi1>, %arg3: tensor<?x?x8xf32>, %arg4: tensor<?x?xi1>) -> tensor<?x?x32xf32>
// CHECK: [[E:%[^ ]+]] = edg.use_weight @model.decoder.embed_tokens.weight
// CHECK: edg.self_attention {{.*}}mask = #edg.mask<sliding_causal, 4>
// CHECK: edg.cross_attention %{{[^ ]+}}, %arg3 encoder_valid %arg4
// CHECK: edg.mlp
// CHECK: edg.self_attention {{.*}}mask = #edg.mask<causal>
// CHECK: edg.cross_attention %{{[^ ]+}}, %arg3 encoder_valid %arg4
// CHECK: edg.mlp
// CHECK: edg.use_weight @model.decoder.norm.weight
// CHECK: edg.lm_head %{{[^ ]+}}, [[E]] {final_softcap = 3.000000e+01 : f64}
// CHECK-LABEL: func.func @wide(

// Warm-up: everything but the cross-attention sub-layers is frozen.
// FREEZE: edg.weight @model.encoder.embed_tokens.weight : tensor<32x8xf32> init_from @model.embed_tokens.weight frozen_steps 1000{{$}}
// FREEZE: edg.weight @model.encoder.norm.weight : tensor<8xf32> init_from @model.norm.weight frozen_steps 1000{{$}}
// FREEZE: edg.weight @model.decoder.layers.0.post_self_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.post_attention_layernorm.weight frozen_steps 1000{{$}}
// FREEZE-NEXT: edg.weight @model.decoder.layers.0.pre_cross_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.input_layernorm.weight{{$}}
// FREEZE-NEXT: edg.weight @model.decoder.layers.0.cross_attn.q_proj.weight : tensor<8x8xf32> init_from @model.layers.0.self_attn.q_proj.weight{{$}}
// FREEZE-NEXT: edg.weight @model.decoder.layers.0.cross_attn.k_proj.weight : tensor<4x8xf32> init_from @model.layers.0.self_attn.k_proj.weight{{$}}
// FREEZE-NEXT: edg.weight @model.decoder.layers.0.cross_attn.v_proj.weight : tensor<4x8xf32> init_from @model.layers.0.self_attn.v_proj.weight{{$}}
// FREEZE-NEXT: edg.weight @model.decoder.layers.0.cross_attn.o_proj.weight : tensor<8x8xf32> init_from @model.layers.0.self_attn.o_proj.weight{{$}}
// FREEZE-NEXT: edg.weight @model.decoder.layers.0.post_cross_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.post_attention_layernorm.weight{{$}}
// FREEZE-NEXT: edg.weight @model.decoder.layers.0.pre_feedforward_layernorm.weight : tensor<8xf32> init_from @model.layers.0.pre_feedforward_layernorm.weight frozen_steps 1000{{$}}
// FREEZE: edg.weight @model.decoder.norm.weight : tensor<8xf32> init_from @model.norm.weight frozen_steps 1000{{$}}
// Weights of functions outside the adapted model are not touched.
// FREEZE-NEXT: edg.weight @enc.model.embed_tokens.weight : tensor<32x12xf32>{{$}}

// Locations name T5Gemma's HF modules, as edg-import's would.
// LOC: edg.weight @model.encoder.layers.0.pre_self_attn_layernorm.weight {{.*}} loc("model.encoder.layers.0.pre_self_attn_layernorm")
// LOC: edg.weight @model.decoder.layers.0.cross_attn.q_proj.weight {{.*}} loc("model.decoder.layers.0.cross_attn.q_proj")
// LOC-LABEL: func.func @encode(
// LOC-SAME: %arg2: tensor<?x?xi1> loc("model.encoder")
// LOC: edg.self_attention {{.*}} loc("model.encoder.layers.0.self_attn")
// LOC: edg.rms_norm {{.*}} loc("model.encoder.layers.0.post_self_attn_layernorm")
// LOC: return {{.*}} loc("model.encoder.norm")
// LOC-NEXT: } loc("model.encoder")
// LOC-LABEL: func.func @decode(
// LOC-SAME: %arg3: tensor<?x?x8xf32> loc("model.decoder"), %arg4: tensor<?x?xi1> loc("model.decoder")
// LOC: edg.rms_norm {{.*}} loc("model.decoder.layers.0.pre_self_attn_layernorm")
// LOC: edg.cross_attention {{.*}} loc("model.decoder.layers.0.cross_attn")
// LOC: edg.lm_head {{.*}} loc("lm_head")
// LOC-NEXT: return {{.*}} loc("lm_head")
// LOC-NEXT: } loc("model.decoder")

// Unbalanced (paper §3.2): the encoder comes from the wider @wide (its
// prefixed keys are the init_from targets), the decoder from @forward;
// cross-attention k/v read d_enc = 12 and start from scratch.
// UNBAL: edg.weight @model.encoder.embed_tokens.weight : tensor<32x12xf32> init_from @enc.model.embed_tokens.weight{{$}}
// UNBAL-NEXT: edg.weight @model.encoder.layers.0.pre_self_attn_layernorm.weight : tensor<12xf32> init_from @enc.model.layers.0.input_layernorm.weight{{$}}
// UNBAL-NEXT: edg.weight @model.encoder.layers.0.self_attn.q_proj.weight : tensor<8x12xf32> init_from @enc.model.layers.0.self_attn.q_proj.weight{{$}}
// UNBAL: edg.weight @model.encoder.norm.weight : tensor<12xf32> init_from @enc.model.norm.weight{{$}}
// UNBAL-NEXT: edg.weight @model.decoder.embed_tokens.weight : tensor<32x8xf32> init_from @model.embed_tokens.weight{{$}}
// UNBAL: edg.weight @model.decoder.layers.0.post_self_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.post_attention_layernorm.weight{{$}}
// UNBAL-NEXT: edg.weight @model.decoder.layers.0.pre_cross_attn_layernorm.weight : tensor<8xf32> init <zeros>{{$}}
// UNBAL-NEXT: edg.weight @model.decoder.layers.0.cross_attn.q_proj.weight : tensor<8x8xf32> init <normal, 2.000000e-02>{{$}}
// UNBAL-NEXT: edg.weight @model.decoder.layers.0.cross_attn.k_proj.weight : tensor<4x12xf32> init <normal, 2.000000e-02>{{$}}
// UNBAL-NEXT: edg.weight @model.decoder.layers.0.cross_attn.v_proj.weight : tensor<4x12xf32> init <normal, 2.000000e-02>{{$}}
// UNBAL-NEXT: edg.weight @model.decoder.layers.0.cross_attn.o_proj.weight : tensor<8x8xf32> init <normal, 2.000000e-02>{{$}}
// UNBAL-NEXT: edg.weight @model.decoder.layers.0.post_cross_attn_layernorm.weight : tensor<8xf32> init <zeros>{{$}}
// UNBAL-LABEL: func.func @encode(%arg0: tensor<?x?xi32>, %arg1: tensor<?x?xi32>, %arg2: tensor<?x?xi1>) -> tensor<?x?x12xf32>
// UNBAL: edg.self_attention {{.*}}mask = #edg.mask<sliding_bidirectional, 4>
// UNBAL-NOT: edg.self_attention
// UNBAL: return %{{[^ ]+}} : tensor<?x?x12xf32>
// UNBAL-LABEL: func.func @decode(%arg0: tensor<?x?xi32>, %arg1: tensor<?x?xi32>, %arg2: tensor<?x?xi1>, %arg3: tensor<?x?x12xf32>, %arg4: tensor<?x?xi1>) -> tensor<?x?x32xf32>
// UNBAL-COUNT-2: edg.cross_attention %{{[^ ]+}}, %arg3 encoder_valid %arg4

module attributes {edg.config = {bos_token_id = 2 : i64, eos_token_id = 1 : i64, model_type = "gemma2", pad_token_id = 0 : i64, vocab_size = 32 : i64}} {
  edg.weight @model.embed_tokens.weight : tensor<32x8xf32> loc("model.embed_tokens")
  edg.weight @model.layers.0.input_layernorm.weight : tensor<8xf32> loc("model.layers.0.input_layernorm")
  edg.weight @model.layers.0.self_attn.q_proj.weight : tensor<8x8xf32> loc("model.layers.0.self_attn.q_proj")
  edg.weight @model.layers.0.self_attn.k_proj.weight : tensor<4x8xf32> loc("model.layers.0.self_attn.k_proj")
  edg.weight @model.layers.0.self_attn.v_proj.weight : tensor<4x8xf32> loc("model.layers.0.self_attn.v_proj")
  edg.weight @model.layers.0.self_attn.o_proj.weight : tensor<8x8xf32> loc("model.layers.0.self_attn.o_proj")
  edg.weight @model.layers.0.post_attention_layernorm.weight : tensor<8xf32> loc("model.layers.0.post_attention_layernorm")
  edg.weight @model.layers.0.pre_feedforward_layernorm.weight : tensor<8xf32> loc("model.layers.0.pre_feedforward_layernorm")
  edg.weight @model.layers.0.mlp.gate_proj.weight : tensor<16x8xf32> loc("model.layers.0.mlp.gate_proj")
  edg.weight @model.layers.0.mlp.up_proj.weight : tensor<16x8xf32> loc("model.layers.0.mlp.up_proj")
  edg.weight @model.layers.0.mlp.down_proj.weight : tensor<8x16xf32> loc("model.layers.0.mlp.down_proj")
  edg.weight @model.layers.0.post_feedforward_layernorm.weight : tensor<8xf32> loc("model.layers.0.post_feedforward_layernorm")
  edg.weight @model.layers.1.input_layernorm.weight : tensor<8xf32> loc("model.layers.1.input_layernorm")
  edg.weight @model.layers.1.self_attn.q_proj.weight : tensor<8x8xf32> loc("model.layers.1.self_attn.q_proj")
  edg.weight @model.layers.1.self_attn.k_proj.weight : tensor<4x8xf32> loc("model.layers.1.self_attn.k_proj")
  edg.weight @model.layers.1.self_attn.v_proj.weight : tensor<4x8xf32> loc("model.layers.1.self_attn.v_proj")
  edg.weight @model.layers.1.self_attn.o_proj.weight : tensor<8x8xf32> loc("model.layers.1.self_attn.o_proj")
  edg.weight @model.layers.1.post_attention_layernorm.weight : tensor<8xf32> loc("model.layers.1.post_attention_layernorm")
  edg.weight @model.layers.1.pre_feedforward_layernorm.weight : tensor<8xf32> loc("model.layers.1.pre_feedforward_layernorm")
  edg.weight @model.layers.1.mlp.gate_proj.weight : tensor<16x8xf32> loc("model.layers.1.mlp.gate_proj")
  edg.weight @model.layers.1.mlp.up_proj.weight : tensor<16x8xf32> loc("model.layers.1.mlp.up_proj")
  edg.weight @model.layers.1.mlp.down_proj.weight : tensor<8x16xf32> loc("model.layers.1.mlp.down_proj")
  edg.weight @model.layers.1.post_feedforward_layernorm.weight : tensor<8xf32> loc("model.layers.1.post_feedforward_layernorm")
  edg.weight @model.norm.weight : tensor<8xf32> loc("model.norm")
  edg.weight @enc.model.embed_tokens.weight : tensor<32x12xf32> loc("enc.model.embed_tokens")
  edg.weight @enc.model.layers.0.input_layernorm.weight : tensor<12xf32> loc("enc.model.layers.0.input_layernorm")
  edg.weight @enc.model.layers.0.self_attn.q_proj.weight : tensor<8x12xf32> loc("enc.model.layers.0.self_attn.q_proj")
  edg.weight @enc.model.layers.0.self_attn.k_proj.weight : tensor<4x12xf32> loc("enc.model.layers.0.self_attn.k_proj")
  edg.weight @enc.model.layers.0.self_attn.v_proj.weight : tensor<4x12xf32> loc("enc.model.layers.0.self_attn.v_proj")
  edg.weight @enc.model.layers.0.self_attn.o_proj.weight : tensor<12x8xf32> loc("enc.model.layers.0.self_attn.o_proj")
  edg.weight @enc.model.layers.0.post_attention_layernorm.weight : tensor<12xf32> loc("enc.model.layers.0.post_attention_layernorm")
  edg.weight @enc.model.layers.0.pre_feedforward_layernorm.weight : tensor<12xf32> loc("enc.model.layers.0.pre_feedforward_layernorm")
  edg.weight @enc.model.layers.0.mlp.gate_proj.weight : tensor<16x12xf32> loc("enc.model.layers.0.mlp.gate_proj")
  edg.weight @enc.model.layers.0.mlp.up_proj.weight : tensor<16x12xf32> loc("enc.model.layers.0.mlp.up_proj")
  edg.weight @enc.model.layers.0.mlp.down_proj.weight : tensor<12x16xf32> loc("enc.model.layers.0.mlp.down_proj")
  edg.weight @enc.model.layers.0.post_feedforward_layernorm.weight : tensor<12xf32> loc("enc.model.layers.0.post_feedforward_layernorm")
  edg.weight @enc.model.norm.weight : tensor<12xf32> loc("enc.model.norm")
  func.func @forward(%arg0: tensor<?x?xi32> loc("model"), %arg1: tensor<?x?xi32> loc("model"), %arg2: tensor<?x?xi1> loc("model")) -> tensor<?x?x32xf32> {
    %0 = edg.use_weight @model.embed_tokens.weight : tensor<32x8xf32> loc("model.embed_tokens")
    %1 = edg.embed %arg0, %0 {scale = 2.8284270763397217 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32> loc("model.embed_tokens")
    %2 = edg.use_weight @model.layers.0.input_layernorm.weight : tensor<8xf32> loc("model.layers.0.input_layernorm")
    %3 = edg.rms_norm %1, %2 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.layers.0.input_layernorm")
    %4 = edg.use_weight @model.layers.0.self_attn.q_proj.weight : tensor<8x8xf32> loc("model.layers.0.self_attn.q_proj")
    %5 = edg.use_weight @model.layers.0.self_attn.k_proj.weight : tensor<4x8xf32> loc("model.layers.0.self_attn.k_proj")
    %6 = edg.use_weight @model.layers.0.self_attn.v_proj.weight : tensor<4x8xf32> loc("model.layers.0.self_attn.v_proj")
    %7 = edg.use_weight @model.layers.0.self_attn.o_proj.weight : tensor<8x8xf32> loc("model.layers.0.self_attn.o_proj")
    %8 = edg.self_attention %3, %arg1 key_valid %arg2 weights(%4, %5, %6, %7) {head_dim = 4 : i64, mask = #edg.mask<sliding_causal, 4>, num_heads = 2 : i64, num_kv_heads = 1 : i64, rope_theta = 1.000000e+04 : f64, scale = 5.000000e-01 : f64, softcap = 5.000000e+01 : f64} : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32> loc("model.layers.0.self_attn")
    %9 = edg.use_weight @model.layers.0.post_attention_layernorm.weight : tensor<8xf32> loc("model.layers.0.post_attention_layernorm")
    %10 = edg.rms_norm %8, %9 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.layers.0.post_attention_layernorm")
    %11 = edg.add %1, %10 : tensor<?x?x8xf32> loc("model.layers.0")
    %12 = edg.use_weight @model.layers.0.pre_feedforward_layernorm.weight : tensor<8xf32> loc("model.layers.0.pre_feedforward_layernorm")
    %13 = edg.rms_norm %11, %12 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.layers.0.pre_feedforward_layernorm")
    %14 = edg.use_weight @model.layers.0.mlp.gate_proj.weight : tensor<16x8xf32> loc("model.layers.0.mlp.gate_proj")
    %15 = edg.use_weight @model.layers.0.mlp.up_proj.weight : tensor<16x8xf32> loc("model.layers.0.mlp.up_proj")
    %16 = edg.use_weight @model.layers.0.mlp.down_proj.weight : tensor<8x16xf32> loc("model.layers.0.mlp.down_proj")
    %17 = edg.mlp %13 weights(%14, %15, %16) : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32> loc("model.layers.0.mlp")
    %18 = edg.use_weight @model.layers.0.post_feedforward_layernorm.weight : tensor<8xf32> loc("model.layers.0.post_feedforward_layernorm")
    %19 = edg.rms_norm %17, %18 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.layers.0.post_feedforward_layernorm")
    %20 = edg.add %11, %19 : tensor<?x?x8xf32> loc("model.layers.0")
    %21 = edg.use_weight @model.layers.1.input_layernorm.weight : tensor<8xf32> loc("model.layers.1.input_layernorm")
    %22 = edg.rms_norm %20, %21 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.layers.1.input_layernorm")
    %23 = edg.use_weight @model.layers.1.self_attn.q_proj.weight : tensor<8x8xf32> loc("model.layers.1.self_attn.q_proj")
    %24 = edg.use_weight @model.layers.1.self_attn.k_proj.weight : tensor<4x8xf32> loc("model.layers.1.self_attn.k_proj")
    %25 = edg.use_weight @model.layers.1.self_attn.v_proj.weight : tensor<4x8xf32> loc("model.layers.1.self_attn.v_proj")
    %26 = edg.use_weight @model.layers.1.self_attn.o_proj.weight : tensor<8x8xf32> loc("model.layers.1.self_attn.o_proj")
    %27 = edg.self_attention %22, %arg1 key_valid %arg2 weights(%23, %24, %25, %26) {head_dim = 4 : i64, mask = #edg.mask<causal>, num_heads = 2 : i64, num_kv_heads = 1 : i64, rope_theta = 1.000000e+04 : f64, scale = 5.000000e-01 : f64, softcap = 5.000000e+01 : f64} : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32> loc("model.layers.1.self_attn")
    %28 = edg.use_weight @model.layers.1.post_attention_layernorm.weight : tensor<8xf32> loc("model.layers.1.post_attention_layernorm")
    %29 = edg.rms_norm %27, %28 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.layers.1.post_attention_layernorm")
    %30 = edg.add %20, %29 : tensor<?x?x8xf32> loc("model.layers.1")
    %31 = edg.use_weight @model.layers.1.pre_feedforward_layernorm.weight : tensor<8xf32> loc("model.layers.1.pre_feedforward_layernorm")
    %32 = edg.rms_norm %30, %31 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.layers.1.pre_feedforward_layernorm")
    %33 = edg.use_weight @model.layers.1.mlp.gate_proj.weight : tensor<16x8xf32> loc("model.layers.1.mlp.gate_proj")
    %34 = edg.use_weight @model.layers.1.mlp.up_proj.weight : tensor<16x8xf32> loc("model.layers.1.mlp.up_proj")
    %35 = edg.use_weight @model.layers.1.mlp.down_proj.weight : tensor<8x16xf32> loc("model.layers.1.mlp.down_proj")
    %36 = edg.mlp %32 weights(%33, %34, %35) : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32> loc("model.layers.1.mlp")
    %37 = edg.use_weight @model.layers.1.post_feedforward_layernorm.weight : tensor<8xf32> loc("model.layers.1.post_feedforward_layernorm")
    %38 = edg.rms_norm %36, %37 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.layers.1.post_feedforward_layernorm")
    %39 = edg.add %30, %38 : tensor<?x?x8xf32> loc("model.layers.1")
    %40 = edg.use_weight @model.norm.weight : tensor<8xf32> loc("model.norm")
    %41 = edg.rms_norm %39, %40 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.norm")
    %42 = edg.lm_head %41, %0 {final_softcap = 3.000000e+01 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32> loc("lm_head")
    return %42 : tensor<?x?x32xf32> loc("lm_head")
  } loc("model")
  func.func @wide(%arg0: tensor<?x?xi32> loc("enc.model"), %arg1: tensor<?x?xi32> loc("enc.model"), %arg2: tensor<?x?xi1> loc("enc.model")) -> tensor<?x?x32xf32> {
    %0 = edg.use_weight @enc.model.embed_tokens.weight : tensor<32x12xf32> loc("enc.model.embed_tokens")
    %1 = edg.embed %arg0, %0 {scale = 3.4641015529632568 : f64} : (tensor<?x?xi32>, tensor<32x12xf32>) -> tensor<?x?x12xf32> loc("enc.model.embed_tokens")
    %2 = edg.use_weight @enc.model.layers.0.input_layernorm.weight : tensor<12xf32> loc("enc.model.layers.0.input_layernorm")
    %3 = edg.rms_norm %1, %2 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x12xf32>, tensor<12xf32>) -> tensor<?x?x12xf32> loc("enc.model.layers.0.input_layernorm")
    %4 = edg.use_weight @enc.model.layers.0.self_attn.q_proj.weight : tensor<8x12xf32> loc("enc.model.layers.0.self_attn.q_proj")
    %5 = edg.use_weight @enc.model.layers.0.self_attn.k_proj.weight : tensor<4x12xf32> loc("enc.model.layers.0.self_attn.k_proj")
    %6 = edg.use_weight @enc.model.layers.0.self_attn.v_proj.weight : tensor<4x12xf32> loc("enc.model.layers.0.self_attn.v_proj")
    %7 = edg.use_weight @enc.model.layers.0.self_attn.o_proj.weight : tensor<12x8xf32> loc("enc.model.layers.0.self_attn.o_proj")
    %8 = edg.self_attention %3, %arg1 key_valid %arg2 weights(%4, %5, %6, %7) {head_dim = 4 : i64, mask = #edg.mask<sliding_causal, 4>, num_heads = 2 : i64, num_kv_heads = 1 : i64, rope_theta = 1.000000e+04 : f64, scale = 5.000000e-01 : f64, softcap = 5.000000e+01 : f64} : (tensor<?x?x12xf32>, tensor<?x?xi32>, tensor<8x12xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<12x8xf32>, tensor<?x?xi1>) -> tensor<?x?x12xf32> loc("enc.model.layers.0.self_attn")
    %9 = edg.use_weight @enc.model.layers.0.post_attention_layernorm.weight : tensor<12xf32> loc("enc.model.layers.0.post_attention_layernorm")
    %10 = edg.rms_norm %8, %9 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x12xf32>, tensor<12xf32>) -> tensor<?x?x12xf32> loc("enc.model.layers.0.post_attention_layernorm")
    %11 = edg.add %1, %10 : tensor<?x?x12xf32> loc("enc.model.layers.0")
    %12 = edg.use_weight @enc.model.layers.0.pre_feedforward_layernorm.weight : tensor<12xf32> loc("enc.model.layers.0.pre_feedforward_layernorm")
    %13 = edg.rms_norm %11, %12 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x12xf32>, tensor<12xf32>) -> tensor<?x?x12xf32> loc("enc.model.layers.0.pre_feedforward_layernorm")
    %14 = edg.use_weight @enc.model.layers.0.mlp.gate_proj.weight : tensor<16x12xf32> loc("enc.model.layers.0.mlp.gate_proj")
    %15 = edg.use_weight @enc.model.layers.0.mlp.up_proj.weight : tensor<16x12xf32> loc("enc.model.layers.0.mlp.up_proj")
    %16 = edg.use_weight @enc.model.layers.0.mlp.down_proj.weight : tensor<12x16xf32> loc("enc.model.layers.0.mlp.down_proj")
    %17 = edg.mlp %13 weights(%14, %15, %16) : (tensor<?x?x12xf32>, tensor<16x12xf32>, tensor<16x12xf32>, tensor<12x16xf32>) -> tensor<?x?x12xf32> loc("enc.model.layers.0.mlp")
    %18 = edg.use_weight @enc.model.layers.0.post_feedforward_layernorm.weight : tensor<12xf32> loc("enc.model.layers.0.post_feedforward_layernorm")
    %19 = edg.rms_norm %17, %18 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x12xf32>, tensor<12xf32>) -> tensor<?x?x12xf32> loc("enc.model.layers.0.post_feedforward_layernorm")
    %20 = edg.add %11, %19 : tensor<?x?x12xf32> loc("enc.model.layers.0")
    %21 = edg.use_weight @enc.model.norm.weight : tensor<12xf32> loc("enc.model.norm")
    %22 = edg.rms_norm %20, %21 {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x12xf32>, tensor<12xf32>) -> tensor<?x?x12xf32> loc("enc.model.norm")
    %23 = edg.lm_head %22, %0 {final_softcap = 3.000000e+01 : f64} : (tensor<?x?x12xf32>, tensor<32x12xf32>) -> tensor<?x?x32xf32> loc("enc.lm_head")
    return %23 : tensor<?x?x32xf32> loc("enc.lm_head")
  } loc("enc.model")
}
