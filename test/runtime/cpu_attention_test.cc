//===- cpu_attention_test.cc - attention vs a double reference --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Both attention strategies (direct and GEMM-blocked) against a plain
// double-precision implementation of HF eager attention: every mask kind with
// a window shorter than the sequence, GQA groupings, soft-cap on and off,
// key padding, explicit positions, KV-cache strides and rows that see no key
// (which must average v uniformly over all keys). The backward pass is checked
// against finite differences of the same reference.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace edg::cpu {
namespace {

using test::all_close;
using test::random_floats;
using test::throws_with;

struct Config {
  const char *name;
  int64_t B, T, S, H, K, hd;
  MaskKind mask;
  int64_t window = 0;
  float softcap = 0.0f;
  float scale = 0.5f;
  bool explicit_pos = false; // per-batch position offsets
  bool padding = false;      // left-padded keys, more in later batches
  bool empty_batch = false;  // batch B-1 has no valid key at all
  int64_t kv_capacity = 0;   // > S: k/v live in a [B, capacity, K, hd] cache
};

// gtest prints parameters in failure messages; the name says it all.
void PrintTo(const Config &c, std::ostream *os) { *os << c.name; }

/// Inputs of one case plus AttentionParams pointing into them.
struct Inputs {
  std::vector<float> q, k, v;
  std::vector<int32_t> qpos, kpos;
  std::vector<uint8_t> valid;
  AttentionParams p;
  int64_t kvs; // batch stride of k and v
};

Inputs make_inputs(const Config &c, unsigned seed) {
  Inputs in;
  const int64_t cap = c.kv_capacity ? c.kv_capacity : c.S;
  in.kvs = cap * c.K * c.hd;
  in.q = random_floats(size_t(c.B * c.T * c.H * c.hd), seed, -1.5f, 1.5f);
  in.k = random_floats(size_t(c.B * in.kvs), seed + 1, -1.5f, 1.5f);
  in.v = random_floats(size_t(c.B * in.kvs), seed + 2);
  in.p.scale = c.scale;
  in.p.softcap = c.softcap;
  in.p.mask = c.mask;
  in.p.window = c.window;
  in.p.kv_batch_stride = c.kv_capacity ? in.kvs : 0;
  if (c.explicit_pos) {
    // Keys at 5b + s (+ gaps), queries at the positions of the last T keys;
    // the first query of batch 0 is placed before every key to get an empty
    // causal row.
    in.kpos.resize(size_t(c.B * c.S));
    in.qpos.resize(size_t(c.B * c.T));
    for (int64_t b = 0; b < c.B; ++b) {
      for (int64_t s = 0; s < c.S; ++s)
        in.kpos[b * c.S + s] = int32_t(5 * b + s + (s > c.S / 2 ? 2 : 0));
      for (int64_t t = 0; t < c.T; ++t)
        in.qpos[b * c.T + t] =
            in.kpos[b * c.S + std::max<int64_t>(0, c.S - c.T + t)];
    }
    in.qpos[0] = -1;
    in.p.q_pos = in.qpos.data();
    in.p.k_pos = in.kpos.data();
  }
  if (c.padding || c.empty_batch) {
    in.valid.assign(size_t(c.B * c.S), 1);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t s = 0; s < c.S; ++s) {
        if (c.padding && s < 2 * b)
          in.valid[b * c.S + s] = 0;
        if (c.empty_batch && b == c.B - 1)
          in.valid[b * c.S + s] = 0;
      }
    in.p.key_valid = in.valid.data();
  }
  return in;
}

