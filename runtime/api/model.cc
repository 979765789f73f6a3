//===- model.cc - the EDG runtime API -----------------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Batching (padding, positions, masks), bounds checks against the compiled
// maxima, and the generation loops over the CPU executor. Decoder-only
// prompts are LEFT-padded with positions cumsum(valid) - 1, as HF's generate
// does, so every row's next token sits in the last slot; encoder inputs are
// right-padded with positions 0..S-1.
//===----------------------------------------------------------------------===//
#include "runtime/include/edg/edg.h"

#include "runtime/api/model_impl.h"
#include "runtime/core/model_file.h"
#include "runtime/core/sampling.h"
#include "runtime/core/weights.h"
#include "runtime/cpu/executor.h"
#include "runtime/cuda/cuda_device.h"

#include <algorithm>

namespace edg {


Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model &&) noexcept = default;
Model &Model::operator=(Model &&) noexcept = default;
Model::~Model() = default;

Model Model::load(const std::string &path) {
  auto impl = std::make_unique<Impl>();
  impl->file = ModelFile::load(path);
  // CUDA when a device answers and EDG_DEVICE allows; there is no CUDA
  // executor yet, so this only reports (once) and enforces EDG_DEVICE.
  cuda::select_backend(/*have_cuda_executor=*/false);
  const schema::Model &m = impl->file.model();
  impl->model_type = m.model_type() ? m.model_type()->str() : "unknown";
  impl->executor = std::make_unique<cpu::Executor>(impl->file, impl->weights);
  return Model(std::move(impl));
}

void Model::bind_weights(const std::vector<std::string> &checkpoints,
                         uint64_t seed) {
  impl_->weights.bind(impl_->file.model(), checkpoints, seed);
  impl_->train.reset(); // new weights: the optimizer starts over
}

const std::string &Model::model_type() const { return impl_->model_type; }
bool Model::is_encoder_decoder() const {
  return impl_->file.function("encode") && impl_->file.function("decode");
}
int64_t Model::vocab_size() const { return impl_->file.model().vocab_size(); }
int32_t Model::bos_token_id() const {
  return int32_t(impl_->file.model().bos_token_id());
}
int32_t Model::eos_token_id() const {
  return int32_t(impl_->file.model().eos_token_id());
}
int32_t Model::pad_token_id() const {
  return int32_t(impl_->file.model().pad_token_id());
}
int64_t Model::max_batch() const { return impl_->file.model().max_batch(); }
int64_t Model::max_seq() const { return impl_->file.model().max_seq(); }
int64_t Model::parameter_count() const {
  return impl_->weights.parameter_count();
}

std::vector<Tensor> Model::run(const std::string &name,
                               const std::vector<const Tensor *> &args) const {
  return impl_->executor->run(name, args);
}

namespace {
/// ids [B, T], positions [B, T], valid [B, T] of one padded batch.
struct Batch {
  Tensor ids, positions, valid;
  int64_t B = 0, T = 0;
};

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
} // namespace

Tensor Model::logits(const std::vector<TokenIds> &batch) const {
  check_batch(*this, batch, 0, "logits");
  Batch b = make_batch(batch, pad_token_id(), /*left=*/false);
  return std::move(
      run("forward", {&b.ids, &b.positions, &b.valid}).at(0));
}

Tensor Model::encode(const std::vector<TokenIds> &batch) const {
  check_batch(*this, batch, 0, "encode");
  Batch b = make_batch(batch, pad_token_id(), /*left=*/false);
  return std::move(run("encode", {&b.ids, &b.positions, &b.valid}).at(0));
}

Tensor Model::decode(const std::vector<TokenIds> &encoder_batch,
                     const std::vector<TokenIds> &decoder_batch) const {
  check_batch(*this, encoder_batch, 0, "decode (encoder input)");
  check_batch(*this, decoder_batch, 0, "decode (decoder input)");
  check(encoder_batch.size() == decoder_batch.size(),
        "decode: encoder batch of ", encoder_batch.size(),
        " and decoder batch of ", decoder_batch.size(), " differ");
  Batch e = make_batch(encoder_batch, pad_token_id(), false);
  Batch d = make_batch(decoder_batch, pad_token_id(), false);
  Tensor enc = std::move(run("encode", {&e.ids, &e.positions, &e.valid}).at(0));
  return std::move(
      run("decode", {&d.ids, &d.positions, &d.valid, &enc, &e.valid}).at(0));
}

