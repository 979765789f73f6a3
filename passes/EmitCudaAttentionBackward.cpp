//===- EmitCudaAttentionBackward.cpp - FlashAttention-2 backward -*- C++
//-*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The backward of one edg.attention_kernel specialisation (same mask kind
// and window, soft-cap, scale, head_dim, heads/GQA group, element type,
// fused RoPE, positions and key padding as the forward), FlashAttention-2
// style: no [T, S] matrix in global memory, no atomics, deterministic.
//
//   <name>_bwd_stats  one block per (query tile, head, batch): recomputes the
//                     masked, soft-capped scores row by row (online max/sum)
//                     -> lse [B, H, T] (+inf for a row that sees no key), and
//                     delta = rowsum(dO * O) [B, H, T], both fp32
//   <name>_bwd_dkdv   one block per (key tile, kv head, batch); loops over the
//                     query tiles of every query head of its GQA group:
//                       P = exp(s - lse), dV += P^T dO, dP = dO V^T,
//                       dS = P (dP - delta) (1 - tanh^2) scale, dK += dS^T Q
//   <name>_bwd_dq     one block per (query tile, head, batch); loops over the
//                     key tiles: dQ += dS K
//
// With RoPE fused, q and k are the pre-RoPE inputs; Q and K tiles are
// rotated as in the forward and the gradients are rotated back (the
// transpose of the rotation) before they are stored. Masked entries get
// P = 0, so a row that sees no key (lse = +inf) contributes nothing: its dQ
// is 0 and it adds nothing to dK, dV (HF's uniform attention over finfo.min
// scores would pass gradient to v; such rows are padding). fp32 accumulation
// everywhere; P and dS are rounded to the storage type for the tensor-core
// products; the scores repeat the forward's rounding points.
//===----------------------------------------------------------------------===//
#include "passes/EmitCuda.h"

using namespace mlir;
using namespace mlir::edg;

namespace {

constexpr const char *kBackwardHelpers = R"cu(// Attention backward helpers.
#define EDG_POS_INF (__int_as_float(0x7f800000))

// C[N][HD] (fp32, ld LDC) += A[M][N]^T . B[M][HD] over shared memory.
template <int M, int N, int HD, int LDA, int LDB, int LDC, typename T>
__device__ __forceinline__ void edg_attn_tn_wmma(const T *sA, const T *sB, float *sC) {
  using namespace nvcuda;
  constexpr int kTiles = (N / 16) * (HD / 16);
  for (int tile = threadIdx.x >> 5; tile < kTiles; tile += blockDim.x >> 5) {
    const int tn = tile / (HD / 16), td = tile % (HD / 16);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::load_matrix_sync(acc, sC + tn * 16 * LDC + td * 16, LDC, wmma::mem_row_major);
#pragma unroll
    for (int kk = 0; kk < M; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::col_major> a; // A^T
      wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
      wmma::load_matrix_sync(a, sA + kk * LDA + tn * 16, LDA);
      wmma::load_matrix_sync(b, sB + kk * LDB + td * 16, LDB);
      wmma::mma_sync(acc, a, b, acc);
    }
    wmma::store_matrix_sync(sC + tn * 16 * LDC + td * 16, acc, LDC, wmma::mem_row_major);
  }
}

template <int M, int N, int HD, int LDA, int LDB, int LDC, typename T>
__device__ __forceinline__ void edg_attn_tn_scalar(const T *sA, const T *sB, float *sC) {
  for (int idx = threadIdx.x; idx < N * HD; idx += blockDim.x) {
    const int c = idx / HD, d = idx % HD;
    float acc = sC[c * LDC + d];
#pragma unroll 8
    for (int r = 0; r < M; ++r)
      acc += edg_ld(sA[r * LDA + c]) * edg_ld(sB[r * LDB + d]);
    sC[c * LDC + d] = acc;
  }
}

// Transpose of edg_attn_rope on an fp32 gradient row: rotates pair
// (i, i + HD/2) by -angle with the forward's (rounded) cos and sin.
template <typename T, int HD>
__device__ __forceinline__ void edg_attn_rope_grad(float *row, int i, int pos, float theta) {
  const float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)HD);
  const float angle = (float)pos * inv_freq;
  const float c = edg_rnd<T>(cosf(angle)), s = edg_rnd<T>(sinf(angle));
  const float g1 = row[i], g2 = row[i + HD / 2];
  row[i] = g1 * c + g2 * s;
  row[i + HD / 2] = g2 * c - g1 * s;
}

)cu";

