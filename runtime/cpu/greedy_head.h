//===- greedy_head.h - exact greedy token choice over a big LM head -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Greedy decoding needs only argmax(softcap(x·Eᵀ)) per row, but E (the tied
// embedding, [V, d] fp32: 256000 x 512 = 512 MB for T5Gemma S) is read from
// memory on every step, which makes it most of the step's time. greedy_argmax
// reads an int8 copy of E instead (4x fewer bytes, and exact integer dot
// products that take ~3x fewer instructions than fp32 ones), and still
// returns exactly the token the fp32 logits give:
//
//  1. approximate logits a[n] = s[n]·sx·(xq·q[n]) from the int8 rows q[n]
//     (per-row scale s[n] = max|E[n]|/127) and x quantised to int16;
//  2. a rigorous bound |a[n] - z[n]| <= e[n] on the error against z[n], the
//     fp32 logit the exact path computes (both quantisation errors, measured,
//     plus the fp32 summation error of the exact path, with slack);
//  3. L = max(a - e) is below the best exact logit; every row with
//     softcap(a + e) < softcap(L) is strictly below it after the soft-cap
//     too (fast_tanh is monotone, checked over every float in [0, 20]),
//     so only the few remaining candidates need the fp32 dot product;
//  4. those are computed with detail::dot_rows, the very kernel (and
//     summation order) that sgemm_nt uses for the same rows, and the first
//     maximum wins, as in argmax over the full logits.
//
// So the result equals argmax over logits from sgemm_nt in blocks of <= 8
// rows followed by softcap(), bit for bit. Non-finite inputs, a table with
// non-finite weights, or an unexpectedly large candidate set take the exact
// path (full fp32 logits).
//
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CPU_GREEDY_HEAD_H
#define EDG_RUNTIME_CPU_GREEDY_HEAD_H

#include <cstdint>
#include <vector>

namespace edg::cpu {

/// int8 rows with per-row scales: table[n, k] ~ scale[n] * q[n, k].
struct QuantizedTable {
  int64_t rows = 0, cols = 0, padded_cols = 0; // padded_cols: multiple of 16
  std::vector<int8_t> q;       // [rows, padded_cols], zero padded
  std::vector<float> scale;    // [rows]
  /// Per row: |logit error| <= bound_x1[n]·||x||₁ + bound_ex[n]·max|x - x~|
  /// (x~: x quantised to int16; see greedy_head.cc).
  std::vector<float> bound_x1, bound_ex; // [rows]
  float max_bound_x1 = 0.0f, max_bound_ex = 0.0f;
  /// false if the table has a non-finite weight or more than 8192 columns
  bool usable = false;

  /// Quantises table [rows, cols] (fp32, row-major) on the thread pool.
  static QuantizedTable build(const float *table, int64_t rows, int64_t cols);
};

/// tokens[m] = the first index of the maximum of softcap(x[m]·tableᵀ) over
/// the V rows of table [V, K], for M rows of x (row stride lda). cap <= 0
/// means no soft-cap. qt (optional, built from the same table) enables the
/// int8 candidate search; without it the full logits are computed.
void greedy_argmax(const float *x, int64_t M, int64_t lda, const float *table,
                   int64_t V, int64_t K, float cap, const QuantizedTable *qt,
                   int32_t *tokens);

/// Statistics of the last greedy_argmax call on this thread (for tests and
/// benchmarks): rows checked in fp32, and whether the exact path was taken.
struct GreedyStats {
  int64_t candidates = 0;
  bool exact_path = false;
};
GreedyStats last_greedy_stats();

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_GREEDY_HEAD_H