/// HF eager attention in double: scores, soft-cap, additive finfo.min mask
/// (a row with no visible key is uniform over all S keys), softmax, p·v.
std::vector<double> ref_attention(const Config &c, const std::vector<double> &q,
                                  const std::vector<double> &k,
                                  const std::vector<double> &v,
                                  const Inputs &in) {
  std::vector<double> out(size_t(c.B * c.T * c.H * c.hd), 0.0);
  const int64_t G = c.H / c.K;
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t t = 0; t < c.T; ++t)
      for (int64_t h = 0; h < c.H; ++h) {
        const int64_t kvh = h / G;
        const int64_t qp = in.p.q_pos ? in.p.q_pos[b * c.T + t] : c.S - c.T + t;
        std::vector<double> s(static_cast<size_t>(c.S));
        std::vector<bool> vis(static_cast<size_t>(c.S));
        bool any = false;
        for (int64_t j = 0; j < c.S; ++j) {
          const int64_t kp = in.p.k_pos ? in.p.k_pos[b * c.S + j] : j;
          bool ok = true;
          switch (c.mask) {
          case MaskKind::causal:
            ok = kp <= qp;
            break;
          case MaskKind::sliding_causal:
            ok = kp <= qp && qp - kp < c.window;
            break;
          case MaskKind::sliding_bidirectional:
            ok = std::llabs(qp - kp) < c.window;
            break;
          default:
            break;
          }
          if (in.p.key_valid && !in.p.key_valid[b * c.S + j])
            ok = false;
          vis[j] = ok;
          any |= ok;
          double d = 0;
          for (int64_t e = 0; e < c.hd; ++e)
            d += q[((b * c.T + t) * c.H + h) * c.hd + e] *
                 k[b * in.kvs + (j * c.K + kvh) * c.hd + e];
          d *= c.scale;
          if (c.softcap > 0)
            d = c.softcap * std::tanh(d / c.softcap);
          s[j] = d;
        }
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < c.S; ++j)
          if (vis[j] || !any)
            mx = std::max(mx, s[j]);
        std::vector<double> p(size_t(c.S), 0.0);
        for (int64_t j = 0; j < c.S; ++j) {
          if (!any)
            p[j] = 1.0; // every score equals finfo.min: uniform
          else if (vis[j])
            p[j] = std::exp(s[j] - mx);
          sum += p[j];
        }
        for (int64_t j = 0; j < c.S; ++j)
          for (int64_t e = 0; e < c.hd; ++e)
            out[((b * c.T + t) * c.H + h) * c.hd + e] +=
                p[j] / sum * v[b * in.kvs + (j * c.K + kvh) * c.hd + e];
      }
  return out;
}

std::vector<double> to_double(const std::vector<float> &v) {
  return std::vector<double>(v.begin(), v.end());
}

const Config kConfigs[] = {
    {"causal_gqa", 2, 37, 37, 4, 2, 16, MaskKind::causal},
    {"causal_softcap_mqa", 2, 37, 37, 4, 1, 16, MaskKind::causal, 0, 2.0f,
     0.7f},
    {"causal_softcap50", 1, 20, 20, 2, 2, 32, MaskKind::causal, 0, 50.0f, 1.0f},
    {"sliding_causal_w5", 2, 37, 37, 4, 2, 16, MaskKind::sliding_causal, 5},
    {"sliding_causal_w5_softcap", 1, 37, 37, 2, 1, 8, MaskKind::sliding_causal,
     5, 2.0f},
    {"sliding_causal_w1", 1, 12, 12, 2, 1, 8, MaskKind::sliding_causal, 1},
    {"sliding_bidir_w5_pad", 3, 37, 37, 4, 2, 16,
     MaskKind::sliding_bidirectional, 5, 2.0f, 0.5f, false, true},
    {"sliding_bidir_w4_wide", 1, 30, 30, 2, 2, 8,
     MaskKind::sliding_bidirectional, 4},
    {"bidirectional_pad", 3, 19, 19, 2, 2, 16, MaskKind::bidirectional, 0, 0.0f,
     0.5f, false, true},
    {"bidirectional_empty_batch", 2, 9, 9, 4, 2, 8, MaskKind::bidirectional, 0,
     2.0f, 0.5f, false, true, true},
    {"cross_pad_softcap", 3, 11, 23, 4, 2, 16, MaskKind::none_cross, 0, 2.0f,
     0.5f, false, true},
    {"cross_empty_batch", 2, 13, 7, 2, 1, 8, MaskKind::none_cross, 0, 0.0f,
     0.5f, false, false, true},
    {"decode_causal", 2, 1, 37, 4, 2, 16, MaskKind::causal},
    {"decode_sliding_w5", 2, 3, 37, 4, 1, 16, MaskKind::sliding_causal, 5,
     2.0f},
    {"explicit_pos_causal_pad", 3, 10, 20, 4, 2, 8, MaskKind::causal, 0, 2.0f,
     0.5f, true, true},
    {"explicit_pos_sliding", 2, 20, 20, 2, 1, 8, MaskKind::sliding_causal, 4,
     0.0f, 0.5f, true},
    {"blocks_sliding_w20", 1, 150, 150, 2, 1, 8, MaskKind::sliding_causal, 20,
     2.0f},
    {"blocks_causal_pad", 2, 130, 130, 2, 2, 8, MaskKind::causal, 0, 0.0f, 0.5f,
     false, true},
    {"kv_cache_stride", 2, 4, 37, 4, 2, 16, MaskKind::causal, 0, 2.0f, 0.5f,
     false, true, false, 50},
    {"head_dim_256", 1, 9, 9, 2, 1, 256, MaskKind::causal, 0, 50.0f, 0.0625f},
};

