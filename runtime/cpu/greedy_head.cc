//===- greedy_head.cc - exact greedy token choice over a big LM head -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See greedy_head.h for the argument. The error bound per table row n and
// input row m is e = f[n]·||x_m||₁ with
//   f[n] = (r[n] + γ·(127·s[n] + max|E[n]|))·(1 + 1e-4),
// r[n] = max_k |E[n,k] - s[n]·q[n,k]| measured (in double) when the table is
// quantised, and γ = (K + 16)·2⁻²⁴ bounding the fp32 summation error of a
// K-term dot product in any order (once for the int8 dot, once for the fp32
// one it stands in for). The rounding of a = s·dot and of the bound
// arithmetic itself is covered by a further |a|·2⁻¹⁹ + e·2⁻¹⁶ + 1e-36.
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

#ifdef EDG_GREEDY_AVX2
inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// out[m] = A[m, :K]·q[:K] with q int8, MR rows of A.
template <int MR, int U>
void qdot_avx2(const int8_t *q, const float *A, int64_t lda, int64_t K,
               float *out) {
  __m256 acc[MR][U];
  for (int m = 0; m < MR; ++m)
    for (int u = 0; u < U; ++u)
      acc[m][u] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 * U <= K; k += 8 * U)
    for (int u = 0; u < U; ++u) {
      const __m256 qv = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
          _mm_loadl_epi64(reinterpret_cast<const __m128i *>(q + k + 8 * u))));
      for (int m = 0; m < MR; ++m)
        acc[m][u] = _mm256_fmadd_ps(_mm256_loadu_ps(A + m * lda + k + 8 * u),
                                    qv, acc[m][u]);
    }
  for (; k + 8 <= K; k += 8) {
    const __m256 qv = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
        _mm_loadl_epi64(reinterpret_cast<const __m128i *>(q + k))));
    for (int m = 0; m < MR; ++m)
      acc[m][0] =
          _mm256_fmadd_ps(_mm256_loadu_ps(A + m * lda + k), qv, acc[m][0]);
  }
  for (int m = 0; m < MR; ++m) {
    __m256 t = acc[m][0];
    for (int u = 1; u < U; ++u)
      t = _mm256_add_ps(t, acc[m][u]);
    float sum = hsum8(t);
    for (int64_t j = k; j < K; ++j)
      sum += A[m * lda + j] * float(q[j]);
    out[m] = sum;
  }
}
#endif

