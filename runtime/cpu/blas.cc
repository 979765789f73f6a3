//===- blas.cc - Single-precision GEMM for the CPU backend ------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Loads OpenBLAS's cblas_sgemm with dlopen (after pinning OPENBLAS_CORETYPE on
// AVX-512 machines, see TOOLCHAIN.md "CPU GEMM: a measured trap") and routes
// the three row-major GEMM shapes to it. OpenBLAS runs single-threaded: EDG's
// thread pool (parallel.h) splits each large GEMM into column (or row) blocks,
// one OpenBLAS call per block, so that the runtime has one thread pool instead
// of two pools that spin against each other on a few cores. Without OpenBLAS it
// uses a cache-blocked OpenMP C++ GEMM. Decode-shaped products (M <= 8) use
// the streaming AVX2 kernel below.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/blas.h"

#include "runtime/core/status.h"
#include "runtime/cpu/parallel.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include <dlfcn.h>
#include <omp.h>
#include <sched.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define EDG_SKINNY_AVX2 1
#endif

namespace edg::cpu {

//===----------------------------------------------------------------------===//
// Library loading
//===----------------------------------------------------------------------===//

namespace {

// CBLAS enum values (cblas.h), so no CBLAS header is needed at build time.
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

using cblas_sgemm_fn = void (*)(int order, int trans_a, int trans_b, int M,
                                int N, int K, float alpha, const float *A,
                                int lda, const float *B, int ldb, float beta,
                                float *C, int ldc);

struct Blas {
  cblas_sgemm_fn sgemm = nullptr;
  void (*set_threads)(int) = nullptr;
  int (*get_threads)() = nullptr;
  bool pthreads = false; // OpenBLAS's own thread pool (not its OpenMP build)
  std::string description;
};

int usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return n;
  }
  return 1;
}

bool cpu_has_avx512f() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

Blas load_blas() {
  Blas b;
  const char *force = std::getenv("EDG_BLAS");
  if (force && std::strcmp(force, "builtin") == 0) {
    b.description = "builtin C++ GEMM (EDG_BLAS=builtin)";
    std::fprintf(stderr, "edg: using the %s\n", b.description.c_str());
    return b;
  }
  // Must happen before the library's constructor runs; overwrite=0 keeps a
  // user's explicit choice.
  if (cpu_has_avx512f())
    ::setenv("OPENBLAS_CORETYPE", "SkylakeX", /*overwrite=*/0);

  void *h = ::dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!h)
    h = ::dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *err = ::dlerror();
    b.description = "builtin C++ GEMM (OpenBLAS not loadable)";
    std::fprintf(stderr,
                 "edg: cannot dlopen libopenblas.so.0 (%s); falling back to "
                 "the slow builtin C++ GEMM. Install libopenblas0 for speed.\n",
                 err ? err : "unknown error");
    return b;
  }
  b.sgemm = reinterpret_cast<cblas_sgemm_fn>(::dlsym(h, "cblas_sgemm"));
  if (!b.sgemm) {
    b.description = "builtin C++ GEMM (libopenblas lacks cblas_sgemm)";
    std::fprintf(stderr, "edg: libopenblas.so.0 has no cblas_sgemm; falling "
                         "back to the slow builtin C++ GEMM\n");
    return b;
  }
  b.set_threads =
      reinterpret_cast<void (*)(int)>(::dlsym(h, "openblas_set_num_threads"));
  b.get_threads =
      reinterpret_cast<int (*)()>(::dlsym(h, "openblas_get_num_threads"));
  // 1 = pthreads build (Debian's default libopenblas0-pthread), 2 = OpenMP
  // build, which already runs serially inside an OpenMP parallel region.
  if (auto parallel =
          reinterpret_cast<int (*)()>(::dlsym(h, "openblas_get_parallel")))
    b.pthreads = parallel() == 1;
  // One OpenBLAS thread per call: parallelism comes from EDG's thread pool
  // (parallel.h: EDG_NUM_THREADS / OMP_NUM_THREADS), see sgemm_parallel.
  if (b.set_threads)
    b.set_threads(1);
  int threads = num_threads();
  std::string core = "unknown";
  if (auto corename =
          reinterpret_cast<char *(*)()>(::dlsym(h, "openblas_get_corename")))
    if (const char *c = corename())
      core = c;
  b.description = "OpenBLAS (core " + core + ", " + std::to_string(threads) +
                  " threads, split by EDG)";
  // Old generic kernels on a machine with AVX2/FMA mean OpenBLAS did not
  // recognise the CPU: say how to fix it rather than run silently slow.
  static const char *slow[] = {"Prescott", "Core2",   "Penryn",    "Dunnington",
                               "Nehalem",  "Atom",    "Katmai",    "Northwood",
                               "Athlon",   "Opteron", "Barcelona", "Bobcat"};
  for (const char *s : slow)
    if (core == s && cpu_has_avx2())
      std::fprintf(stderr,
                   "edg: OpenBLAS picked its slow '%s' kernels on a CPU with "
                   "AVX2/FMA; set OPENBLAS_CORETYPE=Haswell (or SkylakeX with "
                   "AVX-512) for several times faster GEMMs\n",
                   core.c_str());
  return b;
}