constexpr int64_t kSmemBudget = 160 * 1024;

/// Dynamic shared memory regions of one kernel, 128-byte aligned.
struct Smem {
  int64_t at = 0;
  std::string decls;
  void add(const std::string &type, const std::string &name, int64_t bytes,
           const std::string &what) {
    decls += "  " + type + " *" + name + " = reinterpret_cast<" + type +
             " *>(edg_smem + " + std::to_string(at) + "); // " + what + "\n";
    at += (bytes + 127) / 128 * 128;
  }
};

struct Tile {
  int bm = 0, bn = 0, ldh = 0, lds = 0, ldp = 0, ldo = 0;
  bool wmma = false;
  Smem smem;
};

enum class Which { stats, dkdv, dq };

/// The largest of 64x64, 64x32, 32x32, 16x32 (query rows x keys) whose
/// shared memory fits; bm == 0 when none does.
Tile chooseTile(Which which, int64_t hd, Type elt) {
  const int64_t eb = elt.isF32() ? 4 : 2;
  const std::string E = "Elt";
  for (auto [bm, bn] : {std::pair{64, 64}, {64, 32}, {32, 32}, {16, 32}}) {
    Tile t;
    t.bm = bm, t.bn = bn;
    t.wmma = eb == 2 && hd % 16 == 0;
    const int pad = eb == 2 ? 8 : 4;
    t.ldh = int(hd) + pad, t.lds = bn + 4, t.ldp = bn + pad,
    t.ldo = int(hd) + 4;
    Smem &s = t.smem;
    auto rows = [&](int n) { return int64_t(n) * t.ldh * eb; };
    switch (which) {
    case Which::stats:
      s.add(E, "sQ", rows(bm), "[kBM][kLdh] queries (rotated)");
      s.add(E, "sK", rows(bn), "[kBN][kLdh] keys (rotated)");
      s.add("float", "sS", int64_t(bm) * t.lds * 4, "[kBM][kLds] q.k");
      break;
    case Which::dkdv:
      s.add(E, "sK", rows(bn), "[kBN][kLdh] keys (rotated)");
      s.add(E, "sV", rows(bn), "[kBN][kLdh] values");
      s.add(E, "sQ", rows(bm), "[kBM][kLdh] queries (rotated)");
      s.add(E, "sdO", rows(bm), "[kBM][kLdh] output gradient");
      s.add("float", "sS", int64_t(bm) * t.lds * 4, "[kBM][kLds] q.k");
      s.add("float", "sdP", int64_t(bm) * t.lds * 4, "[kBM][kLds] dO.v");
      s.add(E, "sP", int64_t(bm) * t.ldp * eb, "[kBM][kLdp] probabilities");
      s.add(E, "sdS", int64_t(bm) * t.ldp * eb, "[kBM][kLdp] score gradient");
      s.add("float", "sdK", int64_t(bn) * t.ldo * 4,
            "[kBN][kLdo] dK (rotated)");
      s.add("float", "sdV", int64_t(bn) * t.ldo * 4, "[kBN][kLdo] dV");
      s.add("float", "sLse", bm * 4, "[kBM]");
      s.add("float", "sDelta", bm * 4, "[kBM]");
      break;
    case Which::dq:
      s.add(E, "sQ", rows(bm), "[kBM][kLdh] queries (rotated)");
      s.add(E, "sdO", rows(bm), "[kBM][kLdh] output gradient");
      s.add(E, "sK", rows(bn), "[kBN][kLdh] keys (rotated)");
      s.add(E, "sV", rows(bn), "[kBN][kLdh] values");
      s.add("float", "sS", int64_t(bm) * t.lds * 4, "[kBM][kLds] q.k");
      s.add("float", "sdP", int64_t(bm) * t.lds * 4, "[kBM][kLds] dO.v");
      s.add(E, "sdS", int64_t(bm) * t.ldp * eb, "[kBM][kLdp] score gradient");
      s.add("float", "sdQ", int64_t(bm) * t.ldo * 4,
            "[kBM][kLdo] dQ (rotated)");
      s.add("float", "sLse", bm * 4, "[kBM]");
      s.add("float", "sDelta", bm * 4, "[kBM]");
      break;
    }
    s.add("int", "sQpos", bm * 4, "[kBM] query positions");
    s.add("int", "sKpos", bn * 4, "[kBN] key positions");
    s.add("unsigned char", "sKok", bn, "[kBN] key present and not padding");
    if (s.at <= kSmemBudget)
      return t;
  }
  return Tile();
}

