//===- objectives.h - training batches for the paper's objectives -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Objectives are batch builders on the runtime side (the graph side is
// edg-build-objective): they turn token sequences or (input, target) pairs
// into padded TrainBatches for the compiled loss (MODEL_SPEC §2.10).
//
// Encoder-decoder (the seq2seq / prefixlm-kd graphs):
//   prefixlm  each sequence is split in two halves: encoder input / decoder
//             target (with the teacher's full sequence for distillation);
//   ul2       span corruption with sentinel tokens, mixture of the five
//             denoisers (mu, r, n) = (3,.15), (12,.5), (32,.15), (32,.5),
//             (3/4 L, .75, 1) at 1:1:1:1:4 (T5Gemma 2 §3.1);
//   sft       jsonl pairs, input -> target + eos.
// Decoder-only baselines (the lm graph): causal LM on prompt + target with
// the loss on the target only (lm: on every token; prefixlm: on the second
// half; sft: on the target). UL2 has no decoder-only form here.
//
// Decoder inputs are BOS + target[:-1] and labels the target (HF's
// _shift_right); decoder-only labels are pre-shifted (label[t] is token
// t+1). Padding is on the right with pad id, valid 0 and label -100;
// positions are 0..T-1. Every random choice is drawn from a generator
// seeded by (seed, example index), so a builder resumed at a cursor makes
// the same batches as one that never stopped.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_OBJECTIVES_H
#define EDG_RUNTIME_CORE_OBJECTIVES_H

#include "runtime/core/train_data.h"
#include "runtime/include/edg/edg.h"

#include <optional>

namespace edg {

enum class BatchObjective { lm, prefixlm, ul2, sft };

/// "lm" | "prefixlm" | "ul2" | "sft".
std::optional<BatchObjective> parse_batch_objective(const std::string &name);

struct BatchOptions {
  BatchObjective objective = BatchObjective::prefixlm;
  /// Layout of the compiled loss: encoder-decoder, with a teacher.
  bool encoder_decoder = true;
  bool teacher = false;
  int64_t batch = 8;
  /// Longest encoder input / decoder target / decoder-only sequence.
  int64_t seq = 512;
  int32_t bos = 2, eos = 1, pad = 0;
  int64_t vocab = 0;
  /// UL2 sentinels are vocab-1, vocab-2, ... (the top of the vocabulary).
  int64_t sentinels = 100;
  /// Shuffles the examples once per epoch and drives UL2's choices.
  uint64_t seed = 0;
};

/// One unpadded example: encoder input (or prompt) and target.
struct Example {
  Tokens input, target;
  /// UL2: which denoiser made it (0..4); -1 otherwise.
  int denoiser = -1;
};

/// UL2 span corruption of `tokens` with denoiser `d` (0..4) using `rng`
/// draws; exposed for tests.
Example ul2_corrupt(const Tokens &tokens, int d, uint64_t seed,
                    const BatchOptions &options);

class BatchBuilder {
public:
  /// `sequences` feed lm / prefixlm / ul2, `pairs` feed sft. Throws if the
  /// objective has no usable example or does not fit the layout.
  BatchBuilder(BatchOptions options, std::vector<Tokens> sequences,
               std::vector<TokenPair> pairs);

  /// The next batch of `options.batch` examples.
  TrainBatch next();
  /// Example `index` (before padding), as next() would make it.
  Example example(int64_t index) const;

  /// Examples consumed so far; restoring it resumes the stream exactly.
  int64_t cursor() const { return cursor_; }
  void set_cursor(int64_t cursor) { cursor_ = cursor; }

private:
  size_t source_index(int64_t index) const;

  BatchOptions o_;
  /// The permutation of the examples in epoch `perm_epoch_` (a cache).
  mutable std::vector<size_t> perm_;
  mutable int64_t perm_epoch_ = -1;
  std::vector<Tokens> sequences_;
  std::vector<TokenPair> pairs_;
  int64_t cursor_ = 0;
};

} // namespace edg

#endif // EDG_RUNTIME_CORE_OBJECTIVES_H
