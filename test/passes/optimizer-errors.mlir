// RUN: edg-opt %s -allow-unregistered-dialect --split-input-file --verify-diagnostics --edg-optimizer
// RUN: not edg-opt %s -allow-unregistered-dialect --split-input-file --edg-optimizer="warmup-steps=10 total-steps=5" 2>&1 | FileCheck %s --check-prefix=OPTIONS

// OPTIONS: error: edg-optimizer: total-steps must exceed warmup-steps (or be 0: no decay)

// expected-error @+1 {{edg-optimizer: no single-block function @grad_step (build it with edg-autodiff)}}
module {
}

// -----

// expected-error @+1 {{edg-optimizer: @grad_step needs an 'edg.grad_weights' attribute naming the weight of each gradient result after the loss}}
func.func @grad_step(%x: tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>) {
  %loss = "test.loss"(%x) : (tensor<4xf32>) -> tensor<f32>
  return %loss, %x : tensor<f32>, tensor<4xf32>
}

// -----

edg.weight @a : tensor<4xf32> frozen
// expected-error @+1 {{edg-optimizer: gradient 0 is of @a, which is frozen}}
func.func @grad_step(%x: tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>) attributes {edg.grad_weights = [@a]} {
  %loss = "test.loss"(%x) : (tensor<4xf32>) -> tensor<f32>
  return %loss, %x : tensor<f32>, tensor<4xf32>
}

// -----

edg.weight @a : tensor<8xf32>
// expected-error @+1 {{edg-optimizer: gradient 0 has type 'tensor<4xf32>', weight @a is 'tensor<8xf32>'}}
func.func @grad_step(%x: tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>) attributes {edg.grad_weights = [@a]} {
  %loss = "test.loss"(%x) : (tensor<4xf32>) -> tensor<f32>
  return %loss, %x : tensor<f32>, tensor<4xf32>
}
