//===- bench_gemm.cc - GFLOP/s of the CPU sgemm paths -----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// A small benchmark executable (edg-bench-gemm), not a test: prints the BLAS
// backend in use and GFLOP/s of sgemm_nt/nn/tn for the square 2048³ case and
// for the skinny decode shapes (M = 1..8, N = K = 2048), plus a prefill-sized
// attention call. Usage: edg-bench-gemm [--builtin] (EDG_BLAS=builtin works
// too).
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/blas.h"
#include "runtime/cpu/kernels.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

using namespace edg::cpu;

namespace {

/// Best-of-reps seconds for fn after one warm-up call.
double time_best(const std::function<void()> &fn, int reps) {
  fn();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}

std::vector<float> random_vec(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

} // namespace

int main(int argc, char **argv) {
  bool builtin = argc > 1 && std::strcmp(argv[1], "--builtin") == 0;
  std::printf("BLAS backend: %s\n", builtin ? "builtin C++ GEMM (--builtin)"
                                            : blas_backend().c_str());
  // kind: 'x' = sgemm_nt, 'n' = sgemm_nn, 't' = sgemm_tn.
  auto gemm = [&](char kind, int64_t M, int64_t N, int64_t K, const float *A,
                  const float *B, float *C) {
    if (builtin) {
      const bool ta = kind == 't', tb = kind == 'x';
      detail::sgemm_builtin(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, C, N,
                            0.0f);
      return;
    }
    if (kind == 'x')
      sgemm_nt(M, N, K, A, K, B, K, C, N);
    else if (kind == 'n')
      sgemm_nn(M, N, K, A, K, B, N, C, N);
    else
      sgemm_tn(M, N, K, A, M, B, N, C, N);
  };

  const int64_t n = 2048;
  std::vector<float> A = random_vec(size_t(n * n), 1),
                     B = random_vec(size_t(n * n), 2), C(size_t(n * n));
  for (char kind : {'x', 'n', 't'}) {
    double s =
        time_best([&] { gemm(kind, n, n, n, A.data(), B.data(), C.data()); },
                  builtin ? 1 : 5);
    std::printf("sgemm_%s %ldx%ldx%ld: %8.1f GFLOP/s (%.2f ms)\n",
                kind == 'x'   ? "nt"
                : kind == 'n' ? "nn"
                              : "tn",
                long(n), long(n), long(n), 2.0 * n * n * n / s * 1e-9, s * 1e3);
  }
  // Skinny (decode) shapes: the dispatching sgemm_nt (streaming kernel for
  // M <= 8) next to the library GEMM on the same shape.
  for (int64_t M : {1, 2, 4, 8}) {
    for (bool library : {false, true}) {
      if (builtin && library)
        continue;
      double s = time_best(
          [&] {
            if (library)
              detail::sgemm_library(false, true, M, n, n, A.data(), n, B.data(),
                                    n, C.data(), n, 0.0f);
            else
              gemm('x', M, n, n, A.data(), B.data(), C.data());
          },
          50);
      std::printf("sgemm_nt M=%ld N=K=%ld %-8s %8.1f GFLOP/s (%.3f ms, "
                  "%.1f GB/s of B)\n",
                  long(M), long(n), library ? "library" : "edg",
                  2.0 * M * n * n / s * 1e-9, s * 1e3, 4.0 * n * n / s * 1e-9);
    }
  }

  // Prefill attention, Gemma 2 2B head layout: B=1, T=S=1024, H=8, K=4,
  // hd=256, causal with soft-cap.
  {
    const int64_t T = 1024, H = 8, K = 4, hd = 256;
    std::vector<float> q = random_vec(size_t(T * H * hd), 3),
                       k = random_vec(size_t(T * K * hd), 4),
                       v = random_vec(size_t(T * K * hd), 5),
                       o(size_t(T * H * hd));
    AttentionParams p;
    p.scale = 1.0f / 16.0f;
    p.softcap = 50.0f;
    p.mask = MaskKind::causal;
    double s = time_best(
        [&] {
          attention(q.data(), k.data(), v.data(), o.data(), 1, T, T, H, K, hd,
                    p);
        },
        3);
    // Useful work of causal attention: half of 4·T·S·H·hd.
    std::printf("attention prefill T=S=%ld H=%ld K=%ld hd=%ld causal+softcap: "
                "%.2f ms (%.1f GFLOP/s effective)\n",
                long(T), long(H), long(K), long(hd), s * 1e3,
                2.0 * T * T * H * hd / s * 1e-9);
    const int64_t S = 4096;
    std::vector<float> kc = random_vec(size_t(S * K * hd), 6),
                       vc = random_vec(size_t(S * K * hd), 7);
    s = time_best(
        [&] {
          attention(q.data(), kc.data(), vc.data(), o.data(), 1, 1, S, H, K, hd,
                    p);
        },
        20);
    std::printf("attention decode T=1 S=%ld: %.3f ms (%.1f GB/s of K/V)\n",
                long(S), s * 1e3, 2.0 * S * K * hd * 4 / s * 1e-9);
  }
  return 0;
}
