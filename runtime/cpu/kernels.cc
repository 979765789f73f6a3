//===- kernels.cc - fp32 norm, RoPE, GeGLU, loss kernels --------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Forward and backward of embedding, Gemma RMSNorm, rotate-half RoPE, the
// GeGLU product, soft-capping and cross-entropy, written to reproduce HF's
// fp32 eager op order (see the comments at each kernel). Attention lives in
// attention.cc. Loops run in parallel over rows once there is enough work to
// pay for waking the threads: the forward kernels (inference) on the
// runtime's thread pool (parallel.h), the backward ones with OpenMP.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels.h"

#include "runtime/core/status.h"
#include "runtime/cpu/fast_math.h"
#include "runtime/cpu/parallel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace edg::cpu {

namespace {
/// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

/// fn(begin, end) over [0, n) on the thread pool (parallel.h) when
/// n * cost >= min_work, else in one call. `cost` is the work per item in
/// elements, so blocks hold at least ~kParallelMin / 4 elements.
template <typename F>
void for_blocks(int64_t n, int64_t cost, int64_t min_work, F &&fn) {
  if (n <= 0)
    return;
  if (n * cost < min_work) {
    fn(int64_t(0), n);
    return;
  }
  parallel_for(n, grain_for(n, std::max<int64_t>(1, (kParallelMin / 4) / cost)),
               fn);
}

// torch's gelu(approximate="tanh") constants: kBeta = sqrt(2) * 2/sqrt(pi) / 2
// computed in double then rounded to float, as in ATen's kernel.
constexpr float kGeluBeta = float(M_SQRT2 * M_2_SQRTPI * 0.5);
constexpr float kGeluKappa = 0.044715f;

void check_rope_args(const char *fn, int64_t B, int64_t T, int64_t nheads,
                     int64_t hd, const int32_t *positions, float theta) {
  check(B >= 0 && T >= 0 && nheads >= 0, fn, ": negative size B=", B, " T=", T,
        " nheads=", nheads);
  check(hd > 0 && hd % 2 == 0, fn, ": head_dim must be even and positive, got ",
        hd);
  check(B * T == 0 || positions != nullptr, fn, ": positions is null");
  check(theta > 0.0f && std::isfinite(theta), fn,
        ": rope theta must be positive and finite, got ", theta);
}

/// cos and sin of pos * inv_freq[i] for positions [0, n), [n, hd/2] each,
/// computed as HF does (fp32 inv_freq, fp32 product). One table per (theta,
/// hd) for the whole process, grown on demand and never changed once
/// published, so that every layer of every call reuses it.
struct RopeTable {
  int64_t n = 0, half = 0;
  std::vector<float> cos, sin;
};

std::shared_ptr<const RopeTable> rope_table(float theta, int64_t hd,
                                            int64_t n) {
  static std::mutex mu;
  static std::map<std::pair<float, int64_t>, std::shared_ptr<const RopeTable>>
      tables;
  std::lock_guard<std::mutex> lock(mu);
  std::shared_ptr<const RopeTable> &slot = tables[{theta, hd}];
  if (slot && slot->n >= n)
    return slot;
  const int64_t half = hd / 2;
  // HF: inv_freq = 1.0 / (theta ** (arange(0, hd, 2, int64).float() / hd)),
  // every step in fp32.
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    inv_freq[size_t(i)] = 1.0f / std::pow(theta, float(2 * i) / float(hd));
  auto t = std::make_shared<RopeTable>();
  t->n = std::max<int64_t>(n, slot ? 2 * slot->n : 1024); // amortised growth
  t->half = half;
  t->cos.resize(size_t(t->n * half));
  t->sin.resize(size_t(t->n * half));
  for (int64_t p = 0; p < t->n; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const float angle = float(p) * inv_freq[size_t(i)]; // fp32, as HF
      t->cos[size_t(p * half + i)] = std::cos(angle);
      t->sin[size_t(p * half + i)] = std::sin(angle);
    }
  slot = t;
  return slot;
}

/// Shared by forward (sign = +1) and backward (sign = -1: rotation by -angle,
/// which is the transpose of the forward rotation).
void rope_apply(float *x, int64_t B, int64_t T, int64_t nheads, int64_t hd,
                const int32_t *positions, float theta, float sign) {
  const int64_t half = hd / 2, rows = B * T;
  int32_t max_pos = 0;
  bool negative = false;
  for (int64_t r = 0; r < rows; ++r) {
    max_pos = std::max(max_pos, positions[r]);
    negative |= positions[r] < 0;
  }
  // Positions are 0..max_seq in practice; anything else gets a local table.
  std::shared_ptr<const RopeTable> table;
  std::vector<float> inv_freq;
  if (!negative && max_pos < (1 << 20))
    table = rope_table(theta, hd, int64_t(max_pos) + 1);
  else {
    inv_freq.resize(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i)
      inv_freq[size_t(i)] = 1.0f / std::pow(theta, float(2 * i) / float(hd));
  }
  for_blocks(rows, nheads * hd, kParallelMin, [&](int64_t r0, int64_t r1) {
    std::vector<float> c(static_cast<size_t>(half)),
        s(static_cast<size_t>(half));
    for (int64_t r = r0; r < r1; ++r) {
      if (table) {
        const float *tc = table->cos.data() + int64_t(positions[r]) * half,
                    *ts = table->sin.data() + int64_t(positions[r]) * half;
        for (int64_t i = 0; i < half; ++i) {
          c[size_t(i)] = tc[i];
          s[size_t(i)] = sign * ts[i];
        }
      } else {
        const float pos = float(positions[r]);
        for (int64_t i = 0; i < half; ++i) {
          const float angle = pos * inv_freq[size_t(i)]; // fp32 product, as HF
          c[size_t(i)] = std::cos(angle);
          s[size_t(i)] = sign * std::sin(angle);
        }
      }
      float *xr = x + r * nheads * hd;
      for (int64_t h = 0; h < nheads; ++h) {
        float *x1 = xr + h * hd, *x2 = x1 + half;
        for (int64_t i = 0; i < half; ++i) {
          const float a = x1[i], b = x2[i];
          x1[i] = a * c[size_t(i)] - b * s[size_t(i)];
          x2[i] = b * c[size_t(i)] + a * s[size_t(i)];
        }
      }
    }
  });
}

} // namespace

