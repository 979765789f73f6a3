//===- EmitCudaAttention.cpp - FlashAttention-2-style kernels ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// One CUDA kernel per edg.attention_kernel, specialised (as constexpr
// constants and emitted code) by mask kind and window, soft-cap, scale,
// head_dim, heads and GQA group, element type, fused RoPE and key padding.
//
// Schedule (FlashAttention-2 forward): a block of 4 warps owns kBM queries of
// one (batch, head); it walks the keys in tiles of kBN, never materialising
// the [T, S] score matrix:
//
//   Q tile -> smem (rotated once if RoPE is fused)
//   for each key tile:  skip it if no query of the tile can see any key
//     K, V tile -> smem (K rotated);  S = Q K^T   (WMMA bf16/f16 -> fp32,
//                                                  or fp32 FMAs)
//     per row (one warp): HF eager order on S: round, * scale, soft-cap,
//       mask (finfo.min), then the online softmax: m' = max(m, rowmax),
//       P = exp(S - m') rounded to the storage type, l = l e^(m-m') + sum P,
//       O *= e^(m-m')
//     O += P V
//   out = O / l
//
// O lives in shared memory (fp32) so the per-row rescale does not depend on
// WMMA's unspecified fragment layout. Tile sizes are the largest of 64x64,
// 64x32, 32x32 whose shared memory fits the 160 KiB every sm_80+ GPU offers.
// Deviation from HF: P is rounded before normalisation (HF rounds the
// normalised probabilities), which stays within bf16 tolerance; a row whose
// every key tile was skipped writes 0 (HF: the mean of v; padding rows only).
//===----------------------------------------------------------------------===//
#include "passes/EmitCuda.h"

using namespace mlir;
using namespace mlir::edg;

namespace {

constexpr const char *kHelpers = R"cu(// Attention helpers: S[BM][LDS] = Q[BM][LDH] . K[BN][LDH]^T and
// O[BM][LDO] += P[BM][LDP] . V[BN][LDH] over shared memory, fp32 accumulation.
template <typename T> __device__ __forceinline__ float edg_rnd(float x);
template <> __device__ __forceinline__ float edg_rnd<float>(float x) { return x; }
template <> __device__ __forceinline__ float edg_rnd<__nv_bfloat16>(float x) { return edg_rbf16(x); }
template <> __device__ __forceinline__ float edg_rnd<__half>(float x) { return edg_rf16(x); }

template <int BM, int BN, int HD, int LDH, int LDS, typename T>
__device__ __forceinline__ void edg_attn_qk_wmma(const T *sQ, const T *sK, float *sS) {
  using namespace nvcuda;
  constexpr int kTiles = (BM / 16) * (BN / 16);
  for (int tile = threadIdx.x >> 5; tile < kTiles; tile += blockDim.x >> 5) {
    const int tm = tile / (BN / 16), tn = tile % (BN / 16);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
#pragma unroll
    for (int kk = 0; kk < HD; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;
      wmma::load_matrix_sync(a, sQ + tm * 16 * LDH + kk, LDH);
      wmma::load_matrix_sync(b, sK + tn * 16 * LDH + kk, LDH); // K^T
      wmma::mma_sync(acc, a, b, acc);
    }
    wmma::store_matrix_sync(sS + tm * 16 * LDS + tn * 16, acc, LDS, wmma::mem_row_major);
  }
}

template <int BM, int BN, int HD, int LDH, int LDP, int LDO, typename T>
__device__ __forceinline__ void edg_attn_pv_wmma(const T *sP, const T *sV, float *sO) {
  using namespace nvcuda;
  constexpr int kTiles = (BM / 16) * (HD / 16);
  for (int tile = threadIdx.x >> 5; tile < kTiles; tile += blockDim.x >> 5) {
    const int tm = tile / (HD / 16), tn = tile % (HD / 16);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::load_matrix_sync(acc, sO + tm * 16 * LDO + tn * 16, LDO, wmma::mem_row_major);
#pragma unroll
    for (int kk = 0; kk < BN; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
      wmma::load_matrix_sync(a, sP + tm * 16 * LDP + kk, LDP);
      wmma::load_matrix_sync(b, sV + kk * LDH + tn * 16, LDH);
      wmma::mma_sync(acc, a, b, acc);
    }
    wmma::store_matrix_sync(sO + tm * 16 * LDO + tn * 16, acc, LDO, wmma::mem_row_major);
  }
}

template <int BM, int BN, int HD, int LDH, int LDS, typename T>
__device__ __forceinline__ void edg_attn_qk_scalar(const T *sQ, const T *sK, float *sS) {
  for (int idx = threadIdx.x; idx < BM * BN; idx += blockDim.x) {
    const int r = idx / BN, c = idx % BN;
    float acc = 0.0f;
#pragma unroll 8
    for (int d = 0; d < HD; ++d)
      acc += edg_ld(sQ[r * LDH + d]) * edg_ld(sK[c * LDH + d]);
    sS[r * LDS + c] = acc;
  }
}

template <int BM, int BN, int HD, int LDH, int LDP, int LDO, typename T>
__device__ __forceinline__ void edg_attn_pv_scalar(const T *sP, const T *sV, float *sO) {
  for (int idx = threadIdx.x; idx < BM * HD; idx += blockDim.x) {
    const int r = idx / HD, d = idx % HD;
    float acc = sO[r * LDO + d];
#pragma unroll 8
    for (int c = 0; c < BN; ++c)
      acc += edg_ld(sP[r * LDP + c]) * edg_ld(sV[c * LDH + d]);
    sO[r * LDO + d] = acc;
  }
}

// Rotate-half RoPE of pair (i, i + HD/2) of one head row, HF's rounding.
template <typename T, int HD>
__device__ __forceinline__ void edg_attn_rope(T *row, int i, int pos, float theta) {
  const float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)HD);
  const float angle = (float)pos * inv_freq;
  const float c = edg_rnd<T>(cosf(angle)), s = edg_rnd<T>(sinf(angle));
  const float a = edg_ld(row[i]), b = edg_ld(row[i + HD / 2]);
  edg_st(&row[i], edg_rnd<T>(edg_rnd<T>(a * c) + edg_rnd<T>(-b * s)));
  edg_st(&row[i + HD / 2], edg_rnd<T>(edg_rnd<T>(b * c) + edg_rnd<T>(a * s)));
}

)cu";

