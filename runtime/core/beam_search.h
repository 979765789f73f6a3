//===- beam_search.h - beam search over per-step logits -----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The bookkeeping of beam search, separate from the model: given each step's
// logits of the B·k running beams it picks the next tokens and says which
// beam every new row continues (the KV cache is reordered by the caller).
// It follows Hugging Face's `generate(num_beams=k)` (transformers 5.x) so
// that the same model gives the same hypotheses:
//   - scores are running sums of fp32 log-softmax values; before the first
//     step only beam 0 is live (the others start at -1e9);
//   - each step keeps the top max(2, 1 + #stop tokens)·k continuations over
//     all beams × vocabulary; the best k that did not stop run on;
//   - a continuation among the first k that ends (stop token or the length
//     limit) becomes a finished hypothesis with score sum / len^length_penalty
//     (len counts new tokens, stop token included); the k best are kept;
//   - a batch item is done when its k finished hypotheses can no longer be
//     beaten by the best running beam (HF's early_stopping=False heuristic,
//     with the running score divided by the current length), or, with
//     early_stopping, once it holds k finished hypotheses.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_BEAM_SEARCH_H
#define EDG_RUNTIME_CORE_BEAM_SEARCH_H

#include <cstdint>
#include <vector>

namespace edg {

struct BeamHypothesis {
  std::vector<int32_t> tokens; // new tokens, the stop token included
  float score = 0.0f;          // sum of log-probabilities / len^length_penalty
};

class BeamSearch {
public:
  BeamSearch(int64_t batch, int beams, int64_t vocab, int max_new_tokens,
             std::vector<int32_t> stop_tokens, float length_penalty,
             bool early_stopping);

  /// Consumes logits [B·k, V] (row b·k + j: beam j of item b) of the current
  /// step. Returns false when every item is done; otherwise fills
  /// `next_tokens` [B·k] with the tokens to feed next and `source_rows` [B·k]
  /// with the row each new beam continues (always within its item).
  bool step(const float *logits, std::vector<int32_t> &next_tokens,
            std::vector<int64_t> &source_rows);

  /// The best finished hypothesis of every item (after step() returned
  /// false, or at any time for the best so far).
  std::vector<BeamHypothesis> best() const;

private:
  struct Item {
    std::vector<std::vector<int32_t>> running; // [k] token lists
    std::vector<float> running_scores;         // [k] sums of log-probs
    std::vector<BeamHypothesis> finished;      // [k], sorted, best first
    std::vector<bool> finished_real;           // slot holds a hypothesis
    bool improvable = true;
  };
  bool is_stop(int32_t token) const;
  void step_item(Item &item, const float *logprobs, int64_t row0,
                 std::vector<int32_t> &next_tokens,
                 std::vector<int64_t> &source_rows);

  int64_t B_, V_;
  int k_, max_new_, len_ = 0;
  std::vector<int32_t> stops_;
  float length_penalty_;
  bool early_stopping_;
  std::vector<Item> items_;
};

} // namespace edg

#endif // EDG_RUNTIME_CORE_BEAM_SEARCH_H
