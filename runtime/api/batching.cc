//===- batching.cc - padded batches for the API's entry points ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "runtime/api/batching.h"

#include <algorithm>

namespace edg {

void check_batch(const Model &m, const std::vector<TokenIds> &rows,
                 int64_t extra, const char *what) {
  check(!rows.empty(), what, ": the batch is empty");
  check(int64_t(rows.size()) <= m.max_batch(), what, ": batch of ",
        rows.size(), " exceeds the compiled maximum of ", m.max_batch(),
        " (recompile with edg-compile --max-batch)");
  for (size_t r = 0; r < rows.size(); ++r) {
    check(!rows[r].empty(), what, ": sequence ", r, " is empty");
    check(int64_t(rows[r].size()) + extra <= m.max_seq(), what, ": sequence ",
          r, " needs ", int64_t(rows[r].size()) + extra,
          " positions, more than the compiled maximum of ", m.max_seq(),
          " (recompile with edg-compile --max-seq)");
    for (size_t t = 0; t < rows[r].size(); ++t)
      check(rows[r][t] >= 0 && rows[r][t] < m.vocab_size(), what,
            ": token id ", rows[r][t], " at sequence ", r, " position ", t,
            " is outside the vocabulary [0, ", m.vocab_size(), ")");
  }
}

Batch make_batch(const std::vector<TokenIds> &rows, int32_t pad, bool left) {
  Batch b;
  b.B = int64_t(rows.size());
  for (const TokenIds &r : rows)
    b.T = std::max(b.T, int64_t(r.size()));
  b.ids = Tensor(DType::i32, {b.B, b.T});
  b.positions = Tensor(DType::i32, {b.B, b.T});
  b.valid = Tensor(DType::u8, {b.B, b.T});
  for (int64_t r = 0; r < b.B; ++r) {
    int64_t n = int64_t(rows[size_t(r)].size()), offset = left ? b.T - n : 0;
    for (int64_t t = 0; t < b.T; ++t) {
      bool real = t >= offset && t < offset + n;
      b.ids.data<int32_t>()[r * b.T + t] =
          real ? rows[size_t(r)][size_t(t - offset)] : pad;
      b.valid.data<uint8_t>()[r * b.T + t] = real;
      b.positions.data<int32_t>()[r * b.T + t] =
          int32_t(left ? std::max<int64_t>(0, t - offset) : t);
    }
  }
  return b;
}

/// One decoding step's inputs: the chosen tokens at `position[r]`.
Batch step_batch(const std::vector<int32_t> &tokens,
                 const std::vector<int32_t> &positions) {
  Batch b;
  b.B = int64_t(tokens.size());
  b.T = 1;
  b.ids = Tensor(DType::i32, {b.B, 1});
  b.positions = Tensor(DType::i32, {b.B, 1});
  b.valid = Tensor(DType::u8, {b.B, 1});
  for (int64_t r = 0; r < b.B; ++r) {
    b.ids.data<int32_t>()[r] = tokens[size_t(r)];
    b.positions.data<int32_t>()[r] = positions[size_t(r)];
    b.valid.data<uint8_t>()[r] = 1;
  }
  return b;
}

} // namespace edg
