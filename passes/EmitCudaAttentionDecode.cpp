//===- EmitCudaAttentionDecode.cpp - split-K KV-cache decoding ---*- C++
//-*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The decode variant of one causal or sliding-causal edg.attention_kernel
// ("flash-decoding"): one new query per sequence (T = 1) against a KV cache
// laid out as runtime/cpu/executor.h's KvState::SelfCache stores it,
// k_cache/v_cache [B, C, K, hd] (keys already rotated when RoPE is fused),
// per-slot absolute positions [B, C] and validity [B, C]; slots [0, S) are
// scanned. The grid covers the capacity C and S may come from a device
// word (`cache_len`, S = len + 1), so one step's launches are the same at
// every step and the runtime replays them as a CUDA graph.
// Also emitted for bidirectional kernels without RoPE (cross-attention):
// there the "cache" is the key/value projection of the encoder states
// [B, S, K*hd], C = S, validity the encoder's key padding, no positions.
//
//   <name>_decode          one block per (chunk of kChunk slots, kv head,
//                          batch) holding all kGroup query heads of the KV
//                          group, so the cache is read once: streams the
//                          chunk in tiles of kBN slots through shared memory
//                          (tiles with no visible slot are skipped), HF
//                          eager score order with the forward's rounding
//                          points, online softmax; writes the partial
//                          (o unnormalised, m, l) of the chunk
//   <name>_decode_combine  one block per (head, batch): out = sum_c o_c
//                          e^(m_c - M) / sum_c l_c e^(m_c - M)
//
// The masks are applied by position (causal: kpos <= qpos; sliding: and
// qpos - kpos < W), so slots outside the window cost only their position.
// Masked slots are excluded (-inf), so a query that sees no slot gets 0.
//===----------------------------------------------------------------------===//
#include "passes/EmitCuda.h"

using namespace mlir;
using namespace mlir::edg;

namespace {
constexpr int64_t kSmemBudget = 160 * 1024;
constexpr int kChunk = 256;
} // namespace

