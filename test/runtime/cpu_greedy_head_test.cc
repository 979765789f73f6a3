//===- cpu_greedy_head_test.cc - greedy head, thread pool, skinny GEMM -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// greedy_argmax with the int8 candidate search must return exactly the token
// of the full fp32 path (sgemm_nt in blocks of <= 8 rows, softcap, first
// maximum): on random tables, on near ties (rows one ulp apart, duplicate
// rows), and where the soft-cap saturates so that distinct logits tie after
// it. Also: parallel_for covers every index once (nested calls run
// serially), the grouped GEMM equals separate ones, dot_rows reproduces
// sgemm_nt_skinny bit for bit, and the scalar soft-cap the search uses equals
// the vectorised softcap().
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/blas.h"
#include "runtime/cpu/greedy_head.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/parallel.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

namespace edg::cpu {
namespace {

/// The full path: logits as lm_head computes them, then sample_token's argmax.
std::vector<int32_t> reference(const float *x, int64_t M, int64_t lda,
                               const std::vector<float> &table, int64_t V,
                               int64_t K, float cap) {
  std::vector<float> logits(size_t(M * V));
  for (int64_t m0 = 0; m0 < M; m0 += 8)
    sgemm_nt(std::min<int64_t>(8, M - m0), V, K, x + m0 * lda, lda,
             table.data(), K, logits.data() + m0 * V, V);
  if (cap > 0)
    softcap(logits.data(), M * V, cap);
  std::vector<int32_t> out(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m) {
    const float *l = logits.data() + m * V;
    int64_t best = 0;
    for (int64_t i = 1; i < V; ++i)
      if (l[i] > l[best])
        best = i;
    out[size_t(m)] = int32_t(best);
  }
  return out;
}

std::vector<int32_t> greedy(const float *x, int64_t M, int64_t lda,
                            const std::vector<float> &table, int64_t V,
                            int64_t K, float cap, const QuantizedTable *qt) {
  std::vector<int32_t> out(size_t(M), -1);
  greedy_argmax(x, M, lda, table.data(), V, K, cap, qt, out.data());
  return out;
}

TEST(GreedyHead, MatchesFullLogitsOnRandomTables) {
  const int64_t V = 5003, K = 67;
  std::vector<float> table = test::random_floats(size_t(V * K), 1);
  QuantizedTable qt = QuantizedTable::build(table.data(), V, K);
  ASSERT_TRUE(qt.usable);
  for (float cap : {0.0f, 30.0f, 0.5f})
    for (int64_t M : {1, 3, 8, 11}) {
      // cap 0.5 saturates nearly every logit: the candidate set overflows
      // and the exact path must still give the same tokens.
      const bool saturated = cap == 0.5f;
      const int64_t lda = K + 5;
      std::vector<float> x =
          test::random_floats(size_t(M * lda), unsigned(100 + M), -3.0f, 3.0f);
      const auto want = reference(x.data(), M, lda, table, V, K, cap);
      EXPECT_EQ(greedy(x.data(), M, lda, table, V, K, cap, &qt), want)
          << "M=" << M << " cap=" << cap;
      EXPECT_EQ(last_greedy_stats().exact_path, saturated) << "M=" << M;
      if (!saturated) {
        EXPECT_GE(last_greedy_stats().candidates, M);
      }
      EXPECT_EQ(greedy(x.data(), M, lda, table, V, K, cap, nullptr), want);
      EXPECT_TRUE(last_greedy_stats().exact_path);
    }
}

TEST(GreedyHead, NearTiesAndDuplicatesPickTheFirstMaximum) {
  const int64_t V = 2000, K = 32;
  std::vector<float> table = test::random_floats(size_t(V * K), 2, -0.1f, 0.1f);
  std::vector<float> x = test::random_floats(size_t(K), 3);
  // The row most aligned with x, then copies of it and one-ulp variants.
  std::vector<float> best(x.begin(), x.end());
  auto put = [&](int64_t n, const std::vector<float> &row) {
    std::memcpy(table.data() + n * K, row.data(), size_t(K) * 4);
  };
  put(1500, best);
  put(700, best); // duplicate: 700 must win (first maximum)
  std::vector<float> up = best;
  up[5] = std::nextafter(up[5], up[5] > 0 ? 10.0f : -10.0f);
  put(1200, up);
  std::vector<float> down = best;
  down[7] = std::nextafter(down[7], 0.0f);
  put(100, down);
  QuantizedTable qt = QuantizedTable::build(table.data(), V, K);
  for (float cap : {0.0f, 30.0f}) {
    const auto want = reference(x.data(), 1, K, table, V, K, cap);
    EXPECT_EQ(greedy(x.data(), 1, K, table, V, K, cap, &qt), want)
        << "cap=" << cap;
  }
}

TEST(GreedyHead, SaturatedSoftcapTiesGoToTheFirstIndex) {
  // Logits in the hundreds with cap 1: many distinct raw logits become the
  // same capped value, and the first of them must win even when a later row
  // has the larger raw logit.
  const int64_t V = 3000, K = 16;
  std::vector<float> table = test::random_floats(size_t(V * K), 4, -1.0f, 1.0f);
  std::vector<float> x = test::random_floats(size_t(2 * K), 5, 20.0f, 30.0f);
  QuantizedTable qt = QuantizedTable::build(table.data(), V, K);
  for (float cap : {1.0f, 5.0f, 30.0f}) {
    const auto want = reference(x.data(), 2, K, table, V, K, cap);
    EXPECT_EQ(greedy(x.data(), 2, K, table, V, K, cap, &qt), want)
        << "cap=" << cap;
  }
}

TEST(GreedyHead, NonFiniteInputsTakeTheExactPath) {
  const int64_t V = 100, K = 8;
  std::vector<float> table = test::random_floats(size_t(V * K), 6);
  QuantizedTable qt = QuantizedTable::build(table.data(), V, K);
  std::vector<float> x = test::random_floats(size_t(K), 7);
  x[3] = std::nanf("");
  const auto want = reference(x.data(), 1, K, table, V, K, 30.0f);
  EXPECT_EQ(greedy(x.data(), 1, K, table, V, K, 30.0f, &qt), want);
  EXPECT_TRUE(last_greedy_stats().exact_path);
  table[size_t(42 * K + 1)] = INFINITY;
  EXPECT_FALSE(QuantizedTable::build(table.data(), V, K).usable);
}

TEST(GreedyHead, SoftcapValueEqualsSoftcapAndIsMonotone) {
  std::vector<float> v = test::random_floats(4099, 8, -400.0f, 400.0f);
  for (float cap : {30.0f, 50.0f, 1.0f}) {
    std::vector<float> w = v;
    softcap(w.data(), int64_t(w.size()), cap);
    for (size_t i = 0; i < v.size(); ++i)
      ASSERT_EQ(w[i], softcap_value(v[i], cap)) << v[i] << " cap " << cap;
  }
  // The search needs softcap_value non-decreasing in x (checked over every
  // float in [0, 600] for cap 30 when it was written; a sample here).
  float prev = softcap_value(0.0f, 30.0f);
  for (uint32_t u = 1; u < 0x44160000u; u += 97) { // up to 600.0f
    float x;
    std::memcpy(&x, &u, 4);
    const float y = softcap_value(x, 30.0f);
    ASSERT_GE(y, prev) << "x=" << x;
    ASSERT_EQ(softcap_value(-x, 30.0f), -y) << "x=" << x;
    prev = y;
  }
}

TEST(Parallel, CoversEveryIndexOnceAndNestsSerially) {
  for (int64_t n : {1, 7, 1000, 100003}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    parallel_for(n, 37, [&](int64_t b, int64_t e) {
      EXPECT_LE(e - b, 37);
      for (int64_t i = b; i < e; ++i)
        hits[size_t(i)]++;
      parallel_for(3, 1, [&](int64_t, int64_t) { EXPECT_TRUE(in_parallel()); });
    });
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(hits[size_t(i)].load(), 1) << "n=" << n << " i=" << i;
  }
  EXPECT_FALSE(in_parallel());
  EXPECT_GE(num_threads(), 1);
}

TEST(Sgemm, GroupEqualsSeparateProductsAndDotRowsIsSkinny) {
  const int64_t K = 77;
  for (int64_t M : {1, 2, 5, 8, 9}) {
    std::vector<float> A = test::random_floats(size_t(M * K), unsigned(M));
    std::vector<float> B1 = test::random_floats(size_t(300 * K), 11),
                       B2 = test::random_floats(size_t(5 * K), 12);
    std::vector<float> C1(size_t(M * 300)), C2(size_t(M * 5)),
        R1(C1.size()), R2(C2.size());
    const NtOutput outs[2] = {{B1.data(), K, 300, C1.data(), 300},
                              {B2.data(), K, 5, C2.data(), 5}};
    sgemm_nt_group(M, K, A.data(), K, outs, 2);
    sgemm_nt(M, 300, K, A.data(), K, B1.data(), K, R1.data(), 300);
    sgemm_nt(M, 5, K, A.data(), K, B2.data(), K, R2.data(), 5);
    EXPECT_EQ(C1, R1) << "M=" << M;
    EXPECT_EQ(C2, R2) << "M=" << M;
    if (M <= 8)
      for (int64_t n : {0, 17, 299}) {
        float z[8];
        detail::dot_rows(B1.data() + n * K, M, K, A.data(), K, z);
        for (int64_t m = 0; m < M; ++m)
          ASSERT_EQ(z[m], R1[size_t(m * 300 + n)]) << "M=" << M << " n=" << n;
      }
  }
}

} // namespace
} // namespace edg::cpu

