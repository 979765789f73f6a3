//===- blas_test.cc - sgemm_nt / nn / tn against a naive GEMM ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Every GEMM variant, through both the dispatching entry points (OpenBLAS when
// available) and the builtin fallback, on odd shapes with padded leading
// dimensions, beta in {0, 0.5, 1} (beta = 0 must ignore NaNs already in C),
// and the degenerate K = 0 / M = 0 cases.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/blas.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

namespace edg::cpu {
namespace {

using test::throws_with;

enum class Variant { nt, nn, tn };

/// dispatch: the public sgemm_* (skinny kernel for nt with M <= 8, else
/// the library); library: OpenBLAS (or builtin if absent); builtin: the C++
/// fallback; skinny: the streaming nt kernel at every M.
enum class Impl { dispatch, library, builtin, skinny };

struct Case {
  Variant variant;
  Impl impl;
};

/// Runs the variant under test on row-major operands with the given ld's.
void run(const Case &c, int64_t M, int64_t N, int64_t K, const float *A,
         int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
         float beta) {
  const bool ta = c.variant == Variant::tn, tb = c.variant == Variant::nt;
  if (c.impl == Impl::builtin) {
    detail::sgemm_builtin(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, beta);
    return;
  }
  if (c.impl == Impl::library) {
    detail::sgemm_library(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, beta);
    return;
  }
  if (c.impl == Impl::skinny) {
    detail::sgemm_nt_skinny(M, N, K, A, lda, B, ldb, C, ldc, beta);
    return;
  }
  switch (c.variant) {
  case Variant::nt:
    sgemm_nt(M, N, K, A, lda, B, ldb, C, ldc, beta);
    break;
  case Variant::nn:
    sgemm_nn(M, N, K, A, lda, B, ldb, C, ldc, beta);
    break;
  case Variant::tn:
    sgemm_tn(M, N, K, A, lda, B, ldb, C, ldc, beta);
    break;
  }
}

class Sgemm : public ::testing::TestWithParam<std::tuple<Variant, Impl>> {
protected:
  Case c() const { return {std::get<0>(GetParam()), std::get<1>(GetParam())}; }
};

TEST_P(Sgemm, MatchesNaiveOnOddShapes) {
  const Case cs = c();
  const bool ta = cs.variant == Variant::tn, tb = cs.variant == Variant::nt;
  // Includes every M in 1..8 (the skinny range) and shapes past it.
  const int64_t sizes[][3] = {{1, 1, 1},     {2, 300, 129}, {3, 5, 7},
                              {4, 64, 1000}, {5, 33, 17},   {6, 1, 2},
                              {7, 129, 300}, {8, 2048, 9},  {17, 1, 33},
                              {1, 130, 65},  {65, 17, 130}, {129, 131, 257}};
  unsigned seed = 10;
  for (const auto &sz : sizes) {
    const int64_t M = sz[0], N = sz[1], K = sz[2];
    // Stored shapes: A [M,K] or [K,M]; B [K,N] or [N,K]. Pad each row by 3.
    const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
    const int64_t b_rows = tb ? N : K, b_cols = tb ? K : N;
    const int64_t lda = a_cols + 3, ldb = b_cols + 3, ldc = N + 3;
    std::vector<float> A = test::random_floats(size_t(a_rows * lda), seed++);
    std::vector<float> B = test::random_floats(size_t(b_rows * ldb), seed++);
    for (float beta : {0.0f, 0.5f, 1.0f}) {
      std::vector<float> C = test::random_floats(size_t(M * ldc), seed++);
      if (beta == 0.0f)
        std::fill(C.begin(), C.end(), std::nanf(""));
      std::vector<float> C0 = C;
      run(cs, M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, beta);
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double want = beta == 0.0f ? 0.0 : double(beta) * C0[i * ldc + j];
          for (int64_t k = 0; k < K; ++k) {
            const double a = ta ? A[k * lda + i] : A[i * lda + k];
            const double b = tb ? B[j * ldb + k] : B[k * ldb + j];
            want += a * b;
          }
          ASSERT_NEAR(C[i * ldc + j], want, 1e-5 * (1.0 + std::sqrt(double(K))))
              << "M=" << M << " N=" << N << " K=" << K << " beta=" << beta
              << " at (" << i << ", " << j << ")";
        }
      // Padding columns of C are untouched.
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = N; j < ldc; ++j)
          ASSERT_TRUE(std::isnan(C0[i * ldc + j])
                          ? std::isnan(C[i * ldc + j])
                          : C[i * ldc + j] == C0[i * ldc + j]);
    }
  }
}

TEST_P(Sgemm, DegenerateSizes) {
  const Case cs = c();
  std::vector<float> A(16, 1.0f), B(16, 1.0f), C(16, 2.0f);
  run(cs, 2, 3, 0, A.data(), 4, B.data(), 4, C.data(), 4, 0.5f);
  EXPECT_EQ(C[0], 1.0f); // K = 0: C = beta*C
  EXPECT_EQ(C[3], 2.0f); // padding untouched
  std::fill(C.begin(), C.end(), std::nanf(""));
  run(cs, 2, 3, 0, A.data(), 4, B.data(), 4, C.data(), 4, 0.0f);
  EXPECT_EQ(C[5], 0.0f); // beta = 0 overwrites even NaN
  run(cs, 0, 3, 4, nullptr, 4, B.data(), 4, C.data(), 4, 0.0f); // no-op
}

std::string sgemm_case_name(
    const ::testing::TestParamInfo<std::tuple<Variant, Impl>> &info) {
  static const char *const variants[] = {"nt", "nn", "tn"};
  static const char *const impls[] = {"dispatch", "library", "builtin",
                                      "skinny"};
  return std::string(variants[int(std::get<0>(info.param))]) + "_" +
         impls[int(std::get<1>(info.param))];
}

/// Every (variant, implementation) pair; the skinny kernel is sgemm_nt only.
std::vector<std::tuple<Variant, Impl>> sgemm_cases() {
  std::vector<std::tuple<Variant, Impl>> out;
  for (Variant v : {Variant::nt, Variant::nn, Variant::tn})
    for (Impl i : {Impl::dispatch, Impl::library, Impl::builtin, Impl::skinny})
      if (i != Impl::skinny || v == Variant::nt)
        out.emplace_back(v, i);
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllVariants, Sgemm, ::testing::ValuesIn(sgemm_cases()),
                         sgemm_case_name);

TEST(Sgemm, RejectsBadArguments) {
  std::vector<float> A(16), B(16), C(16);
  EXPECT_TRUE(throws_with(
      [&] { sgemm_nt(-1, 2, 2, A.data(), 2, B.data(), 2, C.data(), 2); },
      {"sgemm_nt", "negative size M=-1"}));
  EXPECT_TRUE(throws_with(
      [&] { sgemm_nn(2, 4, 3, A.data(), 2, B.data(), 4, C.data(), 4); },
      {"sgemm_nn", "lda=2 needs >= 3"}));
  EXPECT_TRUE(throws_with(
      [&] { sgemm_tn(2, 4, 3, A.data(), 2, B.data(), 4, nullptr, 4); },
      {"sgemm_tn", "C is null"}));
}

TEST(Sgemm, ReportsBackend) {
  const std::string b = blas_backend();
  EXPECT_FALSE(b.empty());
  std::printf("BLAS backend: %s\n", b.c_str());
}

} // namespace
} // namespace edg::cpu