/// "query at qpos may see some key in [kmin, kmax]" (conservative).
std::string queryMaySee(MaskAttr mask) {
  std::string w = std::to_string(mask.getWindow());
  switch (mask.getKind()) {
  case MaskKind::causal:
    return "kmin <= qpos";
  case MaskKind::sliding_causal:
    return "kmin <= qpos && kmax > qpos - " + w;
  case MaskKind::sliding_bidirectional:
    return "kmin < qpos + " + w + " && kmax > qpos - " + w;
  default:
    return "true";
  }
}

/// `text` with `prefix` before every line.
std::string indent(const std::string &text, const std::string &prefix) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos)
      end = text.size();
    out += prefix + text.substr(at, end - at) + "\n";
    at = end + 1;
  }
  return out;
}

/// Replaces every `@KEY@` of `text`.
std::string
subst(std::string text,
      std::initializer_list<std::pair<const char *, std::string>> kv) {
  for (auto &[key, value] : kv) {
    std::string k = std::string("@") + key + "@";
    for (size_t at = text.find(k); at != std::string::npos;
         at = text.find(k, at + value.size()))
      text.replace(at, k.size(), value);
  }
  return text;
}

struct Ctx {
  mutable AttentionKernelOp k; // op accessors are not const
  std::string name, T, visible, tileMay, qMay, qpos, kpos, keyOk, exp, path;
  std::string dcap;
};

void header(llvm::raw_ostream &os, const Ctx &c, const Tile &t,
            llvm::StringRef kind, llvm::StringRef suffix, llvm::StringRef grid,
            int width, llvm::StringRef what) {
  os << "//===" << std::string(70, '-') << "===//\n"
     << "// " << c.name << suffix << ": attention backward, " << what << "\n"
     << "//   of " << c.name << ", " << t.smem.at << " bytes of shared memory, "
     << c.path << " tiles " << t.bm << "x" << t.bn << "\n"
     << "// edg-launch: " << c.name << suffix << " kind=" << kind
     << " block=128 smem=" << t.smem.at << " grid=" << grid
     << " width=" << width << " dtype=" << dtypeName(c.k.getElementType())
     << " signature=" << attentionSignature(c.k) << "\n"
     << "//===" << std::string(70, '-') << "===//\n";
}

void constants(llvm::raw_ostream &os, const Ctx &c, const Tile &t) {
  AttentionKernelOp k = c.k;
  os << "  using Elt = " << c.T << ";\n"
     << "  constexpr int kH = " << k.getNumHeads()
     << ", kKv = " << k.getNumKvHeads() << ", kGroup = " << k.getGroup()
     << ", kHd = " << k.getHeadDim() << ";\n"
     << "  constexpr int kBM = " << t.bm << ", kBN = " << t.bn
     << ", kThreads = 128, kRowsPerWarp = kBM / 4;\n"
     << "  constexpr int kLdh = " << t.ldh << ", kLds = " << t.lds
     << ", kLdp = " << t.ldp << ", kLdo = " << t.ldo << ";\n";
  cuda::emitAttentionScalars(k, os);
  os << "  (void)kKv; (void)kGroup; (void)kRowsPerWarp; (void)kLdp; "
        "(void)kLdo;\n"
     << "  EDG_DYNAMIC_SMEM(edg_smem); // " << t.smem.at << " bytes\n"
     << t.smem.decls
     << "  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;\n"
     << "  (void)warp; (void)lane;\n";
}

// Query tile -> sQ (zero past Tq), sQpos; with `grad`: dO -> sdO, lse, delta.
constexpr const char *kLoadQueries =
    R"cu(  for (int idx = tid; idx < kBM * kHd; idx += kThreads) {
    const int r = idx / kHd, d = idx % kHd;
    const edg_i64 at = ((b * Tq + q0 + r) * kH + h) * kHd + d;
    if (q0 + r < Tq) {
      sQ[r * kLdh + d] = q[at];@LOAD_DO@
    } else {
      edg_st(&sQ[r * kLdh + d], 0.0f);@ZERO_DO@
    }
  }
  for (int r = tid; r < kBM; r += kThreads) {
    sQpos[r] = q0 + r >= Tq ? 0 : @QPOS@;@LOAD_STATS@
  }
)cu";

