//===- train_kernels.cc - layer-level gradients and AdamW on CPU -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See train_kernels.h. GEMM shapes, with N = B*T rows, follow
// y = x·Wᵀ (sgemm_nt): the weight gradient is dW = dyᵀ·x (sgemm_tn) and the
// input gradient dx = dy·W (sgemm_nn). The forward recomputation inside each
// gradient uses exactly the calls of the CPU executor's forward step, so
// the recomputed internals equal the forward pass's bit for bit.
//===----------------------------------------------------------------------===//
#include "runtime/cpu/train_kernels.h"

#include "runtime/core/status.h"
#include "runtime/cpu/blas.h"
#include "runtime/cpu/fast_math.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace edg::cpu {

namespace {
using Buffer = std::vector<float>;

Buffer buffer(int64_t n) { return Buffer(static_cast<size_t>(n)); }

AttentionParams params_of(const AttentionLayer &c, const int32_t *positions,
                          const uint8_t *key_valid) {
  AttentionParams p;
  p.scale = c.scale;
  p.softcap = c.softcap;
  p.mask = c.mask;
  p.window = c.window;
  p.key_valid = key_valid;
  if (c.rope_theta > 0.0f) {
    p.q_pos = positions;
    p.k_pos = positions;
  }
  return p;
}

/// q [B,T,H,hd], k/v [B,S,K,hd] from the inputs, RoPE'd for self-attention.
void project_qkv(const float *x, const float *kv, int64_t B, int64_t T,
                 int64_t S, int64_t d, int64_t dkv, const int32_t *positions,
                 const float *wq, const float *wk, const float *wv,
                 const AttentionLayer &c, Buffer &q, Buffer &k, Buffer &v) {
  const int64_t qw = c.H * c.hd, kw = c.K * c.hd;
  q = buffer(B * T * qw);
  k = buffer(B * S * kw);
  v = buffer(B * S * kw);
  sgemm_nt(B * T, qw, d, x, d, wq, d, q.data(), qw);
  sgemm_nt(B * S, kw, dkv, kv, dkv, wk, dkv, k.data(), kw);
  sgemm_nt(B * S, kw, dkv, kv, dkv, wv, dkv, v.data(), kw);
  if (c.rope_theta > 0.0f) {
    rope_rotate_half(q.data(), B, T, c.H, c.hd, positions, c.rope_theta);
    rope_rotate_half(k.data(), B, S, c.K, c.hd, positions, c.rope_theta);
  }
}
} // namespace

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

void attention_layer_forward(const float *x, const float *kv, int64_t B,
                             int64_t T, int64_t S, int64_t d, int64_t dkv,
                             const int32_t *positions,
                             const uint8_t *key_valid, const float *wq,
                             const float *wk, const float *wv, const float *wo,
                             const AttentionLayer &c, float *out) {
  Buffer q, k, v;
  project_qkv(x, kv, B, T, S, d, dkv, positions, wq, wk, wv, c, q, k, v);
  Buffer o = buffer(B * T * c.H * c.hd);
  attention(q.data(), k.data(), v.data(), o.data(), B, T, S, c.H, c.K, c.hd,
            params_of(c, positions, key_valid));
  sgemm_nt(B * T, d, c.H * c.hd, o.data(), c.H * c.hd, wo, c.H * c.hd, out, d);
}

void attention_layer_backward(const float *x, const float *kv, int64_t B,
                              int64_t T, int64_t S, int64_t d, int64_t dkv,
                              const int32_t *positions,
                              const uint8_t *key_valid, const float *wq,
                              const float *wk, const float *wv,
                              const float *wo, const AttentionLayer &c,
                              const float *dy, float *dx, float *dkv_out,
                              float *dwq, float *dwk, float *dwv, float *dwo) {
  const int64_t N = B * T, M = B * S, qw = c.H * c.hd, kw = c.K * c.hd;
  const bool self = dkv_out == nullptr;
  check(!self || (kv == x && S == T && dkv == d),
        "attention_layer_backward: self-attention needs kv == x");
  // Recompute q, k, v (post-RoPE) and the attention output o [N, H*hd].
  Buffer q, k, v;
  project_qkv(x, kv, B, T, S, d, dkv, positions, wq, wk, wv, c, q, k, v);
  AttentionParams p = params_of(c, positions, key_valid);
  Buffer o = buffer(N * qw);
  attention(q.data(), k.data(), v.data(), o.data(), B, T, S, c.H, c.K, c.hd, p);

  // Output projection: dWo [d, H*hd] = dyᵀ·o, do [N, H*hd] = dy·Wo.
  sgemm_tn(d, qw, N, dy, d, o.data(), qw, dwo, qw);
  Buffer dout = std::move(o);
  sgemm_nn(N, qw, d, dy, d, wo, qw, dout.data(), qw);

  // Attention core (softmax recomputed inside), then RoPE's transpose.
  Buffer dq = buffer(N * qw), dk = buffer(M * kw), dv = buffer(M * kw);
  attention_backward_blocked(q.data(), k.data(), v.data(), dout.data(),
                             dq.data(), dk.data(), dv.data(), B, T, S, c.H,
                             c.K, c.hd, p);
  if (c.rope_theta > 0.0f) {
    rope_rotate_half_backward(dq.data(), B, T, c.H, c.hd, positions,
                              c.rope_theta);
    rope_rotate_half_backward(dk.data(), B, S, c.K, c.hd, positions,
                              c.rope_theta);
  }

  // Projections: dW = dᵀ·input, d input = d·W.
  sgemm_tn(qw, d, N, dq.data(), qw, x, d, dwq, d);
  sgemm_tn(kw, dkv, M, dk.data(), kw, kv, dkv, dwk, dkv);
  sgemm_tn(kw, dkv, M, dv.data(), kw, kv, dkv, dwv, dkv);
  sgemm_nn(N, d, qw, dq.data(), qw, wq, d, dx, d);
  float *dk_in = self ? dx : dkv_out;
  sgemm_nn(M, dkv, kw, dk.data(), kw, wk, dkv, dk_in, dkv, self ? 1.0f : 0.0f);
  sgemm_nn(M, dkv, kw, dv.data(), kw, wv, dkv, dk_in, dkv, 1.0f);
}

