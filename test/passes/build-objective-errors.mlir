// RUN: edg-opt %s --split-input-file --verify-diagnostics --edg-build-objective="objective=prefixlm-kd"

// expected-error @+1 {{edg-build-objective: encoder needs a function @encode with a body}}
module {
}

// -----

func.func @encode(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %e = edg.use_weight @w : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  return %x : tensor<?x?x8xf32>
}
// expected-error @+1 {{edg-build-objective: @decode must take 5 arguments, return one value and have one block to serve as the decoder}}
func.func @decode(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @w : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %x, %e : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}
edg.weight @w : tensor<32x8xf32>

// -----

// The teacher must have its own weights: freezing a shared table would
// freeze the student.
// expected-error @+1 {{is read by both the teacher @teacher and the student @encode}}
edg.weight @w : tensor<32x8xf32>
func.func @encode(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x8xf32> {
  %e = edg.use_weight @w : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  return %x : tensor<?x?x8xf32>
}
func.func @decode(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>,
                  %enc: tensor<?x?x8xf32>, %ev: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @w : tensor<32x8xf32>
  %l = edg.lm_head %enc, %e : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}
func.func @teacher(%ids: tensor<?x?xi32>, %pos: tensor<?x?xi32>, %valid: tensor<?x?xi1>) -> tensor<?x?x32xf32> {
  %e = edg.use_weight @w : tensor<32x8xf32>
  %x = edg.embed %ids, %e {scale = 1.0 : f64} : (tensor<?x?xi32>, tensor<32x8xf32>) -> tensor<?x?x8xf32>
  %l = edg.lm_head %x, %e : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  return %l : tensor<?x?x32xf32>
}
