//===- cpu_kernels_test.cc - fp32 kernels vs double references --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Each forward kernel against a plain double-precision reference written
// here; each backward kernel against central finite differences of that
// reference (in double, so the differences are accurate to ~1e-9). Also the
// accuracy of the vectorisable exp/tanh the kernels use.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels.h"

#include "runtime/cpu/fast_math.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

namespace edg::cpu {
namespace {

using test::all_close;
using test::random_floats;
using test::throws_with;

//===----------------------------------------------------------------------===//
// Double-precision references
//===----------------------------------------------------------------------===//

std::vector<double> ref_rms_norm(const std::vector<double> &x,
                                 const std::vector<double> &w, int64_t n,
                                 int64_t d, double eps) {
  std::vector<double> out(x.size());
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t j = 0; j < d; ++j)
      ss += x[i * d + j] * x[i * d + j];
    const double r = 1.0 / std::sqrt(ss / d + eps);
    for (int64_t j = 0; j < d; ++j)
      out[i * d + j] = x[i * d + j] * r * (1.0 + w[j]);
  }
  return out;
}

double ref_gelu(double u) {
  return 0.5 * u *
         (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (u + 0.044715 * u * u * u)));
}

/// RoPE with angles computed the way HF does (fp32 inv_freq and fp32 product)
/// unless `exact_angles`, then the rotation in double.
std::vector<double> ref_rope(const std::vector<double> &x, int64_t B, int64_t T,
                             int64_t nh, int64_t hd,
                             const std::vector<int32_t> &pos, float theta,
                             bool exact_angles, double sign = 1.0) {
  std::vector<double> out(x.size());
  const int64_t half = hd / 2;
  for (int64_t r = 0; r < B * T; ++r)
    for (int64_t h = 0; h < nh; ++h)
      for (int64_t i = 0; i < half; ++i) {
        double angle;
        if (exact_angles) {
          angle = pos[r] * std::pow(double(theta), -2.0 * i / hd);
        } else {
          const float inv = 1.0f / std::pow(theta, float(2 * i) / float(hd));
          angle = double(float(pos[r]) * inv);
        }
        const double c = std::cos(angle), s = sign * std::sin(angle);
        const int64_t o = (r * nh + h) * hd;
        out[o + i] = x[o + i] * c - x[o + i + half] * s;
        out[o + i + half] = x[o + i + half] * c + x[o + i] * s;
      }
  return out;
}

std::vector<double> to_double(const std::vector<float> &v) {
  return std::vector<double>(v.begin(), v.end());
}

/// Central differences of sum(f(x) * R) with respect to x, in double.
std::vector<double> fd_grad(
    const std::function<std::vector<double>(const std::vector<double> &)> &f,
    std::vector<double> x, const std::vector<double> &R, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + h;
    std::vector<double> p = f(x);
    x[i] = x0 - h;
    std::vector<double> m = f(x);
    x[i] = x0;
    double d = 0;
    for (size_t j = 0; j < R.size(); ++j)
      d += (p[j] - m[j]) * R[j];
    g[i] = d / (2 * h);
  }
  return g;
}

//===----------------------------------------------------------------------===//
// fast_exp / fast_tanh
//===----------------------------------------------------------------------===//

TEST(FastMath, ExpAndTanhWithinAFewUlp) {
  double worst_exp = 0, worst_tanh = 0;
  for (float x = -87.0f; x < 88.7f; x += 0.00137f) {
    const double e = std::exp(double(x));
    worst_exp = std::max(worst_exp, std::fabs(fast_exp(x) - e) / e);
  }
  for (float x = -12.0f; x < 12.0f; x += 0.000113f) {
    const double t = std::tanh(double(x));
    if (t != 0)
      worst_tanh =
          std::max(worst_tanh, std::fabs(fast_tanh(x) - t) / std::fabs(t));
  }
  for (float x = 1e-30f; x < 1e-2f; x *= 1.01f) {
    const double t = std::tanh(double(x));
    worst_tanh = std::max(worst_tanh, std::fabs(fast_tanh(x) - t) / t);
  }
  EXPECT_LT(worst_exp, 2.5e-7); // ~2 ulp
  EXPECT_LT(worst_tanh, 2.5e-7);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fast_exp(-inf), 0.0f);
  EXPECT_EQ(fast_exp(inf), inf);
  EXPECT_EQ(fast_exp(100.0f), inf);
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
  EXPECT_TRUE(std::isnan(fast_exp(std::nanf(""))));
  EXPECT_EQ(fast_tanh(inf), 1.0f);
  EXPECT_EQ(fast_tanh(-inf), -1.0f);
  EXPECT_EQ(fast_tanh(0.0f), 0.0f);
  EXPECT_TRUE(std::isnan(fast_tanh(std::nanf(""))));
}