//===----------------------------------------------------------------------===//
// MLP
//===----------------------------------------------------------------------===//

void mlp_forward(const float *x, int64_t N, int64_t d, int64_t I,
                 const float *gate, const float *up, const float *down,
                 float *y) {
  Buffer g = buffer(N * I), u = buffer(N * I);
  sgemm_nt(N, I, d, x, d, gate, d, g.data(), I);
  sgemm_nt(N, I, d, x, d, up, d, u.data(), I);
  gelu_tanh_mul(g.data(), u.data(), g.data(), N * I);
  sgemm_nt(N, d, I, g.data(), I, down, I, y, d);
}

void mlp_backward(const float *x, int64_t N, int64_t d, int64_t I,
                  const float *gate, const float *up, const float *down,
                  const float *dy, float *dx, float *dgate, float *dup,
                  float *ddown) {
  // g = x·gateᵀ, u = x·upᵀ, h = gelu(g)·u, y = h·downᵀ; all [N, I] but y.
  Buffer g = buffer(N * I), u = buffer(N * I), h = buffer(N * I);
  sgemm_nt(N, I, d, x, d, gate, d, g.data(), I);
  sgemm_nt(N, I, d, x, d, up, d, u.data(), I);
  gelu_tanh_mul(g.data(), u.data(), h.data(), N * I);
  sgemm_tn(d, I, N, dy, d, h.data(), I, ddown, I); // ddown [d, I]
  Buffer dh = std::move(h);
  sgemm_nn(N, I, d, dy, d, down, I, dh.data(), I); // dh [N, I]
  Buffer dg = buffer(N * I), du = buffer(N * I);
  gelu_tanh_mul_backward(g.data(), u.data(), dh.data(), dg.data(), du.data(),
                         N * I);
  sgemm_tn(I, d, N, dg.data(), I, x, d, dgate, d);
  sgemm_tn(I, d, N, du.data(), I, x, d, dup, d);
  sgemm_nn(N, d, I, dg.data(), I, gate, d, dx, d);
  sgemm_nn(N, d, I, du.data(), I, up, d, dx, d, 1.0f);
}

//===----------------------------------------------------------------------===//
// LM head
//===----------------------------------------------------------------------===//

void lm_head_forward(const float *x, int64_t N, int64_t d, const float *table,
                     int64_t V, float softcap_value, float *logits) {
  sgemm_nt(N, V, d, x, d, table, d, logits, V);
  if (softcap_value > 0.0f)
    softcap(logits, N * V, softcap_value);
}

void lm_head_backward(const float *x, int64_t N, int64_t d,
                      const float *table, int64_t V, float softcap_value,
                      const float *dlogits, float *dx, float *dtable) {
  const float *dz = dlogits;
  Buffer capped;
  if (softcap_value > 0.0f) {
    // d(c·tanh(z/c))/dz = 1 - (y/c)², from the recomputed capped logits.
    capped = buffer(N * V);
    lm_head_forward(x, N, d, table, V, softcap_value, capped.data());
    softcap_backward(capped.data(), dlogits, capped.data(), N * V,
                     softcap_value);
    dz = capped.data();
  }
  sgemm_nn(N, d, V, dz, V, table, d, dx, d);      // dx [N, d]
  sgemm_tn(V, d, N, dz, V, x, d, dtable, d);      // dtable [V, d]
}

//===----------------------------------------------------------------------===//
// Distillation
//===----------------------------------------------------------------------===//

namespace {
/// log-softmax of x/tau into out [V], in double for the normaliser.
void log_softmax(const float *x, int64_t V, float tau, float *out) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < V; ++j)
    mx = std::max(mx, x[j] / tau);
  double sum = 0.0;
  for (int64_t j = 0; j < V; ++j)
    sum += std::exp(double(x[j] / tau - mx));
  const float lse = float(double(mx) + std::log(sum));
  for (int64_t j = 0; j < V; ++j)
    out[j] = x[j] / tau - lse;
}
} // namespace

