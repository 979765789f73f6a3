// RUN: edg-opt %s --split-input-file --verify-diagnostics --edg-autodiff

// expected-error @+1 {{edg-autodiff: no function @loss with a body (build it with edg-build-objective)}}
module {
}

// -----

// expected-error @+1 {{edg-autodiff: @loss must have one block and return one tensor<f32> loss}}
func.func @loss(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

edg.weight @w : tensor<32x8xf32>
func.func @loss(%ids: tensor<?x?xi32>, %labels: tensor<?x?xi32>) -> tensor<f32> {
  %e = edg.use_weight @w : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  // expected-error @+1 {{'arith.addf' op has no gradient rule}}
  %y = arith.addf %x, %x : tensor<?x?x8xf32>
  %l = edg.lm_head %y, %e : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  %loss = edg.cross_entropy %l, %labels : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// A loss term must reach the loss through edg.add only (the seed is 1).
edg.weight @w : tensor<32x8xf32>
func.func @loss(%ids: tensor<?x?xi32>, %labels: tensor<?x?xi32>) -> tensor<f32> {
  %e = edg.use_weight @w : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %x, %e : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  %loss = edg.cross_entropy %l, %labels : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<f32>
  // expected-error @+1 {{'arith.mulf' op has no gradient rule}}
  %twice = arith.mulf %loss, %loss : tensor<f32>
  return %twice : tensor<f32>
}

// -----

edg.weight @w : tensor<32x8xf32>
edg.weight @q : tensor<8x8xf32>
edg.weight @k : tensor<4x8xf32>
func.func @loss(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %labels: tensor<?x?xi32>) -> tensor<f32> {
  %e = edg.use_weight @w : tensor<32x8xf32>
  %q = edg.use_weight @q : tensor<8x8xf32>
  %k = edg.use_weight @k : tensor<4x8xf32>
  %x = edg.embed %ids, %e {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  // expected-error @+1 {{has a prefix mask, which has no gradient kernel; train PrefixLM as encoder-decoder (objective=seq2seq)}}
  %a = edg.self_attention %x, %pos weights(%q, %k, %k, %q)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<prefix>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %a, %e : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  %loss = edg.cross_entropy %l, %labels : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<f32>
  return %loss : tensor<f32>
}
