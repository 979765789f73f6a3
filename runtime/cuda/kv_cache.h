//===- kv_cache.h - the device KV cache of one generation request -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// What a cached run of the CUDA executor (CudaExecutor::run with a cache)
// reads and extends: per causal self-attention step (keyed by function and
// step index, i.e. per layer) device buffers laid out as the generated
// `<attn>_append` / `<attn>_decode` kernels take them
// (passes/EmitCudaAttention{Append,Decode}.cpp):
//   k, v   [batch, capacity, K*hd] in the model's storage type, keys rotated
//   pos    [batch, capacity] i32 absolute positions
//   valid  [batch, capacity] u8 (0: a left-padding slot)
// plus one fp32 scratch for the decode kernels' per-chunk partials, shared
// by the layers (they run one after another). Buffers are allocated on
// first use, sized for the request's (batch, capacity), and freed with the
// cache. Slots [0, length()) are filled; every layer appends at the same
// slots, so the executor advances the length once per run; the kernels
// read it from a device word (length_word()) that each run sets, so that
// a one-token step is the same work at every position. The cache also
// keeps the request's constants (constant() below), so that the steps
// computed from them run only in the request's first run, and the CUDA
// graphs of its one-token steps (step_graph()). Beam search gathers its
// rows between steps (CudaExecutor::reorder_rows).
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_KV_CACHE_H
#define EDG_RUNTIME_CUDA_KV_CACHE_H

#include "runtime/cuda/device_api.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace edg::cuda {

class CudaKvCache {
public:
  struct Layer {
    DevicePtr k = 0, v = 0, pos = 0, valid = 0;
    size_t row_bytes = 0; // of one slot of k / v
  };

  /// `device` must outlive the cache.
  CudaKvCache(DeviceApi &device, int64_t batch, int64_t capacity);
  CudaKvCache(const CudaKvCache &) = delete;
  CudaKvCache &operator=(const CudaKvCache &) = delete;

  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  /// Filled slots per row.
  int64_t length() const { return length_; }
  void advance(int64_t rows) { length_ += rows; }
  /// Device int64 the cache kernels read the length from (`cache_len`).
  DevicePtr length_word() const { return length_word_; }
  /// Device int32 [batch]: greedy decoding's tokens of the last run.
  DevicePtr tokens() const { return tokens_; }

  /// The buffers of self-attention step `step` of `function`, allocated on
  /// first use for rows of `row_bytes` (K*hd elements) with validity 0.
  const Layer &layer(const std::string &function, int step, size_t row_bytes);
  /// Every layer's buffers (beam search gathers their rows,
  /// CudaExecutor::reorder_rows).
  const std::map<std::pair<std::string, int>, Layer> &layers() const {
    return layers_;
  }
  /// Device int64 [batch]: the source row of each row of a reorder.
  DevicePtr source_rows() const { return source_rows_; }
  /// A scratch of at least `bytes`: the decode kernels' partials during a
  /// run, beam search's snapshot of a buffer between runs. A larger request
  /// allocates a new one; the old stays owned (a captured graph uses it).
  DevicePtr scratch(size_t bytes);

  /// Buffer `buffer` of `function` when it holds a request constant (an
  /// argument without the T axis, or a step result computed only from such
  /// arguments and weights: T5Gemma's encoder states and their cross-attention
  /// K/V): a device buffer of `bytes` kept for the whole request.
  DevicePtr constant(const std::string &function, int32_t buffer, size_t bytes);
  /// Whether the first run of `function` filled its constants.
  bool constants_ready(const std::string &function) const {
    return ready_.count(function) != 0;
  }
  void set_constants_ready(const std::string &function) {
    ready_.insert(function);
  }

  /// The one-token steps of one function, captured as a CUDA graph at the
  /// request's second such step (the first runs eagerly and allocates what
  /// they need: decode scratch, GEMM plans) and replayed after that.
  struct StepGraph {
    int64_t eager_runs = 0;
    std::vector<int64_t> dims;          // the function's dims when captured
    std::unique_ptr<DeviceGraph> graph; // null until captured
    int64_t appended = 0, decodes = 0;  // what one replay does
  };
  StepGraph &step_graph(const std::string &function) { return graphs_[function]; }
  /// One-token steps replayed from a graph so far.
  int64_t graph_replays() const { return graph_replays_; }
  void count_replay() { ++graph_replays_; }

  /// Attention steps run through the decode kernels so far (self- and
  /// cross-attention): what the tests check to know the cache path was
  /// taken.
  int64_t decode_launches() const { return decode_launches_; }
  void count_decodes(int64_t n) { decode_launches_ += n; }

  size_t device_bytes() const { return memory_.bytes(); }

private:
  DevicePtr allocate(size_t bytes) { return memory_.allocate(bytes); }

  DeviceApi &device_;
  DeviceAllocations memory_{device_};
  int64_t batch_, capacity_, length_ = 0, decode_launches_ = 0,
      graph_replays_ = 0;
  DevicePtr length_word_ = 0, tokens_ = 0, source_rows_ = 0;
  std::map<std::pair<std::string, int>, Layer> layers_;
  std::map<std::pair<std::string, int32_t>, DevicePtr> constants_;
  std::set<std::string> ready_;
  DevicePtr scratch_ = 0;
  size_t scratch_bytes_ = 0;
  std::map<std::string, StepGraph> graphs_; // destroyed before the memory
};

} // namespace edg::cuda

#endif // EDG_RUNTIME_CUDA_KV_CACHE_H