std::vector<TokenIds> Model::generate(const std::vector<TokenIds> &prompts,
                                      const GenerateOptions &options) const {
  check(options.max_new_tokens >= 0, "generate: max_new_tokens must be >= 0");
  bool encdec = is_encoder_decoder();
  // A decoder-only model holds prompt + new tokens; an encoder-decoder model
  // holds the encoder input and, separately, BOS + new tokens.
  check_batch(*this, prompts, encdec ? 0 : options.max_new_tokens, "generate");
  if (encdec)
    check(1 + options.max_new_tokens <= max_seq(), "generate: ",
          options.max_new_tokens, " new tokens exceed the compiled maximum of ",
          max_seq(), " decoder positions");

  std::vector<int32_t> stops = options.stop_tokens;
  if (stops.empty())
    stops.push_back(eos_token_id());
  SamplingParams sampling{options.temperature, options.top_k, options.top_p};
  std::mt19937_64 rng(options.seed);

  int64_t B = int64_t(prompts.size());
  std::vector<TokenIds> out(static_cast<size_t>(B));
  std::vector<bool> done(static_cast<size_t>(B), options.max_new_tokens == 0);
  std::vector<int32_t> next(static_cast<size_t>(B)), positions(static_cast<size_t>(B));
  if (options.max_new_tokens == 0)
    return out;

  Tensor enc;
  Batch e;
  cpu::RunOptions run_options;
  run_options.logits_last_only = true;
  // Greedy: the lm_head step picks the tokens itself (the argmax of the same
  // logits, without reading all of the fp32 head; cpu/greedy_head.h).
  const bool greedy = options.temperature <= 0.0f;
  std::vector<int32_t> greedy_tokens(static_cast<size_t>(B));
  if (greedy)
    run_options.greedy_tokens = greedy_tokens.data();
  cpu::KvState state;
  Tensor logits;
  if (encdec) {
    e = make_batch(prompts, pad_token_id(), /*left=*/false);
    enc = std::move(impl_->executor->run("encode", {&e.ids, &e.positions, &e.valid}).at(0));
    state = cpu::KvState(1 + options.max_new_tokens);
    run_options.state = &state;
    Batch start = step_batch(std::vector<int32_t>(size_t(B), bos_token_id()),
                             std::vector<int32_t>(size_t(B), 0));
    logits = std::move(impl_->executor->run(
        "decode", {&start.ids, &start.positions, &start.valid, &enc, &e.valid},
        run_options).at(0));
    std::fill(positions.begin(), positions.end(), 0);
  } else {
    Batch p = make_batch(prompts, pad_token_id(), /*left=*/true);
    state = cpu::KvState(p.T + options.max_new_tokens);
    run_options.state = &state;
    logits = std::move(impl_->executor->run(
        "forward", {&p.ids, &p.positions, &p.valid}, run_options).at(0));
    for (int64_t r = 0; r < B; ++r)
      positions[size_t(r)] = p.positions.data<int32_t>()[r * p.T + p.T - 1];
  }

  int64_t V = logits.dim(-1);
  for (int step = 0; step < options.max_new_tokens; ++step) {
    bool all_done = true;
    for (int64_t r = 0; r < B; ++r) {
      if (done[size_t(r)]) {
        next[size_t(r)] = pad_token_id();
        continue;
      }
      int32_t token =
          greedy ? greedy_tokens[size_t(r)]
                 : sample_token(logits.data<float>() + r * V, V, sampling, rng);
      out[size_t(r)].push_back(token);
      next[size_t(r)] = token;
      if (std::find(stops.begin(), stops.end(), token) != stops.end() ||
          int(out[size_t(r)].size()) == options.max_new_tokens)
        done[size_t(r)] = true;
      all_done = all_done && done[size_t(r)];
    }
    if (all_done)
      break;
    for (int32_t &p : positions)
      ++p;
    Batch s = step_batch(next, positions);
    if (encdec)
      logits = std::move(impl_->executor->run(
          "decode", {&s.ids, &s.positions, &s.valid, &enc, &e.valid},
          run_options).at(0));
    else
      logits = std::move(impl_->executor->run(
          "forward", {&s.ids, &s.positions, &s.valid}, run_options).at(0));
  }
  return out;
}

} // namespace edg
