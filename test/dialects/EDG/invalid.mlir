// RUN: edg-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{sliding mask needs a window > 0, got 0}}
func.func private @f() attributes {m = #edg.mask<sliding_causal>}

// -----

// expected-error @+1 {{mask 'causal' takes no window}}
func.func private @f() attributes {m = #edg.mask<causal, 16>}

// -----

// expected-error @+1 {{normal init needs a standard deviation > 0}}
edg.weight @w : tensor<4xf32> init #edg.init<normal, 0.0>

// -----

// expected-error @+1 {{init 'zeros' takes no standard deviation}}
edg.weight @w : tensor<4xf32> init #edg.init<zeros, 1.0>

// -----

// expected-error @+1 {{unknown init kind 'uniform'}}
edg.weight @w : tensor<4xf32> init #edg.init<uniform>

// -----

// expected-error @+1 {{cannot be initialised from itself}}
edg.weight @w : tensor<4xf32> init_from @w

// -----

// expected-error @+1 {{is frozen for good; frozen_steps would be ignored}}
edg.weight @w : tensor<4xf32> frozen frozen_steps 10

// -----

// expected-error @+1 {{frozen_steps must be > 0}}
edg.weight @w : tensor<4xf32> frozen_steps 0

// -----

func.func @f() {
  // expected-error @+1 {{no edg.weight named @missing}}
  %w = edg.use_weight @missing : tensor<4xf32>
  return
}

// -----

edg.weight @w : tensor<4xf32>
func.func @f() {
  // expected-error @+1 {{result type 'tensor<8xf32>' does not match the weight's type 'tensor<4xf32>'}}
  %w = edg.use_weight @w : tensor<8xf32>
  return
}

// -----

func.func @f(%ids: tensor<?x?xi32>, %t: tensor<32x8xf32>) {
  // expected-error @+1 {{result must be [?, ?, 8] ([batch, seq, hidden]), got [?, ?, 6]}}
  %x = edg.embed %ids, %t {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x6xf32>
  return
}

// -----

func.func @f(%ids: tensor<?xi32>, %t: tensor<32x8xf32>) {
  // expected-error @+1 {{ids must have rank 2 ([batch, seq]), got rank 1}}
  %x = edg.embed %ids, %t {scale = 1.0 : f64} : (tensor<?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%ids: tensor<?x?xi32>, %t: tensor<32x8xbf16>) {
  // expected-error @+1 {{table element type 'bf16' does not match the input's 'f32'}}
  %x = edg.embed %ids, %t {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xbf16>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%ids: tensor<?x?xi32>, %t: tensor<32x8xf32>) {
  // expected-error @+1 {{scale must be > 0, got -1}}
  %x = edg.embed %ids, %t {scale = -1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %w: tensor<6xf32>) {
  // expected-error @+1 {{weight must be [8] ([hidden]), got [6]}}
  %y = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<6xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{result type must equal the input type}}
  %y = edg.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xbf16>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{eps must be > 0, got 0}}
  %y = edg.rms_norm %x, %w {eps = 0.0 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<12x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x12xf32>) {
  // expected-error @+1 {{num_heads (3) must be divisible by num_kv_heads (2)}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 3 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<12x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x12xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{num_heads, num_kv_heads and head_dim must be > 0}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 0 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<12x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{q_proj must be [8, 8] ([num_heads*head_dim, hidden]), got [12, 8]}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<12x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<8x8xf32>, %v: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{k_proj must be [4, 8] ([num_kv_heads*head_dim, kv hidden]), got [8, 8]}}
  %a = edg.self_attention %x, %p weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x6xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{v_proj must be [4, 8] ([num_kv_heads*head_dim, kv hidden]), got [4, 6]}}
  %a = edg.self_attention %x, %p weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x6xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<6x8xf32>) {
  // expected-error @+1 {{o_proj must be [8, 8] ([hidden, num_heads*head_dim]), got [6, 8]}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<6x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<8x8xbf16>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{q_proj element type 'bf16' does not match the input's 'f32'}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xbf16>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<2x5x8xf32>, %p: tensor<2x4xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{positions must be [2, 5] ([batch, seq]), got [2, 4]}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<2x5x8xf32>, tensor<2x4xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<2x5x8xf32>
  return
}

// -----

func.func @f(%x: tensor<2x5x8xf32>, %p: tensor<2x5xi32>, %m: tensor<2x6xi1>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{key_valid must be [2, 5] ([batch, seq]), got [2, 6]}}
  %a = edg.self_attention %x, %p key_valid %m weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<2x5x8xf32>, tensor<2x5xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<2x6xi1>) -> tensor<2x5x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{softcap must be > 0, got -50}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       softcap = -50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{rope_theta must be > 0, got 0}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 0.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{result type must equal the input type}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 1.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?xf32>, %p: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{input must have rank 3 ([batch, seq, hidden]), got rank 2}}
  %a = edg.self_attention %x, %p weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 1.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %e: tensor<?x?x12xf32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{k_proj must be [4, 12] ([num_kv_heads*head_dim, kv hidden]), got [4, 8]}}
  %c = edg.cross_attention %x, %e weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64}
      : (tensor<?x?x8xf32>, tensor<?x?x12xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %e: tensor<?x12xf32>, %q: tensor<8x8xf32>, %k: tensor<4x12xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{encoder must have rank 3 ([batch, enc_seq, enc_hidden]), got rank 2}}
  %c = edg.cross_attention %x, %e weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64}
      : (tensor<?x?x8xf32>, tensor<?x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<2x?x8xf32>, %e: tensor<3x?x12xf32>, %q: tensor<8x8xf32>, %k: tensor<4x12xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{input and encoder batch sizes differ}}
  %c = edg.cross_attention %x, %e weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64}
      : (tensor<2x?x8xf32>, tensor<3x?x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>) -> tensor<2x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<2x?x8xf32>, %e: tensor<2x7x12xf32>, %m: tensor<2x5xi1>, %q: tensor<8x8xf32>, %k: tensor<4x12xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{encoder_valid must be [2, 7] ([batch, enc_seq]), got [2, 5]}}
  %c = edg.cross_attention %x, %e encoder_valid %m weights(%q, %k, %k, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64}
      : (tensor<2x?x8xf32>, tensor<2x7x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>, tensor<2x5xi1>) -> tensor<2x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %g: tensor<16x8xf32>, %u: tensor<16x6xf32>, %d: tensor<8x16xf32>) {
  // expected-error @+1 {{up_proj must be [16, 8] ([intermediate, hidden]), got [16, 6]}}
  %m = edg.mlp %x weights(%g, %u, %d) : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x6xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %g: tensor<16x4xf32>, %u: tensor<16x8xf32>, %d: tensor<8x16xf32>) {
  // expected-error @+1 {{gate_proj must be [16, 8] ([intermediate, hidden]), got [16, 4]}}
  %m = edg.mlp %x weights(%g, %u, %d) : (tensor<?x?x8xf32>, tensor<16x4xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %g: tensor<16x8xf32>, %u: tensor<16x8xf32>, %d: tensor<8x12xf32>) {
  // expected-error @+1 {{down_proj must be [8, 16] ([hidden, intermediate]), got [8, 12]}}
  %m = edg.mlp %x weights(%g, %u, %d) : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x12xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %g: tensor<16x8xf16>, %u: tensor<16x8xf32>, %d: tensor<8x16xf32>) {
  // expected-error @+1 {{gate_proj element type 'f16' does not match the input's 'f32'}}
  %m = edg.mlp %x weights(%g, %u, %d) : (tensor<?x?x8xf32>, tensor<16x8xf16>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %t: tensor<32x6xf32>) {
  // expected-error @+1 {{table must be [32, 8] ([vocab, hidden]), got [32, 6]}}
  %l = edg.lm_head %x, %t : (tensor<?x?x8xf32>, tensor<32x6xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %t: tensor<32x8xf32>) {
  // expected-error @+1 {{result must be [?, ?, 32] ([batch, seq, vocab]), got [?, ?, 16]}}
  %l = edg.lm_head %x, %t : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %t: tensor<32x8xf32>) {
  // expected-error @+1 {{final_softcap must be > 0, got 0}}
  %l = edg.lm_head %x, %t {final_softcap = 0.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%l: tensor<2x5x32xf32>, %y: tensor<2x4xi32>) {
  // expected-error @+1 {{labels must be [2, 5] ([batch, seq]), got [2, 4]}}
  %loss = edg.cross_entropy %l, %y : (tensor<2x5x32xf32>, tensor<2x4xi32>) -> tensor<f32>
  return
}

// -----

func.func @f(%l: tensor<2x32xf32>, %y: tensor<2x4xi32>) {
  // expected-error @+1 {{logits must have rank 3 ([batch, seq, vocab]), got rank 2}}
  %loss = edg.cross_entropy %l, %y : (tensor<2x32xf32>, tensor<2x4xi32>) -> tensor<f32>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'edg.add' op requires the same type for all operands and results}}
  %c = "edg.add"(%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf16>
  return
}