const Blas &blas() {
  static const Blas b = load_blas();
  return b;
}

void check_args(const char *fn, int64_t M, int64_t N, int64_t K, const float *A,
                int64_t lda, int64_t a_cols, const float *B, int64_t ldb,
                int64_t b_cols, float *C, int64_t ldc) {
  check(M >= 0 && N >= 0 && K >= 0, fn, ": negative size M=", M, " N=", N,
        " K=", K);
  check(lda >= a_cols && ldb >= b_cols && ldc >= N, fn,
        ": leading dimension too small (lda=", lda, " needs >= ", a_cols,
        ", ldb=", ldb, " needs >= ", b_cols, ", ldc=", ldc, " needs >= ", N,
        ")");
  check(M * N == 0 || C != nullptr, fn, ": C is null");
  check(M * N * K == 0 || (A != nullptr && B != nullptr), fn,
        ": A or B is null");
}

/// sgemm_nt with at most this many rows goes to sgemm_nt_skinny.
constexpr int64_t kSkinnyMaxM = 8;

/// The library GEMM on the thread pool: the larger of M and N is cut into
/// blocks (multiples of 16, 2 per thread, at least 64 wide), each block one
/// single-threaded OpenBLAS call. (1 block per thread was ~4% faster on an
/// idle machine, 4 per thread ~10% slower; 2 leaves the caller something to
/// take over when a worker is descheduled on a busy one.) Inside a parallel
/// region, for small products, and for the builtin fallback (which threads
/// itself) it is one call.
void sgemm_parallel(bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                    const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc, float beta) {
  const bool split_n = N >= M;
  const int64_t extent = split_n ? N : M;
  if (num_threads() <= 1 || in_parallel() || omp_in_parallel() ||
      extent < 128 || !blas().sgemm || double(M) * double(N) * double(K) < 4e6) {
    detail::sgemm_library(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, beta);
    return;
  }
  int64_t block = grain_for(extent, 64, 2);
  block = (block + 15) / 16 * 16;
  parallel_for(extent, block, [&](int64_t lo, int64_t hi) {
    const int64_t n = hi - lo;
    if (split_n) // columns [lo, hi) of C: rows of B (tb) or its columns
      detail::sgemm_library(ta, tb, M, n, K, A, lda, tb ? B + lo * ldb : B + lo,
                            ldb, C + lo, ldc, beta);
    else // rows [lo, hi) of C: rows of A, or its columns (ta)
      detail::sgemm_library(ta, tb, n, N, K, ta ? A + lo : A + lo * lda, lda,
                            B, ldb, C + lo * ldc, ldc, beta);
  });
}

/// C = beta·C for the K == 0 case (BLAS semantics: beta == 0 writes zeros).
void scale_c(int64_t M, int64_t N, float *C, int64_t ldc, float beta) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

