// RUN: edg-opt %s --edg-causal-to-bidirectional | FileCheck %s
// RUN: edg-opt %s --edg-causal-to-bidirectional="functions=forward,decode" | FileCheck %s --check-prefix=FUNCS

// Masks are attributes, so the encoder of the paper (§3.1) is a precise
// attribute rewrite: causal -> bidirectional, sliding_causal W ->
// sliding_bidirectional W (same W: |i - j| < W). Only @encode changes by
// default; `functions=` names others. Weights are function arguments here:
// the pass only looks at masks. (d=8, H=2, K=1, hd=4.)

// CHECK-LABEL: func.func @encode
// CHECK: edg.self_attention
// CHECK-SAME: mask = #edg.mask<sliding_bidirectional, 4>
// CHECK: edg.self_attention
// CHECK-SAME: mask = #edg.mask<bidirectional>
// CHECK: edg.self_attention
// CHECK-SAME: mask = #edg.mask<sliding_bidirectional, 16>
// CHECK: edg.self_attention
// CHECK-SAME: mask = #edg.mask<bidirectional>
// CHECK-NOT: causal
// CHECK: return
// With `functions=` naming others, @encode is left alone.
// FUNCS-LABEL: func.func @encode
// FUNCS: mask = #edg.mask<sliding_causal, 4>
// FUNCS: mask = #edg.mask<causal>
// FUNCS: mask = #edg.mask<sliding_bidirectional, 16>
// FUNCS: mask = #edg.mask<bidirectional>
func.func @encode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                  %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>, %o: tensor<8x8xf32>) -> tensor<?x?x8xf32> {
  %0 = edg.self_attention %x, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %1 = edg.self_attention %0, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  // Already bidirectional masks are kept as they are.
  %2 = edg.self_attention %1, %pos weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_bidirectional, 16>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %3 = edg.self_attention %2, %pos weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<bidirectional>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return %3 : tensor<?x?x8xf32>
}

// The decoder keeps its causal masks unless named.
// CHECK-LABEL: func.func @decode
// CHECK: mask = #edg.mask<sliding_causal, 4>
// CHECK: mask = #edg.mask<causal>
// FUNCS-LABEL: func.func @decode
// FUNCS: mask = #edg.mask<sliding_bidirectional, 4>
// FUNCS: mask = #edg.mask<bidirectional>
func.func @decode(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>,
                  %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>, %o: tensor<8x8xf32>) -> tensor<?x?x8xf32> {
  %0 = edg.self_attention %x, %pos weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %1 = edg.self_attention %0, %pos weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return %1 : tensor<?x?x8xf32>
}

// A decoder-only entry: only changed when named.
// CHECK-LABEL: func.func @forward
// CHECK: mask = #edg.mask<causal>
// FUNCS-LABEL: func.func @forward
// FUNCS: mask = #edg.mask<bidirectional>
func.func @forward(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>,
                   %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>, %o: tensor<8x8xf32>) -> tensor<?x?x8xf32> {
  %0 = edg.self_attention %x, %pos weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<causal>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return %0 : tensor<?x?x8xf32>
}
