//===- attention.cc - fp32 eager attention, fwd and bwd ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Reproduces HF's eager attention in fp32: scores = (q·kᵀ)·scale, optional
// soft-cap c·tanh(s/c), additive finfo.min mask, fp32 softmax, p·v, with GQA
// (query head h reads KV head h / (H/K)). Masks come from absolute positions
// so that prefill, KV-cached decoding and sliding windows share one rule.
//
// Two strategies, both on the runtime's thread pool: `direct` (decoding: per
// (b, query, chunk of kv heads) dot products walking k/v in memory order, the
// G query heads of a KV head share each key row read; k/v may be [B, S, K,
// hd] or head-major [B, K, S, hd]) and `gemm` (prefill: blocks of queries,
// single-threaded sgemm for q·kᵀ and p·v per (block, head), the mask built
// once per block and shared by all heads, keys outside the block's visible
// range skipped). The forward softmax (scaled_softmax_row) is vectorised and
// multiplies by 1/cap (within an ulp of HF's /cap). Rows that see no key
// reproduce HF's uniform average over all S keys (every score becomes
// finfo.min, so softmax is flat).
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels.h"

#include "runtime/core/status.h"
#include "runtime/cpu/blas.h"
#include "runtime/cpu/fast_math.h"
#include "runtime/cpu/parallel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <omp.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace edg::cpu {

const char *mask_kind_name(MaskKind kind) {
  switch (kind) {
  case MaskKind::causal:
    return "causal";
  case MaskKind::bidirectional:
    return "bidirectional";
  case MaskKind::sliding_causal:
    return "sliding_causal";
  case MaskKind::sliding_bidirectional:
    return "sliding_bidirectional";
  case MaskKind::none_cross:
    return "none_cross";
  }
  return "?";
}

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// Shapes and mask rule of one attention call.
struct Attn {
  int64_t B, T, S, H, K, hd, G;
  int64_t kvs; // batch stride of k and v
  const AttentionParams &p;

  int32_t qpos(int64_t b, int64_t t) const {
    return p.q_pos ? p.q_pos[b * T + t] : int32_t(S - T + t);
  }
  int32_t kpos(int64_t b, int64_t s) const {
    return p.k_pos ? p.k_pos[b * S + s] : int32_t(s);
  }
  /// Whether query (b, t) may see key (b, s).
  bool visible(int64_t b, int32_t qp, int64_t s) const {
    if (p.key_valid && !p.key_valid[b * S + s])
      return false;
    const int64_t kp = kpos(b, s), d = int64_t(qp) - kp;
    switch (p.mask) {
    case MaskKind::causal:
      return d >= 0;
    case MaskKind::sliding_causal:
      return d >= 0 && d < p.window;
    case MaskKind::sliding_bidirectional:
      return d < p.window && -d < p.window;
    case MaskKind::bidirectional:
    case MaskKind::none_cross:
      return true;
    }
    return true;
  }
  const float *krow(const float *k, int64_t b, int64_t s, int64_t kvh) const {
    return p.kv_head_major ? k + b * kvs + (kvh * S + s) * hd
                           : k + b * kvs + (s * K + kvh) * hd;
  }
  /// Elements between the rows of consecutive keys of one head.
  int64_t key_stride() const { return p.kv_head_major ? hd : K * hd;
  }
};

