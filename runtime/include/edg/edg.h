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
#include <map>
#include <memory>
#include <optional>
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
  /// > 1 selects beam search (runtime/core/beam_search.h: HF generate's
  /// rules); sampling options are then ignored. Needs prompts × num_beams
  /// <= the compiled max batch.
  int num_beams = 1;
  /// Finished hypotheses rank by sum log p / length^length_penalty.
  float length_penalty = 1.0f;
  /// Stop as soon as num_beams hypotheses finished (HF early_stopping=True).
  bool early_stopping = false;
};

/// One prompt's best beam: its new tokens (stop token included) and score.
struct Hypothesis {
  TokenIds tokens;
  float score = 0.0f;
};

/// One training batch, already tokenized, padded and aligned (the batch
/// builders of runtime/core/objectives.h make them). Ids and positions are
/// i32 [B, T], masks u8 [B, T] (0 on padding), labels i32 with -100 on
/// positions that do not count. `labels[b, t]` is the target of position t
/// (already shifted for causal LM).
struct TrainBatch {
  /// Decoder-only inputs, or the encoder inputs of an encoder-decoder model.
  Tensor ids, positions, valid;
  /// Encoder-decoder only: decoder inputs (BOS + target[:-1]).
  Tensor decoder_ids, decoder_positions, decoder_valid;
  Tensor labels;
  /// prefixlm-kd only: the teacher's inputs (prefix + target) and, per
  /// label position, the teacher row predicting the same token.
  Tensor teacher_ids, teacher_positions, teacher_valid, teacher_index;
  /// Number of labels that count (!= -100).
  int64_t num_targets() const;
};

/// Run-time replacements for the hyperparameters compiled into train_step
/// (edg-optimizer's options); unset fields keep the compiled values.
struct TrainOptions {
  std::optional<double> lr, beta1, beta2, eps, weight_decay, min_lr_ratio;
  std::optional<int64_t> warmup_steps, total_steps;
  /// 0 disables clipping (if train_step was compiled with clipping).
  std::optional<double> max_grad_norm;
};

/// Loss and gradients of one batch, by weight name (grad_step's order).
struct Gradients {
  float loss = 0.0f;
  std::vector<std::string> names;
  std::vector<Tensor> grads;
  /// The gradient of `name`, or null.
  const Tensor *find(const std::string &name) const;
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
  /// When the runtime selected CUDA, greedy and sampled generation run on
  /// the GPU with a device KV cache (logits come back to the host each step;
  /// the token is chosen there); beam search (num_beams > 1) always runs on
  /// the CPU executor.
  std::vector<TokenIds> generate(const std::vector<TokenIds> &prompts,
                                 const GenerateOptions &options = {}) const;
  /// Beam search (options.num_beams >= 1): each prompt's best hypothesis
  /// with its score.
  std::vector<Hypothesis> beam_search(const std::vector<TokenIds> &prompts,
                                      const GenerateOptions &options) const;

  /// Runs entry point `name` on raw arguments (ids/positions as i32, masks as
  /// u8), for tests and tools that build their own batches. logits, encode,
  /// decode and run execute on the GPU when the runtime selected CUDA (a
  /// device answers, model.bin has kernel-level schedules, EDG_DEVICE is not
  /// cpu); training and beam search run on the CPU (see generate).
  std::vector<Tensor> run(const std::string &name,
                          const std::vector<const Tensor *> &args) const;

  //===--------------------------------------------------------------------===//
  // Training (runtime/api/train.cc; needs a model.bin built with
  // edg-train-pipeline, docs/training.md)
  //===--------------------------------------------------------------------===//

  /// Whether the model has a train_step entry point.
  bool is_trainable() const;
  /// Whether the compiled objective is encoder-decoder / uses a teacher.
  bool train_is_encoder_decoder() const;
  bool train_uses_teacher() const;
  void set_train_options(const TrainOptions &options);
  /// One optimizer step (gradients, clipping, AdamW, in place on the bound
  /// weights); returns the batch loss before the update.
  float train_step(const TrainBatch &batch);
  /// Loss and gradients of `batch` without updating anything (grad_step).
  Gradients gradients(const TrainBatch &batch) const;
  /// Loss of `batch` (the loss entry point), for evaluation.
  float loss(const TrainBatch &batch) const;
  /// Completed optimizer steps.
  int64_t train_steps_done() const;
  /// The bound fp32 value of weight `name` (HF key); throws if unknown.
  const Tensor &weight(const std::string &name) const;
  /// Manifest weight names, in model.bin order.
  std::vector<std::string> weight_names() const;
  /// Global gradient norm of the last train_step (before clipping; 0 when
  /// the model was compiled without clipping).
  float last_grad_norm() const;
  /// Writes DIR/model.safetensors (fp32, HF names, tied head omitted) and
  /// DIR/optimizer.safetensors (moments, steps, `metadata`), plus copies of
  /// `copy_files` (e.g. the HF config.json), atomically.
  void save_checkpoint(const std::string &dir,
                       const std::map<std::string, std::string> &metadata = {},
                       const std::vector<std::string> &copy_files = {}) const;
  /// Binds the weights of DIR/model.safetensors and restores the optimizer
  /// state; returns the metadata given to save_checkpoint.
  std::map<std::string, std::string> load_checkpoint(const std::string &dir);

private:
  struct Impl;
  friend struct ModelInternals; // the runtime's own tools (model_impl.h)
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace edg

#endif // EDG_RUNTIME_INCLUDE_EDG_EDG_H
