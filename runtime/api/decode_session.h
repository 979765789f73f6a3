//===- decode_session.h - one generation request's decoding state -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// What greedy/sampled generation and beam search share: the prefill (the
// prompt through `forward`, or the encoder once and BOS through `decode`),
// the KV cache, each row's position, and one decoding step per call of
// feed(). Rows can be replicated (`copies` per prompt, beam search) and
// reordered between steps.
//
// With a CUDA executor that has the step entry (`forward`, or `decode`),
// the steps run on the device with a device KV cache (cuda/kv_cache.h;
// `encode` too when the device has it); the logits of each row's last
// position come back to the host, where greedy sessions take their argmax.
// Device sessions cannot reorder rows, so beam search stays on the CPU.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_API_DECODE_SESSION_H
#define EDG_RUNTIME_API_DECODE_SESSION_H

#include "runtime/api/batching.h"
#include "runtime/cpu/executor.h"
#include "runtime/cuda/cuda_executor.h"

#include <memory>

namespace edg {

class DecodeSession {
public:
  /// Runs the prefill for `prompts`, each replicated `copies` times (row
  /// p·copies + c), with room for `max_new_tokens`. With `greedy`, each step
  /// yields the argmax token of every row (on the CPU: instead of logits).
  /// `cuda` (may be null): run on the device when it has the step entry.
  DecodeSession(const Model &model, const cpu::Executor &executor,
                cuda::CudaExecutor *cuda, const std::vector<TokenIds> &prompts,
                int copies, int max_new_tokens, bool greedy);

  /// Whether the steps run on the CUDA executor with a device KV cache.
  bool on_device() const { return cache_ != nullptr; }

  int64_t rows() const { return rows_; }
  /// The last step's logits of each row's last position: [rows, 1, V].
  const Tensor &logits() const { return logits_; }
  /// The last step's greedy tokens [rows] (greedy sessions only).
  const std::vector<int32_t> &greedy_tokens() const { return greedy_tokens_; }

  /// Row r continues row source_rows[r] (beam search), before the next
  /// feed(); the source must be a copy of the same prompt (on the device the
  /// rows of one prompt share its encoder states).
  void reorder(const std::vector<int64_t> &source_rows);
  /// Appends tokens[r] to row r and runs one decoding step.
  void feed(const std::vector<int32_t> &tokens);

private:
  void run_step(const Batch &step);
  /// Runs `name` on the device (with the cache) or the CPU executor.
  Tensor run_entry(const char *name, const std::vector<const Tensor *> &args);

  const cpu::Executor &executor_;
  cuda::CudaExecutor *cuda_ = nullptr;
  std::unique_ptr<cuda::CudaKvCache> cache_;
  bool encdec_;
  int64_t rows_ = 0;
  int64_t copies_ = 1; // rows per prompt (p·copies + c)
  cpu::KvState state_;
  cpu::RunOptions options_;
  Tensor enc_;       // encoder output [rows, S, d_enc] (encoder-decoder)
  Tensor enc_valid_; // its key padding mask [rows, S]
  std::vector<int32_t> positions_, greedy_tokens_;
  Tensor logits_;
};

} // namespace edg

#endif // EDG_RUNTIME_API_DECODE_SESSION_H