Attn make_attn(const char *fn, const float *q, const float *k, const float *v,
               const void *out, int64_t B, int64_t T, int64_t S, int64_t H,
               int64_t K, int64_t hd, const AttentionParams &p) {
  check(B >= 0 && T >= 0 && S >= 0, fn, ": negative size B=", B, " T=", T,
        " S=", S);
  check(H > 0 && K > 0 && hd > 0, fn,
        ": heads and head_dim must be positive (H=", H, " K=", K, " hd=", hd,
        ")");
  check(H % K == 0, fn, ": num_attention_heads ", H,
        " is not a multiple of num_key_value_heads ", K);
  const bool sliding = p.mask == MaskKind::sliding_causal ||
                       p.mask == MaskKind::sliding_bidirectional;
  check(!sliding || p.window > 0, fn, ": mask ", mask_kind_name(p.mask),
        " needs a sliding window > 0, got ", p.window);
  check(p.softcap >= 0.0f && std::isfinite(p.softcap), fn,
        ": softcap must be >= 0 (0 disables), got ", p.softcap);
  check(std::isfinite(p.scale), fn, ": scale must be finite, got ", p.scale);
  check(p.kv_batch_stride == 0 || p.kv_batch_stride >= S * K * hd, fn,
        ": kv_batch_stride ", p.kv_batch_stride,
        " is smaller than S*K*hd = ", S * K * hd);
  check(B * T == 0 || (q && out), fn, ": q or out is null");
  check(B * S == 0 || (k && v), fn, ": k or v is null");
  return Attn{B, T,  S,     H,
              K, hd, H / K, p.kv_batch_stride ? p.kv_batch_stride : S * K * hd,
              p};
}

/// max(-inf, s[0..n)), NaNs ignored as std::max(mx, s[j]) ignores them.
/// (GCC does not vectorise that reduction by itself.)
inline float row_max(const float *s, int64_t n) {
  float mx = kNegInf;
  int64_t j = 0;
#if defined(__AVX2__)
  __m256 m0 = _mm256_set1_ps(kNegInf), m1 = m0;
  for (; j + 16 <= n; j += 16) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(s + j), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(s + j + 8), m1);
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
  for (float l : lanes)
    mx = std::max(mx, l);
#endif
  for (; j < n; ++j)
    mx = std::max(mx, s[j]);
  return mx;
}

/// In place over one score row of length n, after scale and soft-cap: mask
/// (vis == 0 -> -inf), softmax. Returns false (and leaves the row undefined)
/// if no key is visible.
bool mask_softmax_row(float *s, const uint8_t *vis, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j)
    s[j] = vis[j] ? s[j] : kNegInf; // mask after the cap (MODEL_SPEC §4.6)
  const float mx = row_max(s, n);
  if (mx == kNegInf)
    return false;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) {
    s[j] = fast_exp(s[j] - mx); // exp(-inf) = 0 for masked keys
    sum += s[j];
  }
  const float inv_sum = 1.0f / sum;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j)
    s[j] *= inv_sum;
  return true;
}

/// In place over one score row of length n: soft-cap, mask, softmax.
bool softmax_row(float *s, const uint8_t *vis, int64_t n, float cap) {
  if (cap > 0.0f) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j)
      s[j] = fast_tanh(s[j] / cap) * cap; // HF: /c, tanh, *c
  }
  return mask_softmax_row(s, vis, n);
}

/// fast_tanh's small-argument branch (|x| < 0.625): the same polynomial.
inline float tanh_small(float x) {
  const float z = x * x;
  float ps = -5.70498872745e-3f;
  ps = ps * z + 2.06390887954e-2f;
  ps = ps * z - 5.37397155531e-2f;
  ps = ps * z + 1.33314422036e-1f;
  ps = ps * z - 3.33332819422e-1f;
  return ps * z * x + x;
}

/// The forward kernels' softmax_row: s *= scale first (HF scales q·kᵀ), and
/// the soft-cap multiplies by 1/cap instead of dividing (within an ulp of
/// HF's /cap). Blocks of 64 scores whose capped argument stays below 0.6
/// (the usual case: |score| < 0.6·cap) use fast_tanh's polynomial branch
/// only, which is what fast_tanh returns there, without its exp branch and
/// division. Then mask_softmax_row.
bool scaled_softmax_row(float *s, const uint8_t *vis, int64_t n, float scale,
                        float cap) {
  if (cap > 0.0f) {
    const float inv = 1.0f / cap;
    for (int64_t j0 = 0; j0 < n; j0 += 64) {
      const int64_t j1 = std::min(n, j0 + 64);
      float amax = 0.0f;
#pragma omp simd reduction(max : amax)
      for (int64_t j = j0; j < j1; ++j)
        amax = std::max(amax, std::fabs(s[j] * scale));
      if (amax * inv < 0.6f) {
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j)
          s[j] = tanh_small((s[j] * scale) * inv) * cap;
      } else {
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j)
          s[j] = fast_tanh((s[j] * scale) * inv) * cap;
      }
    }
  } else if (scale != 1.0f) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j)
      s[j] *= scale;
  }
  return mask_softmax_row(s, vis, n);
}