void dispatch(const char *fn, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
              const float *A, int64_t lda, const float *B, int64_t ldb,
              float *C, int64_t ldc, float beta) {
  check_args(fn, M, N, K, A, lda, ta ? M : K, B, ldb, tb ? K : N, C, ldc);
  if (M == 0 || N == 0)
    return;
  if (K == 0) {
    scale_c(M, N, C, ldc, beta);
    return;
  }
  // Decode-shaped y = x·Wᵀ (a few rows): OpenBLAS packs all of W first and
  // then wakes its threads, which costs more than the product itself; the
  // skinny kernel streams each row of W once.
  if (!ta && tb && M <= kSkinnyMaxM) {
    detail::sgemm_nt_skinny(M, N, K, A, lda, B, ldb, C, ldc, beta);
    return;
  }
  sgemm_parallel(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, beta);
}

} // namespace

void sgemm_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
              const float *B, int64_t ldb, float *C, int64_t ldc, float beta) {
  dispatch("sgemm_nt", false, true, M, N, K, A, lda, B, ldb, C, ldc, beta);
}

void sgemm_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
              const float *B, int64_t ldb, float *C, int64_t ldc, float beta) {
  dispatch("sgemm_nn", false, false, M, N, K, A, lda, B, ldb, C, ldc, beta);
}

void sgemm_tn(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
              const float *B, int64_t ldb, float *C, int64_t ldc, float beta) {
  dispatch("sgemm_tn", true, false, M, N, K, A, lda, B, ldb, C, ldc, beta);
}

void sgemm_nt_group(int64_t M, int64_t K, const float *A, int64_t lda,
                    const NtOutput *outs, int count) {
  int64_t total = 0;
  for (int i = 0; i < count; ++i) {
    check_args("sgemm_nt_group", M, outs[i].N, K, A, lda, K, outs[i].B,
               outs[i].ldb, K, outs[i].C, outs[i].ldc);
    total += outs[i].N;
  }
  if (M > kSkinnyMaxM || K == 0 || M == 0) {
    // Large products: every output's blocks (as sgemm_parallel cuts them) in
    // one parallel region instead of one region per output.
    const bool pool = num_threads() > 1 && !in_parallel() &&
                      !omp_in_parallel() && blas().sgemm &&
                      double(M) * double(total) * double(K) >= 4e6;
    if (!pool) {
      for (int i = 0; i < count; ++i)
        sgemm_nt(M, outs[i].N, K, A, lda, outs[i].B, outs[i].ldb, outs[i].C,
                 outs[i].ldc);
      return;
    }
    struct Item {
      int out;
      bool split_n;
      int64_t lo, n;
    };
    std::vector<Item> items;
    for (int i = 0; i < count; ++i) {
      const bool split_n = outs[i].N >= M;
      const int64_t extent = split_n ? outs[i].N : M;
      int64_t block = grain_for(extent, 64, 2);
      block = (block + 15) / 16 * 16;
      for (int64_t lo = 0; lo < extent; lo += block)
        items.push_back({i, split_n, lo, std::min(block, extent - lo)});
    }
    parallel_for(int64_t(items.size()), 1, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const Item &it = items[size_t(j)];
        const NtOutput &o = outs[it.out];
        if (it.split_n)
          detail::sgemm_library(false, true, M, it.n, K, A, lda,
                                o.B + it.lo * o.ldb, o.ldb, o.C + it.lo, o.ldc,
                                0.0f);
        else
          detail::sgemm_library(false, true, it.n, o.N, K, A + it.lo * lda, lda,
                                o.B, o.ldb, o.C + it.lo * o.ldc, o.ldc, 0.0f);
      }
    });
    return;
  }
  const int64_t grain = total * K >= (1 << 16) ? grain_for(total, 16) : total;
  parallel_for(total, grain, [&](int64_t g0, int64_t g1) {
    float s[kSkinnyMaxM];
    for (int64_t g = g0; g < g1; ++g) {
      int i = 0;
      int64_t n = g;
      while (n >= outs[i].N)
        n -= outs[i++].N;
      const NtOutput &o = outs[i];
      detail::dot_rows(o.B + n * o.ldb, M, K, A, lda, s);
      for (int64_t m = 0; m < M; ++m)
        o.C[m * o.ldc + n] = s[m];
    }
  });
}