void qdot(const int8_t *q, int64_t M, int64_t K, const float *A, int64_t lda,
          float *out) {
#ifdef EDG_GREEDY_AVX2
  switch (M) {
  case 1: return qdot_avx2<1, 4>(q, A, lda, K, out);
  case 2: return qdot_avx2<2, 4>(q, A, lda, K, out);
  case 3: return qdot_avx2<3, 2>(q, A, lda, K, out);
  case 4: return qdot_avx2<4, 2>(q, A, lda, K, out);
  case 5: return qdot_avx2<5, 1>(q, A, lda, K, out);
  case 6: return qdot_avx2<6, 1>(q, A, lda, K, out);
  case 7: return qdot_avx2<7, 1>(q, A, lda, K, out);
  case 8: return qdot_avx2<8, 1>(q, A, lda, K, out);
  default: break;
  }
#endif
  for (int64_t m = 0; m < M; ++m) {
    float sum = 0.0f;
    for (int64_t k = 0; k < K; ++k)
      sum += A[m * lda + k] * float(q[k]);
    out[m] = sum;
  }
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

/// One block of <= 8 rows through the int8 search; false: use exact_block.
bool search_block(const float *x, int64_t mr, int64_t lda, const float *table,
                  int64_t V, int64_t K, float cap, const QuantizedTable &qt,
                  int32_t *tokens, int64_t &n_candidates) {
  float X1[kBlockRows], T[kBlockRows];
  for (int64_t m = 0; m < mr; ++m) {
    double s = 0.0;
    for (int64_t k = 0; k < K; ++k)
      s += std::fabs(double(x[m * lda + k]));
    if (!std::isfinite(s))
      return false;
    X1[m] = float(s * (1.0 + 1e-6)) + 1e-37f; // rounded up
  }
  const float eps_rel = 0x1p-19f, eps_e = 0x1p-16f, eps_abs = 1e-36f;

  // Pass 1: approximate logits into buf [mr, V]; per-block max of a - e.
  thread_local std::vector<float> buf;
  buf.resize(size_t(mr * V));
  float *a_all = buf.data();
  const int64_t grain = 2048, nblocks = (V + grain - 1) / grain;
  std::vector<float> block_max(size_t(nblocks * mr));
  std::vector<uint8_t> block_bad(size_t(nblocks), 0);
  parallel_for(V, grain, [&](int64_t n0, int64_t n1) {
    const int64_t blk = n0 / grain;
    float lmax[kBlockRows], a[kBlockRows];
    for (int64_t m = 0; m < mr; ++m)
      lmax[m] = -std::numeric_limits<float>::infinity();
    bool bad = false;
    for (int64_t n = n0; n < n1; ++n) {
      qdot(qt.q.data() + n * K, mr, K, x, lda, a);
      const float s = qt.scale[size_t(n)];
      for (int64_t m = 0; m < mr; ++m) {
        const float v = s * a[m];
        a_all[m * V + n] = v;
        const float e = qt.bound[size_t(n)] * X1[m];
        const float lo = v - (e + e * eps_e + std::fabs(v) * eps_rel + eps_abs);
        lmax[m] = std::max(lmax[m], lo);
        bad |= !std::isfinite(v);
      }
    }
    for (int64_t m = 0; m < mr; ++m)
      block_max[size_t(blk * mr + m)] = lmax[m];
    block_bad[size_t(blk)] = bad;
  });
  for (int64_t b = 0; b < nblocks; ++b)
    if (block_bad[size_t(b)])
      return false;
  for (int64_t m = 0; m < mr; ++m) {
    float L = -std::numeric_limits<float>::infinity();
    for (int64_t b = 0; b < nblocks; ++b)
      L = std::max(L, block_max[size_t(b * mr + m)]);
    if (!std::isfinite(L))
      return false;
    T[m] = cap_threshold(L, cap);
  }

  // Pass 2: candidates (a + e >= T).
  const int64_t limit = std::max<int64_t>(256, V / 64);
  std::vector<Candidate> cands;
  std::mutex mu;
  bool overflow = false;
  parallel_for(V, 8 * grain, [&](int64_t n0, int64_t n1) {
    std::vector<Candidate> local;
    for (int64_t n = n0; n < n1; ++n) {
      const float bound = qt.bound[size_t(n)];
      for (int64_t m = 0; m < mr; ++m) {
        const float v = a_all[m * V + n], e = bound * X1[m];
        const float hi = v + (e + e * eps_e + std::fabs(v) * eps_rel + eps_abs);
        if (hi >= T[m])
          local.push_back({n, int32_t(m)});
      }
    }
    if (!local.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      if (int64_t(cands.size() + local.size()) > limit * mr)
        overflow = true;
      else
        cands.insert(cands.end(), local.begin(), local.end());
    }
  });
  if (overflow)
    return false;
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
  t.q.resize(size_t(rows * cols));
  t.scale.resize(size_t(rows));
  t.bound.resize(size_t(rows));
  const double gamma = double(cols + 16) * 0x1p-24;
  std::vector<uint8_t> bad(size_t(rows), 0);
  parallel_for(rows, grain_for(rows, 256), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *w = table + r * cols;
      int8_t *q = t.q.data() + r * cols;
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
#pragma omp simd reduction(max : err)
      for (int64_t k = 0; k < cols; ++k) {
        const float v = std::min(127.0f, std::max(-127.0f, std::rint(w[k] * inv)));
        q[k] = int8_t(v);
        err = std::max(err, std::fabs(w[k] - s * v));
      }
      // The rounding of this estimate (<= 2 ulps of max|w|) is covered by the
      // γ·max|w| term below; round it up a little more anyway.
      err = err * (1.0f + 0x1p-20f) + 1e-38f;
      t.scale[size_t(r)] = s;
      const double f =
          (double(err) + gamma * (127.0 * double(s) + double(mx))) * (1.0 + 1e-4);
      t.bound[size_t(r)] = float(f * (1.0 + 1e-6));
    }
  });
  t.usable = std::find(bad.begin(), bad.end(), 1) == bad.end();
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