/// mean over all S keys of v[b, :, kvh, :] -> out[hd]: the output of a row
/// that sees no key.
void mean_v(const Attn &a, const float *v, int64_t b, int64_t kvh, float *out) {
  std::vector<double> acc(size_t(a.hd), 0.0);
  for (int64_t s = 0; s < a.S; ++s) {
    const float *vr = a.krow(v, b, s, kvh);
    for (int64_t j = 0; j < a.hd; ++j)
      acc[size_t(j)] += vr[j];
  }
  for (int64_t j = 0; j < a.hd; ++j)
    out[j] = a.S ? float(acc[size_t(j)] / double(a.S)) : 0.0f;
}

inline float dot(const float *x, const float *y, int64_t n) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int64_t j = 0; j < n; ++j)
    acc += x[j] * y[j];
  return acc;
}

} // namespace

//===----------------------------------------------------------------------===//
// Forward
//===----------------------------------------------------------------------===//

namespace detail {

void attention_direct(const float *q, const float *k, const float *v,
                      float *out, int64_t B, int64_t T, int64_t S, int64_t H,
                      int64_t K, int64_t hd, const AttentionParams &params) {
  const Attn a =
      make_attn("attention", q, k, v, out, B, T, S, H, K, hd, params);
  const int64_t G = a.G;
  // Items: (batch, query, chunk of kv heads). With the [S, K, hd] layout a
  // chunk reads one contiguous run of k (and v) per key - [chunk, hd] - so
  // the caches (a decode step's largest reads) stream; chunks are as wide as
  // the parallelism allows (all K heads once B*T gives every thread work).
  // With kv_head_major each head's keys are contiguous anyway.
  const int64_t want = 2 * int64_t(num_threads());
  const int64_t per_row = std::min<int64_t>(K, (want + B * T - 1) / (B * T));
  const int64_t chunk = (K + per_row - 1) / per_row;
  const int64_t nchunks = (K + chunk - 1) / chunk, items = B * T * nchunks;
  const bool par = B * T * K * S * G * hd >= (1 << 16);
  parallel_for(items, par ? 1 : items, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> sc, acc;
    thread_local std::vector<uint8_t> vis;
    sc.resize(size_t(chunk * G * S));
    acc.resize(size_t(chunk * G * hd));
    vis.resize(size_t(S));
    for (int64_t it = i0; it < i1; ++it) {
      const int64_t c = it % nchunks, t = (it / nchunks) % T,
                    b = it / (nchunks * T);
      const int64_t c0 = c * chunk, nc = std::min(chunk, K - c0);
      const int32_t qp = a.qpos(b, t);
      bool any = false;
      for (int64_t s = 0; s < S; ++s) {
        vis[size_t(s)] = a.visible(b, qp, s);
        any |= vis[size_t(s)] != 0;
      }
      // q rows of the heads of kv heads c0.. are contiguous: [nc * G, hd].
      const float *qc = q + ((b * T + t) * H + c0 * G) * hd;
      float *oc = out + ((b * T + t) * H + c0 * G) * hd;
      if (!any) {
        for (int64_t kk = 0; kk < nc; ++kk) {
          mean_v(a, v, b, c0 + kk, acc.data());
          for (int64_t g = 0; g < G; ++g)
            std::copy(acc.begin(), acc.begin() + hd, oc + (kk * G + g) * hd);
        }
        continue;
      }
      // sc: [nc * G, S] raw scaled scores; masked keys are skipped (their
      // value is irrelevant: the mask replaces it after the soft-cap). The
      // loops walk memory in layout order; every score and every output
      // element sees the same operations in the same order either way.
      auto score = [&](int64_t s, int64_t kk) {
        const float *kr = a.krow(k, b, s, c0 + kk);
        for (int64_t g = 0; g < G; ++g)
          sc[size_t((kk * G + g) * S + s)] =
              vis[size_t(s)]
                  ? dot(qc + (kk * G + g) * hd, kr, hd)
                  : 0.0f;
      };
      auto accumulate = [&](int64_t s, int64_t kk) {
        if (!vis[size_t(s)])
          return;
        const float *vk = a.krow(v, b, s, c0 + kk);
        for (int64_t g = 0; g < G; ++g) {
          const float p = sc[size_t((kk * G + g) * S + s)];
          float *ag = acc.data() + (kk * G + g) * hd;
#pragma omp simd
          for (int64_t j = 0; j < hd; ++j)
            ag[j] += p * vk[j];
        }
      };
      if (params.kv_head_major) {
        for (int64_t kk = 0; kk < nc; ++kk)
          for (int64_t s = 0; s < S; ++s)
            score(s, kk);
      } else {
        for (int64_t s = 0; s < S; ++s)
          for (int64_t kk = 0; kk < nc; ++kk)
            score(s, kk);
      }
      for (int64_t r = 0; r < nc * G; ++r)
        scaled_softmax_row(sc.data() + r * S, vis.data(), S, params.scale,
                           params.softcap);
      std::fill(acc.begin(), acc.begin() + nc * G * hd, 0.0f);
      if (params.kv_head_major) {
        for (int64_t kk = 0; kk < nc; ++kk)
          for (int64_t s = 0; s < S; ++s)
            accumulate(s, kk);
      } else {
        for (int64_t s = 0; s < S; ++s)
          for (int64_t kk = 0; kk < nc; ++kk)
            accumulate(s, kk);
      }
      std::copy(acc.begin(), acc.begin() + nc * G * hd, oc);
    }
  });
}

