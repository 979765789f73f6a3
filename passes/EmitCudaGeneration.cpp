//===- EmitCudaGeneration.cpp - CUDA for greedy and beam decoding -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Fixed-ABI kernels the runtime's generation loop launches between (or at
// the end of) decoding steps; not edg.kernel ops: edg-emit-cuda prints them
// once per module. Grids: runtime/cuda/launch_info.cc.
//
// Greedy decoding needs one token per row, not the row's logits:
// downloading [B, 1, V] fp32 logits (1 MB per row at V = 256000) and
// scanning them on the host costs more per token than the decode kernels.
// So the device picks the token and a greedy step downloads B int32s
// (runtime/cuda/cuda_executor_cached.cc, pick_greedy_tokens). One instance
// per logits storage type (suffix f32 / bf16 / f16), kind argmax_rows:
//
//   edg_argmax_rows_<t>(const T *logits, int *out, edg_i64 rows, edg_i64 V,
//                       edg_i64 stride)
//       one block of 256 threads per row; row r is logits[r * stride, +V);
//       out[r] = the first index of the row's largest value, as the CPU's
//       greedy LM head picks it (runtime/cpu/greedy_head.h): NaN never
//       wins, and a row whose element 0 is NaN (or is all NaN) gives 0.
//       Per thread a strided scan, then a shared-memory tree over the 256
//       (value, index) pairs in a fixed order; ties go to the lower index.
//
// Beam search continues each row from a surviving beam: the KV cache's rows
// are gathered in place between steps (CudaExecutor::reorder_rows), one
// launch per cache buffer instead of one copy per row. Kind gather_rows:
//
//   edg_gather_rows(const unsigned char *src, unsigned char *dst,
//                   const edg_i64 *source, edg_i64 rows, edg_i64 stride,
//                   edg_i64 bytes)
//       grid (chunks, rows): dst[r * stride, +bytes) = src[source[r] *
//       stride, +bytes) for every row with source[r] != r (src is a
//       snapshot of dst); 4-byte words when every offset allows, else bytes.
//===----------------------------------------------------------------------===//
#include "passes/EmitCuda.h"

using namespace mlir;

namespace {

constexpr const char *kArgmaxRow = R"cu(
// Greedy decoding (EmitCudaGeneration.cpp): out[blockIdx.x] = the first index
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
     << "EmitCudaGeneration.cpp)\n"
     << "// edg-launch: " << name << " kind=argmax_rows block=256 smem=0 "
     << "grid=rows width=256 dtype=" << t << " signature=greedy\n"
     << kRule << "extern \"C\" __global__ void __launch_bounds__(256) " << name
     << "(const " << storage << " *logits, int *out, edg_i64 rows, "
     << "edg_i64 V, edg_i64 stride) {\n"
     << "  (void)rows; // the grid\n"
     << "  edg_argmax_row(logits, out, V, stride);\n"
     << "}\n\n";
}

constexpr const char *kGatherRows = R"cu(//===----------------------------------------------------------------------===//
// edg_gather_rows: gather_rows kernel (beam search, EmitCudaGeneration.cpp)
// edg-launch: edg_gather_rows kind=gather_rows block=256 smem=0 grid=(chunks,rows) width=256 dtype=u8 signature=gather
//===----------------------------------------------------------------------===//
extern "C" __global__ void __launch_bounds__(256) edg_gather_rows(const unsigned char *src, unsigned char *dst, const edg_i64 *source, edg_i64 rows, edg_i64 stride, edg_i64 bytes) {
  (void)rows; // the grid
  const edg_i64 r = blockIdx.y, s = source[r];
  if (s == r)
    return;
  const unsigned char *from = src + s * stride;
  unsigned char *to = dst + r * stride;
  const edg_i64 first = (edg_i64)blockIdx.x * 256 + threadIdx.x;
  const edg_i64 step = (edg_i64)gridDim.x * 256;
  if (((stride | bytes | (edg_i64)src | (edg_i64)dst) & 3) == 0) {
    const unsigned *f = (const unsigned *)from;
    unsigned *t = (unsigned *)to;
    for (edg_i64 i = first; i < bytes / 4; i += step)
      t[i] = f[i];
  } else {
    for (edg_i64 i = first; i < bytes; i += step)
      to[i] = from[i];
  }
}

)cu";

} // namespace

void mlir::edg::cuda::emitGenerationKernels(llvm::raw_ostream &os) {
  os << "//--- generation kernels (EmitCudaGeneration.cpp) ---//\n"
     << kArgmaxRow << "\n";
  emitArgmaxRows(os, "f32", "float");
  emitArgmaxRows(os, "bf16", "__nv_bfloat16");
  emitArgmaxRows(os, "f16", "__half");
  os << kGatherRows;
}
