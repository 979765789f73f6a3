//===- blas.h - Single-precision GEMM for the CPU backend -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The three GEMM shapes the runtime needs, all row-major:
//   sgemm_nt: C[M,N] = A[M,K]·B[N,K]ᵀ + beta·C  (forward y = x·Wᵀ, W [out,in])
//   sgemm_nn: C[M,N] = A[M,K]·B[K,N]  + beta·C  (backward dX = dY·W)
//   sgemm_tn: C[M,N] = A[K,M]ᵀ·B[K,N] + beta·C  (backward dW = dYᵀ·X)
// `ld*` are row strides in elements. With beta == 0, C is written without
// being read (NaNs in it do not propagate), as in BLAS.
//
// sgemm_nt with M <= 8 (decoding) uses a streaming kernel of its own; all
// other shapes call OpenBLAS's cblas_sgemm, loaded at first use with dlopen
// so that OPENBLAS_CORETYPE can be set before the library initialises
// (Debian's OpenBLAS 0.3.21 mis-detects the CI Xeon and runs ~5x slower
// otherwise). OpenBLAS itself runs single-threaded; large products are split
// over EDG's OpenMP threads (OMP_NUM_THREADS), so there is one thread pool.
// Called inside an OpenMP parallel region, each call runs on its own thread.
// If OpenBLAS is missing, or EDG_BLAS=builtin is set, a blocked OpenMP C++
// GEMM is used instead (correct, much slower); the choice is reported once on
// stderr.
//
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CPU_BLAS_H
#define EDG_RUNTIME_CPU_BLAS_H

#include <cstdint>
#include <string>

namespace edg::cpu {

void sgemm_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
              const float *B, int64_t ldb, float *C, int64_t ldc,
              float beta = 0.0f);

void sgemm_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
              const float *B, int64_t ldb, float *C, int64_t ldc,
              float beta = 0.0f);

void sgemm_tn(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
              const float *B, int64_t ldb, float *C, int64_t ldc,
              float beta = 0.0f);

/// One product C[M, N] = A[M, K]·B[N, K]ᵀ of a group sharing A (see
/// sgemm_nt_group).
struct NtOutput {
  const float *B;
  int64_t ldb, N;
  float *C;
  int64_t ldc;
};

/// C_i = A·B_iᵀ (beta = 0) for `count` products that share A, e.g. the q, k
/// and v projections of one input. For M <= 8 (decoding) all of them are one
/// streaming pass in a single parallel region, with the numerics of
/// sgemm_nt; larger products are cut into blocks as sgemm_nt cuts them, all
/// outputs' blocks in one parallel region.
void sgemm_nt_group(int64_t M, int64_t K, const float *A, int64_t lda,
                    const NtOutput *outs, int count);

/// Describes the GEMM in use, e.g. "OpenBLAS (core SkylakeX, 2 threads)" or
/// "builtin C++ GEMM (...)". Loads the library if not done yet.
std::string blas_backend();

/// True when cblas_sgemm from OpenBLAS is in use.
bool blas_is_openblas();

/// While alive, the sgemm_* calls run single-threaded on the calling thread,
/// so that the threads of an OpenMP parallel region can each run their own
/// GEMMs (attention runs one head per thread this way) instead of waking
/// OpenBLAS's own thread pool between OpenMP regions, which thrashes when
/// the cores are shared. Create it outside the parallel region; not
/// reentrant across threads.
class BlasSerialScope {
public:
  BlasSerialScope();
  ~BlasSerialScope();
  BlasSerialScope(const BlasSerialScope &) = delete;
  BlasSerialScope &operator=(const BlasSerialScope &) = delete;

private:
  int saved_threads_ = 0; // 0: nothing to restore
};

namespace detail {
/// The library GEMM: OpenBLAS's cblas_sgemm when loaded, else
/// sgemm_builtin. Same operand conventions as sgemm_builtin; no argument
/// checks (the public entry points do them).
void sgemm_library(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float *A, int64_t lda, const float *B, int64_t ldb,
                   float *C, int64_t ldc, float beta);

/// The portable fallback, exposed so tests can check it directly:
/// C[M,N] = op(A)·op(B) + beta·C with op(A) = A[M,K] or A[K,M]ᵀ (trans_a) and
/// op(B) = B[K,N] or B[N,K]ᵀ (trans_b).
void sgemm_builtin(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float *A, int64_t lda, const float *B, int64_t ldb,
                   float *C, int64_t ldc, float beta);
/// sgemm_nt for few rows (M <= 8, decoding): one pass over B, threads split
/// its rows. sgemm_nt routes such shapes here. Every C[m, n] is
/// dot_rows(B row n, M, ...)[m] for the rows of A in blocks of 8, so callers
/// can recompute single entries bit for bit.
void sgemm_nt_skinny(int64_t M, int64_t N, int64_t K, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float *C,
                     int64_t ldc, float beta);
/// out[m] = A[m, :K]·b[:K] for m < M <= 8, in the order sgemm_nt_skinny uses
/// for that M and K (AVX2 when compiled with it).
void dot_rows(const float *b, int64_t M, int64_t K, const float *A,
              int64_t lda, float *out);
} // namespace detail

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_BLAS_H
