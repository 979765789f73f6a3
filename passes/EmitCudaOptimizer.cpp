//===- EmitCudaOptimizer.cpp - CUDA for the optimizer step ------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The optimizer of a training step on the device (docs/codegen.md,
// "Training kernels (CUDA)"; docs/training.md §1): global-norm gradient
// clipping and AdamW, bf16 / f16 weights updated through fp32 master
// copies. They are not edg.kernel ops: edg-emit-cuda prints them once per
// module with a @train_step, for each float element type T of the module's
// edg.weight ops (suffix f32 / bf16 / f16), and the runtime
// (runtime/cuda/cuda_executor_optimizer.cc) launches them on every
// trainable weight. Fixed ABI (grids: runtime/cuda/launch_info.cc):
//
//   edg_opt_sumsq_<t>(const T *g, double *partial, edg_i64 n)
//       exactly 256 blocks of 256 threads; thread x of block b adds
//       double(g[i])^2 for i = b*256 + x, += 256*256, then a fixed-order
//       shared-memory tree; partial[b] = the block's sum. Deterministic.
//   edg_opt_clip(const double *partial, const float *hyper, float *out,
//                edg_i64 count)
//       one block: total = sum of partial[0, count) in double (fixed order);
//       out[0] = norm = float(sqrt(total)), out[1] = the clip coefficient
//       min(1, hyper[0] / (norm + 1e-6)), or 1 when hyper[0] (max_norm)
//       is not > 0 (runtime/cpu/train_kernels.cc clip_grad_norm).
//   edg_opt_adamw_<t>(T *p, float *m, float *v, const T *g,
//                     const float *coef, const float *hyper, edg_i64 n)
//       grid-stride over n; hyper = {decay, w1, b2, w2, step_size,
//       bc2_sqrt, eps} (adamw_step's fp32 scalars, computed by the host);
//       the gradient is multiplied by coef[1] (edg_opt_clip's out, or
//       {0, 1} without clipping); then adamw_step's fp32 expressions in its
//       order; m, v fp32; p rounded once to T. The runtime launches the f32
//       one; bf16 / f16 weights take the master variant below (the in-place
//       bf16 / f16 kernels are still emitted: edg-kernel-check runs the
//       clip + AdamW chain on them).
//   edg_opt_adamw_master_<t>(float *master, T *p, float *m, float *v,
//                            const T *g, const float *coef,
//                            const float *hyper, edg_i64 n)
//       t = bf16 / f16 only, kind optimizer_adamw_master (the same grid):
//       the same arithmetic on the fp32 master weight [n] (the CPU path's
//       fp32 weights, docs/training.md §6), which keeps every update, and
//       p = the master rounded once to T (RNE) for the next forward.
//
// IEEE sqrtf and division (NVRTC's defaults -prec-sqrt / -prec-div); the
// squares of the norm are exact in double (a float squared has 48 bits).
//===----------------------------------------------------------------------===//
#include "passes/EmitCuda.h"

using namespace mlir;
using namespace mlir::edg;

