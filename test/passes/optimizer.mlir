// RUN: edg-opt %s -allow-unregistered-dialect --edg-optimizer="lr=0.001 weight-decay=0.1 warmup-steps=10 total-steps=100 max-grad-norm=1.0" | FileCheck %s
// RUN: edg-opt %s -allow-unregistered-dialect --edg-optimizer="max-grad-norm=0" | FileCheck %s --check-prefix=NOCLIP

// A gradient function as edg-autodiff leaves it: the loss, then the
// gradients of @a and @b (whose frozen_steps the update must honour).

edg.weight @a : tensor<4xf32>
edg.weight @b : tensor<2x4xf32> frozen_steps 1000

func.func @grad_step(%x: tensor<?x4xf32> {edg.arg_name = "ids"}) -> (tensor<f32>, tensor<4xf32>, tensor<2x4xf32>)
    attributes {edg.grad_weights = [@a, @b]} {
  %loss = "test.loss"(%x) : (tensor<?x4xf32>) -> tensor<f32>
  %ga = "test.grad_a"(%x) : (tensor<?x4xf32>) -> tensor<4xf32>
  %gb = "test.grad_b"(%x) : (tensor<?x4xf32>) -> tensor<2x4xf32>
  return %loss, %ga, %gb : tensor<f32>, tensor<4xf32>, tensor<2x4xf32>
}

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: {edg.arg_name = "ids"}) -> tensor<f32>
// CHECK: %[[LOSS:.+]] = "test.loss"
// CHECK: %[[GA:.+]] = "test.grad_a"
// CHECK: %[[GB:.+]] = "test.grad_b"
// CHECK: %{{[^,]+}}, %[[CLIPPED:[^:]+]]:2 = edg.clip_grad_norm %[[GA]], %[[GB]] {max_norm = 1.000000e+00 : f64}
// CHECK: edg.adamw_update @a, %[[CLIPPED]]#0 {lr = 1.000000e-03 : f64, min_lr_ratio = 1.000000e-01 : f64, total_steps = 100 : i64, warmup_steps = 10 : i64, weight_decay = 1.000000e-01 : f64} : tensor<4xf32>
// CHECK: edg.adamw_update @b, %[[CLIPPED]]#1 {frozen_steps = 1000 : i64, lr = 1.000000e-03 : f64
// CHECK: return %[[LOSS]] : tensor<f32>

// NOCLIP-LABEL: func.func @train_step(
// NOCLIP-NOT: edg.clip_grad_norm
// NOCLIP: edg.adamw_update @a, %{{.+}} {lr = 1.000000e-04 : f64, min_lr_ratio = 1.000000e-01 : f64, weight_decay = 1.000000e-02 : f64} : tensor<4xf32>
