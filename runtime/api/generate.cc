//===- generate.cc - generation: greedy, sampling, beam search ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The token loops over a DecodeSession. Greedy and sampled generation run
// one row per prompt (on the CUDA executor when CUDA was selected); beam
// search runs num_beams rows per prompt on the CPU and reorders the KV
// cache after every step.
//===----------------------------------------------------------------------===//
#include "runtime/api/decode_session.h"
#include "runtime/api/model_impl.h"
#include "runtime/core/beam_search.h"
#include "runtime/core/sampling.h"

#include <algorithm>

namespace edg {
namespace {

/// Checks what every generation mode shares; returns the stop tokens.
std::vector<int32_t> check_generation(const Model &m,
                                      const std::vector<TokenIds> &prompts,
                                      const GenerateOptions &options,
                                      int copies) {
  check(options.max_new_tokens >= 0, "generate: max_new_tokens must be >= 0");
  bool encdec = m.is_encoder_decoder();
  // A decoder-only model holds prompt + new tokens; an encoder-decoder model
  // holds the encoder input and, separately, BOS + new tokens.
  check_batch(m, prompts, encdec ? 0 : options.max_new_tokens, "generate");
  check(int64_t(prompts.size()) * copies <= m.max_batch(), "generate: ",
        prompts.size(), " prompts x ", copies, " beams exceed the compiled "
        "maximum batch of ", m.max_batch(), " (recompile with edg-compile --max-batch)");
  if (encdec)
    check(1 + options.max_new_tokens <= m.max_seq(), "generate: ",
          options.max_new_tokens, " new tokens exceed the compiled maximum of ",
          m.max_seq(), " decoder positions");
  std::vector<int32_t> stops = options.stop_tokens;
  if (stops.empty())
    stops.push_back(m.eos_token_id());
  return stops;
}

} // namespace

std::vector<TokenIds> Model::generate(const std::vector<TokenIds> &prompts,
                                      const GenerateOptions &options) const {
  check(options.num_beams >= 1, "generate: num_beams must be >= 1, got ",
        options.num_beams);
  if (options.num_beams > 1) {
    std::vector<TokenIds> out;
    for (Hypothesis &h : beam_search(prompts, options))
      out.push_back(std::move(h.tokens));
    return out;
  }
  std::vector<int32_t> stops = check_generation(*this, prompts, options, 1);
  int64_t B = int64_t(prompts.size());
  std::vector<TokenIds> out(static_cast<size_t>(B));
  if (options.max_new_tokens == 0)
    return out;

  SamplingParams sampling{options.temperature, options.top_k, options.top_p};
  std::mt19937_64 rng(options.seed);
  const bool greedy = options.temperature <= 0.0f;
  // On the GPU when CUDA was selected (device KV cache, decode_session.h).
  DecodeSession session(*this, impl_->cpu_executor(), impl_->cuda(), prompts, 1,
                        options.max_new_tokens, greedy);
  std::vector<bool> done(static_cast<size_t>(B), false);
  std::vector<int32_t> next(static_cast<size_t>(B));
  for (int step = 0; step < options.max_new_tokens; ++step) {
    const Tensor &logits = session.logits();
    bool all_done = true;
    for (int64_t r = 0; r < B; ++r) {
      if (done[size_t(r)]) {
        next[size_t(r)] = pad_token_id();
        continue;
      }
      int32_t token = greedy ? session.greedy_tokens()[size_t(r)]
                             : sample_token(logits.data<float>() + r * logits.dim(-1),
                                            logits.dim(-1), sampling, rng);
      out[size_t(r)].push_back(token);
      next[size_t(r)] = token;
      if (std::find(stops.begin(), stops.end(), token) != stops.end() ||
          int(out[size_t(r)].size()) == options.max_new_tokens)
        done[size_t(r)] = true;
      all_done = all_done && done[size_t(r)];
    }
    if (all_done)
      break;
    session.feed(next);
  }
  return out;
}

std::vector<Hypothesis> Model::beam_search(const std::vector<TokenIds> &prompts,
                                           const GenerateOptions &options) const {
  int k = options.num_beams;
  check(k >= 1, "beam search: num_beams must be >= 1, got ", k);
  std::vector<int32_t> stops = check_generation(*this, prompts, options, k);
  std::vector<Hypothesis> out(prompts.size());
  if (options.max_new_tokens == 0)
    return out;
  // On the GPU when CUDA was selected: the device KV cache gathers the
  // surviving beams' rows between steps.
  DecodeSession session(*this, impl_->cpu_executor(), impl_->cuda(), prompts, k,
                        options.max_new_tokens, /*greedy=*/false);
  BeamSearch search(int64_t(prompts.size()), k, vocab_size(),
                    options.max_new_tokens, stops, options.length_penalty,
                    options.early_stopping);
  std::vector<int32_t> next;
  std::vector<int64_t> source_rows;
  while (search.step(session.logits().data<float>(), next, source_rows)) {
    session.reorder(source_rows);
    session.feed(next);
  }
  std::vector<BeamHypothesis> best = search.best();
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = Hypothesis{std::move(best[i].tokens), best[i].score};
  return out;
}

} // namespace edg
