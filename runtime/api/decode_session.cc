//===- decode_session.cc - one generation request's decoding state -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "runtime/api/decode_session.h"

#include <cstring>

namespace edg {
namespace {

/// Row r of the result is row r / copies of `t` ([N, ...] -> [N·copies, ...]).
Tensor repeat_rows(Tensor t, int copies) {
  if (copies == 1)
    return t;
  std::vector<int64_t> shape = t.shape();
  size_t row_bytes = t.nbytes() / size_t(shape[0]);
  shape[0] *= copies;
  Tensor out(t.dtype(), shape);
  for (int64_t r = 0; r < shape[0]; ++r)
    std::memcpy(static_cast<char *>(out.raw()) + size_t(r) * row_bytes,
                static_cast<const char *>(t.raw()) + size_t(r / copies) * row_bytes,
                row_bytes);
  return out;
}

/// The last position of every row of logits [B, T, V], as [B, 1, V].
Tensor last_position(Tensor logits) {
  const int64_t B = logits.dim(0), T = logits.dim(1), V = logits.dim(2);
  if (T == 1)
    return logits;
  Tensor out(DType::f32, {B, 1, V});
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(out.data<float>() + b * V, logits.data<float>() + (b * T + T - 1) * V,
                size_t(V) * sizeof(float));
  return out;
}

} // namespace

DecodeSession::DecodeSession(const Model &model, const cpu::Executor &executor,
                             cuda::CudaExecutor *cuda,
                             const std::vector<TokenIds> &prompts, int copies,
                             int max_new_tokens, bool greedy)
    : executor_(executor), encdec_(model.is_encoder_decoder()),
      rows_(int64_t(prompts.size()) * copies), copies_(copies) {
  if (cuda && cuda->has_function(encdec_ ? "decode" : "forward"))
    cuda_ = cuda;
  options_.logits_last_only = true;
  positions_.assign(size_t(rows_), 0);
  if (greedy) {
    greedy_tokens_.assign(size_t(rows_), 0);
    // On the CPU the lm_head step picks the tokens itself (the argmax of the
    // same logits, without reading all of the fp32 head; cpu/greedy_head.h);
    // on the device a kernel picks them and only the tokens come back.
    if (!cuda_)
      options_.greedy_tokens = greedy_tokens_.data();
  }
  if (encdec_) {
    // The encoder runs once per prompt; its output is shared by the copies.
    Batch e = make_batch(prompts, model.pad_token_id(), /*left=*/false);
    const std::vector<const Tensor *> args = {&e.ids, &e.positions, &e.valid};
    Tensor enc = cuda_ && cuda_->has_function("encode")
                     ? std::move(cuda_->run("encode", args).at(0))
                     : std::move(executor_.run("encode", args).at(0));
    enc_ = repeat_rows(std::move(enc), copies);
    enc_valid_ = repeat_rows(std::move(e.valid), copies);
    if (cuda_)
      cache_ = cuda_->new_cache(rows_, 1 + max_new_tokens);
    state_ = cpu::KvState(1 + max_new_tokens);
    options_.state = &state_;
    run_step(step_batch(std::vector<int32_t>(size_t(rows_), model.bos_token_id()),
                        positions_));
    return;
  }
  std::vector<TokenIds> rows;
  for (const TokenIds &p : prompts)
    rows.insert(rows.end(), size_t(copies), p);
  Batch p = make_batch(rows, model.pad_token_id(), /*left=*/true);
  if (cuda_)
    cache_ = cuda_->new_cache(rows_, p.T + max_new_tokens);
  state_ = cpu::KvState(p.T + max_new_tokens);
  options_.state = &state_;
  logits_ = run_entry("forward", {&p.ids, &p.positions, &p.valid});
  for (int64_t r = 0; r < rows_; ++r)
    positions_[size_t(r)] = p.positions.data<int32_t>()[r * p.T + p.T - 1];
}

Tensor DecodeSession::run_entry(const char *name,
                                const std::vector<const Tensor *> &args) {
  if (!cache_)
    return std::move(executor_.run(name, args, options_).at(0));
  if (!greedy_tokens_.empty()) {
    cuda_->run(name, args, *cache_, &greedy_tokens_);
    return Tensor(); // greedy sessions read the tokens only
  }
  return last_position(std::move(cuda_->run(name, args, *cache_).at(0)));
}

void DecodeSession::run_step(const Batch &s) {
  if (encdec_)
    logits_ = run_entry("decode", {&s.ids, &s.positions, &s.valid, &enc_, &enc_valid_});
  else
    logits_ = run_entry("forward", {&s.ids, &s.positions, &s.valid});
}

void DecodeSession::reorder(const std::vector<int64_t> &source_rows) {
  check(int64_t(source_rows.size()) == rows_, "DecodeSession: ",
        source_rows.size(), " source rows for ", rows_, " rows");
  for (size_t r = 0; r < source_rows.size(); ++r)
    check(source_rows[r] >= 0 && source_rows[r] / copies_ == int64_t(r) / copies_,
          "DecodeSession: row ", r, " cannot continue row ", source_rows[r],
          " (rows continue rows of their own prompt)");
  if (cache_)
    cuda_->reorder_rows(*cache_, source_rows);
  else
    state_.reorder_rows(source_rows);
  std::vector<int32_t> positions(positions_.size());
  for (size_t r = 0; r < positions.size(); ++r)
    positions[r] = positions_[size_t(source_rows[r])];
  positions_ = std::move(positions);
}

void DecodeSession::feed(const std::vector<int32_t> &tokens) {
  for (int32_t &p : positions_)
    ++p;
  run_step(step_batch(tokens, positions_));
}

} // namespace edg
