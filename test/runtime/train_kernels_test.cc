//===- train_kernels_test.cc - finite-difference checks of gradients -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Every coarse gradient op of the CPU backend (runtime/cpu/train_kernels.h
// plus the backward kernels it builds on) against central finite
// differences of its forward op: for a scalar probe L = <f(inputs), r> with
// a random r, the directional derivative (L(x + e u) - L(x - e u)) / 2e
// along a random direction u must match <dL/dx, u> for every input and
// weight. Attention is checked for every mask kind, with and without the
// soft-cap, with GQA and key padding. The optimizer math is checked against
// double-precision references of torch.optim.AdamW's update rule.
//===----------------------------------------------------------------------===//
#include "runtime/cpu/train_kernels.h"

#include "test/runtime/test_util.h"

#include <functional>
#include <numeric>

namespace edg::cpu {
namespace {

using edg::test::random_floats;
using Vec = std::vector<float>;

/// <a, b> in double.
double dot(const Vec &a, const Vec &b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i)
    s += double(a[i]) * b[i];
  return s;
}

/// Checks the analytic gradient `grad` of `loss` with respect to `x` (which
/// `loss` reads) along one random direction.
void expect_directional(Vec &x, const Vec &grad, const std::function<double()> &loss,
                        const char *what, unsigned seed, double eps = 1e-2,
                        double rtol = 1e-2) {
  ASSERT_EQ(x.size(), grad.size()) << what;
  Vec u = random_floats(x.size(), seed);
  Vec saved = x;
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = saved[i] + float(eps) * u[i];
  double plus = loss();
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = saved[i] - float(eps) * u[i];
  double minus = loss();
  x = saved;
  double fd = (plus - minus) / (2 * eps), analytic = dot(grad, u);
  EXPECT_NEAR(fd, analytic, rtol * std::max(1.0, std::fabs(analytic)))
      << what << ": finite difference " << fd << ", analytic " << analytic;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

struct AttentionCase {
  MaskKind mask;
  int64_t window;
  float softcap;
};

class SelfAttentionGrad : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(SelfAttentionGrad, MatchesFiniteDifferences) {
  const AttentionCase c = GetParam();
  const int64_t B = 2, T = 6, d = 16;
  AttentionLayer cfg;
  cfg.H = 4, cfg.K = 2, cfg.hd = 8, cfg.scale = 0.5f, cfg.softcap = c.softcap;
  cfg.rope_theta = 100.0f, cfg.mask = c.mask, cfg.window = c.window;
  std::vector<int32_t> pos(B * T);
  for (int64_t i = 0; i < B * T; ++i)
    pos[size_t(i)] = int32_t(i % T);
  std::vector<uint8_t> valid(B * T, 1);
  valid[size_t(B * T - 1)] = valid[size_t(B * T - 2)] = 0; // row 1 padded
  Vec x = random_floats(B * T * d, 1), wq = random_floats(32 * d, 2),
      wk = random_floats(16 * d, 3), wv = random_floats(16 * d, 4),
      wo = random_floats(d * 32, 5), r = random_floats(B * T * d, 6);
  auto loss = [&] {
    Vec y(x.size());
    attention_layer_forward(x.data(), x.data(), B, T, T, d, d, pos.data(),
                            valid.data(), wq.data(), wk.data(), wv.data(),
                            wo.data(), cfg, y.data());
    return dot(y, r);
  };
  Vec dx(x.size()), dq(wq.size()), dk(wk.size()), dv(wv.size()), dwo(wo.size());
  attention_layer_backward(x.data(), x.data(), B, T, T, d, d, pos.data(),
                           valid.data(), wq.data(), wk.data(), wv.data(),
                           wo.data(), cfg, r.data(), dx.data(), nullptr,
                           dq.data(), dk.data(), dv.data(), dwo.data());
  expect_directional(x, dx, loss, "dx", 11);
  expect_directional(wq, dq, loss, "dq_proj", 12);
  expect_directional(wk, dk, loss, "dk_proj", 13);
  expect_directional(wv, dv, loss, "dv_proj", 14);
  expect_directional(wo, dwo, loss, "do_proj", 15);
}

INSTANTIATE_TEST_SUITE_P(
    Masks, SelfAttentionGrad,
    ::testing::Values(AttentionCase{MaskKind::causal, 0, 0.0f},
                      AttentionCase{MaskKind::causal, 0, 2.0f},
                      AttentionCase{MaskKind::sliding_causal, 3, 2.0f},
                      AttentionCase{MaskKind::bidirectional, 0, 0.0f},
                      AttentionCase{MaskKind::bidirectional, 0, 2.0f},
                      AttentionCase{MaskKind::sliding_bidirectional, 3, 0.0f},
                      AttentionCase{MaskKind::sliding_bidirectional, 2, 2.0f}));

/// The blocked GEMM backward against the scalar reference, with more
/// queries than one block and a batch row whose keys are all padding.
TEST_P(SelfAttentionGrad, BlockedBackwardMatchesReference) {
  const AttentionCase c = GetParam();
  const int64_t B = 2, T = 70, H = 4, K = 2, hd = 8;
  AttentionParams p;
  p.scale = 0.5f, p.softcap = c.softcap, p.mask = c.mask, p.window = c.window;
  std::vector<uint8_t> valid(B * T, 1);
  for (int64_t t = 0; t < T; ++t)
    valid[size_t(T + t)] = c.mask == MaskKind::causal ? 0 : t % 3 != 0;
  p.key_valid = valid.data();
  Vec q = random_floats(B * T * H * hd, 201), k = random_floats(B * T * K * hd, 202),
      v = random_floats(B * T * K * hd, 203), dout = random_floats(B * T * H * hd, 204);
  Vec dq(q.size()), dk(k.size()), dv(v.size()), rq(q.size()), rk(k.size()), rv(v.size());
  attention_backward(q.data(), k.data(), v.data(), dout.data(), rq.data(), rk.data(),
                     rv.data(), B, T, T, H, K, hd, p);
  attention_backward_blocked(q.data(), k.data(), v.data(), dout.data(), dq.data(),
                             dk.data(), dv.data(), B, T, T, H, K, hd, p);
  auto expect_close = [](const Vec &got, const Vec &want, const char *what) {
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-5f + 1e-4f * std::fabs(want[i])) << what << "[" << i << "]";
  };
  expect_close(dq, rq, "dq");
  expect_close(dk, rk, "dk");
  expect_close(dv, rv, "dv");
}

TEST(CrossAttentionGrad, MatchesFiniteDifferences) {
  const int64_t B = 2, T = 4, S = 5, d = 16, de = 12;
  AttentionLayer cfg;
  cfg.H = 4, cfg.K = 2, cfg.hd = 4, cfg.scale = 0.5f, cfg.softcap = 3.0f;
  cfg.mask = MaskKind::none_cross;
  std::vector<uint8_t> enc_valid(B * S, 1);
  enc_valid[size_t(B * S - 1)] = 0;
  Vec x = random_floats(B * T * d, 21), enc = random_floats(B * S * de, 22),
      wq = random_floats(16 * d, 23), wk = random_floats(8 * de, 24),
      wv = random_floats(8 * de, 25), wo = random_floats(d * 16, 26),
      r = random_floats(B * T * d, 27);
  auto loss = [&] {
    Vec y(x.size());
    attention_layer_forward(x.data(), enc.data(), B, T, S, d, de, nullptr,
                            enc_valid.data(), wq.data(), wk.data(), wv.data(),
                            wo.data(), cfg, y.data());
    return dot(y, r);
  };
  Vec dx(x.size()), denc(enc.size()), dq(wq.size()), dk(wk.size()),
      dv(wv.size()), dwo(wo.size());
  attention_layer_backward(x.data(), enc.data(), B, T, S, d, de, nullptr,
                           enc_valid.data(), wq.data(), wk.data(), wv.data(),
                           wo.data(), cfg, r.data(), dx.data(), denc.data(),
                           dq.data(), dk.data(), dv.data(), dwo.data());
  expect_directional(x, dx, loss, "dx", 31);
  expect_directional(enc, denc, loss, "dencoder", 32);
  expect_directional(wq, dq, loss, "dq_proj", 33);
  expect_directional(wk, dk, loss, "dk_proj", 34);
  expect_directional(wv, dv, loss, "dv_proj", 35);
  expect_directional(wo, dwo, loss, "do_proj", 36);
  // A padded encoder key gets no gradient.
  for (int64_t j = 0; j < de; ++j)
    EXPECT_EQ(denc[size_t((B * S - 1) * de + j)], 0.0f);
}

//===----------------------------------------------------------------------===//
// MLP, LM head, norm, embedding
//===----------------------------------------------------------------------===//

TEST(MlpGrad, MatchesFiniteDifferences) {
  const int64_t N = 6, d = 8, I = 12;
  Vec x = random_floats(N * d, 41), g = random_floats(I * d, 42),
      u = random_floats(I * d, 43), w = random_floats(d * I, 44),
      r = random_floats(N * d, 45);
  auto loss = [&] {
    Vec y(x.size());
    mlp_forward(x.data(), N, d, I, g.data(), u.data(), w.data(), y.data());
    return dot(y, r);
  };
  Vec dx(x.size()), dg(g.size()), du(u.size()), dw(w.size());
  mlp_backward(x.data(), N, d, I, g.data(), u.data(), w.data(), r.data(),
               dx.data(), dg.data(), du.data(), dw.data());
  expect_directional(x, dx, loss, "dx", 51);
  expect_directional(g, dg, loss, "dgate", 52);
  expect_directional(u, du, loss, "dup", 53);
  expect_directional(w, dw, loss, "ddown", 54);
}

class LmHeadGrad : public ::testing::TestWithParam<float> {};

TEST_P(LmHeadGrad, MatchesFiniteDifferences) {
  const int64_t N = 5, d = 8, V = 20;
  const float cap = GetParam();
  Vec x = random_floats(N * d, 61, -2, 2), table = random_floats(V * d, 62),
      r = random_floats(N * V, 63);
  auto loss = [&] {
    Vec y(N * V);
    lm_head_forward(x.data(), N, d, table.data(), V, cap, y.data());
    return dot(y, r);
  };
  Vec dx(x.size()), dt(table.size());
  lm_head_backward(x.data(), N, d, table.data(), V, cap, r.data(), dx.data(),
                   dt.data());
  expect_directional(x, dx, loss, "dx", 64);
  expect_directional(table, dt, loss, "dtable", 65);
}

INSTANTIATE_TEST_SUITE_P(SoftCap, LmHeadGrad, ::testing::Values(0.0f, 3.0f));

TEST(RmsNormGrad, MatchesFiniteDifferences) {
  const int64_t n = 4, d = 16;
  Vec x = random_floats(n * d, 71), w = random_floats(d, 72),
      r = random_floats(n * d, 73);
  auto loss = [&] {
    Vec y(x.size());
    rms_norm(x.data(), w.data(), n, d, 1e-6f, y.data());
    return dot(y, r);
  };
  Vec dx(x.size()), dw(w.size(), 0.0f);
  rms_norm_backward(x.data(), w.data(), r.data(), n, d, 1e-6f, dx.data(),
                    dw.data());
  expect_directional(x, dx, loss, "dx", 74, 1e-3);
  expect_directional(w, dw, loss, "dweight", 75, 1e-3);
}

TEST(EmbedGrad, ScatterAddsRepeatedIds) {
  const int64_t V = 6, d = 4;
  std::vector<int32_t> ids = {1, 3, 1, 5};
  Vec dy = random_floats(ids.size() * d, 81), dt(V * d, 0.0f);
  embed_backward(ids.data(), int64_t(ids.size()), dy.data(), V, d, 2.0f,
                 dt.data());
  for (int64_t j = 0; j < d; ++j) {
    EXPECT_FLOAT_EQ(dt[size_t(1 * d + j)], 2.0f * (dy[size_t(j)] + dy[size_t(2 * d + j)]));
    EXPECT_FLOAT_EQ(dt[size_t(3 * d + j)], 2.0f * dy[size_t(d + j)]);
    EXPECT_EQ(dt[size_t(0 * d + j)], 0.0f);
  }
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

TEST(CrossEntropyGrad, MatchesFiniteDifferences) {
  const int64_t N = 5, V = 11;
  Vec logits = random_floats(N * V, 91, -3, 3);
  std::vector<int32_t> labels = {2, -100, 7, 0, 10};
  auto loss = [&] {
    return double(cross_entropy(logits.data(), labels.data(), N, V, nullptr));
  };
  Vec g(logits.size());
  cross_entropy(logits.data(), labels.data(), N, V, g.data());
  expect_directional(logits, g, loss, "dlogits", 92, 1e-2, 2e-2);
  for (int64_t j = 0; j < V; ++j)
    EXPECT_EQ(g[size_t(V + j)], 0.0f); // ignored row
}

TEST(DistillKl, MatchesFiniteDifferencesAndVanishesOnTheTeacher) {
  const int64_t B = 2, T = 3, Tt = 5, V = 9;
  Vec s = random_floats(B * T * V, 101, -2, 2), t = random_floats(B * Tt * V, 102, -2, 2);
  std::vector<int32_t> index = {1, 2, 3, 0, 4, 2}, labels = {1, 1, -100, 1, 1, 1};
  const float tau = 2.0f, weight = 0.5f;
  auto loss = [&] {
    return double(distill_kl(s.data(), t.data(), index.data(), labels.data(), B,
                             T, Tt, V, tau, weight, -100, nullptr));
  };
  Vec g(s.size());
  float value = distill_kl(s.data(), t.data(), index.data(), labels.data(), B,
                           T, Tt, V, tau, weight, -100, g.data());
  EXPECT_GT(value, 0.0f);
  expect_directional(s, g, loss, "dstudent", 103, 1e-2, 2e-2);
  // Student rows equal to their teacher rows: KL = 0 and zero gradient.
  for (int64_t i = 0; i < B * T; ++i)
    std::copy_n(&t[size_t(((i / T) * Tt + index[size_t(i)]) * V)], V, &s[size_t(i * V)]);
  EXPECT_NEAR(distill_kl(s.data(), t.data(), index.data(), labels.data(), B, T,
                         Tt, V, tau, weight, -100, g.data()),
              0.0f, 1e-6f);
  for (float v : g)
    EXPECT_NEAR(v, 0.0f, 1e-7f);
}

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

TEST(ClipGradNorm, ScalesOnlyAboveTheMaximum) {
  Vec a = {3.0f, 0.0f}, b = {4.0f};
  float norm = clip_grad_norm({a.data(), b.data()}, {2, 1}, 10.0f);
  EXPECT_FLOAT_EQ(norm, 5.0f);
  EXPECT_FLOAT_EQ(a[0], 3.0f); // under the maximum: untouched
  norm = clip_grad_norm({a.data(), b.data()}, {2, 1}, 1.0f);
  EXPECT_FLOAT_EQ(norm, 5.0f);
  EXPECT_NEAR(a[0], 0.6f, 1e-6f);
  EXPECT_NEAR(b[0], 0.8f, 1e-6f);
}

TEST(AdamW, MatchesTorchUpdateRuleInDouble) {
  const int64_t n = 64;
  Vec p = random_floats(n, 111), m(n, 0.0f), v(n, 0.0f);
  std::vector<double> pd(p.begin(), p.end()), md(n, 0.0), vd(n, 0.0);
  AdamWParams hp;
  hp.lr = 1e-2, hp.weight_decay = 0.1;
  for (int step = 1; step <= 4; ++step) {
    Vec g = random_floats(n, 120 + unsigned(step));
    hp.step = step;
    adamw_step(p.data(), g.data(), m.data(), v.data(), n, hp);
    const double bc1 = 1 - std::pow(hp.beta1, step), bc2 = 1 - std::pow(hp.beta2, step);
    for (int64_t i = 0; i < n; ++i) {
      pd[size_t(i)] *= 1 - hp.lr * hp.weight_decay;
      md[size_t(i)] = hp.beta1 * md[size_t(i)] + (1 - hp.beta1) * g[size_t(i)];
      vd[size_t(i)] = hp.beta2 * vd[size_t(i)] + (1 - hp.beta2) * g[size_t(i)] * g[size_t(i)];
      pd[size_t(i)] -= hp.lr / bc1 * md[size_t(i)] /
                       (std::sqrt(vd[size_t(i)]) / std::sqrt(bc2) + hp.eps);
    }
  }
  EXPECT_TRUE(edg::test::all_close(p, pd, 1e-6, 1e-5));
}

TEST(AdamW, WarmupThenCosineSchedule) {
  EXPECT_DOUBLE_EQ(scheduled_lr(1.0, 1, 4, 0, 0.1), 0.25);
  EXPECT_DOUBLE_EQ(scheduled_lr(1.0, 4, 4, 0, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr(1.0, 9, 4, 0, 0.1), 1.0); // no decay
  EXPECT_NEAR(scheduled_lr(1.0, 4, 4, 14, 0.1), 1.0, 1e-12);
  EXPECT_NEAR(scheduled_lr(1.0, 9, 4, 14, 0.1), 0.55, 1e-12); // half-way
  EXPECT_NEAR(scheduled_lr(1.0, 14, 4, 14, 0.1), 0.1, 1e-12);
  EXPECT_NEAR(scheduled_lr(1.0, 99, 4, 14, 0.1), 0.1, 1e-12);
}

} // namespace
} // namespace edg::cpu
