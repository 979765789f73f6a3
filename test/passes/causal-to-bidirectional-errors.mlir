// RUN: edg-opt %s --edg-causal-to-bidirectional --split-input-file -verify-diagnostics

// A prefix mask's shape depends on the data (where the prefix ends), not the
// layer, so it has no bidirectional counterpart: refuse rather than guess.
func.func @encode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>,
                  %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>, %o: tensor<8x8xf32>) -> tensor<?x?x8xf32> {
  %0 = edg.self_attention %x, %pos weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  // expected-error @+1 {{'edg.self_attention' op has mask #edg.mask<prefix> that cannot be made bidirectional}}
  %1 = edg.self_attention %0, %pos weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<prefix>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return %1 : tensor<?x?x8xf32>
}

// -----

// The default target @encode is missing (a decoder-only module).
// expected-error @+1 {{edg-causal-to-bidirectional: no function @encode in the module}}
module {
  func.func @forward(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    return %x : tensor<?x?x8xf32>
  }
}
