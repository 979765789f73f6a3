//===- executor.h - run a model.bin schedule on the CPU -----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Walks the steps of one entry function, calling the fp32 CPU kernels and
// OpenBLAS GEMMs. Generation state lives outside the executor in a KvState:
// self-attention steps append their post-RoPE keys/values to it and attend
// over everything cached, and cross-attention steps compute the encoder's
// keys/values once per request and reuse them on every decoding step.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CPU_EXECUTOR_H
#define EDG_RUNTIME_CPU_EXECUTOR_H

#include "runtime/core/model_file.h"
#include "runtime/core/tensor.h"
#include "runtime/core/weights.h"
#include "runtime/cpu/generated_kernels.h"

#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace edg {
class TrainState;
} // namespace edg

namespace edg::cpu {

/// Per-request caches, keyed by (function, step index).
class KvState {
public:
  /// Self-attention cache of one layer: [B, capacity, K, hd] keys and values,
  /// with the absolute position and validity of every filled slot.
  struct SelfCache {
    int64_t B = 0, capacity = 0, K = 0, hd = 0, len = 0;
    std::vector<float> k, v;
    std::vector<int32_t> pos;   // [B, capacity]
    std::vector<uint8_t> valid; // [B, capacity]
  };
  /// Cross-attention keys/values of one layer: [B, K, S, hd] (each head's
  /// keys contiguous, so that decoding steps stream them).
  struct CrossCache {
    int64_t S = 0;
    std::vector<float> k, v;
  };

  explicit KvState(int64_t capacity = 0) : capacity_(capacity) {}
  int64_t capacity() const { return capacity_; }
  SelfCache &self(const void *fn, int step) { return self_[{fn, step}]; }
  CrossCache *cross(const void *fn, int step) {
    auto it = cross_.find({fn, step});
    return it == cross_.end() ? nullptr : &it->second;
  }
  CrossCache &new_cross(const void *fn, int step) { return cross_[{fn, step}]; }

  /// Beam search: row r of every self-attention cache becomes a copy of row
  /// source_rows[r] (filled slots only). Cross-attention caches are left as
  /// they are: beams continue only beams of their own request, whose rows
  /// hold the same encoder keys/values.
  void reorder_rows(const std::vector<int64_t> &source_rows);

private:
  int64_t capacity_;
  std::map<std::pair<const void *, int>, SelfCache> self_;
  std::map<std::pair<const void *, int>, CrossCache> cross_;
};

struct RunOptions {
  /// Self-attention reads and extends `state`'s KV cache (prefill, decode).
  KvState *state = nullptr;
  /// lm_head computes logits of the last position of each row only.
  bool logits_last_only = false;
  /// With logits_last_only: lm_head writes the greedy token of each row
  /// ([B] ids, the first maximum of the soft-capped logits) here instead of
  /// logits, and its logits result is an empty [B, 1, 0] tensor. Exactly the
  /// argmax of the logits it would otherwise return (cpu/greedy_head.h).
  int32_t *greedy_tokens = nullptr;
  /// Optimizer state for the adamw_update / clip_grad_norm steps of
  /// train_step (runtime/core/train_state.h).
  TrainState *train = nullptr;
};

class Executor {
public:
  Executor(const ModelFile &file, const WeightStore &weights);

  /// Runs entry function `name` on `args` (dtypes and ranks as the function
  /// declares; i1 arguments as u8) and returns its results.
  std::vector<Tensor> run(const std::string &name,
                          const std::vector<const Tensor *> &args,
                          const RunOptions &options = {}) const;

  /// Derived per-weight data (the int8 copy of an LM head), keyed by weight
  /// index and WeightStore::version, built on first use.
  struct Caches;

private:
  const ModelFile &file_;
  const WeightStore &weights_;
  std::shared_ptr<Caches> caches_;
  /// Fused kernels edg-compile generated into model.bin, used in place of
  /// the hand-written ones where a step run matches (generated_kernels.h).
  std::shared_ptr<const GeneratedKernels> kernels_;
};

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_EXECUTOR_H
