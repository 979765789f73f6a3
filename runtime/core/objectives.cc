//===- objectives.cc - training batches for the paper's objectives -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See objectives.h. UL2 follows T5's random_spans_noise_mask: with L tokens,
// rate r and mean span mu, round(L r) noise tokens are cut into
// round(noise / mu) spans, the other tokens into as many, and the two
// alternate starting with a kept span. The encoder sees each noise span
// replaced by its sentinel; the target lists sentinel + span for each.
//===----------------------------------------------------------------------===//
#include "runtime/core/objectives.h"

#include "runtime/core/status.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace edg {

namespace {
/// Denoisers of MODEL_SPEC §2.10: mean span, rate; the last is the
/// sequential one (one span: the last 3/4 of the sequence).
struct Denoiser {
  double mu, rate;
};
constexpr Denoiser kDenoisers[5] = {
    {3, 0.15}, {12, 0.5}, {32, 0.15}, {32, 0.5}, {0, 0.75}};
constexpr int kMixture[5] = {1, 1, 1, 1, 4};

/// Generator of example `index`: independent of every other example.
std::mt19937_64 rng_for(uint64_t seed, int64_t index) {
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(index),
                    uint32_t(uint64_t(index) >> 32)};
  return std::mt19937_64(seq);
}

/// Uniform in [0, n) (n > 0), without the library's distribution objects
/// so that batches do not depend on the standard library.
uint64_t below(std::mt19937_64 &rng, uint64_t n) { return rng() % n; }

/// `n` items cut into `k` positive parts at random (k <= n).
std::vector<int64_t> segment(int64_t n, int64_t k, std::mt19937_64 &rng) {
  std::vector<int64_t> cuts;
  for (int64_t i = 1; i < n; ++i)
    cuts.push_back(i);
  for (int64_t i = 0; i + 1 < int64_t(cuts.size()); ++i) // Fisher-Yates
    std::swap(cuts[size_t(i)],
              cuts[size_t(i + int64_t(below(rng, uint64_t(int64_t(cuts.size()) - i))))]);
  cuts.resize(size_t(k - 1));
  std::sort(cuts.begin(), cuts.end());
  std::vector<int64_t> parts;
  int64_t prev = 0;
  for (int64_t c : cuts)
    parts.push_back(c - prev), prev = c;
  parts.push_back(n - prev);
  return parts;
}

Tokens truncate(const Tokens &t, int64_t n) {
  return Tokens(t.begin(), t.begin() + std::min<int64_t>(n, int64_t(t.size())));
}

void fill_row(Tensor &t, int64_t row, const Tokens &values, int32_t pad) {
  int64_t T = t.dim(1);
  for (int64_t i = 0; i < T; ++i)
    t.data<int32_t>()[row * T + i] =
        i < int64_t(values.size()) ? values[size_t(i)] : pad;
}

/// ids, positions, valid of right-padded rows.
void inputs(const std::vector<Tokens> &rows, int32_t pad, Tensor &ids,
            Tensor &positions, Tensor &valid) {
  int64_t B = int64_t(rows.size()), T = 1;
  for (const Tokens &r : rows)
    T = std::max<int64_t>(T, int64_t(r.size()));
  ids = Tensor(DType::i32, {B, T});
  positions = Tensor(DType::i32, {B, T});
  valid = Tensor(DType::u8, {B, T});
  for (int64_t b = 0; b < B; ++b) {
    fill_row(ids, b, rows[size_t(b)], pad);
    for (int64_t t = 0; t < T; ++t) {
      positions.data<int32_t>()[b * T + t] = int32_t(t);
      valid.data<uint8_t>()[b * T + t] = t < int64_t(rows[size_t(b)].size());
    }
  }
}
} // namespace

std::optional<BatchObjective> parse_batch_objective(const std::string &name) {
  if (name == "lm") return BatchObjective::lm;
  if (name == "prefixlm") return BatchObjective::prefixlm;
  if (name == "ul2") return BatchObjective::ul2;
  if (name == "sft") return BatchObjective::sft;
  return std::nullopt;
}

