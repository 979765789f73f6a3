//===- attention_grad.cc - blocked attention backward on GEMMs ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The attention core's gradient for training, organised like the forward
// `attention_gemm`: per (batch, KV head) task, blocks of TQ queries of each
// of the G query heads that share the KV head, with every contraction an
// sgemm (single-threaded inside the task):
//
//   s  = q kᵀ · scale;  z = c·tanh(s/c);  p = softmax(mask(z))   [TQ, S]
//   dv += pᵀ do                                                  [S, hd]
//   dp = do vᵀ;  ds = p (dp - rowsum(p dp)) · (1 - (z/c)²) · scale
//   dq  = ds k                                                   [TQ, hd]
//   dk += dsᵀ q                                                  [S, hd]
//
// The task owns dk/dv of its KV head and dq of its G heads, so no two
// threads write the same gradient. Masks follow kernels.h (absolute
// positions, key padding ANDed in). A row that sees no key has HF's uniform
// p = 1/S and passes gradient to v only. attention_backward (attention.cc)
// is the scalar reference the tests compare this with.
//===----------------------------------------------------------------------===//
#include "runtime/cpu/train_kernels.h"

#include "runtime/core/status.h"
#include "runtime/cpu/blas.h"
#include "runtime/cpu/fast_math.h"
#include "runtime/cpu/parallel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace edg::cpu {

namespace {
constexpr int64_t kQueryBlock = 64;

bool visible(const AttentionParams &p, int64_t qp, int64_t kp, bool valid) {
  if (!valid)
    return false;
  const int64_t d = qp - kp;
  switch (p.mask) {
  case MaskKind::causal: return d >= 0;
  case MaskKind::sliding_causal: return d >= 0 && d < p.window;
  case MaskKind::sliding_bidirectional: return d < p.window && -d < p.window;
  case MaskKind::bidirectional:
  case MaskKind::none_cross: return true;
  }
  return true;
}
} // namespace

void attention_backward_blocked(const float *q, const float *k, const float *v,
                                const float *dout, float *dq, float *dk,
                                float *dv, int64_t B, int64_t T, int64_t S,
                                int64_t H, int64_t K, int64_t hd,
                                const AttentionParams &p) {
  check(B >= 0 && T >= 0 && S >= 0 && H > 0 && K > 0 && hd > 0 && H % K == 0,
        "attention_backward_blocked: bad sizes B=", B, " T=", T, " S=", S,
        " H=", H, " K=", K, " hd=", hd);
  check(p.kv_batch_stride == 0 || p.kv_batch_stride == S * K * hd,
        "attention_backward_blocked: k and v must be dense [B, S, K, hd]");
  const bool sliding = p.mask == MaskKind::sliding_causal ||
                       p.mask == MaskKind::sliding_bidirectional;
  check(!sliding || p.window > 0, "attention_backward_blocked: mask ",
        mask_kind_name(p.mask), " needs a window > 0");
  std::fill(dk, dk + B * S * K * hd, 0.0f);
  std::fill(dv, dv + B * S * K * hd, 0.0f);
  if (B * T == 0 || S == 0)
    return;
  const int64_t G = H / K, qs = H * hd, ks = K * hd; // row strides
  const float cap = p.softcap;
  parallel_for(B * K, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> sc(size_t(kQueryBlock * S)), z(size_t(kQueryBlock * S)),
        dp(size_t(kQueryBlock * S));
    std::vector<uint8_t> vis(size_t(kQueryBlock * S)),
        seen(static_cast<size_t>(kQueryBlock));
    for (int64_t task = i0; task < i1; ++task) {
      const int64_t b = task / K, kvh = task % K;
      const float *kb = k + b * S * ks + kvh * hd, *vb = v + b * S * ks + kvh * hd;
      float *dkb = dk + b * S * ks + kvh * hd, *dvb = dv + b * S * ks + kvh * hd;
      for (int64_t t0 = 0; t0 < T; t0 += kQueryBlock) {
        const int64_t tq = std::min(kQueryBlock, T - t0);
        // The block's mask, shared by the G heads.
        for (int64_t r = 0; r < tq; ++r) {
          const int64_t t = t0 + r;
          const int64_t qp = p.q_pos ? p.q_pos[b * T + t] : S - T + t;
          bool a = false;
          for (int64_t s = 0; s < S; ++s) {
            const int64_t kp = p.k_pos ? p.k_pos[b * S + s] : s;
            const bool ok = visible(p, qp, kp, !p.key_valid || p.key_valid[b * S + s]);
            vis[size_t(r * S + s)] = ok;
            a |= ok;
          }
          seen[size_t(r)] = a;
        }
        for (int64_t g = 0; g < G; ++g) {
          const int64_t h = kvh * G + g;
          const float *qb = q + (b * T + t0) * qs + h * hd;
          const float *dob = dout + (b * T + t0) * qs + h * hd;
          float *dqb = dq + (b * T + t0) * qs + h * hd;
          // Scores -> probabilities, keeping the capped score z.
          sgemm_nt(tq, S, hd, qb, qs, kb, ks, sc.data(), S);
          for (int64_t r = 0; r < tq; ++r) {
            float *sr = sc.data() + r * S, *zr = z.data() + r * S;
            const uint8_t *m = vis.data() + r * S;
            if (!seen[size_t(r)]) { // uniform over all keys, no q/k gradient
              std::fill(sr, sr + S, 1.0f / float(S));
              continue;
            }
            float mx = -std::numeric_limits<float>::infinity();
            for (int64_t s = 0; s < S; ++s) {
              float x = sr[s] * p.scale;
              x = cap > 0.0f ? fast_tanh(x / cap) * cap : x;
              zr[s] = x;
              if (m[s])
                mx = std::max(mx, x);
            }
            float sum = 0.0f;
            for (int64_t s = 0; s < S; ++s) {
              sr[s] = m[s] ? fast_exp(zr[s] - mx) : 0.0f;
              sum += sr[s];
            }
            const float inv = 1.0f / sum;
            for (int64_t s = 0; s < S; ++s)
              sr[s] *= inv;
          }
          // dv[S, hd] += pᵀ do;  dp[tq, S] = do vᵀ.
          sgemm_tn(S, hd, tq, sc.data(), S, dob, qs, dvb, ks, 1.0f);
          sgemm_nt(tq, S, hd, dob, qs, vb, ks, dp.data(), S);
          // ds (into dp), through the softmax, the cap and the scale.
          for (int64_t r = 0; r < tq; ++r) {
            float *pr = sc.data() + r * S, *dr = dp.data() + r * S;
            const float *zr = z.data() + r * S;
            if (!seen[size_t(r)]) {
              std::fill(dr, dr + S, 0.0f);
              continue;
            }
            double pdp = 0.0;
            for (int64_t s = 0; s < S; ++s)
              pdp += double(pr[s]) * dr[s];
            for (int64_t s = 0; s < S; ++s) {
              float ds = pr[s] * (dr[s] - float(pdp));
              if (cap > 0.0f) {
                const float tz = zr[s] / cap;
                ds *= 1.0f - tz * tz;
              }
              dr[s] = ds * p.scale;
            }
          }
          // dq[tq, hd] = ds k;  dk[S, hd] += dsᵀ q.
          sgemm_nn(tq, hd, S, dp.data(), S, kb, ks, dqb, qs);
          sgemm_tn(S, hd, tq, dp.data(), S, qb, qs, dkb, ks, 1.0f);
        }
      }
    }
  });
}

} // namespace edg::cpu
