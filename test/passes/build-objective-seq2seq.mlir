// RUN: edg-opt %s --edg-build-objective="objective=seq2seq" | FileCheck %s
// RUN: edg-opt %s --edg-build-objective="objective=prefixlm-kd kd-weight=0.5 kd-temperature=2.0" | FileCheck %s --check-prefix=KD
// RUN: edg-opt %s --edg-build-objective="objective=prefixlm-kd kd-only=true" | FileCheck %s --check-prefix=KDONLY

// A T5Gemma skeleton (d=8, V=32; each stack embed -> norm, the decoder
// cross-attends once) and a decoder-only @teacher imported with
// --weight-prefix teacher., as for PrefixLM + distillation.

edg.weight @"model.encoder.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.decoder.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.decoder.layers.0.cross_attn.q_proj.weight" : tensor<8x8xf32>
edg.weight @"model.decoder.layers.0.cross_attn.k_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.cross_attn.v_proj.weight" : tensor<4x8xf32>
edg.weight @"model.decoder.layers.0.cross_attn.o_proj.weight" : tensor<8x8xf32>
edg.weight @"teacher.model.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"teacher.model.norm.weight" : tensor<8xf32> frozen_steps 10

func.func @encode(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %e = edg.use_weight @"model.encoder.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  return %x : tensor<?x?x8xf32>
}

func.func @decode(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                  %enc: tensor<?x?x8xf32>, %enc_valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @"model.decoder.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %q = edg.use_weight @"model.decoder.layers.0.cross_attn.q_proj.weight" : tensor<8x8xf32>
  %k = edg.use_weight @"model.decoder.layers.0.cross_attn.k_proj.weight" : tensor<4x8xf32>
  %v = edg.use_weight @"model.decoder.layers.0.cross_attn.v_proj.weight" : tensor<4x8xf32>
  %o = edg.use_weight @"model.decoder.layers.0.cross_attn.o_proj.weight" : tensor<8x8xf32>
  %c = edg.cross_attention %x, %enc encoder_valid %enc_valid weights(%q, %k, %v, %o)
      {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64}
      : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<?x?xi1>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %c, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}

func.func @teacher(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @"teacher.model.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %nw = edg.use_weight @"teacher.model.norm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %nw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %n, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}

// seq2seq (PrefixLM, UL2, SFT): the encoder's output and encoder_valid feed
// the decoder's cross-attention; the teacher is untouched.
// CHECK: edg.weight @teacher.model.embed_tokens.weight : tensor<32x8xf32>{{$}}
// CHECK-LABEL: func.func @loss(
// CHECK-SAME: %[[EV:[^:]+]]: tensor<?x?xi1> {edg.arg_name = "encoder_valid"}
// CHECK-SAME: {edg.arg_name = "decoder_ids"}
// CHECK-SAME: {edg.arg_name = "labels"}) -> tensor<f32>
// CHECK: %[[ENC:.+]] = edg.embed %arg0
// CHECK: edg.cross_attention %{{.+}}, %[[ENC]] encoder_valid %[[EV]]
// CHECK: edg.cross_entropy
// CHECK-NOT: edg.distill_kl

// prefixlm-kd: the teacher's weights become frozen and bind from the
// decoder-only checkpoint's names; its frozen_steps go.
// KD: edg.weight @teacher.model.embed_tokens.weight : tensor<32x8xf32> init_from @model.embed_tokens.weight frozen
// KD-NEXT: edg.weight @teacher.model.norm.weight : tensor<8xf32> init_from @model.norm.weight frozen{{$}}
// KD-LABEL: func.func @loss(
// KD-SAME: {edg.arg_name = "labels"}
// KD-SAME: {edg.arg_name = "teacher_ids"}
// KD-SAME: {edg.arg_name = "teacher_positions"}
// KD-SAME: {edg.arg_name = "teacher_valid"}
// KD-SAME: %[[TI:[^:]+]]: tensor<?x?xi32> {edg.arg_name = "teacher_index"}) -> tensor<f32>
// KD: %[[STUDENT:.+]] = edg.lm_head
// KD: %[[CE:.+]] = edg.cross_entropy %[[STUDENT]], %[[LABELS:[^ ]+]]
// KD: %[[TEACHER:.+]] = edg.lm_head
// KD: %[[KL:.+]] = edg.distill_kl %[[STUDENT]], %[[TEACHER]], %[[TI]], %[[LABELS]] {temperature = 2.000000e+00 : f64, weight = 5.000000e-01 : f64}
// KD: %[[SUM:.+]] = edg.add %[[CE]], %[[KL]] : tensor<f32>
// KD: return %[[SUM]]

// KDONLY-LABEL: func.func @loss(
// KDONLY-NOT: edg.cross_entropy
// KDONLY: %[[KL:.+]] = edg.distill_kl
// KDONLY-NEXT: return %[[KL]]