/// Tile shape and shared-memory layout of one kernel.
struct Tiles {
  int bm = 0, bn = 0, ldh = 0, lds = 0, ldp = 0, ldo = 0;
  int64_t offQ = 0, offK = 0, offV = 0, offS = 0, offP = 0, offO = 0,
          offQpos = 0, offKpos = 0, offKok = 0, bytes = 0;
  bool wmma = false;
};

constexpr int64_t kSmemBudget = 160 * 1024;

Tiles chooseTiles(int64_t hd, Type elt) {
  int64_t eb = elt.isF32() ? 4 : 2;
  for (auto [bm, bn] : {std::pair{64, 64}, {64, 32}, {32, 32}}) {
    Tiles t;
    t.wmma = eb == 2 && hd % 16 == 0;
    t.bm = bm, t.bn = bn;
    int pad = eb == 2 ? 8 : 4; // keeps rows 16-byte aligned, breaks strides
    t.ldh = int(hd) + pad, t.lds = bn + 4, t.ldp = bn + pad, t.ldo = int(hd) + 4;
    int64_t at = 0;
    auto region = [&](int64_t bytes) {
      int64_t offset = at;
      at += (bytes + 127) / 128 * 128;
      return offset;
    };
    t.offQ = region(int64_t(bm) * t.ldh * eb);
    t.offK = region(int64_t(bn) * t.ldh * eb);
    t.offV = region(int64_t(bn) * t.ldh * eb);
    t.offS = region(int64_t(bm) * t.lds * 4);
    t.offP = region(int64_t(bm) * t.ldp * eb);
    t.offO = region(int64_t(bm) * t.ldo * 4);
    t.offQpos = region(bm * 4);
    t.offKpos = region(bn * 4);
    t.offKok = region(bn);
    t.bytes = at;
    if (t.bytes <= kSmemBudget)
      return t;
  }
  return Tiles();
}

/// Condition "query at qpos may see key at kpos" and the conservative tile
/// test "some query in [qmin, qmax] may see kpos".
std::pair<std::string, std::string> maskConditions(MaskAttr mask) {
  std::string w = std::to_string(mask.getWindow());
  switch (mask.getKind()) {
  case MaskKind::causal:
    return {"kpos <= qpos", "kpos <= qmax"};
  case MaskKind::bidirectional:
    return {"true", "true"};
  case MaskKind::sliding_causal: // i - W < j <= i
    return {"kpos <= qpos && qpos - kpos < " + w,
            "kpos <= qmax && kpos > qmin - " + w};
  case MaskKind::sliding_bidirectional: // |i - j| < W
    return {"abs(qpos - kpos) < " + w,
            "kpos > qmin - " + w + " && kpos < qmax + " + w};
  case MaskKind::prefix:
    break;
  }
  return {"", ""};
}
} // namespace