//===----------------------------------------------------------------------===//
// Forward
//===----------------------------------------------------------------------===//

void embed(const int32_t *ids, int64_t n, const float *table, int64_t vocab,
           int64_t d, float scale, float *out) {
  check(n >= 0 && vocab >= 0 && d >= 0, "embed: negative size n=", n,
        " vocab=", vocab, " d=", d);
  for (int64_t i = 0; i < n; ++i)
    check(ids[i] >= 0 && ids[i] < vocab, "embed: token id ", ids[i],
          " at position ", i, " is outside the vocabulary [0, ", vocab, ")");
  for_blocks(n, d, kParallelMin, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float *row = table + int64_t(ids[i]) * d;
      float *o = out + i * d;
      for (int64_t j = 0; j < d; ++j)
        o[j] = row[j] * scale;
    }
  });
}

void rms_norm(const float *x, const float *w, int64_t n, int64_t d, float eps,
              float *out) {
  check(n >= 0 && d > 0, "rms_norm: bad size n=", n, " d=", d);
  for_blocks(n, d, kParallelMin, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float *xr = x + i * d;
      float *o = out + i * d;
      // mean(x²) accumulated in double and rounded once: within an ulp of
      // torch's fp32 mean, whatever its reduction order.
      double ss = 0.0;
      for (int64_t j = 0; j < d; ++j)
        ss += double(xr[j]) * double(xr[j]);
      const float ms = float(ss / double(d));
      const float r = 1.0f / std::sqrt(ms + eps); // torch.rsqrt in fp32
      for (int64_t j = 0; j < d; ++j)
        o[j] = (xr[j] * r) * (1.0f + w[j]); // HF: (x * rsqrt) * (1 + w)
    }
  });
}

void rope_rotate_half(float *x, int64_t B, int64_t T, int64_t nheads,
                      int64_t hd, const int32_t *positions, float theta) {
  check_rope_args("rope_rotate_half", B, T, nheads, hd, positions, theta);
  rope_apply(x, B, T, nheads, hd, positions, theta, 1.0f);
}