std::string loadQueries(const Ctx &c, bool grad) {
  return subst(
      kLoadQueries,
      {{"LOAD_DO", grad ? "\n      sdO[r * kLdh + d] = dout[at];" : ""},
       {"ZERO_DO", grad ? "\n      edg_st(&sdO[r * kLdh + d], 0.0f);" : ""},
       {"QPOS", c.qpos},
       {"LOAD_STATS",
        grad ? "\n    const edg_i64 row = (b * kH + h) * Tq + q0 + r;\n"
               "    sLse[r] = q0 + r < Tq ? lse[row] : EDG_POS_INF;\n"
               "    sDelta[r] = q0 + r < Tq ? delta[row] : 0.0f;"
             : ""}});
}

std::string ropeRows(const Ctx &c, const char *tile, const char *rows,
                     const char *posArr, const char *indent) {
  if (!c.k.getRopeTheta())
    return "";
  std::string i = indent;
  return i + "for (int idx = tid; idx < " + rows +
         " * (kHd / 2); idx += kThreads)\n" + i +
         "  edg_attn_rope<Elt, kHd>(&" + tile +
         "[(idx / (kHd / 2)) * kLdh], idx % (kHd / 2),\n" + i +
         "                          " + posArr +
         "[idx / (kHd / 2)], kTheta);\n" + i + "__syncthreads();\n";
}

std::string ropeGradRows(const Ctx &c, const char *acc, const char *rows,
                         const char *posArr) {
  if (!c.k.getRopeTheta())
    return "";
  return std::string("  // RoPE fused: rotate the gradient back (transpose of "
                     "the rotation).\n") +
         "  for (int idx = tid; idx < " + rows +
         " * (kHd / 2); idx += kThreads)\n" +
         "    edg_attn_rope_grad<Elt, kHd>(&" + acc +
         "[(idx / (kHd / 2)) * kLdo], idx % (kHd / 2),\n" +
         "                                 " + posArr +
         "[idx / (kHd / 2)], kTheta);\n  __syncthreads();\n";
}

// Key tile positions/validity and the skip test of the forward.
constexpr const char *kKeyTileHead = R"cu(    int any = 0;
    for (int c = tid; c < kBN; c += kThreads) {
      const edg_i64 j = j0 + c;
      const int kpos = j < S ? @KPOS@ : 0;
      const bool ok = @KEYOK@;
      sKpos[c] = kpos;
      sKok[c] = ok;
      any |= ok && (@TILEMAY@);
    }
    if (!__syncthreads_or(any))
      continue;
)cu";

// Element (r, c) of the tile: p = exp(s - lse) and the score gradient.
constexpr const char *kScoreGrad =
    R"cu(    for (int idx = tid; idx < kBM * kBN; idx += kThreads) {
      const int r = idx / kBN, c = idx % kBN;
      const int qpos = sQpos[r], kpos = sKpos[c];
      (void)qpos; (void)kpos;
@SCORE@      const bool visible = sKok[c] && (@VISIBLE@);
      const float p = visible ? @EXP@(s - sLse[r]) : 0.0f;
      const float ds = p * (sdP[r * kLds + c] - sDelta[r]) * @DCAP@ * kScale;@STORE_P@
      edg_st(&sdS[r * kLdp + c], ds);
    }
    __syncthreads();
)cu";

std::string scoreGrad(const Ctx &c, bool storeP) {
  return subst(
      kScoreGrad,
      {{"SCORE", cuda::attentionScoreCode(c.k, "sS[r * kLds + c]", "      ")},
       {"VISIBLE", c.visible},
       {"EXP", c.exp},
       {"DCAP", c.dcap},
       {"STORE_P", storeP ? "\n      edg_st(&sP[r * kLdp + c], p);" : ""}});
}