void attention_gemm(const float *q, const float *k, const float *v, float *out,
                    int64_t B, int64_t T, int64_t S, int64_t H, int64_t K,
                    int64_t hd, const AttentionParams &params) {
  const Attn a =
      make_attn("attention", q, k, v, out, B, T, S, H, K, hd, params);
  if (B * T == 0)
    return;
  constexpr int64_t TQ = 64; // query rows per block: scores [TQ, S]
  const int64_t S1 = std::max<int64_t>(S, 1);
  const int64_t nblk = (T + TQ - 1) / TQ;
  // Query blocks are processed in groups whose masks fit in ~8 MB: one
  // parallel pass builds the group's masks ([TQ, S] per block, shared by all
  // heads), a second runs every (block, head) pair, each on one thread with
  // single-threaded GEMMs.
  const int64_t group =
      std::max<int64_t>(1, std::min<int64_t>(nblk, (int64_t(8) << 20) / (TQ * S1)));
  std::vector<uint8_t> mask(size_t(group * TQ * S1));
  std::vector<uint8_t> row_any(size_t(group * TQ));
  std::vector<int64_t> blk_lo(static_cast<size_t>(group)),
      blk_hi(static_cast<size_t>(group));
  std::vector<float> vmean(size_t(K * hd));
  for (int64_t b = 0; b < B; ++b) {
    bool have_vmean = false;
    for (int64_t g0 = 0; g0 < nblk; g0 += group) {
      const int64_t gn = std::min(group, nblk - g0);
      // Masks; [lo, hi) is the union of a block's visible keys, so keys
      // outside it are skipped.
      const bool par_mask = gn > 1 && TQ * S >= (1 << 14);
      parallel_for(gn, par_mask ? 1 : gn, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t t0 = (g0 + i) * TQ, tq = std::min(TQ, T - t0);
          int64_t lo = S, hi = 0;
          for (int64_t r = 0; r < tq; ++r) {
            const int32_t qp = a.qpos(b, t0 + r);
            uint8_t *m = mask.data() + (i * TQ + r) * S;
            bool any = false;
            for (int64_t s = 0; s < S; ++s) {
              m[s] = a.visible(b, qp, s);
              if (m[s]) {
                any = true;
                lo = std::min(lo, s);
                hi = std::max(hi, s + 1);
              }
            }
            row_any[size_t(i * TQ + r)] = any;
          }
          blk_lo[size_t(i)] = lo;
          blk_hi[size_t(i)] = hi;
        }
      });
      bool some_empty = false;
      for (int64_t i = 0; i < gn; ++i) {
        const int64_t tq = std::min(TQ, T - (g0 + i) * TQ);
        for (int64_t r = 0; r < tq; ++r)
          some_empty |= !row_any[size_t(i * TQ + r)];
      }
      if (some_empty && !have_vmean) {
        for (int64_t kvh = 0; kvh < K; ++kvh)
          mean_v(a, v, b, kvh, vmean.data() + kvh * hd);
        have_vmean = true;
      }
      const int64_t pairs = gn * H;
      const bool par = pairs > 1 && TQ * S1 * hd >= (1 << 15);
      parallel_for(pairs, par ? 1 : pairs, [&](int64_t j0, int64_t j1) {
        thread_local std::vector<float> scores;
        scores.resize(size_t(TQ * S1));
        float *sc = scores.data();
        for (int64_t j = j0; j < j1; ++j) {
          const int64_t i = j / H, h = j % H, kvh = h / a.G;
          const int64_t t0 = (g0 + i) * TQ, tq = std::min(TQ, T - t0);
          const int64_t lo = blk_lo[size_t(i)], hi = blk_hi[size_t(i)];
          const int64_t width = hi > lo ? hi - lo : 0; // 0: every row empty
          const uint8_t *any = row_any.data() + i * TQ;
          float *ob = out + ((b * T + t0) * H + h) * hd; // rows stride H*hd
          if (width > 0) {
            const float *qb = q + ((b * T + t0) * H + h) * hd;
            // sc[tq, width] = q_blk[tq, hd] · k[lo:hi, hd]ᵀ
            sgemm_nt(tq, width, hd, qb, H * hd, a.krow(k, b, lo, kvh),
                     a.key_stride(), sc, width);
            for (int64_t r = 0; r < tq; ++r) {
              float *sr = sc + r * width;
              if (!any[r]) {
                std::fill(sr, sr + width, 0.0f);
                continue;
              }
              scaled_softmax_row(sr, mask.data() + (i * TQ + r) * S + lo, width,
                                 params.scale, params.softcap);
            }
            // out_blk[tq, hd] = p[tq, width] · v[lo:hi, hd]
            sgemm_nn(tq, hd, width, sc, width, a.krow(v, b, lo, kvh),
                     a.key_stride(), ob, H * hd);
          }
          for (int64_t r = 0; r < tq; ++r)
            if (!any[r])
              std::copy(vmean.begin() + kvh * hd,
                        vmean.begin() + (kvh + 1) * hd, ob + r * H * hd);
        }
      });
    }
  }
}

} // namespace detail