void gelu_tanh_mul(const float *gate, const float *up, float *out, int64_t n) {
  check(n >= 0, "gelu_tanh_mul: negative size ", n);
  for_blocks(n, 1, kParallelMin, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) {
      const float u = gate[i];
      // ATen's vectorised order: x³ = x*x*x, inner = beta*(x + kappa*x³),
      // 0.5*x*(1 + tanh(inner)).
      const float inner = kGeluBeta * (u + kGeluKappa * (u * u * u));
      out[i] = (0.5f * u * (1.0f + fast_tanh(inner))) * up[i];
    }
  });
}

void add(const float *a, const float *b, float *out, int64_t n) {
  check(n >= 0, "add: negative size ", n);
  for_blocks(n, 1, 4 * kParallelMin, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i)
      out[i] = a[i] + b[i];
  });
}

void softcap(float *x, int64_t n, float cap) {
  check(n >= 0, "softcap: negative size ", n);
  check(cap > 0.0f && std::isfinite(cap),
        "softcap: cap must be positive and finite, got ", cap);
  // HF: x / cap, tanh, * cap (three fp32 ops; division, not a reciprocal).
  for_blocks(n, 1, kParallelMin, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i)
      x[i] = fast_tanh(x[i] / cap) * cap;
  });
}

float softcap_value(float x, float cap) { return fast_tanh(x / cap) * cap; }

void scale(float *x, int64_t n, float s) {
  check(n >= 0, "scale: negative size ", n);
  for_blocks(n, 1, 4 * kParallelMin, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i)
      x[i] *= s;
  });
}

float cross_entropy(const float *logits, const int32_t *labels, int64_t N,
                    int64_t V, float *dlogits, int32_t ignore_index) {
  check(N >= 0 && V > 0, "cross_entropy: bad size N=", N, " V=", V);
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (labels[i] == ignore_index)
      continue;
    check(labels[i] >= 0 && labels[i] < V, "cross_entropy: label ", labels[i],
          " at row ", i, " is outside [0, ", V, ") and is not ignore_index (",
          ignore_index, ")");
    ++count;
  }
  const float inv_count = count ? 1.0f / float(count) : 0.0f;
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)                  \
    if (N * V >= kParallelMin)
  for (int64_t i = 0; i < N; ++i) {
    const float *x = logits + i * V;
    float *g = dlogits ? dlogits + i * V : nullptr;
    if (labels[i] == ignore_index) {
      if (g)
        std::fill(g, g + V, 0.0f);
      continue;
    }
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < V; ++j)
      mx = std::max(mx, x[j]);
    // Sum of exp in vectorised fp32 blocks of 256, blocks added in double.
    double sum = 0.0;
    for (int64_t j0 = 0; j0 < V; j0 += 256) {
      const int64_t j1 = std::min(V, j0 + 256);
      float part = 0.0f;
#pragma omp simd reduction(+ : part)
      for (int64_t j = j0; j < j1; ++j)
        part += fast_exp(x[j] - mx);
      sum += part;
    }
    const double lse = double(mx) + std::log(sum);
    total += lse - double(x[labels[i]]);
    if (g) {
      const float inv_sum = float(1.0 / sum);
#pragma omp simd
      for (int64_t j = 0; j < V; ++j)
        g[j] = fast_exp(x[j] - mx) * inv_sum * inv_count;
      g[labels[i]] -= inv_count;
    }
  }
  if (count == 0)
    return std::numeric_limits<float>::quiet_NaN();
  return float(total / double(count));
}

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