void emitStats(llvm::raw_ostream &os, const Ctx &c, const Tile &t) {
  header(os, c, t, "attention_bwd_stats", "_bwd_stats",
         "ceil(T/" + std::to_string(t.bm) + "),H,B", t.bm,
         "row statistics lse and delta");
  os << "extern \"C\" __global__ void __launch_bounds__(128) " << c.name
     << "_bwd_stats(\n"
     << "    const " << c.T << " *__restrict__ q, const " << c.T
     << " *__restrict__ k, const int *__restrict__ pos,\n"
     << "    const unsigned char *__restrict__ key_valid, const " << c.T
     << " *__restrict__ o,\n"
     << "    const " << c.T
     << " *__restrict__ dout, float *__restrict__ lse, "
        "float *__restrict__ delta,\n"
     << "    edg_i64 B, edg_i64 Tq, edg_i64 S) {\n"
     << "  // q, o, dout [B, Tq, H*hd] (q pre-RoPE when RoPE is fused), k [B, "
        "S, K*hd], pos [B, Tq],\n"
     << "  // key_valid [B, S]; lse = logsumexp of the visible scores (+inf: "
        "no key visible) and\n"
     << "  // delta = rowsum(dout * o), both [B, H, Tq] fp32.\n";
  constants(os, c, t);
  os << "  const edg_i64 b = blockIdx.z, q0 = (edg_i64)blockIdx.x * kBM;\n"
     << "  const int h = blockIdx.y, kvh = h / kGroup;\n"
     << loadQueries(c, false) << "  __syncthreads();\n"
     << ropeRows(c, "sQ", "kBM", "sQpos", "  ")
     << "  int qmin = 0x7fffffff, qmax = -0x7fffffff;\n"
     << "  for (int r = 0; r < kBM && q0 + r < Tq; ++r) {\n"
     << "    qmin = min(qmin, sQpos[r]);\n    qmax = max(qmax, sQpos[r]);\n  "
        "}\n"
     << "  (void)qmin; (void)qmax;\n"
     << "  // delta = rowsum(dO * O), one warp per row.\n"
     << "  for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "    const int r = warp * kRowsPerWarp + rr;\n"
     << "    if (q0 + r >= Tq)\n      continue;\n"
     << "    const edg_i64 at = ((b * Tq + q0 + r) * kH + h) * kHd;\n"
     << "    float acc = 0.0f;\n"
     << "    for (int d = lane; d < kHd; d += 32)\n"
     << "      acc += edg_ld(dout[at + d]) * edg_ld(o[at + d]);\n"
     << "    acc = edg_warp_sum(acc);\n"
     << "    if (lane == 0)\n"
     << "      delta[(b * kH + h) * Tq + q0 + r] = acc;\n  }\n"
     << "  float m_i[kRowsPerWarp], l_i[kRowsPerWarp];\n"
     << "#pragma unroll\n  for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "    m_i[rr] = EDG_NEG_INF;\n    l_i[rr] = 0.0f;\n  }\n"
     << "  for (edg_i64 j0 = 0; j0 < S; j0 += kBN) {\n"
     << subst(kKeyTileHead,
              {{"KPOS", c.kpos}, {"KEYOK", c.keyOk}, {"TILEMAY", c.tileMay}})
     << "    for (int idx = tid; idx < kBN * kHd; idx += kThreads) {\n"
     << "      const int cc = idx / kHd, d = idx % kHd;\n"
     << "      if (j0 + cc < S)\n"
     << "        sK[cc * kLdh + d] = k[((b * S + j0 + cc) * kKv + kvh) * kHd + "
        "d];\n"
     << "      else\n        edg_st(&sK[cc * kLdh + d], 0.0f);\n    }\n"
     << "    __syncthreads();\n"
     << ropeRows(c, "sK", "kBN", "sKpos", "    ") << "    edg_attn_qk_"
     << c.path << "<kBM, kBN, kHd, kLdh, kLds, Elt>(sQ, sK, sS);\n"
     << "    __syncthreads();\n"
     << "    // One warp per row: online max and sum over the visible keys.\n"
     << "#pragma unroll\n"
     << "    for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "      const int r = warp * kRowsPerWarp + rr;\n"
     << "      const int qpos = sQpos[r];\n      (void)qpos;\n"
     << "      float sv[kBN / 32];\n      float mx = EDG_NEG_INF;\n"
     << "#pragma unroll\n"
     << "      for (int u = 0; u < kBN / 32; ++u) {\n"
     << "        const int c = lane + 32 * u, kpos = sKpos[c];\n"
     << "        (void)kpos;\n"
     << cuda::attentionScoreCode(c.k, "sS[r * kLds + c]", "        ")
     << "        sv[u] = sKok[c] && (" << c.visible << ") ? s : EDG_NEG_INF;\n"
     << "        mx = fmaxf(mx, sv[u]);\n      }\n"
     << "      mx = edg_warp_max(mx);\n"
     << "      const float m_new = fmaxf(m_i[rr], mx);\n"
     << "      if (m_new != EDG_NEG_INF) { // warp-uniform\n"
     << "        float psum = 0.0f;\n"
     << "#pragma unroll\n"
     << "        for (int u = 0; u < kBN / 32; ++u)\n"
     << "          psum += " << c.exp << "(sv[u] - m_new);\n"
     << "        l_i[rr] = l_i[rr] * " << c.exp
     << "(m_i[rr] - m_new) + edg_warp_sum(psum);\n"
     << "        m_i[rr] = m_new;\n      }\n    }\n"
     << "    __syncthreads();\n  }\n"
     << "#pragma unroll\n"
     << "  for (int rr = 0; rr < kRowsPerWarp; ++rr) {\n"
     << "    const int r = warp * kRowsPerWarp + rr;\n"
     << "    if (q0 + r < Tq && lane == 0)\n"
     << "      lse[(b * kH + h) * Tq + q0 + r] =\n"
     << "          l_i[rr] > 0.0f ? m_i[rr] + logf(l_i[rr]) : EDG_POS_INF;\n"
     << "  }\n}\n\n";
}

