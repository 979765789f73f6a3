//===- greedy_head.cc - exact greedy token choice over a big LM head -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See greedy_head.h for the argument. The approximate logit of table row n
// for input row m is a = s[n]·sx[m]·Σ_k xq[m,k]·q[n,k], an exact integer dot
// product (AVX2 vpmaddwd) of the int8 row with x quantised to int16
// (x ~ sx·xq, |xq| <= 16383), so its only errors are the two quantisations
// and the final int->float conversion. With z the real dot product and z~ the
// fp32 value the exact path computes,
//   |z~ - a| <= X1·(r[n] + γ·max|E[n]|) + EX·s[n]·Q1[n] + |a|·2⁻¹⁹ + ...
// where X1 = ||x_m||₁, EX = max_k |x_mk - sx·xq_mk| (measured), r[n] =
// max_k |E[n,k] - s[n]·q[n,k]| (measured when the table is quantised),
// Q1[n] = Σ_k |q[n,k]|, and γ = (K + 16)·2⁻²⁴ bounds the fp32 summation error
// of a K-term dot product in any order. The per-row factors carry 1e-4 of
// slack, and the bound arithmetic is rounded outwards.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/greedy_head.h"

#include "runtime/cpu/blas.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define EDG_GREEDY_AVX2 1
#endif

namespace edg::cpu {

namespace {

constexpr int64_t kBlockRows = 8; // rows of x per pass (sgemm_nt's skinny M)
thread_local GreedyStats t_stats;

/// The soft-cap exactly as softcap() applies it (cap <= 0: identity).
inline float capped(float z, float cap) {
  return cap > 0.0f ? softcap_value(z, cap) : z;
}

/// Orders floats as integers (negative floats reversed), for bisection.
inline int64_t float_key(float f) {
  int32_t i;
  std::memcpy(&i, &f, 4);
  return i >= 0 ? int64_t(i) : -int64_t(i & 0x7fffffff);
}
inline float key_float(int64_t k) {
  int32_t i = k >= 0 ? int32_t(k) : int32_t(uint32_t(-k) | 0x80000000u);
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}

/// The smallest float y with capped(y) >= capped(L): rows whose upper bound
/// is below it are strictly below the best logit after the cap as well.
float cap_threshold(float L, float cap) {
  if (cap <= 0.0f)
    return L;
  const float target = capped(L, cap);
  int64_t lo = float_key(-std::numeric_limits<float>::max()),
          hi = float_key(L); // capped(key_float(hi)) >= target
  if (capped(key_float(lo), cap) >= target)
    return key_float(lo);
  while (hi - lo > 1) { // invariant: capped(lo) < target <= capped(hi)
    const int64_t mid = lo + (hi - lo) / 2;
    if (capped(key_float(mid), cap) >= target)
      hi = mid;
    else
      lo = mid;
  }
  return key_float(hi);
}

/// x rows quantised to int16 for one block: xq [mr, Kp] (zero padded).
constexpr float kXLevels = 16383.0f; // |xq| <= 2^14 - 1: int32 sums cannot
                                     // overflow for K <= kMaxCols
constexpr int64_t kMaxCols = 8192;

/// out[m] = Σ_k xq[m, k]·q[k] over Kp (a multiple of 16), exact in int32.
template <int MR>
void qdot16(const int8_t *q, const int16_t *xq, int64_t Kp, int32_t *out) {
#ifdef EDG_GREEDY_AVX2
  __m256i acc[MR];
  for (int m = 0; m < MR; ++m)
    acc[m] = _mm256_setzero_si256();
  for (int64_t k = 0; k < Kp; k += 16) {
    const __m256i qv = _mm256_cvtepi8_epi16(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(q + k)));
    for (int m = 0; m < MR; ++m)
      acc[m] = _mm256_add_epi32(
          acc[m], _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(
                                        xq + m * Kp + k)),
                                    qv));
  }
  for (int m = 0; m < MR; ++m) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc[m]),
                              _mm256_extracti128_si256(acc[m], 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    out[m] = _mm_cvtsi128_si32(s);
  }
#else
  for (int m = 0; m < MR; ++m) {
    int32_t sum = 0;
    for (int64_t k = 0; k < Kp; ++k)
      sum += int32_t(xq[m * Kp + k]) * int32_t(q[k]);
    out[m] = sum;
  }
#endif
}

