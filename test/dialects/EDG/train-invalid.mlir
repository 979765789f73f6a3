// RUN: edg-opt %s -split-input-file -verify-diagnostics

// Verifier messages of the training ops (EDGTrainOps.cpp).

func.func @f(%l: tensor<?x32xf32>, %labels: tensor<?x?xi32>) {
  // expected-error @+1 {{logits must have rank 3 ([batch, seq, vocab])}}
  %0 = edg.cross_entropy_grad %l, %labels : (tensor<?x32xf32>, tensor<?x?xi32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%l: tensor<2x3x32xf32>, %labels: tensor<2x4xi32>) {
  // expected-error @+1 {{labels must be [batch, seq] of the logits}}
  %0 = edg.cross_entropy_grad %l, %labels : (tensor<2x3x32xf32>, tensor<2x4xi32>) -> tensor<2x3x32xf32>
  return
}

// -----

func.func @f(%l: tensor<?x?x32xf32>, %labels: tensor<?x?xi32>) {
  // expected-error @+1 {{dlogits must have the type of the logits ('tensor<?x?x32xf32>'), got 'tensor<?x?x16xf32>'}}
  %0 = edg.cross_entropy_grad %l, %labels : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
  return
}

// -----

func.func @f(%l: tensor<?x?x32xf32>, %t: tensor<?x?x16xf32>, %i: tensor<?x?xi32>, %labels: tensor<?x?xi32>) {
  // expected-error @+1 {{teacher_logits must be [batch, teacher_seq, vocab] with the student's batch and vocabulary}}
  %0 = edg.distill_kl %l, %t, %i, %labels : (tensor<?x?x32xf32>, tensor<?x?x16xf32>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<f32>
  return
}

// -----

func.func @f(%l: tensor<?x?x32xf32>, %t: tensor<?x?x32xf32>, %i: tensor<?xi32>, %labels: tensor<?x?xi32>) {
  // expected-error @+1 {{teacher_index must be [batch, seq] like labels}}
  %0 = edg.distill_kl %l, %t, %i, %labels : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<f32>
  return
}

// -----

func.func @f(%l: tensor<?x?x32xf32>, %t: tensor<?x?x32xf32>, %i: tensor<?x?xi32>, %labels: tensor<?x?xi32>) {
  // expected-error @+1 {{temperature must be > 0, got 0}}
  %0 = edg.distill_kl_grad %l, %t, %i, %labels {temperature = 0.0 : f64} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%l: tensor<?x?x32xf32>, %t: tensor<?x?x32xf32>, %i: tensor<?x?xi32>, %labels: tensor<?x?xi32>) {
  // expected-error @+1 {{weight must be >= 0}}
  %0 = edg.distill_kl %l, %t, %i, %labels {weight = -1.0 : f64} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<f32>
  return
}

// -----

func.func @f(%ids: tensor<?x?xi32>, %dy: tensor<?x8xf32>) {
  // expected-error @+1 {{grad must be [batch, seq, hidden] of the ids}}
  %0 = edg.embed_grad %ids, %dy {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<?x8xf32>) -> tensor<32x8xf32>
  return
}

// -----

func.func @f(%ids: tensor<?x?xi32>, %dy: tensor<?x?x8xf32>) {
  // expected-error @+1 {{dtable must be [vocab, hidden] with the grad's hidden}}
  %0 = edg.embed_grad %ids, %dy {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<?x?x8xf32>) -> tensor<32x4xf32>
  return
}

// -----

func.func @f(%ids: tensor<?x?xi32>, %dy: tensor<?x?x8xf32>) {
  // expected-error @+1 {{scale must be > 0, got -1}}
  %0 = edg.embed_grad %ids, %dy {scale = -1.0 : f64} : (tensor<?x?xi32>, tensor<?x?x8xf32>) -> tensor<32x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %w: tensor<8xf32>, %dy: tensor<?x?x4xf32>) {
  // expected-error @+1 {{grad must have the type of the input ('tensor<?x?x8xf32>'), got 'tensor<?x?x4xf32>'}}
  %0:2 = edg.rms_norm_grad %x, %w grad %dy {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x4xf32>) -> (tensor<?x?x8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %w: tensor<4xf32>, %dy: tensor<?x?x8xf32>) {
  // expected-error @+1 {{weight must be [hidden] of the input}}
  %0:2 = edg.rms_norm_grad %x, %w grad %dy {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<4xf32>, tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<4xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{has no gradient kernel for the prefix mask}}
  %0:5 = edg.self_attention_grad %x, %pos weights(%q, %k, %k, %o) grad %x
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<prefix>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>)
      -> (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{projection shapes disagree with the head counts}}
  %0:5 = edg.self_attention_grad %x, %pos weights(%q, %k, %k, %o) grad %x
      {num_heads = 4 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>)
      -> (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{needs num_heads, num_kv_heads, head_dim > 0 with num_heads divisible by num_kv_heads}}
  %0:5 = edg.self_attention_grad %x, %pos weights(%q, %k, %k, %o) grad %x
      {num_heads = 2 : i64, num_kv_heads = 3 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>)
      -> (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{dk_proj must have the type of k_proj ('tensor<4x8xf32>'), got 'tensor<8x8xf32>'}}
  %0:5 = edg.self_attention_grad %x, %pos weights(%q, %k, %k, %o) grad %x
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>)
      -> (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %e: tensor<?x12xf32>, %q: tensor<8x8xf32>, %k: tensor<4x12xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{input and encoder must have rank 3}}
  %0:6 = edg.cross_attention_grad %x, %e weights(%q, %k, %k, %o) grad %x
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64}
      : (tensor<?x?x8xf32>, tensor<?x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>)
      -> (tensor<?x?x8xf32>, tensor<?x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %e: tensor<?x?x12xf32>, %q: tensor<8x8xf32>, %k: tensor<4x12xf32>, %o: tensor<8x8xf32>) {
  // expected-error @+1 {{dencoder must have the type of the encoder ('tensor<?x?x12xf32>'), got 'tensor<?x?x8xf32>'}}
  %0:6 = edg.cross_attention_grad %x, %e weights(%q, %k, %k, %o) grad %x
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64}
      : (tensor<?x?x8xf32>, tensor<?x?x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>)
      -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) {
  // expected-error @+1 {{ddown_proj must have the type of down_proj ('tensor<8x16xf32>'), got 'tensor<16x8xf32>'}}
  %0:4 = edg.mlp_grad %x weights(%g, %g, %d) grad %x
      : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<?x?x8xf32>)
      -> (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %t: tensor<32x8xf32>, %dy: tensor<?x?x16xf32>) {
  // expected-error @+1 {{grad must be [batch, seq, vocab] of the table}}
  %0:2 = edg.lm_head_grad %x, %t grad %dy : (tensor<?x?x8xf32>, tensor<32x8xf32>, tensor<?x?x16xf32>) -> (tensor<?x?x8xf32>, tensor<32x8xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>, %t: tensor<32x8xf32>, %dy: tensor<?x?x32xf32>) {
  // expected-error @+1 {{final_softcap must be > 0, got 0}}
  %0:2 = edg.lm_head_grad %x, %t grad %dy {final_softcap = 0.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>, tensor<?x?x32xf32>) -> (tensor<?x?x8xf32>, tensor<32x8xf32>)
  return
}

// -----

func.func @f(%a: tensor<4xf32>) {
  // expected-error @+1 {{clipped result 0 must have the type of gradient 0}}
  %n, %c = edg.clip_grad_norm %a {max_norm = 1.0 : f64} : (tensor<4xf32>) -> (tensor<f32>, tensor<8xf32>)
  return
}

// -----

func.func @f(%a: tensor<4xf32>) {
  // expected-error @+1 {{max_norm must be > 0, got 0}}
  %n, %c = edg.clip_grad_norm %a {max_norm = 0.0 : f64} : (tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>)
  return
}

// -----

edg.weight @w : tensor<4xf32> frozen
func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{updates @w, which is frozen}}
  edg.adamw_update @w, %g {lr = 1.0e-3 : f64} : tensor<4xf32>
  return
}