Example ul2_corrupt(const Tokens &tokens, int d, uint64_t seed,
                    const BatchOptions &o) {
  check(d >= 0 && d < 5, "ul2: denoiser ", d, " is not one of 0..4");
  check(tokens.size() >= 2, "ul2: a sequence needs at least 2 tokens");
  std::mt19937_64 rng = rng_for(seed, 0);
  const int64_t L = int64_t(tokens.size());
  Example ex;
  ex.denoiser = d;
  const Denoiser &dn = kDenoisers[d];
  if (dn.mu == 0) { // sequential: the last round(3/4 L) tokens are the target
    int64_t n = std::clamp<int64_t>(std::llround(dn.rate * double(L)), 1, L - 1);
    ex.input.assign(tokens.begin(), tokens.end() - n);
    ex.target.assign(tokens.end() - n, tokens.end());
    return ex;
  }
  int64_t noise = std::clamp<int64_t>(std::llround(dn.rate * double(L)), 1, L - 1);
  int64_t spans = std::max<int64_t>(1, std::llround(double(noise) / dn.mu));
  spans = std::min({spans, noise, L - noise});
  std::vector<int64_t> noisy = segment(noise, spans, rng),
                       kept = segment(L - noise, spans, rng);
  int64_t pos = 0;
  for (int64_t s = 0; s < spans; ++s) {
    const int32_t sentinel = int32_t(o.vocab - 1 - (s % o.sentinels));
    ex.input.insert(ex.input.end(), tokens.begin() + pos,
                    tokens.begin() + pos + kept[size_t(s)]);
    pos += kept[size_t(s)];
    ex.input.push_back(sentinel);
    ex.target.push_back(sentinel);
    ex.target.insert(ex.target.end(), tokens.begin() + pos,
                     tokens.begin() + pos + noisy[size_t(s)]);
    pos += noisy[size_t(s)];
  }
  return ex;
}

BatchBuilder::BatchBuilder(BatchOptions options, std::vector<Tokens> sequences,
                           std::vector<TokenPair> pairs)
    : o_(options), pairs_(std::move(pairs)) {
  check(o_.batch > 0 && o_.seq >= 2, "batch must be > 0 and seq >= 2");
  check(o_.vocab > 0, "the vocabulary size must be known");
  bool sft = o_.objective == BatchObjective::sft;
  check(!(o_.objective == BatchObjective::ul2 && !o_.encoder_decoder),
        "the ul2 objective needs an encoder-decoder model (compile with "
        "objective=seq2seq)");
  check(!(o_.objective == BatchObjective::lm && o_.encoder_decoder),
        "the lm objective is decoder-only; an encoder-decoder model trains "
        "prefixlm, ul2 or sft");
  check(!(o_.teacher && o_.objective != BatchObjective::prefixlm),
        "a model compiled with prefixlm-kd trains the prefixlm objective");
  check(o_.objective != BatchObjective::ul2 || o_.vocab > o_.sentinels + 3,
        "ul2 needs more than ", o_.sentinels + 3, " vocabulary entries for its "
        "sentinels");
  for (Tokens &s : sequences)
    if (s.size() >= 2)
      sequences_.push_back(std::move(s));
  if (sft)
    check(!pairs_.empty(), "the sft objective needs jsonl {input, target} "
                           "pairs (--data FILE.jsonl)");
  else
    check(!sequences_.empty(), "no training sequence has 2 or more tokens");
}

size_t BatchBuilder::source_index(int64_t index) const {
  // A fresh permutation per epoch, from the seed and the epoch number.
  size_t n = o_.objective == BatchObjective::sft ? pairs_.size()
                                                 : sequences_.size();
  int64_t epoch = index / int64_t(n);
  if (epoch != perm_epoch_) {
    perm_.resize(n);
    for (size_t i = 0; i < n; ++i)
      perm_[i] = i;
    std::mt19937_64 rng = rng_for(o_.seed ^ 0x5eedULL, -1 - epoch);
    for (size_t i = n; i > 1; --i)
      std::swap(perm_[i - 1], perm_[size_t(below(rng, i))]);
    perm_epoch_ = epoch;
  }
  return perm_[size_t(index % int64_t(n))];
}