class Attention : public ::testing::TestWithParam<std::tuple<Config, int>> {};

TEST_P(Attention, MatchesDoubleReference) {
  const Config &c = std::get<0>(GetParam());
  const int impl = std::get<1>(GetParam()); // 0 direct, 1 gemm, 2 dispatch
  Inputs in = make_inputs(c, 100);
  std::vector<float> out(size_t(c.B * c.T * c.H * c.hd), std::nanf(""));
  auto fn = impl == 0   ? detail::attention_direct
            : impl == 1 ? detail::attention_gemm
                        : attention;
  fn(in.q.data(), in.k.data(), in.v.data(), out.data(), c.B, c.T, c.S, c.H, c.K,
     c.hd, in.p);
  const auto want =
      ref_attention(c, to_double(in.q), to_double(in.k), to_double(in.v), in);
  EXPECT_TRUE(all_close(out, want, 1e-5, 1e-5));
}

std::string attention_case_name(
    const ::testing::TestParamInfo<std::tuple<Config, int>> &info) {
  static const char *const impl[] = {"direct", "gemm", "dispatch"};
  return std::string(std::get<0>(info.param).name) + "_" +
         impl[std::get<1>(info.param)];
}

INSTANTIATE_TEST_SUITE_P(Cases, Attention,
                         ::testing::Combine(::testing::ValuesIn(kConfigs),
                                            ::testing::Values(0, 1, 2)),
                         attention_case_name);

TEST(AttentionSemantics, EmptyRowIsUniformOverAllKeys) {
  // One query whose causal mask sees nothing (query position before every
  // key), with padding keys: HF averages v over *all* S keys, padding too.
  const int64_t S = 4, hd = 2;
  std::vector<float> q = {1, 2}, k(S * hd, 0.5f),
                     v = {1, 10, 2, 20, 3, 30, 6, 60};
  std::vector<int32_t> qpos = {0}, kpos = {1, 2, 3, 4};
  std::vector<uint8_t> valid = {0, 1, 1, 1};
  AttentionParams p;
  p.mask = MaskKind::causal;
  p.q_pos = qpos.data();
  p.k_pos = kpos.data();
  p.key_valid = valid.data();
  for (auto fn : {detail::attention_direct, detail::attention_gemm}) {
    std::vector<float> out(2);
    fn(q.data(), k.data(), v.data(), out.data(), 1, 1, S, 1, 1, hd, p);
    EXPECT_FLOAT_EQ(out[0], 3.0f);
    EXPECT_FLOAT_EQ(out[1], 30.0f);
  }
}

TEST(AttentionSemantics, SoftcapAppliesBeforeTheMask) {
  // With a huge score on a masked key, masking before the cap would leave it
  // at -cap instead of excluded; the visible key must get all the weight.
  std::vector<float> q = {1}, k = {100, 1}, v = {7, 3};
  std::vector<uint8_t> valid = {0, 1};
  AttentionParams p;
  p.mask = MaskKind::bidirectional;
  p.softcap = 1.0f;
  p.key_valid = valid.data();
  std::vector<float> out(1);
  attention(q.data(), k.data(), v.data(), out.data(), 1, 1, 2, 1, 1, 1, p);
  EXPECT_FLOAT_EQ(out[0], 3.0f);
}