// -----

func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{no edg.weight named @w}}
  edg.adamw_update @w, %g {lr = 1.0e-3 : f64} : tensor<4xf32>
  return
}

// -----

edg.weight @w : tensor<8xf32>
func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{gradient type 'tensor<4xf32>' does not match the weight's type 'tensor<8xf32>'}}
  edg.adamw_update @w, %g {lr = 1.0e-3 : f64} : tensor<4xf32>
  return
}

// -----

edg.weight @w : tensor<4xf32>
func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{beta1 and beta2 must be in [0, 1)}}
  edg.adamw_update @w, %g {lr = 1.0e-3 : f64, beta2 = 1.0 : f64} : tensor<4xf32>
  return
}

// -----

edg.weight @w : tensor<4xf32>
func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{lr must be >= 0}}
  edg.adamw_update @w, %g {lr = -1.0 : f64} : tensor<4xf32>
  return
}

// -----

edg.weight @w : tensor<4xf32>
func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{eps must be > 0, got 0}}
  edg.adamw_update @w, %g {lr = 1.0e-3 : f64, eps = 0.0 : f64} : tensor<4xf32>
  return
}

// -----

edg.weight @w : tensor<4xf32>
func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{weight_decay must be >= 0}}
  edg.adamw_update @w, %g {lr = 1.0e-3 : f64, weight_decay = -0.1 : f64} : tensor<4xf32>
  return
}

// -----

edg.weight @w : tensor<4xf32>
func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{warmup_steps, total_steps and frozen_steps must be >= 0}}
  edg.adamw_update @w, %g {lr = 1.0e-3 : f64, frozen_steps = -1 : i64} : tensor<4xf32>
  return
}

// -----

edg.weight @w : tensor<4xf32>
func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{total_steps must exceed warmup_steps (or be 0 for no decay)}}
  edg.adamw_update @w, %g {lr = 1.0e-3 : f64, warmup_steps = 10 : i64, total_steps = 10 : i64} : tensor<4xf32>
  return
}

// -----

edg.weight @w : tensor<4xf32>
func.func @f(%g: tensor<4xf32>) {
  // expected-error @+1 {{min_lr_ratio must be in [0, 1]}}
  edg.adamw_update @w, %g {lr = 1.0e-3 : f64, min_lr_ratio = 2.0 : f64} : tensor<4xf32>
  return
}