//===----------------------------------------------------------------------===//
// Forward kernels
//===----------------------------------------------------------------------===//

TEST(Embed, GathersAndScales) {
  const int64_t V = 7, d = 5;
  std::vector<float> table = random_floats(size_t(V * d), 1);
  std::vector<int32_t> ids = {3, 0, 6, 3};
  std::vector<float> out(ids.size() * d);
  const float scale = 2.2360680f; // sqrt(5) in fp32
  embed(ids.data(), 4, table.data(), V, d, scale, out.data());
  for (size_t i = 0; i < ids.size(); ++i)
    for (int64_t j = 0; j < d; ++j)
      EXPECT_EQ(out[i * d + j], table[ids[i] * d + j] * scale);
}

TEST(Embed, RejectsIdsOutsideTheVocabulary) {
  std::vector<float> table(10), out(10);
  std::vector<int32_t> ids = {1, 5};
  EXPECT_TRUE(throws_with(
      [&] { embed(ids.data(), 2, table.data(), 5, 2, 1.0f, out.data()); },
      {"token id 5 at position 1", "[0, 5)"}));
  ids = {-1, 0};
  EXPECT_TRUE(throws_with(
      [&] { embed(ids.data(), 2, table.data(), 5, 2, 1.0f, out.data()); },
      {"token id -1 at position 0"}));
}

TEST(RmsNorm, MatchesReferenceWithOffsetGain) {
  for (int64_t d : {1, 7, 64, 2304}) {
    const int64_t n = 9;
    std::vector<float> x = random_floats(size_t(n * d), 2, -3, 3);
    std::vector<float> w = random_floats(size_t(d), 3, -0.5f, 0.5f);
    x[0] = 1e-4f; // rows of very different magnitude
    std::vector<float> out(x.size());
    rms_norm(x.data(), w.data(), n, d, 1e-6f, out.data());
    EXPECT_TRUE(all_close(
        out, ref_rms_norm(to_double(x), to_double(w), n, d, 1e-6), 1e-7, 1e-6))
        << "d=" << d;
    // In place.
    rms_norm(x.data(), w.data(), n, d, 1e-6f, x.data());
    EXPECT_EQ(x, out);
  }
  // The gain is 1 + w: zero weights leave a unit-RMS row unchanged.
  std::vector<float> x = {1, -1, 1, -1}, w(4, 0.0f), out(4);
  rms_norm(x.data(), w.data(), 1, 4, 0.0f, out.data());
  EXPECT_EQ(out, x);
}

