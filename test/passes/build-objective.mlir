// RUN: edg-opt %s --edg-build-objective | FileCheck %s
// RUN: not edg-opt %s --edg-build-objective="objective=seq2seq" 2>&1 | FileCheck %s --check-prefix=S2S-MISSING
// RUN: not edg-opt %s --edg-build-objective="objective=ul3" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not edg-opt %s --edg-build-objective --edg-build-objective 2>&1 | FileCheck %s --check-prefix=TWICE

// Causal LM over a one-block decoder-only model (d=8, V=32): @loss inlines
// @forward and appends the mean cross-entropy on pre-aligned labels.

edg.weight @"model.embed_tokens.weight" : tensor<32x8xf32>
edg.weight @"model.norm.weight" : tensor<8xf32>

func.func @forward(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @"model.embed_tokens.weight" : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 2.828125 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %nw = edg.use_weight @"model.norm.weight" : tensor<8xf32>
  %n = edg.rms_norm %x, %nw {eps = 1.0e-6 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %n, %e {final_softcap = 30.0 : f64} : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}

// The entry point stays; the loss is a new function.
// CHECK-LABEL: func.func @forward(
// CHECK-LABEL: func.func @loss(
// CHECK-SAME: {edg.arg_name = "ids"}
// CHECK-SAME: {edg.arg_name = "positions"}
// CHECK-SAME: {edg.arg_name = "valid"}
// CHECK-SAME: %[[LABELS:[^:]+]]: tensor<?x?xi32> {edg.arg_name = "labels"}) -> tensor<f32>
// CHECK: edg.embed
// CHECK: %[[LOGITS:.+]] = edg.lm_head
// CHECK: %[[LOSS:.+]] = edg.cross_entropy %[[LOGITS]], %[[LABELS]] :
// CHECK-NEXT: return %[[LOSS]] : tensor<f32>

// S2S-MISSING: error: edg-build-objective: encoder needs a function @encode with a body
// UNKNOWN: error: edg-build-objective: unknown objective 'ul3' (use lm, seq2seq or prefixlm-kd; PrefixLM, UL2 and SFT batches all train the seq2seq graph)
// TWICE: error: cannot create @loss: the module already has a symbol of that name (run the training passes once)