LogicalResult cuda::emitAttentionDecode(AttentionKernelOp k,
                                        llvm::raw_ostream &os) {
  auto [visible, tileMay] = attentionMaskConditions(k.getMask());
  (void)tileMay;
  if (visible.empty())
    return success();
  Type elt = k.getElementType();
  const int64_t H = k.getNumHeads(), K = k.getNumKvHeads(), hd = k.getHeadDim(),
                G = k.getGroup();
  const int64_t eb = elt.isF32() ? 4 : 2;
  const int ldk = int(hd) + (eb == 2 ? 8 : 4);
  std::string name = k.getSymName().str(), T = storageType(elt);
  int bn = 0;
  int64_t offQ = 0, offK = 0, offV = 0, offS = 0, offO = 0, offOk = 0,
          bytes = 0;
  for (int cand : {64, 32}) {
    int64_t at = 0;
    auto region = [&](int64_t n) {
      int64_t o = at;
      at += (n + 127) / 128 * 128;
      return o;
    };
    offQ = region(G * ldk * eb);
    offK = region(int64_t(cand) * ldk * eb);
    offV = region(int64_t(cand) * ldk * eb);
    offS = region(G * cand * 4);
    offO = region(G * hd * 4);
    offOk = region(cand);
    if (at <= kSmemBudget) {
      bn = cand, bytes = at;
      break;
    }
  }
  if (!bn) {
    os << "// " << name << ": no decode kernels: head_dim " << hd
       << " needs more shared memory than the decode tiles allow\n\n";
    return success();
  }
  std::string exp = elt.isF32() ? "expf" : "__expf";
  std::string sig = attentionSignature(k), dtype = dtypeName(elt);
  std::string rule = "//===" + std::string(70, '-') + "===//\n";

  os << rule << "// " << name
     << "_decode: KV-cache decoding (split-K over the cache), one query per "
        "row,\n"
     << "//   all " << G << " query heads of a kv head per block, " << bytes
     << " bytes of shared memory, tiles of " << bn << " slots\n"
     << "// edg-launch: " << name << "_decode kind=attention_decode block=128 "
     << "smem=" << bytes << " grid=ceil(C/" << kChunk
     << "),K,B width=" << kChunk << " dtype=" << dtype << " signature=" << sig
     << "\n"
     << rule << "extern \"C\" __global__ void __launch_bounds__(128) " << name
     << "_decode(\n"
     << "    const " << T << " *__restrict__ q, const " << T
     << " *__restrict__ k_cache, const " << T << " *__restrict__ v_cache,\n"
     << "    const int *__restrict__ pos, const int *__restrict__ cache_pos,\n"
     << "    const unsigned char *__restrict__ cache_valid, const edg_i64 "
        "*__restrict__ cache_len,\n"
     << "    float *__restrict__ part, edg_i64 B, edg_i64 S, edg_i64 C) {\n"
     << "  // q [B, 1, " << H << "*" << hd
     << "] (pre-RoPE when RoPE is fused), k_cache/v_cache [B, C, " << K << "*"
     << hd << "]\n"
     << "  // (keys stored rotated), pos [B] query positions (null: S - 1), "
        "cache_pos [B, C]\n"
     << "  // (null: the slot index), cache_valid [B, C] (null: every slot "
        "below S); slots [0, S)\n"
     << "  // are read, S = *cache_len + 1 when cache_len is set (a device "
        "word, so that a captured\n"
     << "  // CUDA graph replays every step). part [B, H, ceil(C/kChunk), kHd "
        "+ 2] fp32: per chunk\n"
     << "  // o (unnormalised), m, l; chunks at or past S are not written.\n"
     << "  using Elt = " << T << ";\n"
     << "  constexpr int kH = " << H << ", kKv = " << K << ", kGroup = " << G
     << ", kHd = " << hd << ";\n"
     << "  constexpr int kChunk = " << kChunk << ", kBN = " << bn
     << ", kThreads = 128, kLdk = " << ldk << ";\n"
     << "  constexpr int kRowsPerWarp = (kGroup + 3) / 4;\n";
  cuda::emitAttentionScalars(k, os);
  os << "  EDG_DYNAMIC_SMEM(edg_smem); // " << bytes << " bytes\n"
     << "  Elt *sQ = reinterpret_cast<Elt *>(edg_smem + " << offQ
     << ");     // [kGroup][kLdk] queries (rotated)\n"
     << "  Elt *sK = reinterpret_cast<Elt *>(edg_smem + " << offK
     << ");     // [kBN][kLdk] cached keys\n"
     << "  Elt *sV = reinterpret_cast<Elt *>(edg_smem + " << offV
     << ");     // [kBN][kLdk] cached values\n"
     << "  float *sS = reinterpret_cast<float *>(edg_smem + " << offS
     << "); // [kGroup][kBN] scores, then probabilities\n"
     << "  float *sO = reinterpret_cast<float *>(edg_smem + " << offO
     << "); // [kGroup][kHd] output accumulator\n"
     << "  unsigned char *sOk = edg_smem + " << offOk
     << "; // [kBN] slot visible to the query\n"
     << "  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;\n"
     << "  if (cache_len)\n    S = *cache_len + 1;\n"
     << "  const edg_i64 b = blockIdx.z, c0 = (edg_i64)blockIdx.x * kChunk;\n"
     << "  if (c0 >= S) // the grid covers the capacity\n    return;\n"
     << "  const edg_i64 c1 = S < c0 + kChunk ? S : c0 + kChunk;\n"
     << "  const int kvh = blockIdx.y;\n"
     << "  const int qpos = pos ? pos[b] : (int)(S - 1);\n"
     << "  for (int idx = tid; idx < kGroup * kHd; idx += kThreads) {\n"
     << "    const int g = idx / kHd, d = idx % kHd;\n"
     << "    sQ[g * kLdk + d] = q[(b * kH + kvh * kGroup + g) * kHd + d];\n"
     << "    sO[idx] = 0.0f;\n  }\n"
     << "  __syncthreads();\n";
  if (k.getRopeTheta())
    os << "  for (int idx = tid; idx < kGroup * (kHd / 2); idx += kThreads)\n"
       << "    edg_attn_rope<Elt, kHd>(&sQ[(idx / (kHd / 2)) * kLdk], idx % "
          "(kHd / 2), qpos, kTheta);\n"
       << "  __syncthreads();\n";
  os << "  float m_i[kRowsPerWarp], l_i[kRowsPerWarp]; // rows g = warp + 4 "
        "rr\n"
     << "#pragma unroll\n  for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "    m_i[rr] = EDG_NEG_INF;\n    l_i[rr] = 0.0f;\n  }\n"
     << "  for (edg_i64 j0 = c0; j0 < c1; j0 += kBN) {\n"
     << "    int any = 0;\n"
     << "    for (int c = tid; c < kBN; c += kThreads) {\n"
     << "      const edg_i64 j = j0 + c;\n"
     << "      const bool ok = j < c1 && (!cache_valid || cache_valid[b * C + "
        "j] != 0);\n"
     << "      const int kpos = j < c1 ? (cache_pos ? cache_pos[b * C + j] : "
        "(int)j) : 0;\n"
     << "      (void)kpos;\n"
     << "      sOk[c] = ok && (" << visible << ");\n"
     << "      any |= sOk[c];\n    }\n"
     << "    if (!__syncthreads_or(any))\n      continue;\n"
     << "    for (int idx = tid; idx < kBN * kHd; idx += kThreads) {\n"
     << "      const int c = idx / kHd, d = idx % kHd;\n"
     << "      if (sOk[c]) {\n"
     << "        const edg_i64 at = ((b * C + j0 + c) * kKv + kvh) * kHd + d;\n"
     << "        sK[c * kLdk + d] = k_cache[at];\n"
     << "        sV[c * kLdk + d] = v_cache[at];\n"
     << "      } else {\n        edg_st(&sK[c * kLdk + d], 0.0f);\n"
     << "        edg_st(&sV[c * kLdk + d], 0.0f);\n      }\n    }\n"
     << "    __syncthreads();\n"
     << "    for (int idx = tid; idx < kGroup * kBN; idx += kThreads) {\n"
     << "      const int g = idx / kBN, c = idx % kBN;\n"
     << "      float acc = 0.0f;\n"
     << "#pragma unroll 8\n"
     << "      for (int d = 0; d < kHd; ++d)\n"
     << "        acc += edg_ld(sQ[g * kLdk + d]) * edg_ld(sK[c * kLdk + d]);\n"
     << "      sS[idx] = acc;\n    }\n"
     << "    __syncthreads();\n"
     << "    // One warp per query head: HF eager order, online softmax.\n"
     << "#pragma unroll\n"
     << "    for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "      const int g = warp + 4 * rr;\n"
     << "      if (g >= kGroup)\n        break;\n"
     << "      float sv[kBN / 32];\n      float mx = EDG_NEG_INF;\n"
     << "#pragma unroll\n"
     << "      for (int u = 0; u < kBN / 32; ++u) {\n"
     << "        const int c = lane + 32 * u;\n"
     << attentionScoreCode(k, "sS[g * kBN + c]", "        ")
     << "        sv[u] = sOk[c] ? s : EDG_NEG_INF;\n"
     << "        mx = fmaxf(mx, sv[u]);\n      }\n"
     << "      mx = edg_warp_max(mx);\n"
     << "      const float m_new = fmaxf(m_i[rr], mx);\n"
     << "      const bool live = m_new != EDG_NEG_INF; // warp-uniform\n"
     << "      const float alpha = live ? " << exp
     << "(m_i[rr] - m_new) : 1.0f;\n"
     << "      float psum = 0.0f;\n"
     << "#pragma unroll\n"
     << "      for (int u = 0; u < kBN / 32; ++u) {\n"
     << "        const float p = live && sOk[lane + 32 * u] ? edg_rnd<Elt>("
     << exp << "(sv[u] - m_new)) : 0.0f;\n"
     << "        sS[g * kBN + lane + 32 * u] = p;\n"
     << "        psum += p;\n      }\n"
     << "      l_i[rr] = l_i[rr] * alpha + edg_warp_sum(psum);\n"
     << "      m_i[rr] = m_new;\n"
     << "      for (int d = lane; d < kHd; d += 32)\n"
     << "        sO[g * kHd + d] *= alpha;\n    }\n"
     << "    __syncthreads();\n"
     << "    for (int idx = tid; idx < kGroup * kHd; idx += kThreads) {\n"
     << "      const int g = idx / kHd, d = idx % kHd;\n"
     << "      float acc = sO[idx];\n"
     << "#pragma unroll 8\n"
     << "      for (int c = 0; c < kBN; ++c)\n"
     << "        acc += sS[g * kBN + c] * edg_ld(sV[c * kLdk + d]);\n"
     << "      sO[idx] = acc;\n    }\n"
     << "    __syncthreads();\n  }\n"
     << "  const edg_i64 nc = (C + kChunk - 1) / kChunk;\n"
     << "  for (int idx = tid; idx < kGroup * kHd; idx += kThreads) {\n"
     << "    const int g = idx / kHd, d = idx % kHd;\n"
     << "    part[((b * kH + kvh * kGroup + g) * nc + blockIdx.x) * (kHd + 2) "
        "+ "
        "d] = sO[idx];\n  }\n"
     << "#pragma unroll\n"
     << "  for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "    const int g = warp + 4 * rr;\n"
     << "    if (g < kGroup && lane == 0) {\n"
     << "      float *at = part + ((b * kH + kvh * kGroup + g) * nc + "
        "blockIdx.x) * (kHd + 2) + kHd;\n"
     << "      at[0] = m_i[rr];\n      at[1] = l_i[rr];\n    }\n  }\n}\n\n";

  os << rule << "// " << name
     << "_decode_combine: merges the per-chunk partials of " << name
     << "_decode\n"
     << "// edg-launch: " << name
     << "_decode_combine kind=attention_decode_combine block=128 smem=0 "
        "grid=H,B width="
     << kChunk << " dtype=" << dtype << " signature=" << sig << "\n"
     << rule << "extern \"C\" __global__ void __launch_bounds__(128) " << name
     << "_decode_combine(\n"
     << "    const float *__restrict__ part, const edg_i64 *__restrict__ "
        "cache_len, " << T << " *__restrict__ out,\n"
     << "    edg_i64 B, edg_i64 S, edg_i64 C) {\n"
     << "  // out [B, 1, " << H << "*" << hd
     << "]; S as for _decode (cache_len: *cache_len + 1)\n"
     << "  constexpr int kH = " << H << ", kHd = " << hd
     << ", kChunk = " << kChunk << ";\n"
     << "  if (cache_len)\n    S = *cache_len + 1;\n"
     << "  const int h = blockIdx.x;\n  const edg_i64 b = blockIdx.y;\n"
     << "  const edg_i64 nc = (C + kChunk - 1) / kChunk, n = (S + kChunk - 1) "
        "/ kChunk;\n"
     << "  const float *base = part + (b * kH + h) * nc * (kHd + 2);\n"
     << "  float M = EDG_NEG_INF;\n"
     << "  for (edg_i64 c = 0; c < n; ++c)\n"
     << "    M = fmaxf(M, base[c * (kHd + 2) + kHd]);\n"
     << "  float L = 0.0f;\n"
     << "  for (edg_i64 c = 0; c < n; ++c) {\n"
     << "    const float m = base[c * (kHd + 2) + kHd];\n"
     << "    if (m != EDG_NEG_INF)\n"
     << "      L += base[c * (kHd + 2) + kHd + 1] * " << exp << "(m - M);\n"
     << "  }\n"
     << "  const float inv = L > 0.0f ? 1.0f / L : 0.0f;\n"
     << "  for (int d = threadIdx.x; d < kHd; d += blockDim.x) {\n"
     << "    float acc = 0.0f;\n"
     << "    for (edg_i64 c = 0; c < n; ++c) {\n"
     << "      const float m = base[c * (kHd + 2) + kHd];\n"
     << "      if (m != EDG_NEG_INF)\n"
     << "        acc += base[c * (kHd + 2) + d] * " << exp << "(m - M);\n"
     << "    }\n"
     << "    edg_st(&out[(b * kH + h) * kHd + d], acc * inv);\n  }\n}\n\n";
  return success();
}