void cuda::emitAttentionHelpers(llvm::raw_ostream &os) { os << kHelpers; }

void cuda::emitAttentionScalars(AttentionKernelOp k, llvm::raw_ostream &os) {
  os << "  constexpr float kScale = "
     << floatLiteral(k.getScale().convertToDouble()) << ";\n";
  if (auto cap = k.getSoftcap())
    os << "  constexpr float kCap = " << floatLiteral(cap->convertToDouble())
       << ";\n";
  if (auto theta = k.getRopeTheta())
    os << "  constexpr float kTheta = "
       << floatLiteral(theta->convertToDouble()) << ";\n";
}

std::pair<std::string, std::string>
cuda::attentionMaskConditions(MaskAttr mask) {
  return maskConditions(mask);
}

LogicalResult cuda::emitAttention(AttentionKernelOp k, llvm::raw_ostream &os) {
  auto [visible, tileMay] = maskConditions(k.getMask());
  if (visible.empty())
    return k.emitOpError("the prefix mask needs per-row prefix lengths, which "
                         "the attention kernel generator does not take");
  Type elt = k.getElementType();
  int64_t H = k.getNumHeads(), K = k.getNumKvHeads(), hd = k.getHeadDim();
  Tiles t = chooseTiles(hd, elt);
  if (!t.bm)
    return k.emitOpError() << "head_dim " << hd
                           << " needs more shared memory than the attention "
                              "kernel generator's tiles allow";
  std::string T = storageType(elt), name = k.getSymName().str();
  // finfo(dtype).min: HF's additive mask value; masked scores take it.
  std::string masked = elt.isBF16()  ? "-3.38953139e+38f"
                       : elt.isF16() ? "-65504.0f"
                                     : "-3.40282347e+38f";
  // Accurate exp for fp32 kernels (tight tolerance), fast exp otherwise.
  std::string exp = elt.isF32() ? "expf" : "__expf";
  std::string pos = k.getHasPositions() ? "pos[b * S + j]" : "(int)j";
  std::string path = t.wmma ? "wmma" : "scalar";

  os << "//===" << std::string(70, '-') << "===//\n"
     << "// " << name << ": attention kernel (FlashAttention-2 style), "
     << k.getUses() << " launch" << (k.getUses() == 1 ? "" : "es") << "\n"
     << "//   origin: " << k.getOrigin() << "\n"
     << "//   mask " << k.getMask() << ", scale "
     << formatNumber(k.getScale().convertToDouble()) << ", soft-cap "
     << (k.getSoftcap() ? formatNumber(k.getSoftcap()->convertToDouble())
                        : std::string("none"))
     << ", head_dim " << hd << ", heads " << H << " / kv " << K
     << " (GQA group " << k.getGroup() << "), " << elt
     << (k.getRopeTheta() ? ", RoPE fused" : "")
     << (k.getHasKeyValid() ? ", key padding" : "") << ", " << path
     << " tiles " << t.bm << "x" << t.bn << "\n"
     << "// edg-launch: " << name << " kind=attention block=128 smem="
     << t.bytes << " grid=ceil(T/" << t.bm << "),H,B width=" << t.bm
     << " dtype=" << dtypeName(elt) << " signature=" << attentionSignature(k)
     << "\n"
     << "//===" << std::string(70, '-') << "===//\n"
     << "extern \"C\" __global__ void __launch_bounds__(128) " << name << "(\n"
     << "    const " << T << " *__restrict__ q, const " << T
     << " *__restrict__ k, const " << T << " *__restrict__ v,\n"
     << "    const int *__restrict__ pos, const unsigned char *__restrict__ "
        "key_valid,\n"
     << "    " << T << " *__restrict__ out, edg_i64 B, edg_i64 Tq, edg_i64 S) "
                       "{\n"
     << "  // q/out [B, Tq, " << H << "*" << hd << "], k/v [B, S, " << K << "*"
     << hd << "], pos [B, Tq] (self-attention: S == Tq), key_valid [B, S]\n"
     << "  using Elt = " << T << ";\n"
     << "  constexpr int kH = " << H << ", kKv = " << K
     << ", kGroup = " << k.getGroup() << ", kHd = " << hd << ";\n"
     << "  constexpr int kBM = " << t.bm << ", kBN = " << t.bn
     << ", kThreads = 128, kRowsPerWarp = kBM / 4;\n"
     << "  constexpr int kLdh = " << t.ldh << ", kLds = " << t.lds
     << ", kLdp = " << t.ldp << ", kLdo = " << t.ldo << ";\n"
     << "  constexpr float kMasked = " << masked
     << "; // finfo(dtype).min, HF's mask value\n";
  emitAttentionScalars(k, os);
  os << "  EDG_DYNAMIC_SMEM(edg_smem); // " << t.bytes << " bytes\n"
     << "  Elt *sQ = reinterpret_cast<Elt *>(edg_smem + " << t.offQ
     << ");    // [kBM][kLdh]\n"
     << "  Elt *sK = reinterpret_cast<Elt *>(edg_smem + " << t.offK
     << ");    // [kBN][kLdh]\n"
     << "  Elt *sV = reinterpret_cast<Elt *>(edg_smem + " << t.offV
     << ");    // [kBN][kLdh]\n"
     << "  float *sS = reinterpret_cast<float *>(edg_smem + " << t.offS
     << "); // [kBM][kLds] scores\n"
     << "  Elt *sP = reinterpret_cast<Elt *>(edg_smem + " << t.offP
     << ");    // [kBM][kLdp] probabilities\n"
     << "  float *sO = reinterpret_cast<float *>(edg_smem + " << t.offO
     << "); // [kBM][kLdo] output accumulator\n"
     << "  int *sQpos = reinterpret_cast<int *>(edg_smem + " << t.offQpos
     << ");\n"
     << "  int *sKpos = reinterpret_cast<int *>(edg_smem + " << t.offKpos
     << ");\n"
     << "  unsigned char *sKok = edg_smem + " << t.offKok << ";\n"
     << "  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;\n"
     << "  const edg_i64 b = blockIdx.z, q0 = (edg_i64)blockIdx.x * kBM;\n"
     << "  const int h = blockIdx.y, kvh = h / kGroup; // GQA: blocks of "
        "kGroup heads\n\n"
     << "  // Query tile (rows past Tq are zero), query positions, O = 0.\n"
     << "  for (int idx = tid; idx < kBM * kHd; idx += kThreads) {\n"
     << "    const int r = idx / kHd, d = idx % kHd;\n"
     << "    if (q0 + r < Tq)\n"
     << "      sQ[r * kLdh + d] = q[((b * Tq + q0 + r) * kH + h) * kHd + d];\n"
     << "    else\n      edg_st(&sQ[r * kLdh + d], 0.0f);\n  }\n"
     << "  for (int r = tid; r < kBM; r += kThreads)\n"
     << "    sQpos[r] = q0 + r >= Tq ? 0 : "
     << (k.getHasPositions() ? "pos[b * Tq + q0 + r]" : "(int)(S - Tq + q0 + r)")
     << ";\n"
     << "  for (int idx = tid; idx < kBM * kLdo; idx += kThreads)\n"
     << "    sO[idx] = 0.0f;\n  __syncthreads();\n";
  if (k.getRopeTheta())
    os << "  // RoPE fused (edg-fuse): rotate the query tile once.\n"
       << "  for (int idx = tid; idx < kBM * (kHd / 2); idx += kThreads)\n"
       << "    edg_attn_rope<Elt, kHd>(&sQ[(idx / (kHd / 2)) * kLdh], idx % "
          "(kHd / 2),\n"
       << "                            sQpos[idx / (kHd / 2)], kTheta);\n"
       << "  __syncthreads();\n";
  os << "  int qmin = 0x7fffffff, qmax = -0x7fffffff;\n"
     << "  for (int r = 0; r < kBM && q0 + r < Tq; ++r) {\n"
     << "    qmin = min(qmin, sQpos[r]);\n    qmax = max(qmax, sQpos[r]);\n  }\n"
     << "  (void)qmin; (void)qmax;\n"
     << "  float m_i[kRowsPerWarp], l_i[kRowsPerWarp]; // row max, row sum\n"
     << "#pragma unroll\n  for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "    m_i[rr] = EDG_NEG_INF;\n    l_i[rr] = 0.0f;\n  }\n\n"
     << "  for (edg_i64 j0 = 0; j0 < S; j0 += kBN) {\n"
     << "    // Key positions and validity; skip tiles no query here can see.\n"
     << "    int any = 0;\n"
     << "    for (int c = tid; c < kBN; c += kThreads) {\n"
     << "      const edg_i64 j = j0 + c;\n"
     << "      const int kpos = j < S ? " << pos << " : 0;\n"
     << "      const bool ok = j < S"
     << (k.getHasKeyValid() ? " && key_valid[b * S + j] != 0" : "") << ";\n"
     << "      sKpos[c] = kpos;\n      sKok[c] = ok;\n"
     << "      any |= ok && (" << tileMay << ");\n    }\n"
     << "    if (!__syncthreads_or(any))\n      continue;\n"
     << "    for (int idx = tid; idx < kBN * kHd; idx += kThreads) {\n"
     << "      const int c = idx / kHd, d = idx % kHd;\n"
     << "      if (j0 + c < S) {\n"
     << "        const edg_i64 at = ((b * S + j0 + c) * kKv + kvh) * kHd + d;\n"
     << "        sK[c * kLdh + d] = k[at];\n        sV[c * kLdh + d] = v[at];\n"
     << "      } else {\n        edg_st(&sK[c * kLdh + d], 0.0f);\n"
     << "        edg_st(&sV[c * kLdh + d], 0.0f);\n      }\n    }\n"
     << "    __syncthreads();\n";
  if (k.getRopeTheta())
    os << "    for (int idx = tid; idx < kBN * (kHd / 2); idx += kThreads)\n"
       << "      edg_attn_rope<Elt, kHd>(&sK[(idx / (kHd / 2)) * kLdh], idx % "
          "(kHd / 2),\n"
       << "                              sKpos[idx / (kHd / 2)], kTheta);\n"
       << "    __syncthreads();\n";
  os << "    edg_attn_qk_" << path
     << "<kBM, kBN, kHd, kLdh, kLds, Elt>(sQ, sK, sS);\n"
     << "    __syncthreads();\n"
     << "    // One warp per row: HF eager order scale -> soft-cap -> mask, then\n"
     << "    // the online softmax update of m, l and O.\n"
     << "#pragma unroll\n"
     << "    for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "      const int r = warp * kRowsPerWarp + rr;\n"
     << "      const int qpos = sQpos[r];\n      (void)qpos;\n"
     << "      float sv[kBN / 32];\n      float mx = EDG_NEG_INF;\n"
     << "#pragma unroll\n"
     << "      for (int u = 0; u < kBN / 32; ++u) {\n"
     << "        const int c = lane + 32 * u, kpos = sKpos[c];\n"
     << "        (void)kpos;\n"
     << "        float s = edg_rnd<Elt>(sS[r * kLds + c]); // q.k\n"
     << "        s = edg_rnd<Elt>(s * kScale);\n";
  if (k.getSoftcap())
    os << "        s = edg_rnd<Elt>(s / kCap); // soft-cap, three rounded steps\n"
       << "        s = edg_rnd<Elt>(tanhf(s));\n"
       << "        s = edg_rnd<Elt>(s * kCap);\n";
  os << "        s = sKok[c] && (" << visible << ") ? s : kMasked;\n"
     << "        sv[u] = s;\n        mx = fmaxf(mx, s);\n      }\n"
     << "      mx = edg_warp_max(mx);\n"
     << "      const float m_new = fmaxf(m_i[rr], mx);\n"
     << "      const float alpha = " << exp << "(m_i[rr] - m_new);\n"
     << "      float psum = 0.0f;\n"
     << "#pragma unroll\n"
     << "      for (int u = 0; u < kBN / 32; ++u) {\n"
     << "        const float p = edg_rnd<Elt>(" << exp << "(sv[u] - m_new));\n"
     << "        edg_st(&sP[r * kLdp + lane + 32 * u], p);\n"
     << "        psum += p;\n      }\n"
     << "      l_i[rr] = l_i[rr] * alpha + edg_warp_sum(psum);\n"
     << "      m_i[rr] = m_new;\n"
     << "      for (int d = lane; d < kHd; d += 32)\n"
     << "        sO[r * kLdo + d] *= alpha;\n    }\n"
     << "    __syncthreads();\n"
     << "    edg_attn_pv_" << path
     << "<kBM, kBN, kHd, kLdh, kLdp, kLdo, Elt>(sP, sV, sO);\n"
     << "    __syncthreads();\n  }\n\n"
     << "  // out = O / l (a row whose key tiles were all skipped writes 0).\n"
     << "#pragma unroll\n"
     << "  for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "    const int r = warp * kRowsPerWarp + rr;\n"
     << "    if (q0 + r >= Tq)\n      continue;\n"
     << "    const float inv = l_i[rr] > 0.0f ? 1.0f / l_i[rr] : 0.0f;\n"
     << "    for (int d = lane; d < kHd; d += 32)\n"
     << "      edg_st(&out[((b * Tq + q0 + r) * kH + h) * kHd + d], sO[r * "
        "kLdo + d] * inv);\n"
     << "  }\n}\n\n";
  return success();
}
