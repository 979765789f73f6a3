// RUN: edg-opt %s | edg-opt | FileCheck %s
// RUN: edg-opt %s --mlir-print-op-generic | edg-opt | FileCheck %s
//
// Round trip of the tensor- and kernel-level ops (EDGTensorOps.td).

// CHECK-LABEL: func.func @tensor_level
func.func @tensor_level(%x: tensor<?x?x8xbf16>, %w: tensor<16x8xbf16>,
                        %wk: tensor<4x8xbf16>, %pos: tensor<?x?xi32>,
                        %valid: tensor<?x?xi1>) -> tensor<?x?x16xbf16> {
  // CHECK: edg.linear %{{.*}}, %{{.*}} {softcap = 3.000000e+01 : f64}
  %q = edg.linear %x, %w {softcap = 30.0 : f64} : (tensor<?x?x8xbf16>, tensor<16x8xbf16>) -> tensor<?x?x16xbf16>
  %k = edg.linear %x, %wk : (tensor<?x?x8xbf16>, tensor<4x8xbf16>) -> tensor<?x?x4xbf16>
  // CHECK: edg.rope %{{.*}}, %{{.*}} {head_dim = 4 : i64, theta = 1.000000e+04 : f64}
  %qr = edg.rope %q, %pos {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x?x16xbf16>, tensor<?x?xi32>) -> tensor<?x?x16xbf16>
  // CHECK: edg.sdpa %{{.*}}, %{{.*}}, %{{.*}} positions %{{.*}} key_valid %{{.*}} {{{.*}}mask = #edg.mask<sliding_causal, 4096>
  %o = edg.sdpa %qr, %k, %k positions %pos key_valid %valid {num_heads = 4 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = 50.0 : f64, mask = #edg.mask<sliding_causal, 4096>} : (tensor<?x?x16xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xbf16>, tensor<?x?xi32>, tensor<?x?xi1>) -> tensor<?x?x16xbf16>
  // CHECK: edg.sdpa %{{.*}}, %{{.*}}, %{{.*}} {
  %c = edg.sdpa %o, %k, %k {num_heads = 4 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<bidirectional>} : (tensor<?x?x16xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xbf16>) -> tensor<?x?x16xbf16>
  // CHECK: edg.gelu_tanh
  %g = edg.gelu_tanh %c : tensor<?x?x16xbf16>
  // CHECK: edg.mul
  %m = edg.mul %g, %c : tensor<?x?x16xbf16>
  // CHECK: edg.softcap %{{.*}} {cap = 3.000000e+01 : f64}
  %s = edg.softcap %m {cap = 30.0 : f64} : tensor<?x?x16xbf16>
  // CHECK: edg.cast %{{.*}} : tensor<?x?x16xbf16> to tensor<?x?x16xf32>
  %f = edg.cast %s : tensor<?x?x16xbf16> to tensor<?x?x16xf32>
  %b = edg.cast %f : tensor<?x?x16xf32> to tensor<?x?x16xbf16>
  return %b : tensor<?x?x16xbf16>
}

// CHECK-LABEL: func.func @kernel_level
func.func @kernel_level(%a: tensor<?x8xf32>, %w: tensor<8xf32>, %x: tensor<?x8xf32>,
                        %wt: tensor<16x8xf32>) -> (tensor<?x8xf32>, tensor<?x16xf32>) {
  // CHECK: edg.fusion(%{{.*}}, %{{.*}}, %{{.*}})
  // CHECK: edg.rms_norm
  // CHECK: edg.yield
  %r:2 = edg.fusion (%a, %w, %x) : (tensor<?x8xf32>, tensor<8xf32>, tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  ^bb0(%ba: tensor<?x8xf32>, %bw: tensor<8xf32>, %bx: tensor<?x8xf32>):
    %n = edg.rms_norm %ba, %bw {eps = 1.0e-06 : f64} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
    %s = edg.add %bx, %n : tensor<?x8xf32>
    edg.yield %s, %n : tensor<?x8xf32>, tensor<?x8xf32>
  }
  // CHECK: edg.launch @gelu(%{{.*}}) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %l = edg.launch @gelu(%r#0) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  // CHECK: edg.gemm %{{.*}}, %{{.*}} {epilogue = @cap}
  %y = edg.gemm %l, %wt {epilogue = @cap} : (tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x16xf32>
  return %l, %y : tensor<?x8xf32>, tensor<?x16xf32>
}

// CHECK: edg.kernel @gelu {kind = "elementwise"
edg.kernel @gelu {kind = "elementwise", signature = "ew:t0=gelu_tanh(i0)->t0", origin = "test"} : (tensor<?x8xf32>) -> tensor<?x8xf32> {
^bb0(%arg0: tensor<?x8xf32>):
  %0 = edg.gelu_tanh %arg0 : tensor<?x8xf32>
  edg.yield %0 : tensor<?x8xf32>
}
edg.kernel @cap {kind = "elementwise", signature = "ew:t0=softcap[30](i0)->t0", origin = "test"} : (tensor<?x16xf32>) -> tensor<?x16xf32> {
^bb0(%arg0: tensor<?x16xf32>):
  %0 = edg.softcap %arg0 {cap = 30.0 : f64} : tensor<?x16xf32>
  edg.yield %0 : tensor<?x16xf32>
}
// CHECK: edg.attention_kernel @attn {{{.*}}has_positions
edg.attention_kernel @attn {mask = #edg.mask<causal>, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, element_type = bf16, has_positions, origin = "test"}
