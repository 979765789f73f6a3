// RUN: edg-opt %s --edg-fuse --edg-lower-to-kernels | FileCheck %s
// RUN: edg-opt %s --edg-fuse --edg-lower-to-kernels | FileCheck %s --check-prefix=ONE
//
// The tensor-level backward ops of edg-decompose-grads at kernel level:
// sdpa_grad runs the backward of the forward's attention kernel (edg-fuse
// moves RoPE into the forward; the gradient's pre-RoPE q, k and rope_theta
// give the same specialisation, so one kernel serves both), linear gradients
// are GEMMs in the nn / tn forms, the two derivatives are elementwise and
// fuse, and the row / column / loss ops get a kernel of their own kind.

// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<?x?x8xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x4xf32>, %[[V:[a-z0-9]+]]: tensor<?x?x4xf32>, %[[POS:[a-z0-9]+]]: tensor<?x?xi32>, %[[VALID:[a-z0-9]+]]: tensor<?x?xi1>, %[[DO:[a-z0-9]+]]: tensor<?x?x8xf32>
func.func @attention(%q: tensor<?x?x8xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>, %do: tensor<?x?x8xf32>)
    -> (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) {
  %qr = edg.rope %q, %pos {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  %kr = edg.rope %k, %pos {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  // CHECK: %[[O:.*]] = edg.launch @[[ATTN:attention_sliding_causal_w4_hd4_h2kv1_cap50_rope_[0-9]+]](%[[Q]], %[[K]], %[[V]], %[[POS]], %[[VALID]])
  %o = edg.sdpa %qr, %kr, %v positions %pos key_valid %valid {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = 50.0 : f64, mask = #edg.mask<sliding_causal, 4>} : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?xi32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  // CHECK: %[[B:.*]]:5 = edg.attention_backward @[[ATTN]](%[[Q]], %[[K]], %[[V]], %[[POS]], %[[VALID]], %[[O]], %[[DO]])
  // CHECK-SAME: -> (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x2x?xf32>, tensor<?x2x?xf32>)
  %dq, %dk, %dv = edg.sdpa_grad %q, %k, %v positions %pos key_valid %valid out %o grad %do {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = 50.0 : f64, mask = #edg.mask<sliding_causal, 4>, rope_theta = 10000.0 : f64} : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?xi32>, tensor<?x?xi1>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>)
  // CHECK: return %[[B]]#0, %[[B]]#1, %[[B]]#2
  return %dq, %dk, %dv : tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
}

edg.weight @w : tensor<16x8xbf16>
// CHECK-LABEL: func.func @gemms_and_kernels
func.func @gemms_and_kernels(%x: tensor<?x?x8xbf16>, %dy: tensor<?x?x16xbf16>, %g: tensor<?x?x16xbf16>, %u: tensor<?x?x16xbf16>,
                             %nw: tensor<8xbf16>, %dn: tensor<?x?x8xbf16>, %ids: tensor<?x?xi32>,
                             %l: tensor<?x?x32xf32>, %dl: tensor<?x?x32xf32>)
    -> (tensor<?x?x8xbf16>, tensor<16x8xbf16>, tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<8xbf16>, tensor<32x8xbf16>,
        tensor<f32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %w = edg.use_weight @w : tensor<16x8xbf16>
  // CHECK: edg.gemm %arg1, %[[W:[^ ]+]] {form = #edg<gemm_form nn>} : (tensor<?x?x16xbf16>, tensor<16x8xbf16>) -> tensor<?x?x8xbf16>
  %dx = edg.linear_grad_input %dy, %w : (tensor<?x?x16xbf16>, tensor<16x8xbf16>) -> tensor<?x?x8xbf16>
  // CHECK: edg.gemm %arg1, %arg0 {form = #edg<gemm_form tn>} : (tensor<?x?x16xbf16>, tensor<?x?x8xbf16>) -> tensor<16x8xbf16>
  %dw = edg.linear_grad_weight %dy, %x : (tensor<?x?x16xbf16>, tensor<?x?x8xbf16>) -> tensor<16x8xbf16>
  // The product rule and the activation's derivative fuse into one kernel.
  // CHECK: edg.launch @[[EW:mul_gelu_tanh_grad_[0-9]+]](%arg1, %arg3, %arg2)
  %da = edg.mul %dy, %u : tensor<?x?x16xbf16>
  %dg = edg.gelu_tanh_grad %g, %da : tensor<?x?x16xbf16>
  // CHECK: %[[N:.*]]:2 = edg.launch @[[NG:rms_norm_grad_rows_[0-9]+]](%arg0, %arg4, %arg5) : (tensor<?x?x8xbf16>, tensor<8xbf16>, tensor<?x?x8xbf16>) -> (tensor<?x?x8xbf16>, tensor<?x?x8xf32>)
  %dn2, %p = edg.rms_norm_grad_rows %x, %nw grad %dn {eps = 1.0e-6 : f64} : (tensor<?x?x8xbf16>, tensor<8xbf16>, tensor<?x?x8xbf16>) -> (tensor<?x?x8xbf16>, tensor<?x?x8xf32>)
  // CHECK: edg.launch @[[CS:column_sum_[0-9]+]](%[[N]]#1) : (tensor<?x?x8xf32>) -> tensor<8xbf16>
  %dnw = edg.column_sum %p : (tensor<?x?x8xf32>) -> tensor<8xbf16>
  // CHECK: edg.launch @[[EG:embed_grad_[0-9]+]](%arg6, %arg0) : (tensor<?x?xi32>, tensor<?x?x8xbf16>) -> tensor<32x8xbf16>
  %dt = edg.embed_grad %ids, %x {scale = 2.0 : f64} : (tensor<?x?xi32>, tensor<?x?x8xbf16>) -> tensor<32x8xbf16>
  // CHECK: %[[R:.*]] = edg.launch @[[CER:cross_entropy_rows_[0-9]+]](%arg7, %arg6)
  %rows = edg.cross_entropy_rows %l, %ids : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<?x?xf32>
  // CHECK: edg.launch @[[LM:label_mean_[0-9]+]](%[[R]], %arg6) : (tensor<?x?xf32>, tensor<?x?xi32>) -> tensor<f32>
  %loss = edg.label_mean %rows, %ids : (tensor<?x?xf32>, tensor<?x?xi32>) -> tensor<f32>
  // CHECK: edg.launch @[[CEG:cross_entropy_grad_[0-9]+]](%arg7, %arg6)
  %dlog = edg.cross_entropy_grad %l, %ids : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
  // CHECK: edg.launch @[[SCG:softcap_grad_[0-9]+]](%arg7, %arg8)
  %dcap = edg.softcap_grad %l, %dl {cap = 30.0 : f64} : tensor<?x?x32xf32>
  // CHECK-NOT: edg.linear_grad
  // CHECK-NOT: edg.sdpa_grad
  return %dx, %dw, %dg, %dn2, %dnw, %dt, %loss, %dlog, %dcap : tensor<?x?x8xbf16>, tensor<16x8xbf16>, tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<8xbf16>, tensor<32x8xbf16>, tensor<f32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// The kernels, at the end of the module. The forward and the backward share
// the one attention kernel (uses = 2).
// CHECK-DAG: edg.attention_kernel @[[ATTN]] {{{.*}}rope_theta = 1.000000e+04 : f64{{.*}}uses = 2 : i64}
// CHECK-DAG: edg.kernel @[[EW]] {kind = "elementwise", {{.*}}signature = "ew:t0=mul(i0,i1);t1=gelu_tanh_grad(i2,t0)->t1"
// CHECK-DAG: edg.kernel @[[SCG]] {kind = "elementwise", {{.*}}signature = "ew:t0=softcap_grad[30](i0,i1)->t0"
// CHECK-DAG: edg.kernel @[[NG]] {kind = "rms_norm_grad", {{.*}}row_width = 8 : i64, signature = "rms_norm_grad8:t0,t1=rms_norm_grad_rows[1e-06](i0,i1,i2)->t0,t1"
// CHECK-DAG: edg.kernel @[[CS]] {kind = "column_sum", {{.*}}row_width = 8 : i64, signature = "column_sum8:t0=column_sum(i0)->t0"
// CHECK-DAG: edg.kernel @[[EG]] {kind = "embed_grad", {{.*}}row_width = 8 : i64, signature = "embed_grad8:t0=embed_grad[2](i0,i1)->t0"
// CHECK-DAG: edg.kernel @[[CER]] {kind = "cross_entropy_rows", {{.*}}row_width = 32 : i64, signature = "cross_entropy_rows32:t0=cross_entropy_rows[-100](i0,i1)->t0"
// CHECK-DAG: edg.kernel @[[LM]] {kind = "label_mean", {{.*}}signature = "label_mean:t0=label_mean[-100](i0,i1)->t0"
// CHECK-DAG: edg.kernel @[[CEG]] {kind = "cross_entropy_grad", {{.*}}row_width = 32 : i64, signature = "cross_entropy_grad32:t0=cross_entropy_grad[-100](i0,i1)->t0"
// ONE-COUNT-1: edg.attention_kernel @
// ONE-NOT: edg.attention_kernel @
