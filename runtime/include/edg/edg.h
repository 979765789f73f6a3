//===- edg.h - the EDG runtime API --------------------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// What an application embeds: load a compiled model.bin, bind its weights
// from Hugging Face safetensors, and run it (logits, encoder states,
// generation). Errors are edg::Error exceptions whose message says what is
// wrong and with which file, tensor or token.
//
//   edg::Model m = edg::Model::load("model.bin");
//   m.bind_weights({"model.safetensors"});
//   auto out = m.generate({{2, 651, 6037}}, {.max_new_tokens = 16});
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_INCLUDE_EDG_EDG_H
#define EDG_RUNTIME_INCLUDE_EDG_EDG_H

#include "runtime/core/status.h"
#include "runtime/core/tensor.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edg {

using TokenIds = std::vector<int32_t>;

struct GenerateOptions {
  int max_new_tokens = 32;
  /// 0 selects greedy decoding (argmax, first maximum wins).
  float temperature = 0.0f;
  /// Keep the k most likely tokens (0: all).
  int top_k = 0;
  /// Keep the smallest set whose probability reaches p (1: all).
  float top_p = 1.0f;
  uint64_t seed = 0;
  /// Tokens that end a sequence; empty means the model's eos token.
  std::vector<int32_t> stop_tokens;
};

class Model {
public:
  /// Loads and verifies a model.bin written by edg-compile.
  static Model load(const std::string &path);
  Model(Model &&) noexcept;
  Model &operator=(Model &&) noexcept;
  ~Model();

  /// Binds every weight by name from safetensors checkpoints (files or
  /// sharded `*.index.json`), following `init_from` for adapted models.
  void bind_weights(const std::vector<std::string> &checkpoints,
                    uint64_t seed = 0);

  const std::string &model_type() const;
  bool is_encoder_decoder() const;
  int64_t vocab_size() const;
  int32_t bos_token_id() const;
  int32_t eos_token_id() const;
  int32_t pad_token_id() const;
  int64_t max_batch() const;
  int64_t max_seq() const;
  int64_t parameter_count() const;

  /// Decoder-only logits [B, T, V] of right-padded `batch` (positions 0..T-1,
  /// padding keys masked).
  Tensor logits(const std::vector<TokenIds> &batch) const;
  /// Encoder output [B, S, d_enc] of right-padded `batch`.
  Tensor encode(const std::vector<TokenIds> &batch) const;
  /// Decoder logits [B, T, V] given encoder inputs and decoder inputs.
  Tensor decode(const std::vector<TokenIds> &encoder_batch,
                const std::vector<TokenIds> &decoder_batch) const;

  /// Generates continuations (decoder-only: of the prompts; encoder-decoder:
  /// decoder outputs for the encoder inputs, starting from BOS). Returns only
  /// the new tokens, stop token included when one ended the sequence.
  std::vector<TokenIds> generate(const std::vector<TokenIds> &prompts,
                                 const GenerateOptions &options = {}) const;

  /// Runs entry point `name` on raw arguments (ids/positions as i32, masks as
  /// u8), for tests and tools that build their own batches.
  std::vector<Tensor> run(const std::string &name,
                          const std::vector<const Tensor *> &args) const;

private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace edg

#endif // EDG_RUNTIME_INCLUDE_EDG_EDG_H