std::string blas_backend() { return blas().description; }
bool blas_is_openblas() { return blas().sgemm != nullptr; }

BlasSerialScope::BlasSerialScope() {
  const Blas &b = blas();
  if (b.sgemm && b.pthreads && b.set_threads && b.get_threads) {
    saved_threads_ = b.get_threads();
    if (saved_threads_ > 1)
      b.set_threads(1);
    else
      saved_threads_ = 0;
  }
}

BlasSerialScope::~BlasSerialScope() {
  if (saved_threads_ > 0)
    blas().set_threads(saved_threads_);
}

//===----------------------------------------------------------------------===//
// Builtin fallback
//===----------------------------------------------------------------------===//

namespace detail {

void sgemm_library(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float *A, int64_t lda, const float *B, int64_t ldb,
                   float *C, int64_t ldc, float beta) {
  const Blas &b = blas();
  const int64_t lim = INT_MAX; // cblas takes int sizes
  if (b.sgemm && M > 0 && N > 0 && K > 0 && M <= lim && N <= lim && K <= lim &&
      lda <= lim && ldb <= lim && ldc <= lim) {
    b.sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans,
            int(M), int(N), int(K), 1.0f, A, int(lda), B, int(ldb), beta, C,
            int(ldc));
    return;
  }
  sgemm_builtin(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, beta);
}

void sgemm_builtin(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float *A, int64_t lda, const float *B, int64_t ldb,
                   float *C, int64_t ldc, float beta) {
  if (M <= 0 || N <= 0)
    return;
  if (K <= 0) {
    scale_c(M, N, C, ldc, beta);
    return;
  }
  // Blocks: a KB x NB panel of op(B) (64 KiB) is packed contiguous so the
  // inner loop streams it with unit stride; each thread owns a 4-row strip of
  // C and keeps it in a local accumulator while the panel stays in L2.
  constexpr int64_t NB = 128, KB = 128, MR = 4;
  std::vector<float> panel(static_cast<size_t>(KB * NB));
  for (int64_t j0 = 0; j0 < N; j0 += NB) {
    const int64_t nb = std::min(NB, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += KB) {
      const int64_t kb = std::min(KB, K - k0);
      // panel[k][j] = op(B)[k0+k, j0+j]
      for (int64_t k = 0; k < kb; ++k)
        for (int64_t j = 0; j < nb; ++j)
          panel[size_t(k * NB + j)] = trans_b ? B[(j0 + j) * ldb + (k0 + k)]
                                              : B[(k0 + k) * ldb + (j0 + j)];
      const float *P = panel.data();
#pragma omp parallel for schedule(static)
      for (int64_t i0 = 0; i0 < M; i0 += MR) {
        const int64_t mr = std::min(MR, M - i0);
        float acc[MR][NB];
        for (int64_t r = 0; r < mr; ++r) {
          float *c = C + (i0 + r) * ldc + j0;
          for (int64_t j = 0; j < nb; ++j)
            acc[r][j] = k0 > 0 ? c[j] : (beta == 0.0f ? 0.0f : beta * c[j]);
        }
        for (int64_t k = 0; k < kb; ++k) {
          const float *p = P + k * NB;
          for (int64_t r = 0; r < mr; ++r) {
            const int64_t i = i0 + r, kk = k0 + k;
            const float a = trans_a ? A[kk * lda + i] : A[i * lda + kk];
            float *ar = acc[r];
            for (int64_t j = 0; j < nb; ++j)
              ar[j] += a * p[j];
          }
        }
        for (int64_t r = 0; r < mr; ++r)
          std::memcpy(C + (i0 + r) * ldc + j0, acc[r], size_t(nb) * 4);
      }
    }
  }
}