/// The leading parameters of the dQ and dK/dV kernels.
void gradientInputs(llvm::raw_ostream &os, const Ctx &c) {
  os << "    const " << c.T << " *__restrict__ q, const " << c.T
     << " *__restrict__ k, const " << c.T << " *__restrict__ v,\n"
     << "    const int *__restrict__ pos, const unsigned char *__restrict__ "
        "key_valid,\n"
     << "    const " << c.T << " *__restrict__ dout, const float "
        "*__restrict__ lse, const float *__restrict__ delta,\n";
}

void emitDq(llvm::raw_ostream &os, const Ctx &c, const Tile &t) {
  header(os, c, t, "attention_bwd_dq", "_bwd_dq",
         "ceil(T/" + std::to_string(t.bm) + "),H,B", t.bm,
         "dQ, one block per (query tile, head, batch)");
  os << "extern \"C\" __global__ void __launch_bounds__(128) " << c.name
     << "_bwd_dq(\n";
  gradientInputs(os, c);
  os << "    " << c.T
     << " *__restrict__ dq, edg_i64 B, edg_i64 Tq, edg_i64 S) {\n"
     << "  // dq [B, Tq, H*hd] (pre-RoPE gradient); lse, delta from "
        "_bwd_stats.\n";
  constants(os, c, t);
  os << "  const edg_i64 b = blockIdx.z, q0 = (edg_i64)blockIdx.x * kBM;\n"
     << "  const int h = blockIdx.y, kvh = h / kGroup;\n"
     << loadQueries(c, true)
     << "  for (int idx = tid; idx < kBM * kLdo; idx += kThreads)\n"
     << "    sdQ[idx] = 0.0f;\n  __syncthreads();\n"
     << ropeRows(c, "sQ", "kBM", "sQpos", "  ")
     << "  int qmin = 0x7fffffff, qmax = -0x7fffffff;\n"
     << "  for (int r = 0; r < kBM && q0 + r < Tq; ++r) {\n"
     << "    qmin = min(qmin, sQpos[r]);\n    qmax = max(qmax, sQpos[r]);\n  "
        "}\n"
     << "  (void)qmin; (void)qmax;\n"
     << "  for (edg_i64 j0 = 0; j0 < S; j0 += kBN) {\n"
     << subst(kKeyTileHead,
              {{"KPOS", c.kpos}, {"KEYOK", c.keyOk}, {"TILEMAY", c.tileMay}})
     << "    for (int idx = tid; idx < kBN * kHd; idx += kThreads) {\n"
     << "      const int cc = idx / kHd, d = idx % kHd;\n"
     << "      if (j0 + cc < S) {\n"
     << "        const edg_i64 at = ((b * S + j0 + cc) * kKv + kvh) * kHd + "
        "d;\n"
     << "        sK[cc * kLdh + d] = k[at];\n        sV[cc * kLdh + d] = "
        "v[at];\n"
     << "      } else {\n        edg_st(&sK[cc * kLdh + d], 0.0f);\n"
     << "        edg_st(&sV[cc * kLdh + d], 0.0f);\n      }\n    }\n"
     << "    __syncthreads();\n"
     << ropeRows(c, "sK", "kBN", "sKpos", "    ") << "    edg_attn_qk_"
     << c.path
     << "<kBM, kBN, kHd, kLdh, kLds, Elt>(sQ, sK, sS);   // S = Q K^T\n"
     << "    edg_attn_qk_" << c.path
     << "<kBM, kBN, kHd, kLdh, kLds, Elt>(sdO, sV, sdP); // dP = dO V^T\n"
     << "    __syncthreads();\n"
     << scoreGrad(c, false) << "    edg_attn_pv_" << c.path
     << "<kBM, kBN, kHd, kLdh, kLdp, kLdo, Elt>(sdS, sK, sdQ); // dQ += dS K\n"
     << "    __syncthreads();\n  }\n"
     << ropeGradRows(c, "sdQ", "kBM", "sQpos")
     << "  for (int idx = tid; idx < kBM * kHd; idx += kThreads) {\n"
     << "    const int r = idx / kHd, d = idx % kHd;\n"
     << "    if (q0 + r < Tq)\n"
     << "      edg_st(&dq[((b * Tq + q0 + r) * kH + h) * kHd + d], sdQ[r * "
        "kLdo "
        "+ d]);\n  }\n}\n\n";
}