float distill_kl(const float *student, const float *teacher,
                 const int32_t *teacher_index, const int32_t *labels,
                 int64_t B, int64_t T, int64_t Tt, int64_t V, float tau,
                 float weight, int32_t ignore_index, float *dstudent) {
  check(tau > 0.0f, "distill_kl: temperature must be > 0, got ", tau);
  int64_t count = 0;
  for (int64_t i = 0; i < B * T; ++i) {
    if (labels[i] == ignore_index)
      continue;
    ++count;
    check(teacher_index[i] >= 0 && teacher_index[i] < Tt,
          "distill_kl: teacher_index ", teacher_index[i], " at row ", i,
          " is outside the teacher's sequence [0, ", Tt, ")");
  }
  const double scale = count ? double(weight) / double(count) : 0.0;
  std::vector<double> row_kl(static_cast<size_t>(B * T), 0.0);
#pragma omp parallel if (B * T * V >= (1 << 15))
  {
    Buffer ls = buffer(V), lt = buffer(V);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < B * T; ++i) {
      float *g = dstudent ? dstudent + i * V : nullptr;
      if (labels[i] == ignore_index) {
        if (g)
          std::fill(g, g + V, 0.0f);
        continue;
      }
      const int64_t b = i / T;
      log_softmax(student + i * V, V, tau, ls.data());
      log_softmax(teacher + (b * Tt + teacher_index[i]) * V, V, tau, lt.data());
      double kl = 0.0;
      for (int64_t j = 0; j < V; ++j) {
        const double pt = std::exp(double(lt[size_t(j)]));
        kl += pt * (double(lt[size_t(j)]) - double(ls[size_t(j)]));
        // d/ds_j of tau² KL(pt || softmax(s/tau)) = tau (ps_j - pt_j).
        if (g)
          g[j] = float(scale * double(tau) *
                       (std::exp(double(ls[size_t(j)])) - pt));
      }
      row_kl[size_t(i)] = kl;
    }
  }
  // Rows summed in order: the loss does not depend on the thread count.
  double total = 0.0;
  for (double kl : row_kl)
    total += kl;
  if (count == 0)
    return std::numeric_limits<float>::quiet_NaN();
  return float(total * scale * double(tau) * double(tau));
}

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

float clip_grad_norm(const std::vector<float *> &grads,
                     const std::vector<int64_t> &numels, float max_norm) {
  check(grads.size() == numels.size(), "clip_grad_norm: ", grads.size(),
        " gradients but ", numels.size(), " sizes");
  double total = 0.0;
  for (size_t t = 0; t < grads.size(); ++t) {
    double part = 0.0;
    for (int64_t i = 0; i < numels[t]; ++i)
      part += double(grads[t][i]) * double(grads[t][i]);
    total += part;
  }
  const float norm = float(std::sqrt(total));
  if (max_norm > 0.0f) {
    const float coef = std::min(1.0f, max_norm / (norm + 1e-6f));
    if (coef < 1.0f)
      for (size_t t = 0; t < grads.size(); ++t)
        scale(grads[t], numels[t], coef);
  }
  return norm;
}

void adamw_step(float *param, const float *grad, float *exp_avg,
                float *exp_avg_sq, int64_t n, const AdamWParams &p) {
  check(p.step >= 1, "adamw_step: step must be >= 1, got ", p.step);
  // Scalars as torch computes them: Python doubles, cast to float where they
  // meet an fp32 tensor op.
  const float decay = float(1.0 - p.lr * p.weight_decay);
  const float w1 = float(1.0 - p.beta1), b2 = float(p.beta2);
  const float w2 = float(1.0 - p.beta2);
  const double bc1 = 1.0 - std::pow(p.beta1, double(p.step));
  const double bc2 = 1.0 - std::pow(p.beta2, double(p.step));
  const float step_size = float(p.lr / bc1);
  const float bc2_sqrt = float(std::sqrt(bc2));
  const float eps = float(p.eps);
#pragma omp parallel for simd schedule(static) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    float w = param[i] * decay;
    // torch.lerp with weight < 0.5: m + w1 * (g - m).
    const float m = exp_avg[i] + w1 * (g - exp_avg[i]);
    const float v = exp_avg_sq[i] * b2 + w2 * g * g;
    const float denom = std::sqrt(v) / bc2_sqrt + eps;
    w += -step_size * m / denom;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = w;
  }
}

double scheduled_lr(double lr, int64_t t, int64_t warmup, int64_t total,
                    double min_ratio) {
  if (warmup > 0 && t <= warmup)
    return lr * double(t) / double(warmup);
  if (total <= warmup)
    return lr;
  double progress = double(t - warmup) / double(total - warmup);
  progress = std::min(1.0, std::max(0.0, progress));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return lr * (min_ratio + (1.0 - min_ratio) * cosine);
}

} // namespace edg::cpu