namespace edg::cpu {
namespace {

TEST(Attention, HeadMajorCacheLayoutGivesIdenticalResults) {
  // The decoding cross-attention cache is [B, K, S, hd]; attention must give
  // bit-identical outputs to the [B, S, K, hd] layout (direct and gemm paths).
  const int64_t B = 2, S = 37, H = 4, K = 2, hd = 16;
  std::vector<float> k = test::random_floats(size_t(B * S * K * hd), 21),
                     v = test::random_floats(size_t(B * S * K * hd), 22);
  std::vector<float> kh(k.size()), vh(v.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t h = 0; h < K; ++h)
        for (int64_t j = 0; j < hd; ++j) {
          kh[size_t(((b * K + h) * S + s) * hd + j)] = k[size_t(((b * S + s) * K + h) * hd + j)];
          vh[size_t(((b * K + h) * S + s) * hd + j)] = v[size_t(((b * S + s) * K + h) * hd + j)];
        }
  std::vector<uint8_t> valid(size_t(B * S), 1);
  valid[size_t(S + 3)] = 0;
  for (int64_t T : {1, 3, 20}) {
    std::vector<float> q = test::random_floats(size_t(B * T * H * hd), unsigned(30 + T));
    std::vector<float> o1(q.size()), o2(q.size());
    AttentionParams p;
    p.scale = 0.25f;
    p.softcap = 50.0f;
    p.mask = MaskKind::none_cross;
    p.key_valid = valid.data();
    attention(q.data(), k.data(), v.data(), o1.data(), B, T, S, H, K, hd, p);
    p.kv_head_major = true;
    attention(q.data(), kh.data(), vh.data(), o2.data(), B, T, S, H, K, hd, p);
    EXPECT_EQ(o1, o2) << "T=" << T;
  }
}

} // namespace
} // namespace edg::cpu