/// argmax over full fp32 logits of one block of rows, as the lm_head step
/// computes them (sgemm_nt, softcap) and sample_token picks them (first max).
void exact_block(const float *x, int64_t mr, int64_t lda, const float *table,
                 int64_t V, int64_t K, float cap, int32_t *tokens) {
  thread_local std::vector<float> logits;
  logits.resize(size_t(mr * V));
  sgemm_nt(mr, V, K, x, lda, table, K, logits.data(), V);
  if (cap > 0.0f)
    softcap(logits.data(), mr * V, cap);
  for (int64_t m = 0; m < mr; ++m) {
    const float *l = logits.data() + m * V;
    int64_t best = 0;
    for (int64_t i = 1; i < V; ++i)
      if (l[i] > l[best])
        best = i;
    tokens[m] = int32_t(best);
  }
}

struct Candidate {
  int64_t n;
  int32_t m;
};

/// Pass 1 over table rows [n0, n1): approximate logits into a [V, MR]
/// (row-major by table row) and the per-row max and max |a|.
template <int MR>
void approximate(const QuantizedTable &qt, const int16_t *xq, const float *SX,
                 int64_t n0, int64_t n1, float *a, float *amax, float *aabs) {
  const int64_t Kp = qt.padded_cols;
  float mx[MR], ab[MR];
  for (int m = 0; m < MR; ++m)
    mx[m] = -std::numeric_limits<float>::infinity(), ab[m] = 0.0f;
  int32_t d[MR];
  for (int64_t n = n0; n < n1; ++n) {
    qdot16<MR>(qt.q.data() + n * Kp, xq, Kp, d);
    const float s = qt.scale[size_t(n)];
    float *an = a + n * MR;
    for (int m = 0; m < MR; ++m) {
      const float v = float(d[m]) * SX[m] * s;
      an[m] = v;
      mx[m] = std::max(mx[m], v);
      ab[m] = std::max(ab[m], std::fabs(v));
    }
  }
  for (int m = 0; m < MR; ++m)
    amax[m] = mx[m], aabs[m] = ab[m];
}

void approximate_rows(int64_t mr, const QuantizedTable &qt, const int16_t *xq,
                      const float *SX, int64_t n0, int64_t n1, float *a,
                      float *amax, float *aabs) {
  switch (mr) {
  case 1: return approximate<1>(qt, xq, SX, n0, n1, a, amax, aabs);
  case 2: return approximate<2>(qt, xq, SX, n0, n1, a, amax, aabs);
  case 3: return approximate<3>(qt, xq, SX, n0, n1, a, amax, aabs);
  case 4: return approximate<4>(qt, xq, SX, n0, n1, a, amax, aabs);
  case 5: return approximate<5>(qt, xq, SX, n0, n1, a, amax, aabs);
  case 6: return approximate<6>(qt, xq, SX, n0, n1, a, amax, aabs);
  case 7: return approximate<7>(qt, xq, SX, n0, n1, a, amax, aabs);
  default: return approximate<8>(qt, xq, SX, n0, n1, a, amax, aabs);
  }
}