Example BatchBuilder::example(int64_t index) const {
  Example ex;
  const size_t src = source_index(index);
  if (o_.objective == BatchObjective::sft) {
    ex.input = pairs_[src].input;
    ex.target = pairs_[src].target;
    ex.target.push_back(o_.eos);
  } else {
    // Encoder-decoder stacks each hold seq tokens; a decoder-only model
    // holds the whole sequence in seq.
    Tokens s = truncate(sequences_[src], o_.encoder_decoder ? 2 * o_.seq : o_.seq);
    if (o_.objective == BatchObjective::lm) {
      ex.target = s;
    } else if (o_.objective == BatchObjective::prefixlm) {
      size_t half = s.size() / 2;
      ex.input.assign(s.begin(), s.begin() + int64_t(half));
      ex.target.assign(s.begin() + int64_t(half), s.end());
    } else {
      std::mt19937_64 rng = rng_for(o_.seed, index);
      int total = 0, pick = int(below(rng, 8)); // mixture weights sum to 8
      int d = 0;
      while (pick >= total + kMixture[d])
        total += kMixture[d++];
      ex = ul2_corrupt(s, d, rng(), o_);
    }
  }
  if (o_.encoder_decoder) {
    ex.input = truncate(ex.input, o_.seq);
    ex.target = truncate(ex.target, o_.seq);
    if (ex.input.empty()) // the encoder needs one valid key
      ex.input.push_back(o_.bos);
  }
  return ex;
}

TrainBatch BatchBuilder::next() {
  std::vector<Example> ex;
  for (int64_t b = 0; b < o_.batch; ++b)
    ex.push_back(example(cursor_ + b));
  cursor_ += o_.batch;

  TrainBatch batch;
  const int64_t B = o_.batch;
  std::vector<Tokens> enc, dec, lab;
  for (const Example &e : ex) {
    if (!o_.encoder_decoder) {
      // ids = input + target; label[t] = ids[t+1] when that is a target
      // token (the first token of an lm sequence has no label).
      Tokens ids = truncate(e.input, o_.seq);
      Tokens rest = truncate(e.target, o_.seq - int64_t(ids.size()));
      size_t first = e.input.empty() ? 1 : ids.size();
      ids.insert(ids.end(), rest.begin(), rest.end());
      Tokens labels(ids.size(), -100);
      for (size_t t = 0; t + 1 < ids.size(); ++t)
        if (t + 1 >= first)
          labels[t] = ids[t + 1];
      enc.push_back(std::move(ids));
      lab.push_back(std::move(labels));
      continue;
    }
    enc.push_back(e.input);
    Tokens d = {o_.bos};
    d.insert(d.end(), e.target.begin(), e.target.end() - 1);
    dec.push_back(std::move(d));
    lab.push_back(e.target);
  }
  inputs(enc, o_.pad, batch.ids, batch.positions, batch.valid);
  if (o_.encoder_decoder)
    inputs(dec, o_.pad, batch.decoder_ids, batch.decoder_positions,
           batch.decoder_valid);
  const Tensor &shape = o_.encoder_decoder ? batch.decoder_ids : batch.ids;
  batch.labels = Tensor(DType::i32, shape.shape());
  for (int64_t b = 0; b < B; ++b)
    fill_row(batch.labels, b, lab[size_t(b)], -100);

  if (o_.teacher) {
    // The teacher reads prefix + target causally; its row P-1+t predicts
    // target token t (P = prefix length).
    std::vector<Tokens> full;
    batch.teacher_index = Tensor(DType::i32, batch.labels.shape());
    int64_t T = batch.labels.dim(1);
    for (int64_t b = 0; b < B; ++b) {
      const Example &e = ex[size_t(b)];
      Tokens f = e.input;
      f.insert(f.end(), e.target.begin(), e.target.end());
      full.push_back(std::move(f));
      for (int64_t t = 0; t < T; ++t)
        batch.teacher_index.data<int32_t>()[b * T + t] =
            int32_t(std::min<int64_t>(int64_t(e.input.size()) - 1 + t,
                                      int64_t(full.back().size()) - 1));
    }
    inputs(full, o_.pad, batch.teacher_ids, batch.teacher_positions,
           batch.teacher_valid);
  }
  return batch;
}

} // namespace edg