namespace {

#ifdef EDG_SKINNY_AVX2
inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// out[m] = A[m, :K]·b[:K] for MR rows of A, with U independent 8-lane
/// accumulators per row (MR * U <= 8 keeps the FMA pipes busy without
/// spilling). The summation order depends only on (MR, K).
template <int MR, int U>
void dot_rows_avx2(const float *b, const float *A, int64_t lda, int64_t K,
                   float *out) {
  __m256 acc[MR][U];
  for (int m = 0; m < MR; ++m)
    for (int u = 0; u < U; ++u)
      acc[m][u] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 * U <= K; k += 8 * U)
    for (int u = 0; u < U; ++u) {
      const __m256 bv = _mm256_loadu_ps(b + k + 8 * u);
      for (int m = 0; m < MR; ++m)
        acc[m][u] = _mm256_fmadd_ps(_mm256_loadu_ps(A + m * lda + k + 8 * u),
                                    bv, acc[m][u]);
    }
  for (; k + 8 <= K; k += 8) {
    const __m256 bv = _mm256_loadu_ps(b + k);
    for (int m = 0; m < MR; ++m)
      acc[m][0] =
          _mm256_fmadd_ps(_mm256_loadu_ps(A + m * lda + k), bv, acc[m][0]);
  }
  for (int m = 0; m < MR; ++m) {
    __m256 t = acc[m][0];
    for (int u = 1; u < U; ++u)
      t = _mm256_add_ps(t, acc[m][u]);
    float sum = hsum8(t);
    for (int64_t j = k; j < K; ++j)
      sum += A[m * lda + j] * b[j];
    out[m] = sum;
  }
}
#endif

} // namespace

void dot_rows(const float *b, int64_t M, int64_t K, const float *A,
              int64_t lda, float *out) {
#ifdef EDG_SKINNY_AVX2
  switch (M) {
  case 1: return dot_rows_avx2<1, 8>(b, A, lda, K, out);
  case 2: return dot_rows_avx2<2, 4>(b, A, lda, K, out);
  case 3: return dot_rows_avx2<3, 2>(b, A, lda, K, out);
  case 4: return dot_rows_avx2<4, 2>(b, A, lda, K, out);
  case 5: return dot_rows_avx2<5, 1>(b, A, lda, K, out);
  case 6: return dot_rows_avx2<6, 1>(b, A, lda, K, out);
  case 7: return dot_rows_avx2<7, 1>(b, A, lda, K, out);
  case 8: return dot_rows_avx2<8, 1>(b, A, lda, K, out);
  default: break;
  }
#endif
  // Portable order: per row, 8 strided partial sums, then K's tail.
  for (int64_t m = 0; m < M; ++m) {
    const float *a = A + m * lda;
    float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
      for (int j = 0; j < 8; ++j)
        part[j] += a[k + j] * b[k + j];
    float sum = ((part[0] + part[4]) + (part[1] + part[5])) +
                ((part[2] + part[6]) + (part[3] + part[7]));
    for (; k < K; ++k)
      sum += a[k] * b[k];
    out[m] = sum;
  }
}

void sgemm_nt_skinny(int64_t M, int64_t N, int64_t K, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float *C,
                     int64_t ldc, float beta) {
  if (M <= 0 || N <= 0)
    return;
  // Threads split the rows of B ([N, K], the weight) into contiguous blocks:
  // each row is read from memory once and dotted with up to 8 rows of A
  // (which stay in L1/L2), so the cost is one streaming pass over B.
  // Blocks of rows go to the pool's threads (a thread preempted on a busy
  // machine leaves its share to the others).
  const int64_t grain = N * K >= (1 << 16) ? grain_for(N, 16) : N;
  parallel_for(N, grain, [&](int64_t n0, int64_t n1) {
    float s[kSkinnyMaxM];
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t m0 = 0; m0 < M; m0 += kSkinnyMaxM) {
        const int64_t mr = std::min(kSkinnyMaxM, M - m0);
        dot_rows(B + n * ldb, mr, K, A + m0 * lda, lda, s);
        for (int64_t r = 0; r < mr; ++r) {
          float &c = C[(m0 + r) * ldc + n];
          c = beta == 0.0f ? s[r] : s[r] + beta * c;
        }
      }
  });
}

} // namespace detail

} // namespace edg::cpu
