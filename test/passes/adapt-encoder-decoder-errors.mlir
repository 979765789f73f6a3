// RUN: edg-opt %s --edg-adapt-encoder-decoder --split-input-file -verify-diagnostics

// Nothing to adapt: no decoder-only @forward (decoder-from's default).
// expected-error @+1 {{edg-adapt-encoder-decoder: no decoder-only function @forward in the module (decoder-from=forward)}}
module {
edg.weight @"model.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
edg.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
edg.weight @"model.norm.weight" : tensor<8xf32>
func.func @generate(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @"model.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %w = edg.use_weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  %fw = edg.use_weight @"model.norm.weight" : tensor<8xf32>
  %h = edg.rms_norm %r, %fw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %h, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}
}

// -----

// A prefix mask cannot be opened up for the encoder (the rule of
// edg-causal-to-bidirectional).
edg.weight @"model.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
edg.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
edg.weight @"model.norm.weight" : tensor<8xf32>
func.func @forward(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @"model.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %w = edg.use_weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  // expected-error @+1 {{'edg.self_attention' op has mask #edg.mask<prefix> that cannot be made bidirectional}}
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<prefix>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  %fw = edg.use_weight @"model.norm.weight" : tensor<8xf32>
  %h = edg.rms_norm %r, %fw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %h, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}

// -----

// Already encoder-like: there is no LM head to drop or to tie.
edg.weight @"model.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
edg.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
edg.weight @"model.norm.weight" : tensor<8xf32>
// expected-error @+1 {{@forward is not a decoder-only entry point: it must return the logits of an edg.lm_head}}
func.func @forward(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %e = edg.use_weight @"model.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %w = edg.use_weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  %fw = edg.use_weight @"model.norm.weight" : tensor<8xf32>
  %h = edg.rms_norm %r, %fw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  return %h : tensor<?x?x8xf32>
}

// -----

// The T5Gemma entry points exist already.
edg.weight @"model.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
edg.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
edg.weight @"model.norm.weight" : tensor<8xf32>
func.func @forward(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @"model.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %w = edg.use_weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  %fw = edg.use_weight @"model.norm.weight" : tensor<8xf32>
  %h = edg.rms_norm %r, %fw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %h, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}

// expected-error @+1 {{edg-adapt-encoder-decoder: the module already has @encode}}
func.func @encode(%ids: tensor<?x?xi32>) -> tensor<?x?xi32> {
  return %ids : tensor<?x?xi32>
}

// -----

// Weight names are HF keys; a model's weight prefix is read off its
// embedding's name.
edg.weight @"embed.weight" : tensor<32x8xf32>
edg.weight @"model.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
edg.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
edg.weight @"model.norm.weight" : tensor<8xf32>
func.func @forward(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @"embed.weight" : tensor<32x8xf32>
  // expected-error @+1 {{'edg.embed' op must read a weight named '<prefix>model.embed_tokens.weight' so the adaptation can tell the model's weight prefix}}
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %w = edg.use_weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %pw = edg.use_weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
  %p = edg.rms_norm %a, %pw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %p : tensor<?x?x8xf32>
  %fw = edg.use_weight @"model.norm.weight" : tensor<8xf32>
  %h = edg.rms_norm %r, %fw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %h, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}