void attention(const float *q, const float *k, const float *v, float *out,
               int64_t B, int64_t T, int64_t S, int64_t H, int64_t K,
               int64_t hd, const AttentionParams &params) {
  // Few queries: the GEMMs would be matrix-vector products and thread
  // start-up would dominate, so walk the keys directly.
  if (T < 8)
    detail::attention_direct(q, k, v, out, B, T, S, H, K, hd, params);
  else
    detail::attention_gemm(q, k, v, out, B, T, S, H, K, hd, params);
}

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

void attention_backward(const float *q, const float *k, const float *v,
                        const float *dout, float *dq, float *dk, float *dv,
                        int64_t B, int64_t T, int64_t S, int64_t H, int64_t K,
                        int64_t hd, const AttentionParams &params) {
  const Attn a =
      make_attn("attention_backward", q, k, v, dq, B, T, S, H, K, hd, params);
  check(B * T == 0 || dout, "attention_backward: dout is null");
  check(!params.kv_head_major,
        "attention_backward: kv_head_major is a forward-only layout");
  check(B * S == 0 || (dk && dv), "attention_backward: dk or dv is null");
  const int64_t G = a.G;
  const float cap = params.softcap;
  // One task per (b, kv head): it owns dk/dv of that head and dq of its G
  // query heads, so no two threads write the same gradient.
#pragma omp parallel if (B * K * T * S * hd >= (1 << 15))
  {
    std::vector<float> p(static_cast<size_t>(S)), z(static_cast<size_t>(S)),
        dp(static_cast<size_t>(S));
    std::vector<uint8_t> vis(static_cast<size_t>(S));
#pragma omp for schedule(dynamic, 1)
    for (int64_t bk = 0; bk < B * K; ++bk) {
      const int64_t b = bk / K, kvh = bk % K;
      // dk, dv: dense [B, S, K, hd]
      for (int64_t s = 0; s < S; ++s) {
        std::fill_n(dk + ((b * S + s) * K + kvh) * hd, hd, 0.0f);
        std::fill_n(dv + ((b * S + s) * K + kvh) * hd, hd, 0.0f);
      }
      for (int64_t t = 0; t < T; ++t) {
        const int32_t qp = a.qpos(b, t);
        bool any = false;
        for (int64_t s = 0; s < S; ++s) {
          vis[size_t(s)] = a.visible(b, qp, s);
          any |= vis[size_t(s)] != 0;
        }
        for (int64_t g = 0; g < G; ++g) {
          const int64_t h = kvh * G + g;
          const float *qr = q + ((b * T + t) * H + h) * hd;
          const float *dor = dout + ((b * T + t) * H + h) * hd;
          float *dqr = dq + ((b * T + t) * H + h) * hd;
          std::fill_n(dqr, hd, 0.0f);
          if (!any) {
            // Uniform p = 1/S over all keys; independent of q and k.
            for (int64_t s = 0; s < S; ++s) {
              float *dvr = dv + ((b * S + s) * K + kvh) * hd;
              for (int64_t j = 0; j < hd; ++j)
                dvr[j] += dor[j] / float(S);
            }
            continue;
          }
          for (int64_t s = 0; s < S; ++s)
            p[size_t(s)] = vis[size_t(s)] ? dot(qr, a.krow(k, b, s, kvh), hd) *
                                                params.scale
                                          : 0.0f;
          // z: the capped score, needed for the soft-cap derivative.
          for (int64_t s = 0; s < S; ++s)
            z[size_t(s)] =
                cap > 0.0f ? fast_tanh(p[size_t(s)] / cap) * cap : p[size_t(s)];
          softmax_row(p.data(), vis.data(), S, cap);
          // dp = dout · v_s; dz = p (dp - sum p dp)
          double pdp = 0.0;
          for (int64_t s = 0; s < S; ++s) {
            dp[size_t(s)] =
                vis[size_t(s)] ? dot(dor, a.krow(v, b, s, kvh), hd) : 0.0f;
            pdp += double(p[size_t(s)]) * dp[size_t(s)];
          }
          for (int64_t s = 0; s < S; ++s) {
            if (!vis[size_t(s)])
              continue;
            float ds = p[size_t(s)] * (dp[size_t(s)] - float(pdp));
            if (cap > 0.0f) {
              const float tz = z[size_t(s)] / cap;
              ds *= 1.0f - tz * tz; // d(c tanh(x/c))/dx
            }
            ds *= params.scale;
            const float *kr = a.krow(k, b, s, kvh);
            float *dkr = dk + ((b * S + s) * K + kvh) * hd;
            float *dvr = dv + ((b * S + s) * K + kvh) * hd;
            const float ps = p[size_t(s)];
#pragma omp simd
            for (int64_t j = 0; j < hd; ++j) {
              dqr[j] += ds * kr[j];
              dkr[j] += ds * qr[j];
              dvr[j] += ps * dor[j];
            }
          }
        }
      }
    }
  }
}

} // namespace edg::cpu