TEST(AttentionSemantics, RejectsBadParameters) {
  std::vector<float> x(64);
  AttentionParams p;
  EXPECT_TRUE(throws_with(
      [&] {
        attention(x.data(), x.data(), x.data(), x.data(), 1, 2, 2, 3, 2, 4, p);
      },
      {"num_attention_heads 3", "num_key_value_heads 2"}));
  p.mask = MaskKind::sliding_causal;
  EXPECT_TRUE(throws_with(
      [&] {
        attention(x.data(), x.data(), x.data(), x.data(), 1, 2, 2, 2, 2, 4, p);
      },
      {"sliding_causal", "window > 0", "got 0"}));
  p.mask = MaskKind::causal;
  p.softcap = -1.0f;
  EXPECT_TRUE(throws_with(
      [&] {
        attention(x.data(), x.data(), x.data(), x.data(), 1, 2, 2, 2, 2, 4, p);
      },
      {"softcap must be >= 0"}));
  p.softcap = 0.0f;
  p.kv_batch_stride = 3;
  EXPECT_TRUE(throws_with(
      [&] {
        attention(x.data(), x.data(), x.data(), x.data(), 1, 2, 2, 2, 2, 4, p);
      },
      {"kv_batch_stride 3"}));
}

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

const Config kBackwardConfigs[] = {
    {"causal_gqa", 2, 6, 6, 4, 2, 4, MaskKind::causal, 0, 0.0f, 0.8f},
    {"causal_softcap", 2, 6, 6, 4, 2, 4, MaskKind::causal, 0, 1.5f, 0.8f},
    {"sliding_causal", 1, 7, 7, 2, 1, 4, MaskKind::sliding_causal, 3, 1.5f,
     0.8f},
    {"sliding_bidir_pad", 2, 6, 6, 2, 2, 4, MaskKind::sliding_bidirectional, 2,
     0.0f, 0.8f, false, true},
    {"cross_empty_batch", 2, 3, 5, 4, 2, 4, MaskKind::none_cross, 0, 1.5f, 0.8f,
     false, true, true},
    {"explicit_pos", 2, 4, 6, 2, 1, 4, MaskKind::causal, 0, 1.5f, 0.8f, true,
     true},
};

class AttentionBackward : public ::testing::TestWithParam<Config> {};

TEST_P(AttentionBackward, MatchesFiniteDifferences) {
  const Config &c = GetParam();
  Inputs in = make_inputs(c, 300);
  const size_t nq = in.q.size(), nk = in.k.size();
  std::vector<float> dout = random_floats(nq, 400);
  std::vector<float> dq(nq), dk(nk), dv(nk);
  attention_backward(in.q.data(), in.k.data(), in.v.data(), dout.data(),
                     dq.data(), dk.data(), dv.data(), c.B, c.T, c.S, c.H, c.K,
                     c.hd, in.p);
  const std::vector<double> R = to_double(dout);
  auto q = to_double(in.q), k = to_double(in.k), v = to_double(in.v);
  // Central differences of sum(out * dout) for every input element.
  auto fd = [&](std::vector<double> &x) {
    std::vector<double> g(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double x0 = x[i], h = 1e-6;
      x[i] = x0 + h;
      auto p = ref_attention(c, q, k, v, in);
      x[i] = x0 - h;
      auto m = ref_attention(c, q, k, v, in);
      x[i] = x0;
      double d = 0;
      for (size_t j = 0; j < R.size(); ++j)
        d += (p[j] - m[j]) * R[j];
      g[i] = d / (2 * h);
    }
    return g;
  };
  EXPECT_TRUE(all_close(dq, fd(q), 1e-5, 1e-4)) << "dq";
  EXPECT_TRUE(all_close(dk, fd(k), 1e-5, 1e-4)) << "dk";
  EXPECT_TRUE(all_close(dv, fd(v), 1e-5, 1e-4)) << "dv";
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionBackward,
                         ::testing::ValuesIn(kBackwardConfigs),
                         [](const ::testing::TestParamInfo<Config> &info) {
                           return std::string(info.param.name);
                         });

} // namespace
} // namespace edg::cpu
