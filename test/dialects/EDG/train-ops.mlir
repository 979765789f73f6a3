// RUN: edg-opt %s | edg-opt | FileCheck %s
// RUN: edg-opt %s --mlir-print-op-generic | edg-opt | FileCheck %s

// Every training op of EDGTrainOps.td round-trips (d=8, H=2, K=1, hd=4,
// I=16, V=32, encoder width 12).

edg.weight @table : tensor<32x8xf32>
edg.weight @norm : tensor<8xf32>
edg.weight @q : tensor<8x8xf32>
edg.weight @k : tensor<4x8xf32>
edg.weight @v : tensor<4x8xf32>
edg.weight @o : tensor<8x8xf32>
edg.weight @ek : tensor<4x12xf32>
edg.weight @ev : tensor<4x12xf32>
edg.weight @gate : tensor<16x8xf32>
edg.weight @up : tensor<16x8xf32>
edg.weight @down : tensor<8x16xf32>

// CHECK-LABEL: func.func @grads
func.func @grads(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                 %x: tensor<?x?x8xf32>, %enc: tensor<?x?x12xf32>, %dy: tensor<?x?x8xf32>,
                 %logits: tensor<?x?x32xf32>, %teacher: tensor<?x?x32xf32>,
                 %index: tensor<?x?xi32>, %labels: tensor<?x?xi32>) {
  %t = edg.use_weight @table : tensor<32x8xf32>
  %n = edg.use_weight @norm : tensor<8xf32>
  %q = edg.use_weight @q : tensor<8x8xf32>
  %k = edg.use_weight @k : tensor<4x8xf32>
  %v = edg.use_weight @v : tensor<4x8xf32>
  %o = edg.use_weight @o : tensor<8x8xf32>
  %ek = edg.use_weight @ek : tensor<4x12xf32>
  %ev = edg.use_weight @ev : tensor<4x12xf32>
  %g = edg.use_weight @gate : tensor<16x8xf32>
  %u = edg.use_weight @up : tensor<16x8xf32>
  %d = edg.use_weight @down : tensor<8x16xf32>
  // CHECK: edg.embed_grad %{{.+}}, %{{.+}} {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<?x?x8xf32>) -> tensor<32x8xf32>
  %0 = edg.embed_grad %ids, %dy {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<?x?x8xf32>) -> tensor<32x8xf32>
  // CHECK: edg.rms_norm_grad %{{.+}}, %{{.+}} grad %{{.+}} {eps = 9.9999999999999995E-7 : f64}
  %1:2 = edg.rms_norm_grad %x, %n grad %dy {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<8xf32>)
  // CHECK: edg.self_attention_grad %{{.+}}, %{{.+}} key_valid %{{.+}} weights(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) grad %{{.+}} {
  // CHECK-SAME: mask = #edg.mask<sliding_bidirectional, 4>
  %2:5 = edg.self_attention_grad %x, %pos key_valid %valid weights(%q, %k, %v, %o) grad %dy
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_bidirectional, 4>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>, tensor<?x?xi1>)
      -> (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>)
  // CHECK: edg.cross_attention_grad %{{.+}}, %{{.+}} encoder_valid %{{.+}} weights(
  %3:6 = edg.cross_attention_grad %x, %enc encoder_valid %valid weights(%q, %ek, %ev, %o) grad %dy
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64}
      : (tensor<?x?x8xf32>, tensor<?x?x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>, tensor<?x?xi1>)
      -> (tensor<?x?x8xf32>, tensor<?x?x12xf32>, tensor<8x8xf32>, tensor<4x12xf32>, tensor<4x12xf32>, tensor<8x8xf32>)
  // CHECK: edg.mlp_grad %{{.+}} weights(%{{.+}}, %{{.+}}, %{{.+}}) grad %{{.+}} :
  %4:4 = edg.mlp_grad %x weights(%g, %u, %d) grad %dy
      : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<?x?x8xf32>)
      -> (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>)
  // CHECK: edg.lm_head_grad %{{.+}}, %{{.+}} grad %{{.+}} {final_softcap = 3.000000e+01 : f64}
  %5:2 = edg.lm_head_grad %x, %t grad %logits {final_softcap = 30.0 : f64}
      : (tensor<?x?x8xf32>, tensor<32x8xf32>, tensor<?x?x32xf32>) -> (tensor<?x?x8xf32>, tensor<32x8xf32>)
  // CHECK: edg.cross_entropy_grad %{{.+}}, %{{.+}} {ignore_index = 0 : i64}
  %6 = edg.cross_entropy_grad %logits, %labels {ignore_index = 0 : i64} : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
  // CHECK: edg.distill_kl %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {temperature = 2.000000e+00 : f64, weight = 5.000000e-01 : f64}
  %7 = edg.distill_kl %logits, %teacher, %index, %labels {temperature = 2.0 : f64, weight = 0.5 : f64}
      : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<f32>
  // CHECK: edg.distill_kl_grad %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} :
  %8 = edg.distill_kl_grad %logits, %teacher, %index, %labels
      : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
  // CHECK: edg.clip_grad_norm %{{.+}}, %{{.+}} {max_norm = 1.000000e+00 : f64} : (tensor<32x8xf32>, tensor<8xf32>) -> (tensor<f32>, tensor<32x8xf32>, tensor<8xf32>)
  %norm, %c:2 = edg.clip_grad_norm %0, %1#1 {max_norm = 1.0 : f64} : (tensor<32x8xf32>, tensor<8xf32>) -> (tensor<f32>, tensor<32x8xf32>, tensor<8xf32>)
  // CHECK: edg.adamw_update @table, %{{.+}} {frozen_steps = 10 : i64, lr = 1.000000e-03 : f64, total_steps = 100 : i64, warmup_steps = 10 : i64} : tensor<32x8xf32>
  edg.adamw_update @table, %c#0 {lr = 1.0e-3 : f64, warmup_steps = 10 : i64, total_steps = 100 : i64, frozen_steps = 10 : i64} : tensor<32x8xf32>
  // CHECK: edg.adamw_update @norm, %{{.+}} {lr = 1.000000e-03 : f64} : tensor<8xf32>
  edg.adamw_update @norm, %c#1 {lr = 1.0e-3 : f64} : tensor<8xf32>
  return
}