TEST(Rope, MatchesHfFp32Angles) {
  const int64_t B = 2, T = 5, nh = 3, hd = 16;
  std::vector<float> x = random_floats(size_t(B * T * nh * hd), 4);
  std::vector<int32_t> pos = {0, 1, 2, 3, 4, 8188, 8189, 8190, 8191, 100000};
  std::vector<float> got = x;
  rope_rotate_half(got.data(), B, T, nh, hd, pos.data(), 10000.0f);
  EXPECT_TRUE(
      all_close(got, ref_rope(to_double(x), B, T, nh, hd, pos, 10000.0f, false),
                2e-6, 2e-6));
  // At small positions the fp32 angle is the exact one to ~1e-7.
  std::vector<int32_t> small = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  got = x;
  rope_rotate_half(got.data(), B, T, nh, hd, small.data(), 10000.0f);
  EXPECT_TRUE(all_close(
      got, ref_rope(to_double(x), B, T, nh, hd, small, 10000.0f, true), 2e-6,
      2e-6));
  // Position 0 is the identity; the pairing is (i, i + hd/2).
  std::vector<float> e(size_t(hd), 0.0f);
  e[1] = 1.0f;
  int32_t p1 = 1;
  rope_rotate_half(e.data(), 1, 1, 1, hd, &p1, 10000.0f);
  EXPECT_NEAR(e[1], std::cos(std::pow(10000.0, -2.0 / 16)), 1e-6);
  EXPECT_NEAR(e[1 + hd / 2], std::sin(std::pow(10000.0, -2.0 / 16)), 1e-6);
  EXPECT_TRUE(throws_with(
      [&] { rope_rotate_half(e.data(), 1, 1, 1, 15, &p1, 10000.0f); },
      {"head_dim must be even", "15"}));
}

