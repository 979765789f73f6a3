// RUN: edg-opt %s --edg-lower-to-kernels | FileCheck %s
//
// Fusions and lone elementwise / row / rope / embed ops become module-level
// edg.kernel symbols launched with edg.launch (identical kernels shared);
// linear becomes a library edg.gemm; sdpa an edg.attention_kernel.

// CHECK-LABEL: func.func @forward
func.func @forward(%ids: tensor<?x?xi32>, %table: tensor<32x8xf32>, %pos: tensor<?x?xi32>,
                   %w: tensor<8xf32>, %wq: tensor<8x8xf32>, %wk: tensor<4x8xf32>,
                   %labels: tensor<?x?xi32>) -> (tensor<?x?x32xf32>, tensor<f32>) {
  // CHECK: %[[E:.*]] = edg.launch @embed_0(%{{.*}}, %{{.*}}) : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %e = edg.embed %ids, %table {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  // CHECK: %[[N:.*]] = edg.launch @rms_norm_1(%[[E]], %{{.*}})
  %n = edg.rms_norm %e, %w {eps = 1.0e-06 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  // CHECK: %[[Q:.*]] = edg.gemm %[[N]], %{{.*}} : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %q = edg.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %k = edg.linear %n, %wk : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  // CHECK: %[[QR:.*]] = edg.launch @rope_2(%[[Q]], %{{.*}})
  %qr = edg.rope %q, %pos {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  // CHECK: %[[O:.*]] = edg.launch @attention_sliding_causal_w4_hd4_h2kv1_cap50_rope_3(%[[QR]], %{{.*}}, %{{.*}}, %{{.*}})
  %o = edg.sdpa %qr, %k, %k positions %pos {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4>} : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  // The same specialisation again: one kernel, two launches.
  // CHECK: %[[O2:.*]] = edg.launch @attention_sliding_causal_w4_hd4_h2kv1_cap50_rope_3(%[[O]],
  %o2 = edg.sdpa %o, %k, %k positions %pos {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4>} : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  // CHECK: %[[F:.*]]:2 = edg.launch @rms_norm_add_4(%[[O2]], %{{.*}}, %[[E]])
  %f:2 = edg.fusion (%o2, %w, %e) : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  ^bb0(%a: tensor<?x?x8xf32>, %g: tensor<8xf32>, %x: tensor<?x?x8xf32>):
    %nn = edg.rms_norm %a, %g {eps = 1.0e-06 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %s = edg.add %x, %nn : tensor<?x?x8xf32>
    edg.yield %s, %nn : tensor<?x?x8xf32>, tensor<?x?x8xf32>
  }
  // CHECK: edg.launch @rms_norm_add_4(%[[F]]#0,
  %f2:2 = edg.fusion (%f#0, %w, %f#1) : (tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  ^bb0(%a: tensor<?x?x8xf32>, %g: tensor<8xf32>, %x: tensor<?x?x8xf32>):
    %nn = edg.rms_norm %a, %g {eps = 1.0e-06 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %s = edg.add %x, %nn : tensor<?x?x8xf32>
    edg.yield %s, %nn : tensor<?x?x8xf32>, tensor<?x?x8xf32>
  }
  // CHECK: %[[L:.*]] = edg.gemm %{{.*}}, %{{.*}} {epilogue = @softcap_5}
  %l = edg.linear %f2#0, %table {softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  // Ops with no generated kernel stay for the runtime.
  // CHECK: edg.cross_entropy %[[L]]
  %loss = edg.cross_entropy %l, %labels : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<f32>
  return %l, %loss : tensor<?x?x32xf32>, tensor<f32>
}

// CHECK: edg.kernel @embed_0 {kind = "embed", origin = "{{.*}}", row_width = 8 : i64, signature = "embed:t0=embed[2.828125](i0,i1)->t0"}
// CHECK: edg.kernel @rms_norm_1 {kind = "row", origin = "{{.*}}", row_width = 8 : i64, signature = "row8:t0=rms_norm[1e-06](i0,i1)->t0"}
// CHECK: edg.kernel @rope_2 {kind = "rope", {{.*}}signature = "rope:t0=rope[4,10000](i0,i1)->t0"}
// CHECK: edg.attention_kernel @attention_sliding_causal_w4_hd4_h2kv1_cap50_rope_3
// CHECK-SAME: element_type = f32, has_positions, head_dim = 4 : i64, mask = #edg.mask<sliding_causal, 4>
// CHECK-SAME: rope_theta = 1.000000e+04 : f64, scale = 5.000000e-01 : f64, softcap = 5.000000e+01 : f64, uses = 2 : i64
// CHECK: edg.kernel @rms_norm_add_4 {kind = "row", {{.*}}signature = "row8:t0=rms_norm[1e-06](i0,i1);t1=add(i2,t0)->t1,t0", uses = 2 : i64}
// CHECK-NEXT: ^bb0
// CHECK-NEXT: edg.rms_norm
// CHECK-NEXT: edg.add
// CHECK: edg.kernel @softcap_5 {kind = "elementwise", {{.*}}signature = "ew:t0=softcap[30](i0)->t0"}