void emitDkdv(llvm::raw_ostream &os, const Ctx &c, const Tile &t) {
  header(os, c, t, "attention_bwd_dkdv", "_bwd_dkdv",
         "ceil(S/" + std::to_string(t.bn) + "),K,B", t.bn,
         "dK and dV, one block per (key tile, kv head, batch)");
  os << "extern \"C\" __global__ void __launch_bounds__(128) " << c.name
     << "_bwd_dkdv(\n";
  gradientInputs(os, c);
  os << "    " << c.T << " *__restrict__ dk, " << c.T
     << " *__restrict__ dv, edg_i64 B, edg_i64 Tq, edg_i64 S) {\n"
     << "  // dk, dv [B, S, K*hd] (dk pre-RoPE); sums over the kGroup query "
        "heads of the kv head\n"
     << "  // in a fixed order (no atomics).\n";
  constants(os, c, t);
  os << "  const edg_i64 b = blockIdx.z, j0 = (edg_i64)blockIdx.x * kBN;\n"
     << "  const int kvh = blockIdx.y;\n"
     << "  for (int cc = tid; cc < kBN; cc += kThreads) {\n"
     << "    const edg_i64 j = j0 + cc;\n"
     << "    sKpos[cc] = j < S ? " << c.kpos << " : 0;\n"
     << "    sKok[cc] = " << c.keyOk << ";\n  }\n"
     << "  for (int idx = tid; idx < kBN * kHd; idx += kThreads) {\n"
     << "    const int cc = idx / kHd, d = idx % kHd;\n"
     << "    if (j0 + cc < S) {\n"
     << "      const edg_i64 at = ((b * S + j0 + cc) * kKv + kvh) * kHd + d;\n"
     << "      sK[cc * kLdh + d] = k[at];\n      sV[cc * kLdh + d] = v[at];\n"
     << "    } else {\n      edg_st(&sK[cc * kLdh + d], 0.0f);\n"
     << "      edg_st(&sV[cc * kLdh + d], 0.0f);\n    }\n  }\n"
     << "  for (int idx = tid; idx < kBN * kLdo; idx += kThreads) {\n"
     << "    sdK[idx] = 0.0f;\n    sdV[idx] = 0.0f;\n  }\n"
     << "  __syncthreads();\n"
     << ropeRows(c, "sK", "kBN", "sKpos", "  ")
     << "  int kmin = 0x7fffffff, kmax = -0x7fffffff;\n"
     << "  for (int cc = 0; cc < kBN; ++cc)\n"
     << "    if (sKok[cc]) {\n"
     << "      kmin = min(kmin, sKpos[cc]);\n      kmax = max(kmax, "
        "sKpos[cc]);\n"
     << "    }\n"
     << "  for (int g = 0; g < kGroup && kmin <= kmax; ++g) {\n"
     << "    const int h = kvh * kGroup + g;\n"
     << "    for (edg_i64 q0 = 0; q0 < Tq; q0 += kBM) {\n"
     << "      // Skip query tiles that see no key of this tile.\n"
     << "      int any = 0;\n"
     << "      for (int r = tid; r < kBM; r += kThreads) {\n"
     << "        const int qpos = q0 + r < Tq ? " << c.qpos << " : 0;\n"
     << "        any |= q0 + r < Tq && (" << c.qMay << ");\n      }\n"
     << "      if (!__syncthreads_or(any))\n        continue;\n";
  // The query loads, indented one level more.
  std::string loads = loadQueries(c, true) + "  __syncthreads();\n" +
                      ropeRows(c, "sQ", "kBM", "sQpos", "  ");
  os << indent(loads, "    ") << "      edg_attn_qk_" << c.path
     << "<kBM, kBN, kHd, kLdh, kLds, Elt>(sQ, sK, sS);   // S = Q K^T\n"
     << "      edg_attn_qk_" << c.path
     << "<kBM, kBN, kHd, kLdh, kLds, Elt>(sdO, sV, sdP); // dP = dO V^T\n"
     << "      __syncthreads();\n";
  os << indent(scoreGrad(c, true), "  ") << "      edg_attn_tn_" << c.path
     << "<kBM, kBN, kHd, kLdp, kLdh, kLdo, Elt>(sP, sdO, sdV);  // dV += P^T "
        "dO\n"
     << "      edg_attn_tn_" << c.path
     << "<kBM, kBN, kHd, kLdp, kLdh, kLdo, Elt>(sdS, sQ, sdK);  // dK += dS^T "
        "Q\n"
     << "      __syncthreads();\n    }\n  }\n"
     << ropeGradRows(c, "sdK", "kBN", "sKpos")
     << "  for (int idx = tid; idx < kBN * kHd; idx += kThreads) {\n"
     << "    const int cc = idx / kHd, d = idx % kHd;\n"
     << "    if (j0 + cc < S) {\n"
     << "      const edg_i64 at = ((b * S + j0 + cc) * kKv + kvh) * kHd + d;\n"
     << "      edg_st(&dk[at], sdK[cc * kLdo + d]);\n"
     << "      edg_st(&dv[at], sdV[cc * kLdo + d]);\n    }\n  }\n}\n\n";
}
} // namespace

