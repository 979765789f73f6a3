// RUN: edg-opt %s --edg-plan-memory="max-batch=2 max-seq=4" | FileCheck %s
// RUN: not edg-opt %s --edg-plan-memory="max-batch=0" 2>&1 | FileCheck %s --check-prefix=ERR
//
// At max-batch 2, max-seq 4 a tensor<?x?x8xf32> is 2*4*8*4 = 256 bytes (one
// 256-byte slot) and a tensor<?x?x16xf32> 512. Slots are freed after their
// last use, after the using op's results are placed, so an op never writes
// over its inputs; later values reuse the freed bytes.

edg.kernel @g {kind = "elementwise", signature = "ew:t0=gelu_tanh(i0)->t0", origin = "test"} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
^bb0(%arg0: tensor<?x?x8xf32>):
  %0 = edg.gelu_tanh %arg0 : tensor<?x?x8xf32>
  edg.yield %0 : tensor<?x?x8xf32>
}

// CHECK-LABEL: func.func @chain
// CHECK-SAME: attributes {edg.arena_size = 1024 : i64, edg.arena_unplanned_size = 1792 : i64}
func.func @chain(%x: tensor<?x?x8xf32>, %w: tensor<8x8xf32>, %w16: tensor<16x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x16xf32>) {
  // CHECK: edg.gemm {{.*}}arena_offsets = array<i64: 0>
  %a = edg.gemm %x, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  // %a is read while %b is written: a new slot.
  // CHECK: edg.launch @g({{.*}}) {arena_offsets = array<i64: 256>}
  %b = edg.launch @g(%a) : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  // %a died at the previous op: %c reuses its slot.
  // CHECK: edg.launch @g({{.*}}) {arena_offsets = array<i64: 0>}
  %c = edg.launch @g(%b) : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  // 512 bytes do not fit the free 256 at offset 256; the arena grows from
  // that free block at its top.
  // CHECK: edg.gemm {{.*}}arena_offsets = array<i64: 256>
  %big = edg.gemm %c, %w16 : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  // %c is dead: its slot at 0 is reused.
  // CHECK: edg.gemm {{.*}}arena_offsets = array<i64: 0>
  %d = edg.gemm %x, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  // Results live to the end: %e takes new bytes at the top.
  // CHECK: edg.launch @g({{.*}}) {arena_offsets = array<i64: 768>}
  %e = edg.launch @g(%d) : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %e, %big : tensor<?x?x8xf32>, tensor<?x?x16xf32>
}

// ERR: edg-plan-memory: max-batch and max-seq must be > 0