namespace {

constexpr const char *kRule = "//===----------------------------------------"
                              "------------------------------===//\n";

/// The comment block and the `edg-launch` line of an optimizer kernel.
void banner(llvm::raw_ostream &os, StringRef name, StringRef kind,
            StringRef what, StringRef grid, StringRef dtype) {
  os << kRule << "// " << name << ": " << kind << " kernel (optimizer, "
     << "EmitCudaOptimizer.cpp)\n"
     << what << "// edg-launch: " << name << " kind=" << kind
     << " block=256 smem=0 grid=" << grid << " width=256 dtype=" << dtype
     << " signature=optimizer\n"
     << kRule;
}

/// Shared-memory tree over the 256 per-thread sums `sum` of a block, in a
/// fixed order: sum[0] holds the block's total afterwards.
constexpr const char *kTree =
    "  sum[threadIdx.x] = s;\n"
    "  __syncthreads();\n"
    "#pragma unroll\n"
    "  for (int half = kBlock / 2; half > 0; half >>= 1) {\n"
    "    if ((int)threadIdx.x < half)\n"
    "      sum[threadIdx.x] += sum[threadIdx.x + half];\n"
    "    __syncthreads();\n"
    "  }\n";

void emitSumsq(llvm::raw_ostream &os, StringRef t, StringRef storage) {
  std::string name = ("edg_opt_sumsq_" + t).str();
  banner(os, name, "optimizer_sumsq",
         "//   partial[b] = sum of double(g[i])^2 over block b's elements "
         "(up to 256 blocks:\n//   the runtime zeroes partial[256] and "
         "launches min(256, ceil(n/256)))\n",
         "min(256,ceil(n/256))", t);
  os << "extern \"C\" __global__ void __launch_bounds__(256) " << name
     << "(const " << storage << " *g, double *partial, edg_i64 n) {\n"
     << "  constexpr int kBlock = 256, kGrid = 256; // fixed: deterministic\n"
     << "  __shared__ double sum[kBlock];\n"
     << "  double s = 0.0;\n"
     << "  for (edg_i64 i = (edg_i64)blockIdx.x * kBlock + threadIdx.x; i < n;\n"
     << "       i += (edg_i64)kGrid * kBlock) {\n"
     << "    const double x = (double)edg_ld(g[i]);\n"
     << "    s += x * x; // exact square: the same sum with or without FMA\n"
     << "  }\n"
     << kTree << "  if (threadIdx.x == 0)\n"
     << "    partial[blockIdx.x] = sum[0];\n"
     << "}\n\n";
}

void emitClip(llvm::raw_ostream &os) {
  banner(os, "edg_opt_clip", "optimizer_clip",
         "//   out = {norm, clip coefficient} from the partial sums of "
         "squares; hyper[0] = max_norm\n",
         "1", "f32");
  os << "extern \"C\" __global__ void __launch_bounds__(256) edg_opt_clip("
        "const double *partial, const float *hyper, float *out, "
        "edg_i64 count) {\n"
     << "  constexpr int kBlock = 256;\n"
     << "  __shared__ double sum[kBlock];\n"
     << "  double s = 0.0;\n"
     << "  for (edg_i64 i = threadIdx.x; i < count; i += kBlock)\n"
     << "    s += partial[i];\n"
     << kTree << "  if (threadIdx.x == 0) {\n"
     << "    // runtime/cpu/train_kernels.cc clip_grad_norm\n"
     << "    const float norm = (float)sqrt(sum[0]);\n"
     << "    const float max_norm = hyper[0];\n"
     << "    out[0] = norm;\n"
     << "    out[1] = max_norm > 0.0f ? fminf(1.0f, max_norm / (norm + 1e-6f))"
        " : 1.0f;\n"
     << "  }\n"
     << "}\n\n";
}

/// edg_opt_adamw_<t>, or with `master` edg_opt_adamw_master_<t>: AdamW on
/// the fp32 master [n] instead of p [n], p its rounded copy.
void emitAdamW(llvm::raw_ostream &os, StringRef t, StringRef storage,
               bool master) {
  std::string name = ((master ? "edg_opt_adamw_master_" : "edg_opt_adamw_") +
                      t).str();
  banner(os, name, master ? "optimizer_adamw_master" : "optimizer_adamw",
         master ? "//   master, m, v in place, p = master rounded; g * coef[1]; "
                  "hyper = {decay, w1,\n//   b2, w2, step_size, bc2_sqrt, "
                  "eps}\n"
                : "//   p, m, v in place; g * coef[1]; hyper = {decay, w1, b2, "
                  "w2, step_size, bc2_sqrt, eps}\n",
         "ceil(n/256)", t);
  os << "extern \"C\" __global__ void __launch_bounds__(256) " << name << "("
     << (master ? "float *master, " : "") << storage
     << " *p, float *m, float *v, const " << storage
     << " *g, const float *coef, const float *hyper, edg_i64 n) {\n"
     << "  const float decay = hyper[0], w1 = hyper[1], b2 = hyper[2], "
        "w2 = hyper[3];\n"
     << "  const float step_size = hyper[4], bc2_sqrt = hyper[5], "
        "eps = hyper[6];\n"
     << "  const float clip = coef[1];\n"
     << "  const edg_i64 stride = (edg_i64)gridDim.x * blockDim.x;\n"
     << "  for (edg_i64 i = (edg_i64)blockIdx.x * blockDim.x + threadIdx.x; "
        "i < n; i += stride) {\n"
     << "    // runtime/cpu/train_kernels.cc adamw_step, in its order\n"
     << "    const float gg = edg_ld(g[i]) * clip;\n"
     << (master ? "    float w = master[i] * decay;\n"
                : "    float w = edg_ld(p[i]) * decay;\n")
     << "    const float mm = m[i] + w1 * (gg - m[i]);\n"
     << "    const float vv = v[i] * b2 + w2 * gg * gg;\n"
     << "    const float denom = sqrtf(vv) / bc2_sqrt + eps;\n"
     << "    w += -step_size * mm / denom;\n"
     << "    m[i] = mm;\n"
     << "    v[i] = vv;\n"
     << (master ? "    master[i] = w;\n"
                  "    edg_st(&p[i], w); // the forward's copy, rounded once\n"
                : "    edg_st(&p[i], w);\n")
     << "  }\n"
     << "}\n\n";
}

} // namespace

void cuda::emitOptimizerKernels(ModuleOp module, llvm::raw_ostream &os) {
  // Every float storage type of the weights, in a fixed order.
  bool has[3] = {false, false, false}; // f32, bf16, f16
  for (WeightOp w : module.getOps<WeightOp>()) {
    Type e = w.getTensorType().getElementType();
    has[0] |= e.isF32();
    has[1] |= e.isBF16();
    has[2] |= e.isF16();
  }
  os << "//--- optimizer kernels (EmitCudaOptimizer.cpp) ---//\n";
  static const char *const kTypes[3][2] = {
      {"f32", "float"}, {"bf16", "__nv_bfloat16"}, {"f16", "__half"}};
  for (int i = 0; i < 3; ++i)
    if (has[i])
      emitSumsq(os, kTypes[i][0], kTypes[i][1]);
  emitClip(os);
  for (int i = 0; i < 3; ++i)
    if (has[i])
      emitAdamW(os, kTypes[i][0], kTypes[i][1], /*master=*/false);
  for (int i = 1; i < 3; ++i) // bf16, f16: fp32 master weights
    if (has[i])
      emitAdamW(os, kTypes[i][0], kTypes[i][1], /*master=*/true);
}
