// RUN: edg-opt %s --edg-insert-cross-attention | FileCheck %s
// RUN: edg-opt %s --edg-insert-cross-attention="function=gen init-from-self-attention=false" | FileCheck %s --check-prefix=FRESH
// RUN: edg-opt %s --edg-insert-cross-attention --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=LOC

// A T5Gemma decoder without its cross-attention (d=8, H=2, K=1, hd=4, I=16,
// V=32), as edg-adapt-encoder-decoder leaves it: layer 0's weights
// initialise from a Gemma 2 checkpoint, layer 1's are its own. @encode
// gives D_enc = 8 (balanced). @gen is a second, unbalanced decoder that
// already takes an encoder of width 12 and uses Gemma 2 norm names.

edg.weight @"model.encoder.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.decoder.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32> init_from @"model.layers.0.input_layernorm.weight" loc("model.decoder.layers.0.pre_self_attn_layernorm")
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32> init_from @"model.layers.0.self_attn.q_proj.weight" loc("model.decoder.layers.0.self_attn.q_proj")
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32> init_from @"model.layers.0.self_attn.k_proj.weight" loc("model.decoder.layers.0.self_attn.k_proj")
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32> init_from @"model.layers.0.self_attn.v_proj.weight" loc("model.decoder.layers.0.self_attn.v_proj")
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32> init_from @"model.layers.0.self_attn.o_proj.weight" loc("model.decoder.layers.0.self_attn.o_proj")
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32> init_from @"model.layers.0.post_attention_layernorm.weight" loc("model.decoder.layers.0.post_self_attn_layernorm")
edg.weight @"model.decoder.layers.0.pre_feedforward_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
edg.weight @"model.decoder.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
edg.weight @"model.decoder.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
edg.weight @"model.decoder.layers.0.post_feedforward_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.1.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.1.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.1.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.1.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.1.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.1.post_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.norm.weight" : tensor<8xf32>
edg.weight @"gen.layers.0.input_layernorm.weight" : tensor<8xf32>
edg.weight @"gen.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"gen.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"gen.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"gen.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"gen.layers.0.post_attention_layernorm.weight" : tensor<8xf32>

// Layer 0 initialises from what its self-attention initialises from (the
// Gemma 2 keys); layer 1 from its own self-attention weights. The new
// weights follow the post-self-attention norm (module order = execution
// order).
// CHECK: edg.weight @model.decoder.layers.0.post_self_attn_layernorm.weight
// CHECK-NEXT: edg.weight @model.decoder.layers.0.pre_cross_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.input_layernorm.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.cross_attn.q_proj.weight : tensor<8x8xf32> init_from @model.layers.0.self_attn.q_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.cross_attn.k_proj.weight : tensor<4x8xf32> init_from @model.layers.0.self_attn.k_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.cross_attn.v_proj.weight : tensor<4x8xf32> init_from @model.layers.0.self_attn.v_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.cross_attn.o_proj.weight : tensor<8x8xf32> init_from @model.layers.0.self_attn.o_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.post_cross_attn_layernorm.weight : tensor<8xf32> init_from @model.layers.0.post_attention_layernorm.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.0.pre_feedforward_layernorm.weight
// CHECK: edg.weight @model.decoder.layers.1.post_self_attn_layernorm.weight
// CHECK-NEXT: edg.weight @model.decoder.layers.1.pre_cross_attn_layernorm.weight : tensor<8xf32> init_from @model.decoder.layers.1.pre_self_attn_layernorm.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.1.cross_attn.q_proj.weight : tensor<8x8xf32> init_from @model.decoder.layers.1.self_attn.q_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.1.cross_attn.k_proj.weight : tensor<4x8xf32> init_from @model.decoder.layers.1.self_attn.k_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.1.cross_attn.v_proj.weight : tensor<4x8xf32> init_from @model.decoder.layers.1.self_attn.v_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.1.cross_attn.o_proj.weight : tensor<8x8xf32> init_from @model.decoder.layers.1.self_attn.o_proj.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.layers.1.post_cross_attn_layernorm.weight : tensor<8xf32> init_from @model.decoder.layers.1.post_self_attn_layernorm.weight{{$}}
// CHECK-NEXT: edg.weight @model.decoder.norm.weight
// CHECK-NOT: @gen.layers.0.cross_attn

// The unbalanced @gen: fresh weights, k/v reading the 12-wide encoder.
// FRESH-NOT: @model.decoder.layers.0.cross_attn
// FRESH: edg.weight @gen.layers.0.post_attention_layernorm.weight : tensor<8xf32>{{$}}
// FRESH-NEXT: edg.weight @gen.layers.0.pre_cross_attn_layernorm.weight : tensor<8xf32> init <zeros>{{$}}
// FRESH-NEXT: edg.weight @gen.layers.0.cross_attn.q_proj.weight : tensor<8x8xf32> init <normal, 2.000000e-02>{{$}}
// FRESH-NEXT: edg.weight @gen.layers.0.cross_attn.k_proj.weight : tensor<4x12xf32> init <normal, 2.000000e-02>{{$}}
// FRESH-NEXT: edg.weight @gen.layers.0.cross_attn.v_proj.weight : tensor<4x12xf32> init <normal, 2.000000e-02>{{$}}
// FRESH-NEXT: edg.weight @gen.layers.0.cross_attn.o_proj.weight : tensor<8x8xf32> init <normal, 2.000000e-02>{{$}}
// FRESH-NEXT: edg.weight @gen.layers.0.post_cross_attn_layernorm.weight : tensor<8xf32> init <zeros>{{$}}

