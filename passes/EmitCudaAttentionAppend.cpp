//===- EmitCudaAttentionAppend.cpp - KV-cache append kernel -----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `<name>_append`, emitted next to `<name>_decode` (EmitCudaAttentionDecode
// .cpp) for causal and sliding-causal kernels of inference modules: writes
// the keys/values of T new rows per sequence into slots [len, len + T) of
// the KV cache the decode kernel reads (k_cache/v_cache [B, C, K*hd],
// cache_pos/cache_valid [B, C]). When the attention kernel has RoPE fused,
// the projection's keys arrive un-rotated and the cache must hold them
// rotated: each key row is copied into its slot and then rotated in place
// by edg_attn_rope, which is the forward kernel's rotation of its K tile
// (same inputs in the storage type, same rounding points), so the decode
// kernel sees the keys the forward kernel would have rotated.
//
// One block per (new row t, sequence b); the runtime launches it once per
// self-attention step of a cached run (runtime/cuda/cuda_executor.cc).
//===----------------------------------------------------------------------===//
#include "passes/EmitCuda.h"

using namespace mlir;
using namespace mlir::edg;

void cuda::emitAttentionAppend(AttentionKernelOp k, llvm::raw_ostream &os) {
  Type elt = k.getElementType();
  const int64_t K = k.getNumKvHeads(), hd = k.getHeadDim();
  std::string name = k.getSymName().str(), T = storageType(elt);
  std::string rule = "//===" + std::string(70, '-') + "===//\n";
  os << rule << "// " << name << "_append: writes T new rows' keys"
     << (k.getRopeTheta() ? " (rotated by RoPE)" : "")
     << ", values, positions and validity\n"
     << "//   into KV-cache slots [len, len + T) for " << name << "_decode\n"
     << "// edg-launch: " << name << "_append kind=attention_append block=128 "
     << "smem=0 grid=T,B width=" << K * hd << " dtype=" << dtypeName(elt)
     << " signature=" << attentionSignature(k) << "\n"
     << rule << "extern \"C\" __global__ void __launch_bounds__(128) " << name
     << "_append(\n"
     << "    const " << T << " *__restrict__ k, const " << T
     << " *__restrict__ v, const int *__restrict__ pos,\n"
     << "    const unsigned char *__restrict__ key_valid, const edg_i64 "
        "*__restrict__ cache_len,\n"
     << "    " << T << " *__restrict__ k_cache, " << T
     << " *__restrict__ v_cache, int *__restrict__ cache_pos,\n"
     << "    unsigned char *__restrict__ cache_valid, edg_i64 B, edg_i64 Tn, "
        "edg_i64 C) {\n"
     << "  // k/v [B, Tn, " << K << "*" << hd << "]"
     << (k.getRopeTheta() ? " (k not rotated yet)" : "")
     << ", pos/key_valid [B, Tn] (null: len + t / valid),\n"
     << "  // k_cache/v_cache [B, C, " << K << "*" << hd
     << "], cache_pos/cache_valid [B, C]; row t goes to slot len + t,\n"
     << "  // len = *cache_len (a device word: a captured CUDA graph replays "
        "every step).\n"
     << "  using Elt = " << T << ";\n"
     << "  constexpr int kRow = " << K * hd << ", kHd = " << hd << ";\n";
  if (auto theta = k.getRopeTheta())
    os << "  constexpr float kTheta = "
       << floatLiteral(theta->convertToDouble()) << ";\n";
  os << "  const edg_i64 t = blockIdx.x, b = blockIdx.y, slot = *cache_len + "
        "t;\n"
     << "  if (t >= Tn || slot >= C)\n    return;\n"
     << "  const int p = pos ? pos[b * Tn + t] : (int)slot;\n"
     << "  const Elt *ks = k + (b * Tn + t) * kRow;\n"
     << "  const Elt *vs = v + (b * Tn + t) * kRow;\n"
     << "  Elt *kd = k_cache + (b * C + slot) * kRow;\n"
     << "  Elt *vd = v_cache + (b * C + slot) * kRow;\n"
     << "  for (int i = threadIdx.x; i < kRow; i += blockDim.x) {\n"
     << "    kd[i] = ks[i];\n    vd[i] = vs[i];\n  }\n"
     << "  if (threadIdx.x == 0) {\n"
     << "    cache_pos[b * C + slot] = p;\n"
     << "    cache_valid[b * C + slot] = key_valid ? (key_valid[b * Tn + t] "
        "!= 0) : 1;\n  }\n";
  if (k.getRopeTheta())
    os << "  __syncthreads();\n"
       << "  // Each thread rotates whole pairs (i, i + kHd/2) of one head.\n"
       << "  for (int i = threadIdx.x; i < kRow / 2; i += blockDim.x)\n"
       << "    edg_attn_rope<Elt, kHd>(kd + (i / (kHd / 2)) * kHd, i % (kHd "
          "/ 2), p, kTheta);\n";
  os << "  (void)kHd;\n}\n\n";
}