/// One block of <= 8 rows through the int8 search; false: use exact_block.
bool search_block(const float *x, int64_t mr, int64_t lda, const float *table,
                  int64_t V, int64_t K, float cap, const QuantizedTable &qt,
                  int32_t *tokens, int64_t &n_candidates) {
  float X1[kBlockRows], EX[kBlockRows], SX[kBlockRows];
  const int64_t Kp = qt.padded_cols;
  thread_local std::vector<int16_t> xq_buf;
  xq_buf.assign(size_t(mr * Kp), 0);
  int16_t *xq = xq_buf.data();
  for (int64_t m = 0; m < mr; ++m) {
    const float *xr = x + m * lda;
    double l1 = 0.0;
    float mx = 0.0f;
    for (int64_t k = 0; k < K; ++k) {
      l1 += std::fabs(double(xr[k]));
      mx = std::max(mx, std::fabs(xr[k]));
    }
    if (!std::isfinite(l1) || !std::isfinite(mx))
      return false;
    const float sx = mx / kXLevels, inv = sx > 0.0f ? 1.0f / sx : 0.0f;
    float ex = 0.0f;
    for (int64_t k = 0; k < K; ++k) {
      const float v =
          std::min(kXLevels, std::max(-kXLevels, std::rint(xr[k] * inv)));
      xq[m * Kp + k] = int16_t(v);
      ex = std::max(ex, std::fabs(xr[k] - sx * v));
    }
    SX[m] = sx;
    X1[m] = float(l1 * (1.0 + 1e-6)) + 1e-37f;     // rounded up
    // Rounded up, including the fp32 rounding of |x - sx·v| (<= 2⁻²⁴·max|x|).
    EX[m] = ex * (1.0f + 0x1p-20f) + mx * 0x1p-22f;
  }
  const float eps_rel = 0x1p-19f, eps_e = 0x1p-16f, eps_abs = 1e-36f;
  // The error bound of a = approximate logit of table row n for input row m.
  auto err = [&](int64_t n, int64_t m, float a) {
    const float e = qt.bound_x1[size_t(n)] * X1[m] + qt.bound_ex[size_t(n)] * EX[m];
    return e + e * eps_e + std::fabs(a) * eps_rel + eps_abs;
  };

  // Pass 1: approximate logits a [V, mr]; per block max a and max |a|.
  thread_local std::vector<float> buf;
  buf.resize(size_t(mr * V));
  float *a = buf.data();
  const int64_t grain = 2048, nblocks = (V + grain - 1) / grain;
  std::vector<float> bmax(size_t(nblocks * mr)), babs(size_t(nblocks * mr));
  parallel_for(V, grain, [&](int64_t n0, int64_t n1) {
    const int64_t blk = n0 / grain;
    approximate_rows(mr, qt, xq, SX, n0, n1, a, bmax.data() + blk * mr,
                     babs.data() + blk * mr);
  });

  // Every bound is at most emax (largest per-row factors, largest |a|), so
  // L = max(a - e) >= max(a) - emax, and a row can only be a candidate
  // (a + e >= T(L)) if a >= T(max(a) - emax) - emax: a cheap pre-filter.
  float thr[kBlockRows];
  for (int64_t m = 0; m < mr; ++m) {
    float amax = -std::numeric_limits<float>::infinity(), aabs = 0.0f;
    for (int64_t b = 0; b < nblocks; ++b) {
      amax = std::max(amax, bmax[size_t(b * mr + m)]);
      aabs = std::max(aabs, babs[size_t(b * mr + m)]);
    }
    if (!std::isfinite(aabs)) // also catches NaN: max ignores it, so check sum
      return false;
    const float e = qt.max_bound_x1 * X1[m] + qt.max_bound_ex * EX[m];
    const float emax = e + e * eps_e + aabs * eps_rel + eps_abs;
    const float t = cap_threshold(amax - emax - std::fabs(amax - emax) * 0x1p-20f, cap);
    const float tm = t - emax;
    thr[m] = tm - std::fabs(tm) * 0x1p-20f - 1e-30f;
  }

  // Pass 2: pre-candidates (a >= thr); NaN approximations fail a >= thr too,
  // so count them to fall back.
  const int64_t limit = std::max<int64_t>(256, V / 64);
  std::vector<Candidate> pre;
  std::mutex mu;
  bool overflow = false, nan = false;
  parallel_for(V, 8 * grain, [&](int64_t n0, int64_t n1) {
    std::vector<Candidate> local;
    bool has_nan = false;
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t m = 0; m < mr; ++m) {
        const float v = a[n * mr + m];
        has_nan |= v != v;
        if (v >= thr[m])
          local.push_back({n, int32_t(m)});
      }
    if (!local.empty() || has_nan) {
      std::lock_guard<std::mutex> lock(mu);
      nan |= has_nan;
      if (int64_t(pre.size() + local.size()) > limit * mr)
        overflow = true;
      else
        pre.insert(pre.end(), local.begin(), local.end());
    }
  });
  if (overflow || nan)
    return false;

  // Exact bounds on the pre-candidates: L, T(L), then the candidates.
  float L[kBlockRows], T[kBlockRows];
  for (int64_t m = 0; m < mr; ++m)
    L[m] = -std::numeric_limits<float>::infinity();
  for (const Candidate &c : pre) {
    const float v = a[c.n * mr + c.m];
    L[c.m] = std::max(L[c.m], v - err(c.n, c.m, v));
  }
  for (int64_t m = 0; m < mr; ++m) {
    if (!std::isfinite(L[m]))
      return false;
    T[m] = cap_threshold(L[m], cap);
  }
  std::vector<Candidate> cands;
  for (const Candidate &c : pre) {
    const float v = a[c.n * mr + c.m];
    if (v + err(c.n, c.m, v) >= T[c.m])
      cands.push_back(c);
  }
  n_candidates += int64_t(cands.size());

  // Exact fp32 logits of the candidates, same kernel and order as sgemm_nt.
  std::sort(cands.begin(), cands.end(), [](const Candidate &p, const Candidate &q) {
    return p.n != q.n ? p.n < q.n : p.m < q.m;
  });
  float best_v[kBlockRows];
  int64_t best_n[kBlockRows];
  for (int64_t m = 0; m < mr; ++m) {
    best_v[m] = -std::numeric_limits<float>::infinity();
    best_n[m] = -1;
  }
  float z[kBlockRows];
  for (size_t i = 0; i < cands.size();) {
    const int64_t n = cands[i].n;
    detail::dot_rows(table + n * K, mr, K, x, lda, z);
    for (; i < cands.size() && cands[i].n == n; ++i) {
      const int32_t m = cands[i].m;
      const float v = capped(z[m], cap);
      if (best_n[m] < 0 || v > best_v[m]) {
        best_v[m] = v;
        best_n[m] = n;
      }
    }
  }
  for (int64_t m = 0; m < mr; ++m) {
    if (best_n[m] < 0)
      return false; // cannot happen with finite values; be safe
    tokens[m] = int32_t(best_n[m]);
  }
  return true;
}

} // namespace

