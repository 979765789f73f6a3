// RUN: edg-opt %s --edg-decompose-grads --split-input-file --mlir-print-debuginfo | FileCheck %s
// RUN: edg-opt %s --edg-decompose-grads --edg-decompose --cse --split-input-file | FileCheck %s --check-prefix=CSE
//
// Coarse gradient ops become tensor-level ops (EDGTensorGradOps.td). The
// forward pieces a gradient needs are rebuilt exactly as edg-decompose builds
// the forward op, so after edg-decompose CSE leaves one copy (CSE lines).

edg.weight @q : tensor<8x8xf32>
edg.weight @k : tensor<4x8xf32>
edg.weight @v : tensor<4x8xf32>
edg.weight @o : tensor<8x8xf32>
// CHECK-LABEL: func.func @self_attention_grad
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?x?x8xf32>{{.*}}, %[[POS:[a-z0-9]+]]: tensor<?x?xi32>{{.*}}, %[[VALID:[a-z0-9]+]]: tensor<?x?xi1>{{.*}}, %[[DY:[a-z0-9]+]]: tensor<?x?x8xf32>
func.func @self_attention_grad(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>, %dy: tensor<?x?x8xf32>)
    -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) {
  // CHECK-DAG: %[[WQ:.*]] = edg.use_weight @q
  // CHECK-DAG: %[[WK:.*]] = edg.use_weight @k
  // CHECK-DAG: %[[WV:.*]] = edg.use_weight @v
  // CHECK-DAG: %[[WO:.*]] = edg.use_weight @o
  %wq = edg.use_weight @q : tensor<8x8xf32>
  %wk = edg.use_weight @k : tensor<4x8xf32>
  %wv = edg.use_weight @v : tensor<4x8xf32>
  %wo = edg.use_weight @o : tensor<8x8xf32>
  // CHECK: edg.self_attention %[[X]]
  %y = edg.self_attention %x, %pos key_valid %valid weights(%wq, %wk, %wv, %wo) {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4>} : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32> loc("model.layers.0.self_attn")
  // The forward, as edg-decompose builds it (q, k before RoPE kept).
  // CHECK: %[[Q:.*]] = edg.linear %[[X]], %[[WQ]] : {{.*}} loc(#[[LQ:loc[0-9]+]])
  // CHECK: %[[K:.*]] = edg.linear %[[X]], %[[WK]] : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  // CHECK: %[[V:.*]] = edg.linear %[[X]], %[[WV]]
  // CHECK: %[[QR:.*]] = edg.rope %[[Q]], %[[POS]] {head_dim = 4 : i64, theta = 1.000000e+04 : f64}
  // CHECK: %[[KR:.*]] = edg.rope %[[K]], %[[POS]]
  // CHECK: %[[O:.*]] = edg.sdpa %[[QR]], %[[KR]], %[[V]] positions %[[POS]] key_valid %[[VALID]]
  // CHECK-SAME: mask = #edg.mask<sliding_causal, 4>, num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 5.000000e-01 : f64, softcap = 5.000000e+01 : f64}
  // Back through o_proj, the attention core (pre-RoPE q, k; rope_theta) and
  // the three projections.
  // CHECK: %[[DO:.*]] = edg.linear_grad_input %[[DY]], %[[WO]] : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32> loc(#[[LDO:loc[0-9]+]])
  // CHECK: %[[DWO:.*]] = edg.linear_grad_weight %[[DY]], %[[O]] : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<8x8xf32>
  // CHECK: %[[DQ:[^,]+]], %[[DK:[^,]+]], %[[DV:[^ ]+]] = edg.sdpa_grad %[[Q]], %[[K]], %[[V]] positions %[[POS]] key_valid %[[VALID]] out %[[O]] grad %[[DO]]
  // CHECK-SAME: mask = #edg.mask<sliding_causal, 4>, num_heads = 2 : i64, num_kv_heads = 1 : i64, rope_theta = 1.000000e+04 : f64, scale = 5.000000e-01 : f64, softcap = 5.000000e+01 : f64}
  // CHECK-SAME: -> (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>)
  // CHECK: %[[DWQ:.*]] = edg.linear_grad_weight %[[DQ]], %[[X]] : {{.*}} -> tensor<8x8xf32>
  // CHECK: %[[DWK:.*]] = edg.linear_grad_weight %[[DK]], %[[X]] : {{.*}} -> tensor<4x8xf32>
  // CHECK: %[[DWV:.*]] = edg.linear_grad_weight %[[DV]], %[[X]] : {{.*}} -> tensor<4x8xf32>
  // CHECK: %[[DXQ:.*]] = edg.linear_grad_input %[[DQ]], %[[WQ]]
  // CHECK: %[[DXK:.*]] = edg.linear_grad_input %[[DK]], %[[WK]] : (tensor<?x?x4xf32>, tensor<4x8xf32>) -> tensor<?x?x8xf32>
  // CHECK: %[[DXV:.*]] = edg.linear_grad_input %[[DV]], %[[WV]]
  // CHECK: %[[S:.*]] = edg.add %[[DXQ]], %[[DXK]]
  // CHECK: %[[DX:.*]] = edg.add %[[S]], %[[DXV]]
  // CHECK-NOT: edg.self_attention_grad
  // CHECK: return %{{.*}}, %[[DX]], %[[DWQ]], %[[DWK]], %[[DWV]], %[[DWO]]
  // CHECK-DAG: #[[LQ]] = loc("model.layers.0.self_attn.q_proj"
  // CHECK-DAG: #[[LDO]] = loc("model.layers.0.self_attn.o_proj.dinput"
  //
  // After edg-decompose and CSE the backward reads the forward's values:
  // one q/k/v projection each, two ropes, one sdpa, four linears in all.
  // CSE-LABEL: func.func @self_attention_grad
  // CSE-COUNT-3: edg.linear %arg0
  // CSE-COUNT-2: edg.rope
  // CSE: %[[O:.*]] = edg.sdpa
  // CSE: edg.linear %[[O]]
  // CSE-NOT: edg.linear %
  // CSE-NOT: edg.rope %
  // CSE-NOT: edg.sdpa %
  // CSE: edg.sdpa_grad {{.*}} out %[[O]]
  // CSE-NOT: edg.linear %
  // CSE: return
  %dx, %dq, %dk, %dv, %do = edg.self_attention_grad %x, %pos key_valid %valid weights(%wq, %wk, %wv, %wo) grad %dy {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4>} : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>, tensor<?x?xi1>) -> (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) loc("model.layers.0.self_attn")
  return %y, %dx, %dq, %dk, %dv, %do : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>
}

