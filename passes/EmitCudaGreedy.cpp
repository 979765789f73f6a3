//===- EmitCudaGreedy.cpp - CUDA for greedy decoding's argmax ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Greedy decoding on the device needs one token per row, not the row's
// logits: downloading [B, 1, V] fp32 logits (1 MB per row at V = 256000)
// and scanning them on the host costs more per token than the decode
// kernels. These kernels pick the token on the device, so a greedy step
// downloads B int32s (runtime/cuda/cuda_executor.cc, run with greedy
// tokens). They are not edg.kernel ops: edg-emit-cuda prints them once per
// module, for each logits storage type (suffix f32 / bf16 / f16). Fixed ABI
// (grid: runtime/cuda/launch_info.cc, kind argmax_rows):
//
//   edg_argmax_rows_<t>(const T *logits, int *out, edg_i64 rows, edg_i64 V,
//                       edg_i64 stride)
//       one block of 256 threads per row; row r is logits[r * stride, +V);
//       out[r] = the first index of the row's largest value, as the CPU's
//       greedy LM head picks it (runtime/cpu/greedy_head.h): NaN never
//       wins, and a row whose element 0 is NaN (or is all NaN) gives 0.
//       Per thread a strided scan, then a shared-memory tree over the 256
//       (value, index) pairs in a fixed order; ties go to the lower index.
//===----------------------------------------------------------------------===//
#include "passes/EmitCuda.h"

using namespace mlir;

namespace {

constexpr const char *kArgmaxRow = R"cu(
// Greedy decoding (EmitCudaGreedy.cpp): out[blockIdx.x] = the first index
// of the largest value of one row of V logits; NaN never wins.
template <typename T>
__device__ __forceinline__ void edg_argmax_row(const T *logits, int *out,
                                               edg_i64 V, edg_i64 stride) {
  __shared__ float best_value[256];
  __shared__ edg_i64 best_index[256];
  const T *row = logits + (edg_i64)blockIdx.x * stride;
  float best = EDG_NEG_INF;
  edg_i64 at = V; // no candidate yet: loses every tie
  for (edg_i64 v = threadIdx.x; v < V; v += 256) {
    const float x = edg_ld(row[v]);
    if (x > best || (x == best && at == V)) {
      best = x;
      at = v;
    }
  }
  best_value[threadIdx.x] = best;
  best_index[threadIdx.x] = at;
  __syncthreads();
  for (int half = 128; half > 0; half >>= 1) {
    if ((int)threadIdx.x < half) {
      const float o = best_value[threadIdx.x + half];
      const edg_i64 oi = best_index[threadIdx.x + half];
      if (o > best_value[threadIdx.x] ||
          (o == best_value[threadIdx.x] && oi < best_index[threadIdx.x])) {
        best_value[threadIdx.x] = o;
        best_index[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const float first = edg_ld(row[0]);
    out[blockIdx.x] = first != first || best_index[0] == V ? 0 : (int)best_index[0];
  }
}
)cu";

constexpr const char *kRule = "//===----------------------------------------"
                              "------------------------------===//\n";

void emitArgmaxRows(llvm::raw_ostream &os, StringRef t, StringRef storage) {
  std::string name = ("edg_argmax_rows_" + t).str();
  os << kRule << "// " << name << ": argmax_rows kernel (greedy decoding, "
     << "EmitCudaGreedy.cpp)\n"
     << "// edg-launch: " << name << " kind=argmax_rows block=256 smem=0 "
     << "grid=rows width=256 dtype=" << t << " signature=greedy\n"
     << kRule << "extern \"C\" __global__ void __launch_bounds__(256) " << name
     << "(const " << storage << " *logits, int *out, edg_i64 rows, "
     << "edg_i64 V, edg_i64 stride) {\n"
     << "  (void)rows; // the grid\n"
     << "  edg_argmax_row(logits, out, V, stride);\n"
     << "}\n\n";
}

} // namespace

void mlir::edg::cuda::emitGreedyKernels(llvm::raw_ostream &os) {
  os << "//--- greedy decoding kernels (EmitCudaGreedy.cpp) ---//\n"
     << kArgmaxRow << "\n";
  emitArgmaxRows(os, "f32", "float");
  emitArgmaxRows(os, "bf16", "__nv_bfloat16");
  emitArgmaxRows(os, "f16", "__half");
}