std::string cuda::attentionScoreCode(AttentionKernelOp k, llvm::StringRef raw,
                                     llvm::StringRef indent) {
  std::string i = indent.str(), out;
  out += i + "float s = edg_rnd<Elt>(" + raw.str() + "); // q.k\n";
  out += i + "s = edg_rnd<Elt>(s * kScale);\n";
  if (k.getSoftcap())
    out +=
        i + "const float th = edg_rnd<Elt>(tanhf(edg_rnd<Elt>(s / kCap)));\n" +
        i + "s = edg_rnd<Elt>(th * kCap); // soft-cap, three rounded steps\n";
  return out;
}

void cuda::emitAttentionBackwardHelpers(llvm::raw_ostream &os) {
  os << kBackwardHelpers;
}

LogicalResult cuda::emitAttentionBackward(AttentionKernelOp k,
                                          llvm::raw_ostream &os) {
  auto [visible, tileMay] = attentionMaskConditions(k.getMask());
  if (visible.empty())
    return success(); // prefix: the forward already reported it
  Type elt = k.getElementType();
  int64_t hd = k.getHeadDim();
  Tile stats = chooseTile(Which::stats, hd, elt),
       dkdv = chooseTile(Which::dkdv, hd, elt),
       dq = chooseTile(Which::dq, hd, elt);
  std::string name = k.getSymName().str();
  if (!stats.bm || !dkdv.bm || !dq.bm) {
    os << "// " << name << ": no backward kernels: head_dim " << hd << " in "
       << dtypeName(elt)
       << " needs more shared memory than the backward tiles allow\n\n";
    return success();
  }
  Ctx c{k};
  c.name = name;
  c.T = storageType(elt);
  c.visible = visible;
  c.tileMay = tileMay;
  c.qMay = queryMaySee(k.getMask());
  c.qpos =
      k.getHasPositions() ? "pos[b * Tq + q0 + r]" : "(int)(S - Tq + q0 + r)";
  c.kpos = k.getHasPositions() ? "pos[b * S + j]" : "(int)j";
  c.keyOk = std::string("j < S") +
            (k.getHasKeyValid() ? " && key_valid[b * S + j] != 0" : "");
  c.exp = elt.isF32() ? "expf" : "__expf";
  c.path = stats.wmma ? "wmma" : "scalar";
  c.dcap = k.getSoftcap() ? "(1.0f - th * th)" : "1.0f";
  emitStats(os, c, stats);
  emitDkdv(os, c, dkdv);
  emitDq(os, c, dq);
  return success();
}
