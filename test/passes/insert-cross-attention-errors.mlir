// RUN: edg-opt %s --edg-insert-cross-attention --split-input-file -verify-diagnostics

// The paper's unbalanced pair (encoder wider than decoder): k/v would be
// [4, 12], self-attention's are [4, 8], so cross-attention cannot start from
// self-attention; the user must ask for fresh weights.
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>

// expected-error @+1 {{cannot initialise cross-attention from self-attention in @decode: the encoder width 12 differs from the decoder width 8 (an unbalanced pair); pass init-from-self-attention=false for fresh weights, as the paper does}}
func.func @decode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                  %enc: tensor<?x?x12xf32>, %enc_valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// No decoder to extend.
// expected-error @+1 {{edg-insert-cross-attention: no function @decode in the module}}
module {
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  func.func @forward(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
  }
}

// -----

// Without %encoder, D_enc comes from @encode's result or encoder-hidden.
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>

// expected-error @+1 {{cannot tell the encoder width D_enc for @decode: pass encoder-hidden=N, or define @encode returning tensor<?x?xD_encxf32>}}
func.func @decode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// Neither (ids, positions, valid) nor the full T5Gemma signature.
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>

// expected-error @+1 {{@decode must take (%ids, %positions, %valid), optionally followed by (%encoder, %encoder_valid); it has 4 arguments}}
func.func @decode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>, %extra: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// Not the Gemma 2 layer shape: the attention output also bypasses the norm.
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>

func.func @decode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                  %enc: tensor<?x?x8xf32>, %enc_valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  // expected-error @+1 {{'edg.self_attention' op is not a Gemma 2 decoder layer (self_attention -> rms_norm -> add): its result has more than one use}}
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  %twice = edg.add %r, %a : tensor<?x?x8xf32>
  return %twice : tensor<?x?x8xf32>
}

// -----

// The new weights are named after the query weight; an argument has no name.
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>

func.func @decode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                  %enc: tensor<?x?x8xf32>, %enc_valid: tensor<?x?xi1>, %qarg: tensor<8x8xf32>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  // expected-error @+1 {{'edg.self_attention' op q_proj must be an edg.use_weight of a weight named '<prefix>self_attn.q_proj.weight' to name the cross-attention weights}}
  %a = edg.self_attention %n, %pos key_valid %valid weights(%qarg, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// Running the pass twice would stack a second cross-attention per layer.
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>

func.func @decode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                  %enc: tensor<?x?x8xf32>, %enc_valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  // expected-error @+1 {{'edg.cross_attention' op @decode already has cross-attention; insert it only once}}
  %c = edg.cross_attention %r, %enc encoder_valid %enc_valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64}
      : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  return %c : tensor<?x?x8xf32>
}

// -----

// A weight of the new sub-layer is already declared.
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.cross_attn.k_proj.weight" : tensor<4x8xf32>
func.func @decode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                  %enc: tensor<?x?x8xf32>, %enc_valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  // expected-error @+1 {{'edg.self_attention' op cannot insert cross-attention: @"model.decoder.layers.0.cross_attn.k_proj.weight" already exists}}
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// Two layers reading one query weight would get the same new weights.
edg.weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
edg.weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
func.func @decode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                  %enc: tensor<?x?x8xf32>, %enc_valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @"model.decoder.layers.0.pre_self_attn_layernorm.weight" : tensor<8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %pw = edg.use_weight @"model.decoder.layers.0.post_self_attn_layernorm.weight" : tensor<8xf32>
  %n0 = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %a0 = edg.self_attention %n0, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %p0 = edg.rms_norm %a0, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r0 = edg.add %x, %p0 : tensor<?x?x8xf32>
  %n1 = edg.rms_norm %r0, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  // expected-error @+1 {{'edg.self_attention' op shares its layer prefix 'model.decoder.layers.0.' (from its q_proj weight) with another self-attention; each layer needs its own weights}}
  %a1 = edg.self_attention %n1, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %p1 = edg.rms_norm %a1, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r1 = edg.add %r0, %p1 : tensor<?x?x8xf32>
  return %r1 : tensor<?x?x8xf32>
}
