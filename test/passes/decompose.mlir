// RUN: edg-opt %s --edg-decompose --split-input-file --mlir-print-debuginfo | FileCheck %s
//
// Graph-level layer ops become tensor-level ops in HF eager order
// (MODEL_SPEC §1.5, §1.7, §1.8): projections, RoPE on q and k only, sdpa with
// the soft-cap before the mask, output projection; GeGLU; tied logits then
// the final soft-cap. Other ops are kept.

edg.weight @q : tensor<8x8xf32>
edg.weight @k : tensor<4x8xf32>
edg.weight @v : tensor<4x8xf32>
edg.weight @o : tensor<8x8xf32>
// CHECK-LABEL: func.func @self_attention
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?x?x8xf32>{{.*}}, %[[POS:[a-z0-9]+]]: tensor<?x?xi32>{{.*}}, %[[VALID:[a-z0-9]+]]: tensor<?x?xi1>
func.func @self_attention(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %wq = edg.use_weight @q : tensor<8x8xf32>
  %wk = edg.use_weight @k : tensor<4x8xf32>
  %wv = edg.use_weight @v : tensor<4x8xf32>
  %wo = edg.use_weight @o : tensor<8x8xf32>
  // CHECK: %[[Q:.*]] = edg.linear %[[X]], %{{.*}} : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  // CHECK: %[[K:.*]] = edg.linear %[[X]], %{{.*}} : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  // CHECK: %[[V:.*]] = edg.linear %[[X]], %{{.*}} : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  // CHECK: %[[QR:.*]] = edg.rope %[[Q]], %[[POS]] {head_dim = 4 : i64, theta = 1.000000e+04 : f64}
  // CHECK: %[[KR:.*]] = edg.rope %[[K]], %[[POS]] {head_dim = 4 : i64, theta = 1.000000e+04 : f64}
  // CHECK-NOT: edg.rope %[[V]]
  // CHECK: %[[O:.*]] = edg.sdpa %[[QR]], %[[KR]], %[[V]] positions %[[POS]] key_valid %[[VALID]]
  // CHECK-SAME: mask = #edg.mask<sliding_causal, 4>, num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 5.000000e-01 : f64, softcap = 5.000000e+01 : f64
  // CHECK: %[[Y:.*]] = edg.linear %[[O]], %{{.*}} : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  // CHECK-NOT: edg.self_attention
  // CHECK: return %[[Y]]
  %y = edg.self_attention %x, %pos key_valid %valid weights(%wq, %wk, %wv, %wo) {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4>} : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32> loc("model.layers.0.self_attn")
  return %y : tensor<?x?x8xf32>
}

// -----

edg.weight @q : tensor<8x8xf32>
edg.weight @k : tensor<4x6xf32>
edg.weight @v : tensor<4x6xf32>
edg.weight @o : tensor<8x8xf32>
// Cross-attention: K/V from the encoder, no RoPE, bidirectional with the
// encoder padding as key_valid.
// CHECK-LABEL: func.func @cross_attention
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?x?x8xf32>{{.*}}, %[[ENC:[a-z0-9]+]]: tensor<?x?x6xf32>{{.*}}, %[[EV:[a-z0-9]+]]: tensor<?x?xi1>
func.func @cross_attention(%x: tensor<?x?x8xf32>, %enc: tensor<?x?x6xf32>, %ev: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %wq = edg.use_weight @q : tensor<8x8xf32>
  %wk = edg.use_weight @k : tensor<4x6xf32>
  %wv = edg.use_weight @v : tensor<4x6xf32>
  %wo = edg.use_weight @o : tensor<8x8xf32>
  // CHECK: %[[Q:.*]] = edg.linear %[[X]]
  // CHECK: %[[K:.*]] = edg.linear %[[ENC]], %{{.*}} : (tensor<?x?x6xf32>, tensor<4x6xf32>) -> tensor<?x?x4xf32>
  // CHECK: %[[V:.*]] = edg.linear %[[ENC]]
  // CHECK-NOT: edg.rope
  // CHECK: edg.sdpa %[[Q]], %[[K]], %[[V]] key_valid %[[EV]] {{{.*}}mask = #edg.mask<bidirectional>
  %y = edg.cross_attention %x, %enc encoder_valid %ev weights(%wq, %wk, %wv, %wo) {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : (tensor<?x?x8xf32>, tensor<?x?x6xf32>, tensor<8x8xf32>, tensor<4x6xf32>, tensor<4x6xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

edg.weight @gate : tensor<16x8xbf16>
edg.weight @up : tensor<16x8xbf16>
edg.weight @down : tensor<8x16xbf16>
// The activation goes on the gate (MODEL_SPEC §4.9); names follow HF.
// CHECK-LABEL: func.func @mlp
func.func @mlp(%x: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  %g = edg.use_weight @gate : tensor<16x8xbf16>
  %u = edg.use_weight @up : tensor<16x8xbf16>
  %d = edg.use_weight @down : tensor<8x16xbf16>
  // CHECK: %[[G:.*]] = edg.linear %{{.*}}, %{{.*}} : (tensor<?x?x8xbf16>, tensor<16x8xbf16>) -> tensor<?x?x16xbf16> loc(#[[GATE:loc[0-9]+]])
  // CHECK: %[[U:.*]] = edg.linear
  // CHECK: %[[A:.*]] = edg.gelu_tanh %[[G]] : tensor<?x?x16xbf16> loc(#[[ACT:loc[0-9]+]])
  // CHECK: %[[M:.*]] = edg.mul %[[A]], %[[U]]
  // CHECK: edg.linear %[[M]], %{{.*}} : (tensor<?x?x16xbf16>, tensor<8x16xbf16>) -> tensor<?x?x8xbf16>
  %y = edg.mlp %x weights(%g, %u, %d) : (tensor<?x?x8xbf16>, tensor<16x8xbf16>, tensor<16x8xbf16>, tensor<8x16xbf16>) -> tensor<?x?x8xbf16> loc("model.layers.0.mlp")
  return %y : tensor<?x?x8xbf16>
}
// CHECK-DAG: #[[GATE]] = loc("model.layers.0.mlp.gate_proj"
// CHECK-DAG: #[[ACT]] = loc("model.layers.0.mlp.act_fn"

// -----

edg.weight @table : tensor<32x8xf32>
// CHECK-LABEL: func.func @lm_head
func.func @lm_head(%x: tensor<?x?x8xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %t = edg.use_weight @table : tensor<32x8xf32>
  // CHECK: %[[L:.*]] = edg.linear %{{.*}}, %{{.*}} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  // CHECK: %[[C:.*]] = edg.softcap %[[L]] {cap = 3.000000e+01 : f64}
  // CHECK: %[[P:.*]] = edg.linear
  // CHECK-NOT: edg.softcap
  // CHECK: return %[[C]], %[[P]]
  %y = edg.lm_head %x, %t {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  %z = edg.lm_head %x, %t : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %y, %z : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// -----

edg.weight @n : tensor<8xf32>
// Norms, residual adds and embeddings are tensor-level already.
// CHECK-LABEL: func.func @kept
func.func @kept(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %w = edg.use_weight @n : tensor<8xf32>
  // CHECK: edg.rms_norm
  // CHECK: edg.add
  %n = edg.rms_norm %x, %w {eps = 1.0e-06 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %s = edg.add %x, %n : tensor<?x?x8xf32>
  return %s : tensor<?x?x8xf32>
}