// -----

edg.weight @q : tensor<8x8xf32>
edg.weight @k : tensor<4x6xf32>
edg.weight @v : tensor<4x6xf32>
edg.weight @o : tensor<8x8xf32>
// Cross-attention: k/v from the encoder, no RoPE (no positions, no
// rope_theta), bidirectional with encoder_valid as key_valid; the encoder's
// gradient sums the k and v paths.
// CHECK-LABEL: func.func @cross_attention_grad
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?x?x8xf32>{{.*}}, %[[ENC:[a-z0-9]+]]: tensor<?x?x6xf32>{{.*}}, %[[EV:[a-z0-9]+]]: tensor<?x?xi1>{{.*}}, %[[DY:[a-z0-9]+]]: tensor<?x?x8xf32>
func.func @cross_attention_grad(%x: tensor<?x?x8xf32>, %enc: tensor<?x?x6xf32>, %ev: tensor<?x?xi1>, %dy: tensor<?x?x8xf32>)
    -> (tensor<?x?x8xf32>, tensor<?x?x6xf32>, tensor<8x8xf32>, tensor<4x6xf32>, tensor<4x6xf32>, tensor<8x8xf32>) {
  %wq = edg.use_weight @q : tensor<8x8xf32>
  %wk = edg.use_weight @k : tensor<4x6xf32>
  %wv = edg.use_weight @v : tensor<4x6xf32>
  %wo = edg.use_weight @o : tensor<8x8xf32>
  // CHECK: %[[Q:.*]] = edg.linear %[[X]]
  // CHECK: %[[K:.*]] = edg.linear %[[ENC]], %{{.*}} : (tensor<?x?x6xf32>, tensor<4x6xf32>) -> tensor<?x?x4xf32>
  // CHECK: %[[V:.*]] = edg.linear %[[ENC]]
  // CHECK-NOT: edg.rope
  // CHECK: %[[O:.*]] = edg.sdpa %[[Q]], %[[K]], %[[V]] key_valid %[[EV]] {{{.*}}mask = #edg.mask<bidirectional>
  // CHECK: %[[DO:.*]] = edg.linear_grad_input %[[DY]]
  // CHECK: %[[DQ:[^,]+]], %[[DK:[^,]+]], %[[DV:[^ ]+]] = edg.sdpa_grad %[[Q]], %[[K]], %[[V]] key_valid %[[EV]] out %[[O]] grad %[[DO]]
  // CHECK-NOT: rope_theta
  // CHECK-SAME: mask = #edg.mask<bidirectional>
  // CHECK: edg.linear_grad_weight %[[DK]], %[[ENC]] : (tensor<?x?x4xf32>, tensor<?x?x6xf32>) -> tensor<4x6xf32>
  // CHECK: edg.linear_grad_weight %[[DV]], %[[ENC]]
  // CHECK: %[[DX:.*]] = edg.linear_grad_input %[[DQ]]
  // CHECK: %[[DEK:.*]] = edg.linear_grad_input %[[DK]], %{{.*}} : (tensor<?x?x4xf32>, tensor<4x6xf32>) -> tensor<?x?x6xf32>
  // CHECK: %[[DEV:.*]] = edg.linear_grad_input %[[DV]]
  // CHECK: %[[DENC:.*]] = edg.add %[[DEK]], %[[DEV]] : tensor<?x?x6xf32>
  // CHECK: return %[[DX]], %[[DENC]]
  %dx, %denc, %dq, %dk, %dv, %do = edg.cross_attention_grad %x, %enc encoder_valid %ev weights(%wq, %wk, %wv, %wo) grad %dy {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : (tensor<?x?x8xf32>, tensor<?x?x6xf32>, tensor<8x8xf32>, tensor<4x6xf32>, tensor<4x6xf32>, tensor<8x8xf32>, tensor<?x?x8xf32>, tensor<?x?xi1>) -> (tensor<?x?x8xf32>, tensor<?x?x6xf32>, tensor<8x8xf32>, tensor<4x6xf32>, tensor<4x6xf32>, tensor<8x8xf32>)
  return %dx, %denc, %dq, %dk, %dv, %do : tensor<?x?x8xf32>, tensor<?x?x6xf32>, tensor<8x8xf32>, tensor<4x6xf32>, tensor<4x6xf32>, tensor<8x8xf32>
}

// -----

edg.weight @gate : tensor<16x8xbf16>
edg.weight @up : tensor<16x8xbf16>
edg.weight @down : tensor<8x16xbf16>
// GeGLU: recomputed g, u, a = gelu_tanh(g), m = a * u; then down_proj's
// GEMMs, the product rule and the activation's derivative.
// CHECK-LABEL: func.func @mlp_grad
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?x?x8xbf16>{{.*}}, %[[DY:[a-z0-9]+]]: tensor<?x?x8xbf16>
func.func @mlp_grad(%x: tensor<?x?x8xbf16>, %dy: tensor<?x?x8xbf16>)
    -> (tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<16x8xbf16>, tensor<16x8xbf16>, tensor<8x16xbf16>) {
  %wg = edg.use_weight @gate : tensor<16x8xbf16>
  %wu = edg.use_weight @up : tensor<16x8xbf16>
  %wd = edg.use_weight @down : tensor<8x16xbf16>
  %y = edg.mlp %x weights(%wg, %wu, %wd) : (tensor<?x?x8xbf16>, tensor<16x8xbf16>, tensor<16x8xbf16>, tensor<8x16xbf16>) -> tensor<?x?x8xbf16>
  // CHECK: %[[G:.*]] = edg.linear %[[X]], %[[WG:[^ ]+]] :
  // CHECK: %[[U:.*]] = edg.linear %[[X]], %[[WU:[^ ]+]] :
  // CHECK: %[[A:.*]] = edg.gelu_tanh %[[G]]
  // CHECK: %[[M:.*]] = edg.mul %[[A]], %[[U]]
  // CHECK: %[[DM:.*]] = edg.linear_grad_input %[[DY]], %[[WD:[^ ]+]] : (tensor<?x?x8xbf16>, tensor<8x16xbf16>) -> tensor<?x?x16xbf16>
  // CHECK: %[[DWD:.*]] = edg.linear_grad_weight %[[DY]], %[[M]] : {{.*}} -> tensor<8x16xbf16>
  // CHECK: %[[DA:.*]] = edg.mul %[[DM]], %[[U]]
  // CHECK: %[[DU:.*]] = edg.mul %[[DM]], %[[A]]
  // CHECK: %[[DG:.*]] = edg.gelu_tanh_grad %[[G]], %[[DA]] : tensor<?x?x16xbf16>
  // CHECK: %[[DWG:.*]] = edg.linear_grad_weight %[[DG]], %[[X]]
  // CHECK: %[[DWU:.*]] = edg.linear_grad_weight %[[DU]], %[[X]]
  // CHECK: %[[DXG:.*]] = edg.linear_grad_input %[[DG]], %[[WG]]
  // CHECK: %[[DXU:.*]] = edg.linear_grad_input %[[DU]], %[[WU]]
  // CHECK: %[[DX:.*]] = edg.add %[[DXG]], %[[DXU]]
  // CHECK: return %{{.*}}, %[[DX]], %[[DWG]], %[[DWU]], %[[DWD]]
  // CSE-LABEL: func.func @mlp_grad
  // CSE-COUNT-1: edg.gelu_tanh %
  // CSE-NOT: edg.gelu_tanh %
  // CSE: edg.gelu_tanh_grad
  %dx, %dg, %du, %dd = edg.mlp_grad %x weights(%wg, %wu, %wd) grad %dy : (tensor<?x?x8xbf16>, tensor<16x8xbf16>, tensor<16x8xbf16>, tensor<8x16xbf16>, tensor<?x?x8xbf16>) -> (tensor<?x?x8xbf16>, tensor<16x8xbf16>, tensor<16x8xbf16>, tensor<8x16xbf16>)
  return %y, %dx, %dg, %du, %dd : tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<16x8xbf16>, tensor<16x8xbf16>, tensor<8x16xbf16>
}

// -----

edg.weight @e : tensor<32x8xf32>
// The tied head: the soft-cap's derivative reads the recomputed capped
// logits; without a cap the incoming gradient goes straight to the GEMMs.
// CHECK-LABEL: func.func @lm_head_grad
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?x?x8xf32>{{.*}}, %[[DY:[a-z0-9]+]]: tensor<?x?x32xf32>
func.func @lm_head_grad(%x: tensor<?x?x8xf32>, %dy: tensor<?x?x32xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x?x8xf32>, tensor<32x8xf32>, tensor<?x?x8xf32>, tensor<32x8xf32>) {
  %e = edg.use_weight @e : tensor<32x8xf32>
  %l = edg.lm_head %x, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  // CHECK: %[[Z:.*]] = edg.linear %[[X]], %[[E:[^ ]+]] : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  // CHECK: %[[C:.*]] = edg.softcap %[[Z]] {cap = 3.000000e+01 : f64}
  // CHECK: %[[DZ:.*]] = edg.softcap_grad %[[C]], %[[DY]] {cap = 3.000000e+01 : f64} : tensor<?x?x32xf32>
  // CHECK: %[[DX:.*]] = edg.linear_grad_input %[[DZ]], %[[E]] : (tensor<?x?x32xf32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  // CHECK: %[[DT:.*]] = edg.linear_grad_weight %[[DZ]], %[[X]] : (tensor<?x?x32xf32>, tensor<?x?x8xf32>) -> tensor<32x8xf32>
  %dx, %dt = edg.lm_head_grad %x, %e grad %dy {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>, tensor<?x?x32xf32>) -> (tensor<?x?x8xf32>, tensor<32x8xf32>)
  // CHECK-NOT: edg.linear %
  // CHECK-NOT: edg.softcap_grad
  // CHECK: %[[DX2:.*]] = edg.linear_grad_input %[[DY]], %[[E]]
  // CHECK: %[[DT2:.*]] = edg.linear_grad_weight %[[DY]], %[[X]]
  // CHECK: return %{{.*}}, %[[DX]], %[[DT]], %[[DX2]], %[[DT2]]
  // CSE-LABEL: func.func @lm_head_grad
  // CSE: edg.linear
  // CSE: edg.softcap %
  // CSE-NOT: edg.linear %
  // CSE-NOT: edg.softcap %
  // CSE: edg.softcap_grad
  %dx2, %dt2 = edg.lm_head_grad %x, %e grad %dy : (tensor<?x?x8xf32>, tensor<32x8xf32>, tensor<?x?x32xf32>) -> (tensor<?x?x8xf32>, tensor<32x8xf32>)
  return %l, %dx, %dt, %dx2, %dt2 : tensor<?x?x32xf32>, tensor<?x?x8xf32>, tensor<32x8xf32>, tensor<?x?x8xf32>, tensor<32x8xf32>
}

// -----

// rms_norm_grad: per-row dx and fp32 partials, then their column sum (bf16
// dweight); the losses: per-row cross-entropy or weighted KL, then the mean
// over counted labels. embed_grad, cross_entropy_grad and distill_kl_grad
// stay (one kernel each).
// CHECK-LABEL: func.func @rows_and_losses
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?x?x8xbf16>{{.*}}, %[[W:[a-z0-9]+]]: tensor<8xbf16>{{.*}}, %[[DY:[a-z0-9]+]]: tensor<?x?x8xbf16>{{.*}}, %[[L:[a-z0-9]+]]: tensor<?x?x32xf32>{{.*}}, %[[LAB:[a-z0-9]+]]: tensor<?x?xi32>
func.func @rows_and_losses(%x: tensor<?x?x8xbf16>, %w: tensor<8xbf16>, %dy: tensor<?x?x8xbf16>, %l: tensor<?x?x32xf32>, %labels: tensor<?x?xi32>)
    -> (tensor<?x?x8xbf16>, tensor<8xbf16>, tensor<f32>, tensor<?x?x32xf32>, tensor<32x8xbf16>, tensor<f32>, tensor<?x?x32xf32>) {
  // CHECK: %[[DX:[^,]+]], %[[P:[^ ]+]] = edg.rms_norm_grad_rows %[[X]], %[[W]] grad %[[DY]] {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x8xbf16>, tensor<8xbf16>, tensor<?x?x8xbf16>) -> (tensor<?x?x8xbf16>, tensor<?x?x8xf32>)
  // CHECK: %[[DW:.*]] = edg.column_sum %[[P]] : (tensor<?x?x8xf32>) -> tensor<8xbf16>
  %dx, %dw = edg.rms_norm_grad %x, %w grad %dy {eps = 1.0e-6 : f64} : (tensor<?x?x8xbf16>, tensor<8xbf16>, tensor<?x?x8xbf16>) -> (tensor<?x?x8xbf16>, tensor<8xbf16>)
  // CHECK: %[[ROWS:.*]] = edg.cross_entropy_rows %[[L]], %[[LAB]] {ignore_index = 7 : i64} : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<?x?xf32>
  // CHECK: %[[LOSS:.*]] = edg.label_mean %[[ROWS]], %[[LAB]] {ignore_index = 7 : i64} : (tensor<?x?xf32>, tensor<?x?xi32>) -> tensor<f32>
  // CHECK-NOT: edg.cross_entropy %
  %loss = edg.cross_entropy %l, %labels {ignore_index = 7 : i64} : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<f32>
  // CHECK: %[[DL:.*]] = edg.cross_entropy_grad %[[L]], %[[LAB]]
  %dl = edg.cross_entropy_grad %l, %labels : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
  // CHECK: %[[DT:.*]] = edg.embed_grad %[[LAB]], %[[DY]]
  %dt = edg.embed_grad %labels, %dy {scale = 2.0 : f64} : (tensor<?x?xi32>, tensor<?x?x8xbf16>) -> tensor<32x8xbf16>
  // CHECK: %[[KROWS:.*]] = edg.distill_kl_rows %[[L]], %[[L]], %[[LAB]], %[[LAB]] {ignore_index = 7 : i64, temperature = 2.000000e+00 : f64, weight = 5.000000e-01 : f64} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<?x?xf32>
  // CHECK: %[[KD:.*]] = edg.label_mean %[[KROWS]], %[[LAB]] {ignore_index = 7 : i64}
  // CHECK-NOT: edg.distill_kl %
  %kd = edg.distill_kl %l, %l, %labels, %labels {ignore_index = 7 : i64, temperature = 2.0 : f64, weight = 0.5 : f64} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<f32>
  // CHECK: %[[DKD:.*]] = edg.distill_kl_grad %[[L]], %[[L]], %[[LAB]], %[[LAB]]
  %dkd = edg.distill_kl_grad %l, %l, %labels, %labels : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
  // CHECK: return %[[DX]], %[[DW]], %[[LOSS]], %[[DL]], %[[DT]], %[[KD]], %[[DKD]]
  return %dx, %dw, %loss, %dl, %dt, %kd, %dkd : tensor<?x?x8xbf16>, tensor<8xbf16>, tensor<f32>, tensor<?x?x32xf32>, tensor<32x8xbf16>, tensor<f32>, tensor<?x?x32xf32>
}
