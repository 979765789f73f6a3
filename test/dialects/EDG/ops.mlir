// RUN: edg-opt %s | edg-opt | FileCheck %s
// RUN: edg-opt %s --mlir-print-op-generic | edg-opt | FileCheck %s

// One decoder layer of a tiny Gemma 2 (d=8, H=2, K=1, hd=4, I=16, V=32).

// CHECK: edg.weight @model.embed_tokens.weight : tensor<32x8xf32>
edg.weight @"model.embed_tokens.weight" : tensor<32x8xf32>
// CHECK: edg.weight @model.layers.0.input_layernorm.weight : tensor<8xf32> init <zeros>
edg.weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32> init #edg.init<zeros>
// CHECK: edg.weight @model.layers.0.self_attn.q_proj.weight : tensor<8x8xf32> init_from @other.q frozen_steps 1000
edg.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32> init_from @"other.q" frozen_steps 1000
// CHECK: edg.weight @model.layers.0.self_attn.k_proj.weight : tensor<4x8xf32> init <normal, 2.000000e-02>
edg.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32> init #edg.init<normal, 0.02>
// CHECK: edg.weight @model.layers.0.self_attn.v_proj.weight : tensor<4x8xf32> frozen
edg.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32> frozen
edg.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
edg.weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
edg.weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
edg.weight @"enc.k" : tensor<4x12xf32>
edg.weight @"enc.v" : tensor<4x12xf32>

// CHECK-LABEL: func.func @forward
func.func @forward(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                   %enc: tensor<?x?x12xf32>, %labels: tensor<?x?xi32>) -> (tensor<?x?x32xf32>, tensor<f32>) {
  // CHECK: %[[E:.+]] = edg.use_weight @model.embed_tokens.weight : tensor<32x8xf32>
  %e = edg.use_weight @"model.embed_tokens.weight" : tensor<32x8xf32>
  // CHECK: %[[X:.+]] = edg.embed %{{[^ ,)]+}}, %[[E]] {scale = 2.828125 : f64}
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %nw = edg.use_weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
  // CHECK: edg.rms_norm %[[X]], %{{[^ ,)]+}} {eps = 9.9999999999999995E-7 : f64}
  %n = edg.rms_norm %x, %nw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  // CHECK: edg.self_attention %{{[^ ,)]+}}, %{{[^ ,)]+}} key_valid %{{[^ ,)]+}} weights(%{{[^ ,)]+}}, %{{[^ ,)]+}}, %{{[^ ,)]+}}, %{{[^ ,)]+}})
  // CHECK-SAME: mask = #edg.mask<sliding_causal, 4096>
  // CHECK-SAME: softcap = 5.000000e+01
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4096>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  // CHECK: edg.self_attention
  // CHECK-SAME: mask = #edg.mask<bidirectional>
  %b = edg.self_attention %a, %pos weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       rope_theta = 10000.0 : f64, mask = #edg.mask<bidirectional>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %ek = edg.use_weight @"enc.k" : tensor<4x12xf32>
  %ev = edg.use_weight @"enc.v" : tensor<4x12xf32>
  // CHECK: edg.cross_attention %{{[^ ,)]+}}, %{{[^ ,)]+}} weights(
  %c = edg.cross_attention %b, %enc weights(%q, %ek, %ev, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = 50.0 : f64}
      : (tensor<?x?x8xf32>, tensor<?x?x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  // CHECK: %[[R:.+]] = edg.add %{{[^ ,)]+}}, %{{[^ ,)]+}} : tensor<?x?x8xf32>
  %r = edg.add %x, %c : tensor<?x?x8xf32>
  %g = edg.use_weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
  %u = edg.use_weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
  %d = edg.use_weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
  // CHECK: edg.mlp %[[R]] weights(
  %m = edg.mlp %r weights(%g, %u, %d) : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
  // CHECK: edg.lm_head %{{[^ ,)]+}}, %[[E]] {final_softcap = 3.000000e+01 : f64}
  %l = edg.lm_head %m, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  // CHECK: edg.cross_entropy
  %loss = edg.cross_entropy %l, %labels : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<f32>
  return %l, %loss : tensor<?x?x32xf32>, tensor<f32>
}