void embed_backward(const int32_t *ids, int64_t n, const float *dout,
                    int64_t vocab, int64_t d, float scale, float *dtable) {
  check(n >= 0 && vocab >= 0 && d >= 0, "embed_backward: negative size n=", n,
        " vocab=", vocab, " d=", d);
  for (int64_t i = 0; i < n; ++i)
    check(ids[i] >= 0 && ids[i] < vocab, "embed_backward: token id ", ids[i],
          " at position ", i, " is outside the vocabulary [0, ", vocab, ")");
  // Repeated ids scatter into the same row, so threads split the columns
  // (each owns a slice of every row) instead of the tokens.
  const int64_t cb = 64;
#pragma omp parallel for schedule(static) if (n * d >= kParallelMin)
  for (int64_t j0 = 0; j0 < d; j0 += cb) {
    const int64_t j1 = std::min(d, j0 + cb);
    for (int64_t i = 0; i < n; ++i) {
      float *t = dtable + int64_t(ids[i]) * d;
      const float *g = dout + i * d;
      for (int64_t j = j0; j < j1; ++j)
        t[j] += g[j] * scale;
    }
  }
}

void rms_norm_backward(const float *x, const float *w, const float *dout,
                       int64_t n, int64_t d, float eps, float *dx, float *dw) {
  check(n >= 0 && d > 0, "rms_norm_backward: bad size n=", n, " d=", d);
  // y = x * r * g with r = (mean(x²) + eps)^-1/2 and g = 1 + w:
  //   dx = r * (dy*g) - x * r³ * mean(dy * g * x),  dw = sum_rows dy * x * r.
  std::vector<float> rs(static_cast<size_t>(n));
#pragma omp parallel for schedule(static) if (n * d >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float *xr = x + i * d, *gr = dout + i * d;
    double ss = 0.0, dot = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      ss += double(xr[j]) * xr[j];
      dot += double(gr[j]) * (1.0 + double(w[j])) * xr[j];
    }
    const double r = 1.0 / std::sqrt(double(float(ss / double(d))) + eps);
    rs[size_t(i)] = float(r);
    const double c = r * r * r * dot / double(d);
    float *o = dx + i * d;
    for (int64_t j = 0; j < d; ++j)
      o[j] =
          float(r * double(gr[j]) * (1.0 + double(w[j])) - double(xr[j]) * c);
  }
  if (!dw)
    return;
  const int64_t cb = 64;
#pragma omp parallel for schedule(static) if (n * d >= kParallelMin)
  for (int64_t j0 = 0; j0 < d; j0 += cb) {
    const int64_t j1 = std::min(d, j0 + cb);
    for (int64_t i = 0; i < n; ++i) {
      const float *xr = x + i * d, *gr = dout + i * d;
      const float r = rs[size_t(i)];
      for (int64_t j = j0; j < j1; ++j)
        dw[j] += gr[j] * xr[j] * r;
    }
  }
}

void rope_rotate_half_backward(float *dx, int64_t B, int64_t T, int64_t nheads,
                               int64_t hd, const int32_t *positions,
                               float theta) {
  check_rope_args("rope_rotate_half_backward", B, T, nheads, hd, positions,
                  theta);
  rope_apply(dx, B, T, nheads, hd, positions, theta, -1.0f);
}

void gelu_tanh_mul_backward(const float *gate, const float *up,
                            const float *dout, float *dgate, float *dup,
                            int64_t n) {
  check(n >= 0, "gelu_tanh_mul_backward: negative size ", n);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float u = gate[i], g = dout[i];
    const float u2 = u * u;
    const float t = fast_tanh(kGeluBeta * (u + kGeluKappa * u2 * u));
    const float gelu = 0.5f * u * (1.0f + t);
    // d gelu/du = 0.5(1 + t) + 0.5u(1 - t²)·beta(1 + 3·kappa·u²) (ATen's form)
    const float dgelu = 0.5f * (1.0f + t) + 0.5f * u * (1.0f - t * t) *
                                                kGeluBeta *
                                                (1.0f + 3.0f * kGeluKappa * u2);
    const float upv = up[i];
    dup[i] = g * gelu;
    dgate[i] = g * upv * dgelu;
  }
}

void softcap_backward(const float *y, const float *dy, float *dx, int64_t n,
                      float cap) {
  check(n >= 0, "softcap_backward: negative size ", n);
  check(cap > 0.0f && std::isfinite(cap),
        "softcap_backward: cap must be positive and finite, got ", cap);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float t = y[i] / cap;
    dx[i] = dy[i] * (1.0f - t * t);
  }
}

} // namespace edg::cpu