// Locations name the HF modules: derived from the self-attention's where it
// has NameLocs (layer 0), built from the layer prefix otherwise (layer 1).
// LOC: edg.weight @model.decoder.layers.0.pre_cross_attn_layernorm.weight {{.*}} loc("model.decoder.layers.0.pre_cross_attn_layernorm")
// LOC-NEXT: edg.weight @model.decoder.layers.0.cross_attn.q_proj.weight {{.*}} loc("model.decoder.layers.0.cross_attn.q_proj")
// LOC: edg.weight @model.decoder.layers.1.cross_attn.q_proj.weight {{.*}} loc("model.decoder.layers.1.cross_attn")

// CHECK-LABEL: func.func @encode
// CHECK-NOT: edg.cross_attention
// CHECK: return
func.func @encode(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %e = edg.use_weight @"model.encoder.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  return %x : tensor<?x?x8xf32>
}

// The encoder operands are appended: (ids, positions, valid, encoder,
// encoder_valid), D_enc = 8 from @encode.
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %{{[^:]+}}: tensor<?x?xi32>, %{{[^:]+}}: tensor<?x?xi32>, %{{[^:]+}}: tensor<?x?xi1>, [[ENC:%[^:]+]]: tensor<?x?x8xf32>, [[EV:%[^:]+]]: tensor<?x?xi1>) -> tensor<?x?x32xf32>
// CHECK: [[R0:%[^ ]+]] = edg.add %{{[^ ]+}}, %{{[^ ]+}} : tensor<?x?x8xf32>
// CHECK-NEXT: [[PREW:%[^ ]+]] = edg.use_weight @model.decoder.layers.0.pre_cross_attn_layernorm.weight : tensor<8xf32>
// CHECK-NEXT: [[PRE:%[^ ]+]] = edg.rms_norm [[R0]], [[PREW]] {eps = 9.9999999999999995E-7 : f64}
// CHECK-NEXT: [[Q:%[^ ]+]] = edg.use_weight @model.decoder.layers.0.cross_attn.q_proj.weight : tensor<8x8xf32>
// CHECK-NEXT: [[K:%[^ ]+]] = edg.use_weight @model.decoder.layers.0.cross_attn.k_proj.weight : tensor<4x8xf32>
// CHECK-NEXT: [[V:%[^ ]+]] = edg.use_weight @model.decoder.layers.0.cross_attn.v_proj.weight : tensor<4x8xf32>
// CHECK-NEXT: [[O:%[^ ]+]] = edg.use_weight @model.decoder.layers.0.cross_attn.o_proj.weight : tensor<8x8xf32>
// CHECK-NEXT: [[CA:%[^ ]+]] = edg.cross_attention [[PRE]], [[ENC]] encoder_valid [[EV]] weights([[Q]], [[K]], [[V]], [[O]])
// CHECK-SAME: {head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 5.000000e-01 : f64, softcap = 5.000000e+01 : f64}
// CHECK-NEXT: [[POSTW:%[^ ]+]] = edg.use_weight @model.decoder.layers.0.post_cross_attn_layernorm.weight : tensor<8xf32>
// CHECK-NEXT: [[POST:%[^ ]+]] = edg.rms_norm [[CA]], [[POSTW]] {eps = 9.9999999999999995E-7 : f64}
// CHECK-NEXT: [[R1:%[^ ]+]] = edg.add [[R0]], [[POST]] : tensor<?x?x8xf32>
// The MLP block and everything after it read the new residual.
// CHECK-NEXT: edg.use_weight @model.decoder.layers.0.pre_feedforward_layernorm.weight
// CHECK-NEXT: edg.rms_norm [[R1]],
// CHECK: [[M:%[^ ]+]] = edg.add [[R1]], %{{[^ ]+}} : tensor<?x?x8xf32>
// CHECK: edg.self_attention
// CHECK: [[R2:%[^ ]+]] = edg.add [[M]], %{{[^ ]+}} : tensor<?x?x8xf32>
// CHECK: edg.cross_attention %{{[^ ]+}}, [[ENC]] encoder_valid [[EV]]
// CHECK: [[R3:%[^ ]+]] = edg.add [[R2]], %{{[^ ]+}} : tensor<?x?x8xf32>
// CHECK: edg.rms_norm [[R3]],
// CHECK: edg.lm_head
// LOC-LABEL: func.func @decode(
// LOC: edg.rms_norm {{.*}} loc("model.decoder.layers.0.pre_cross_attn_layernorm")
// LOC: edg.use_weight @model.decoder.layers.0.cross_attn.q_proj.weight {{.*}} loc("model.decoder.layers.0.cross_attn.q_proj")
// LOC: edg.cross_attention {{.*}} loc("model.decoder.layers.0.cross_attn")
// LOC: edg.rms_norm {{.*}} loc("model.decoder.layers.0.post_cross_attn_layernorm")
// LOC-NEXT: edg.add {{.*}} loc("model.decoder.layers.0")
// LOC: edg.cross_attention {{.*}} loc("model.decoder.layers.1.cross_attn")
// FRESH-LABEL: func.func @decode(
// FRESH-NOT: edg.cross_attention
// FRESH: return
func.func @decode(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @"model.decoder.embed_tokens.weight" : tensor<32x8xf32>
  %x0 = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  // Layer 0: self-attention block, then the MLP block.
  %w0 = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32> loc("model.decoder.layers.0.pre_self_attn_layernorm")
  %n0 = edg.rms_norm %x0, %w0 {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.decoder.layers.0.pre_self_attn_layernorm")
  %q0 = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32> loc("model.decoder.layers.0.self_attn.q_proj")
  %k0 = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32> loc("model.decoder.layers.0.self_attn.k_proj")
  %v0 = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32> loc("model.decoder.layers.0.self_attn.v_proj")
  %o0 = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32> loc("model.decoder.layers.0.self_attn.o_proj")
  %a0 = edg.self_attention %n0, %pos key_valid %valid weights(%q0, %k0, %v0, %o0)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
      loc("model.decoder.layers.0.self_attn")
  %pw0 = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32> loc("model.decoder.layers.0.post_self_attn_layernorm")
  %p0 = edg.rms_norm %a0, %pw0 {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> loc("model.decoder.layers.0.post_self_attn_layernorm")
  %r0 = edg.add %x0, %p0 : tensor<?x?x8xf32> loc("model.decoder.layers.0")
  %fw0 = edg.use_weight @"model.decoder.layers.0.pre_feedforward_layernorm.weight" : tensor<8xf32>
  %f0 = edg.rms_norm %r0, %fw0 {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %g0 = edg.use_weight @"model.decoder.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
  %u0 = edg.use_weight @"model.decoder.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
  %d0 = edg.use_weight @"model.decoder.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
  %m0 = edg.mlp %f0 weights(%g0, %u0, %d0) : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
  %mw0 = edg.use_weight @"model.decoder.layers.0.post_feedforward_layernorm.weight" : tensor<8xf32>
  %mp0 = edg.rms_norm %m0, %mw0 {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %x1 = edg.add %r0, %mp0 : tensor<?x?x8xf32>
  // Layer 1: only the self-attention block (the pass needs no more).
  %w1 = edg.use_weight @"model.decoder.layers.1.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %n1 = edg.rms_norm %x1, %w1 {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q1 = edg.use_weight @"model.decoder.layers.1.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k1 = edg.use_weight @"model.decoder.layers.1.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v1 = edg.use_weight @"model.decoder.layers.1.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o1 = edg.use_weight @"model.decoder.layers.1.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a1 = edg.self_attention %n1, %pos key_valid %valid weights(%q1, %k1, %v1, %o1)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw1 = edg.use_weight @"model.decoder.layers.1.post_self_attn_layernorm.weight" : tensor<8xf32>
  %p1 = edg.rms_norm %a1, %pw1 {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r1 = edg.add %x1, %p1 : tensor<?x?x8xf32>
  %nw = edg.use_weight @"model.decoder.norm.weight" : tensor<8xf32>
  %h = edg.rms_norm %r1, %nw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %h, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}

// @gen already has its encoder operands (width 12); they are reused, not
// appended again.
// CHECK-LABEL: func.func @gen
// CHECK-NOT: edg.cross_attention
// CHECK: return
// FRESH-LABEL: func.func @gen(
// FRESH-SAME: [[ENC:%[^:]+]]: tensor<?x?x12xf32>, [[EV:%[^:]+]]: tensor<?x?xi1>) -> tensor<?x?x8xf32>
// FRESH: [[R:%[^ ]+]] = edg.add
// FRESH: edg.use_weight @gen.layers.0.pre_cross_attn_layernorm.weight
// FRESH: [[CA:%[^ ]+]] = edg.cross_attention %{{[^ ]+}}, [[ENC]] encoder_valid [[EV]]
// FRESH-SAME: (tensor<?x?x8xf32>, tensor<?x?x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
// FRESH: [[P:%[^ ]+]] = edg.rms_norm [[CA]],
// FRESH-NEXT: [[OUT:%[^ ]+]] = edg.add [[R]], [[P]]
// FRESH-NEXT: return [[OUT]]
func.func @gen(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
               %enc: tensor<?x?x12xf32>, %enc_valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"gen.layers.0.input_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"gen.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"gen.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"gen.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"gen.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"gen.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}
