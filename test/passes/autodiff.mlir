// RUN: edg-opt %s --edg-autodiff | FileCheck %s

// One Gemma 2 block as a loss (d=8, H=2, K=1, hd=4, I=16, V=32): embed ->
// norm -> self-attention -> residual add -> MLP -> tied LM head -> CE. The
// norm weight is frozen, so it gets no gradient result.

edg.weight @"model.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32> frozen
edg.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32> frozen_steps 5
edg.weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
edg.weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>

func.func @loss(%ids: tensor<?x?xi32> {edg.arg_name = "ids"}, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                %labels: tensor<?x?xi32>) -> tensor<f32> {
  %e = edg.use_weight @"model.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %nw = edg.use_weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %nw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  %a = edg.self_attention %n, %pos key_valid %valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64,
       softcap = 50.0 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<sliding_causal, 4>}
      : (tensor<?x?x8xf32>, tensor<?x?xi32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %r = edg.add %x, %a : tensor<?x?x8xf32>
  %g = edg.use_weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
  %u = edg.use_weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
  %d = edg.use_weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
  %m = edg.mlp %r weights(%g, %u, %d) : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
  %e2 = edg.use_weight @"model.embed_tokens.weight" : tensor<32x8xf32>
  %l = edg.lm_head %m, %e2 {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  %loss = edg.cross_entropy %l, %labels : (tensor<?x?x32xf32>, tensor<?x?xi32>) -> tensor<f32>
  return %loss : tensor<f32>
}

// The loss function stays; @grad_step returns the loss, then one gradient
// per trainable weight in module order (frozen_steps weights included).
// CHECK-LABEL: func.func @loss(
// CHECK-LABEL: func.func @grad_step(
// CHECK-SAME: {edg.arg_name = "ids"}
// CHECK-SAME: -> (tensor<f32>, tensor<32x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>)
// CHECK-SAME: attributes {edg.grad_weights = [@model.embed_tokens.weight, @model.layers.0.self_attn.q_proj.weight, @model.layers.0.self_attn.k_proj.weight, @model.layers.0.self_attn.v_proj.weight, @model.layers.0.self_attn.o_proj.weight, @model.layers.0.mlp.gate_proj.weight, @model.layers.0.mlp.up_proj.weight, @model.layers.0.mlp.down_proj.weight]}

// Forward first (cloned), ending in the loss.
// CHECK: %[[X:.+]] = edg.embed
// CHECK: %[[N:.+]] = edg.rms_norm %[[X]], %[[NW:[^ ]+]]
// CHECK: %[[R:.+]] = edg.add %[[X]], %{{.+}} : tensor<?x?x8xf32>
// CHECK: %[[M:.+]] = edg.mlp %[[R]]
// CHECK: %[[LOGITS:.+]] = edg.lm_head %[[M]], %[[E2:[^ ]+]] {final_softcap
// CHECK: %[[LOSS:.+]] = edg.cross_entropy %[[LOGITS]]

// Then one coarse gradient op per forward op, in reverse.
// CHECK: %[[DLOGITS:.+]] = edg.cross_entropy_grad %[[LOGITS]], %{{[^ ]+}} :
// CHECK: %[[DM:[^,]+]], %[[DTABLE_HEAD:.+]] = edg.lm_head_grad %[[M]], %[[E2]] grad %[[DLOGITS]] {final_softcap = 3.000000e+01 : f64}
// CHECK: %[[DR:[^,]+]], %[[DG:[^,]+]], %[[DU:[^,]+]], %[[DD:.+]] = edg.mlp_grad %[[R]] weights({{.+}}) grad %[[DM]]
// The residual stream's gradient reaches the attention through the add ...
// CHECK: %[[DN:[^,]+]], %[[DQ:[^,]+]], %[[DK:[^,]+]], %[[DV:[^,]+]], %[[DO:.+]] = edg.self_attention_grad %[[N]], %arg1 key_valid %arg2 weights({{.+}}) grad %[[DR]]
// CHECK-SAME: mask = #edg.mask<sliding_causal, 4>
// CHECK-SAME: softcap = 5.000000e+01
// CHECK: %[[DX0:[^,]+]], %{{.+}} = edg.rms_norm_grad %[[X]], %[[NW]] grad %[[DN]]
// ... and the embedding output sums its two users' gradients.
// CHECK: %[[DX:.+]] = edg.add %[[DR]], %[[DX0]] : tensor<?x?x8xf32>
// CHECK: %[[DTABLE_EMBED:.+]] = edg.embed_grad %arg0, %[[DX]] {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<?x?x8xf32>) -> tensor<32x8xf32>
// The tied table: the head's share plus the lookup's.
// CHECK: %[[DTABLE:.+]] = edg.add %[[DTABLE_HEAD]], %[[DTABLE_EMBED]] : tensor<32x8xf32>
// CHECK: return %[[LOSS]], %[[DTABLE]], %[[DQ]], %[[DK]], %[[DV]], %[[DO]], %[[DG]], %[[DU]], %[[DD]] :