QuantizedTable QuantizedTable::build(const float *table, int64_t rows,
                                     int64_t cols) {
  QuantizedTable t;
  t.rows = rows;
  t.cols = cols;
  t.padded_cols = (cols + 15) / 16 * 16;
  const int64_t Kp = t.padded_cols;
  if (cols > kMaxCols)
    return t; // not usable: int32 sums could overflow
  t.q.assign(size_t(rows * Kp), 0);
  t.scale.resize(size_t(rows));
  t.bound_x1.resize(size_t(rows));
  t.bound_ex.resize(size_t(rows));
  const double gamma = double(cols + 16) * 0x1p-24;
  std::vector<uint8_t> bad(size_t(rows), 0);
  parallel_for(rows, grain_for(rows, 256), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *w = table + r * cols;
      int8_t *q = t.q.data() + r * Kp;
      float mx = 0.0f;
      bool finite = true;
      for (int64_t k = 0; k < cols; ++k) {
        finite &= std::isfinite(w[k]);
        mx = std::max(mx, std::fabs(w[k]));
      }
      if (!finite) {
        bad[size_t(r)] = 1;
        continue;
      }
      const float s = mx / 127.0f, inv = s > 0.0f ? 1.0f / s : 0.0f;
      // Any rounding will do: the bound uses the error actually measured.
      float err = 0.0f;
      int32_t q1 = 0;
#pragma omp simd reduction(max : err) reduction(+ : q1)
      for (int64_t k = 0; k < cols; ++k) {
        const float v = std::min(127.0f, std::max(-127.0f, std::rint(w[k] * inv)));
        q[k] = int8_t(v);
        q1 += int32_t(std::fabs(v));
        err = std::max(err, std::fabs(w[k] - s * v));
      }
      // The rounding of this estimate (<= 2 ulps of max|w|) is covered by the
      // γ·max|w| term below; round it up a little more anyway.
      err = err * (1.0f + 0x1p-20f) + 1e-38f;
      t.scale[size_t(r)] = s;
      const double fx =
          (double(err) + gamma * (127.0 * double(s) + double(mx))) * (1.0 + 1e-4);
      t.bound_x1[size_t(r)] = float(fx * (1.0 + 1e-6));
      t.bound_ex[size_t(r)] = float(double(s) * double(q1) * (1.0 + 1e-4));
    }
  });
  t.usable = std::find(bad.begin(), bad.end(), 1) == bad.end();
  for (int64_t r = 0; r < rows; ++r) {
    t.max_bound_x1 = std::max(t.max_bound_x1, t.bound_x1[size_t(r)]);
    t.max_bound_ex = std::max(t.max_bound_ex, t.bound_ex[size_t(r)]);
  }
  return t;
}

void greedy_argmax(const float *x, int64_t M, int64_t lda, const float *table,
                   int64_t V, int64_t K, float cap, const QuantizedTable *qt,
                   int32_t *tokens) {
  t_stats = GreedyStats{};
#ifdef EDG_GREEDY_AVX2
  const bool search =
      qt && qt->usable && qt->rows == V && qt->cols == K && V > 0 && K > 0;
#else
  // The monotonicity of the soft-cap the search relies on was checked for the
  // AVX2/FMA build of fast_tanh; other builds compute the full logits.
  const bool search = false;
#endif
  for (int64_t m0 = 0; m0 < M; m0 += kBlockRows) {
    const int64_t mr = std::min(kBlockRows, M - m0);
    const float *xb = x + m0 * lda;
    if (!search || !search_block(xb, mr, lda, table, V, K, cap, *qt,
                                 tokens + m0, t_stats.candidates)) {
      exact_block(xb, mr, lda, table, V, K, cap, tokens + m0);
      t_stats.exact_path = true;
    }
  }
}

GreedyStats last_greedy_stats() { return t_stats; }

} // namespace edg::cpu