TEST(GeluTanhMul, MatchesReference) {
  const int64_t n = 100000;
  std::vector<float> g = random_floats(size_t(n), 5, -8, 8);
  std::vector<float> u = random_floats(size_t(n), 6, -2, 2);
  g[0] = 0.0f;
  g[1] = -20.0f;
  g[2] = 20.0f;
  std::vector<float> out(static_cast<size_t>(n));
  gelu_tanh_mul(g.data(), u.data(), out.data(), n);
  std::vector<double> want(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    want[i] = ref_gelu(g[i]) * u[i];
  EXPECT_TRUE(all_close(out, want, 1e-6, 1e-6));
}

TEST(Elementwise, AddSoftcapScale) {
  const int64_t n = 70000;
  std::vector<float> a = random_floats(size_t(n), 7, -200, 200);
  std::vector<float> b = random_floats(size_t(n), 8);
  std::vector<float> out(static_cast<size_t>(n));
  add(a.data(), b.data(), out.data(), n);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(out[i], a[i] + b[i]);
  std::vector<float> c = a;
  softcap(c.data(), n, 30.0f);
  std::vector<double> want(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    want[i] = 30.0 * std::tanh(a[i] / 30.0);
  EXPECT_TRUE(all_close(c, want, 1e-6, 1e-6));
  for (float v : c)
    ASSERT_LE(std::fabs(v), 30.0f);
  std::vector<float> s = b;
  scale(s.data(), n, 0.125f);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(s[i], b[i] * 0.125f);
  EXPECT_TRUE(throws_with([&] { softcap(c.data(), n, 0.0f); },
                          {"cap must be positive"}));
}

TEST(CrossEntropy, LossAndGradientMatchReference) {
  const int64_t N = 6, V = 1000;
  std::vector<float> logits = random_floats(size_t(N * V), 9, -10, 10);
  std::vector<int32_t> labels = {3, -100, 999, 0, 500, -100};
  std::vector<float> grad(size_t(N * V), 123.0f);
  const float loss =
      cross_entropy(logits.data(), labels.data(), N, V, grad.data());
  double total = 0;
  int count = 0;
  std::vector<double> want_grad(size_t(N * V), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    if (labels[i] == -100)
      continue;
    ++count;
    double mx = -1e300, sum = 0;
    for (int64_t j = 0; j < V; ++j)
      mx = std::max(mx, double(logits[i * V + j]));
    for (int64_t j = 0; j < V; ++j)
      sum += std::exp(logits[i * V + j] - mx);
    total += mx + std::log(sum) - logits[i * V + labels[i]];
  }
  for (int64_t i = 0; i < N; ++i) {
    if (labels[i] == -100)
      continue;
    double mx = -1e300, sum = 0;
    for (int64_t j = 0; j < V; ++j)
      mx = std::max(mx, double(logits[i * V + j]));
    for (int64_t j = 0; j < V; ++j)
      sum += std::exp(logits[i * V + j] - mx);
    for (int64_t j = 0; j < V; ++j)
      want_grad[i * V + j] = (std::exp(logits[i * V + j] - mx) / sum -
                              (j == labels[i] ? 1.0 : 0.0)) /
                             count;
  }
  EXPECT_NEAR(loss, total / count, 1e-5 * total / count);
  EXPECT_TRUE(all_close(grad, want_grad, 1e-7, 1e-5));
  // Without a gradient buffer the loss is the same.
  EXPECT_EQ(cross_entropy(logits.data(), labels.data(), N, V, nullptr), loss);
}

TEST(CrossEntropy, AllIgnoredAndBadLabels) {
  std::vector<float> logits(8, 0.5f), grad(8, 1.0f);
  std::vector<int32_t> labels = {-100, -100};
  EXPECT_TRUE(std::isnan(
      cross_entropy(logits.data(), labels.data(), 2, 4, grad.data())));
  for (float g : grad)
    EXPECT_EQ(g, 0.0f);
  labels = {1, 4};
  EXPECT_TRUE(throws_with(
      [&] { cross_entropy(logits.data(), labels.data(), 2, 4, nullptr); },
      {"label 4 at row 1", "[0, 4)"}));
  // A custom ignore index.
  labels = {7, 2};
  EXPECT_NEAR(cross_entropy(logits.data(), labels.data(), 2, 4, nullptr, 7),
              std::log(4.0), 1e-6);
}

//===----------------------------------------------------------------------===//
// Backward kernels vs finite differences of the references
//===----------------------------------------------------------------------===//

TEST(Backward, RmsNorm) {
  const int64_t n = 3, d = 12;
  std::vector<float> x = random_floats(size_t(n * d), 11, -2, 2);
  std::vector<float> w = random_floats(size_t(d), 12, -0.5f, 0.5f);
  std::vector<float> dy = random_floats(size_t(n * d), 13);
  std::vector<float> dx(x.size());
  std::vector<float> dw(size_t(d), 0.25f); // accumulates onto 0.25
  rms_norm_backward(x.data(), w.data(), dy.data(), n, d, 1e-6f, dx.data(),
                    dw.data());
  const auto wd = to_double(w), xd = to_double(x), R = to_double(dy);
  auto gx = fd_grad(
      [&](const std::vector<double> &xx) {
        return ref_rms_norm(xx, wd, n, d, 1e-6);
      },
      xd, R);
  auto gw = fd_grad(
      [&](const std::vector<double> &ww) {
        return ref_rms_norm(xd, ww, n, d, 1e-6);
      },
      wd, R);
  for (double &g : gw)
    g += 0.25;
  EXPECT_TRUE(all_close(dx, gx, 1e-5, 1e-4));
  EXPECT_TRUE(all_close(dw, gw, 1e-5, 1e-4));
}

TEST(Backward, Rope) {
  const int64_t B = 1, T = 3, nh = 2, hd = 8;
  std::vector<int32_t> pos = {0, 7, 1000};
  std::vector<float> x = random_floats(size_t(B * T * nh * hd), 14);
  std::vector<float> dy = random_floats(x.size(), 15);
  std::vector<float> dx = dy;
  rope_rotate_half_backward(dx.data(), B, T, nh, hd, pos.data(), 10000.0f);
  auto g = fd_grad(
      [&](const std::vector<double> &xx) {
        return ref_rope(xx, B, T, nh, hd, pos, 10000.0f, false);
      },
      to_double(x), to_double(dy));
  EXPECT_TRUE(all_close(dx, g, 1e-5, 1e-5));
  // Backward undoes forward (rotations are orthogonal).
  std::vector<float> y = x;
  rope_rotate_half(y.data(), B, T, nh, hd, pos.data(), 10000.0f);
  rope_rotate_half_backward(y.data(), B, T, nh, hd, pos.data(), 10000.0f);
  EXPECT_TRUE(all_close(y, to_double(x), 1e-6, 1e-6));
}

TEST(Backward, GeluTanhMul) {
  const int64_t n = 64;
  std::vector<float> g = random_floats(size_t(n), 16, -5, 5);
  std::vector<float> u = random_floats(size_t(n), 17, -2, 2);
  std::vector<float> dy = random_floats(size_t(n), 18);
  std::vector<float> dg(static_cast<size_t>(n)), du(static_cast<size_t>(n));
  gelu_tanh_mul_backward(g.data(), u.data(), dy.data(), dg.data(), du.data(),
                         n);
  const auto gd = to_double(g), ud = to_double(u), R = to_double(dy);
  auto fwd = [](const std::vector<double> &gg, const std::vector<double> &uu) {
    std::vector<double> o(gg.size());
    for (size_t i = 0; i < gg.size(); ++i)
      o[i] = ref_gelu(gg[i]) * uu[i];
    return o;
  };
  auto wg = fd_grad([&](const std::vector<double> &gg) { return fwd(gg, ud); },
                    gd, R);
  auto wu = fd_grad([&](const std::vector<double> &uu) { return fwd(gd, uu); },
                    ud, R);
  EXPECT_TRUE(all_close(dg, wg, 1e-5, 1e-5));
  EXPECT_TRUE(all_close(du, wu, 1e-5, 1e-5));
}

TEST(Backward, EmbedScatterAdds) {
  const int64_t V = 5, d = 3;
  std::vector<int32_t> ids = {2, 4, 2, 0};
  std::vector<float> dout = random_floats(ids.size() * d, 19);
  std::vector<float> dtable(size_t(V * d), 1.0f);
  embed_backward(ids.data(), 4, dout.data(), V, d, 2.0f, dtable.data());
  // Finite differences of sum(embed(table) * dout) wrt the table.
  auto fwd = [&](const std::vector<double> &t) {
    std::vector<double> o(ids.size() * d);
    for (size_t i = 0; i < ids.size(); ++i)
      for (int64_t j = 0; j < d; ++j)
        o[i * d + j] = t[ids[i] * d + j] * 2.0;
    return o;
  };
  auto g =
      fd_grad(fwd, std::vector<double>(size_t(V * d), 0.3), to_double(dout));
  for (double &x : g)
    x += 1.0;
  EXPECT_TRUE(all_close(dtable, g, 1e-6, 1e-6));
  EXPECT_TRUE(throws_with(
      [&] {
        ids[3] = 9;
        embed_backward(ids.data(), 4, dout.data(), V, d, 1.0f, dtable.data());
      },
      {"token id 9 at position 3"}));
}

TEST(Backward, Softcap) {
  const int64_t n = 50;
  std::vector<float> x = random_floats(size_t(n), 20, -100, 100);
  std::vector<float> dy = random_floats(size_t(n), 21);
  std::vector<float> y = x;
  softcap(y.data(), n, 30.0f);
  std::vector<float> dx(static_cast<size_t>(n));
  softcap_backward(y.data(), dy.data(), dx.data(), n, 30.0f);
  auto g = fd_grad(
      [](const std::vector<double> &xx) {
        std::vector<double> o(xx.size());
        for (size_t i = 0; i < xx.size(); ++i)
          o[i] = 30.0 * std::tanh(xx[i] / 30.0);
        return o;
      },
      to_double(x), to_double(dy));
  EXPECT_TRUE(all_close(dx, g, 1e-5, 1e-4));
}

TEST(Backward, CrossEntropyGradientIsTheFiniteDifference) {
  const int64_t N = 3, V = 9;
  std::vector<float> logits = random_floats(size_t(N * V), 22, -3, 3);
  std::vector<int32_t> labels = {4, -100, 8};
  std::vector<float> grad(static_cast<size_t>(N * V));
  cross_entropy(logits.data(), labels.data(), N, V, grad.data());
  auto f = [&](const std::vector<double> &l) {
    double total = 0;
    int count = 0;
    for (int64_t i = 0; i < N; ++i) {
      if (labels[i] < 0)
        continue;
      double sum = 0;
      for (int64_t j = 0; j < V; ++j)
        sum += std::exp(l[i * V + j]);
      total += std::log(sum) - l[i * V + labels[i]];
      ++count;
    }
    return std::vector<double>{total / count};
  };
  auto g = fd_grad(f, to_double(logits), {1.0});
  EXPECT_TRUE(all_close(grad, g, 1e-6, 1e-4));
}

} // namespace
} // namespace edg::cpu
