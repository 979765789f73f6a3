// RUN: edg-opt %s --edg-fuse --split-input-file | FileCheck %s
// RUN: edg-opt %s --edg-fuse=fuse-rope=false --split-input-file | FileCheck %s --check-prefix=NOROPE

// gelu_tanh * mul becomes one elementwise fusion; post-norm + residual add +
// next pre-norm one row fusion with two results (the residual stream and the
// normed activations).
// CHECK-LABEL: func.func @layer
// CHECK-SAME: (%[[A:.*]]: tensor<?x?x8xf32>, %[[X:.*]]: tensor<?x?x8xf32>, %[[W1:.*]]: tensor<8xf32>, %[[W2:.*]]: tensor<8xf32>, %[[G:.*]]: tensor<?x?x8xf32>, %[[U:.*]]: tensor<?x?x8xf32>)
func.func @layer(%a: tensor<?x?x8xf32>, %x: tensor<?x?x8xf32>, %w1: tensor<8xf32>, %w2: tensor<8xf32>,
                 %g: tensor<?x?x8xf32>, %u: tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  // CHECK: %[[R:.*]]:2 = edg.fusion(%[[A]], %[[W1]], %[[X]], %[[W2]])
  // CHECK-NEXT: ^bb0(%[[BA:.*]]: tensor<?x?x8xf32>, %[[BW1:.*]]: tensor<8xf32>, %[[BX:.*]]: tensor<?x?x8xf32>, %[[BW2:.*]]: tensor<8xf32>):
  // CHECK-NEXT: %[[N:.*]] = edg.rms_norm %[[BA]], %[[BW1]]
  // CHECK-NEXT: %[[S:.*]] = edg.add %[[BX]], %[[N]]
  // CHECK-NEXT: %[[M:.*]] = edg.rms_norm %[[S]], %[[BW2]]
  // CHECK-NEXT: edg.yield %[[S]], %[[M]]
  %n = edg.rms_norm %a, %w1 {eps = 1.0e-06 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %s = edg.add %x, %n : tensor<?x?x8xf32>
  %m = edg.rms_norm %s, %w2 {eps = 1.0e-06 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  // CHECK: %[[P:.*]] = edg.fusion(%[[G]], %[[U]])
  // CHECK: edg.gelu_tanh
  // CHECK-NEXT: edg.mul
  // CHECK-NEXT: edg.yield
  // CHECK: return %[[R]]#0, %[[R]]#1, %[[P]]
  %act = edg.gelu_tanh %g : tensor<?x?x8xf32>
  %p = edg.mul %act, %u : tensor<?x?x8xf32>
  return %s, %m, %p : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// -----

// A group stops growing when a value of it has a user (the linear) before
// the op that would join: the fusion would sit after that user.
// CHECK-LABEL: func.func @ordering
func.func @ordering(%a: tensor<?x8xf32>, %w: tensor<8xf32>, %wl: tensor<8x8xf32>) -> tensor<?x8xf32> {
  // CHECK: edg.rms_norm
  // CHECK-NEXT: edg.linear
  // CHECK-NEXT: edg.add
  // CHECK-NOT: edg.fusion
  %n = edg.rms_norm %a, %w {eps = 1.0e-06 : f64} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %l = edg.linear %n, %wl : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  %s = edg.add %n, %l : tensor<?x8xf32>
  return %s : tensor<?x8xf32>
}

// -----

// Shapes must agree: an rms_norm over [?, 8] does not join the group of
// the [8] gain it reads.
// CHECK-LABEL: func.func @shapes
func.func @shapes(%a: tensor<?x8xf32>, %w: tensor<8xf32>) -> tensor<?x8xf32> {
  // CHECK-NOT: edg.fusion
  %wg = edg.gelu_tanh %w : tensor<8xf32>
  %n = edg.rms_norm %a, %wg {eps = 1.0e-06 : f64} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %n : tensor<?x8xf32>
}

// -----

// The final logit soft-cap becomes the linear's epilogue, but only when the
// linear has no other user.
// CHECK-LABEL: func.func @softcap
func.func @softcap(%x: tensor<?x8xf32>, %e: tensor<32x8xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  // CHECK: %[[L:.*]] = edg.linear %{{.*}}, %{{.*}} {softcap = 3.000000e+01 : f64}
  %l = edg.linear %x, %e : (tensor<?x8xf32>, tensor<32x8xf32>) -> tensor<?x32xf32>
  %c = edg.softcap %l {cap = 30.0 : f64} : tensor<?x32xf32>
  // CHECK: %[[L2:.*]] = edg.linear %{{.*}}, %{{.*}} : (
  // CHECK: edg.softcap %[[L2]]
  %l2 = edg.linear %x, %e : (tensor<?x8xf32>, tensor<32x8xf32>) -> tensor<?x32xf32>
  %c2 = edg.softcap %l2 {cap = 30.0 : f64} : tensor<?x32xf32>
  // CHECK: return %[[L]]
  return %c, %c2, %l2 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// RoPE of q and k moves into the attention kernel; v is never rotated.
// CHECK-LABEL: func.func @rope
// NOROPE-LABEL: func.func @rope
func.func @rope(%q: tensor<?x?x8xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>, %pos: tensor<?x?xi32>) -> tensor<?x?x8xf32> {
  // CHECK-NOT: edg.rope
  // CHECK: edg.sdpa %{{.*}}, %{{.*}}, %{{.*}} positions %{{.*}} {{{.*}}rope_theta = 1.000000e+04 : f64
  // NOROPE: edg.rope
  // NOROPE: edg.rope
  // NOROPE-NOT: rope_theta
  %qr = edg.rope %q, %pos {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  %kr = edg.rope %k, %pos {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  %o = edg.sdpa %qr, %kr, %v positions %pos {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  return %o : tensor<?x?x8xf32>
}

// -----

// Rotated keys that are also returned (a KV cache) stay rotated in memory.
// CHECK-LABEL: func.func @rope_kept
func.func @rope_kept(%q: tensor<?x?x8xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>, %pos: tensor<?x?xi32>) -> (tensor<?x?x8xf32>, tensor<?x?x4xf32>) {
  // CHECK: edg.rope
  // CHECK: edg.rope
  // CHECK-NOT: rope_theta
  %qr = edg.rope %q, %pos {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  %kr = edg.rope %k, %pos {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  %o = edg.sdpa %qr, %kr, %v positions %pos {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  return %o, %kr : tensor<?x?x8xf32>, tensor<?x?x4xf32>
}
