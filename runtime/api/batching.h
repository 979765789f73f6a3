//===- batching.h - padded batches for the API's entry points ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Turns token lists into the i32/u8 tensors the compiled entry points take,
// and checks them against the compiled maxima and the vocabulary first.
// Decoder-only prompts are LEFT-padded with positions cumsum(valid) - 1, as
// HF's generate does, so every row's next token sits in the last slot;
// encoder inputs are right-padded with positions 0..S-1.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_API_BATCHING_H
#define EDG_RUNTIME_API_BATCHING_H

#include "runtime/include/edg/edg.h"

namespace edg {

/// ids [B, T], positions [B, T], valid [B, T] of one padded batch.
struct Batch {
  Tensor ids, positions, valid;
  int64_t B = 0, T = 0;
};

/// Throws unless `rows` fits the model: 1..max_batch rows, each non-empty,
/// ids in the vocabulary, and length + `extra` <= max_seq.
void check_batch(const Model &m, const std::vector<TokenIds> &rows,
                 int64_t extra, const char *what);

/// Pads `rows` with `pad` on the left (decoder-only prompts) or the right.
Batch make_batch(const std::vector<TokenIds> &rows, int32_t pad, bool left);

/// One decoding step's inputs: tokens[r] at positions[r].
Batch step_batch(const std::vector<int32_t> &tokens,
                 const std::vector<int32_t> &positions);

} // namespace edg

#endif // EDG_RUNTIME_API_BATCHING_H
