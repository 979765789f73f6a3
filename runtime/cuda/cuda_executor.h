//===- cuda_executor.h - run a model.bin on a CUDA device --------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Walks the kernel-level schedule edg-compile stores per entry function
// (edg_model.fbs DeviceFunction; --target=cuda or all) on a DeviceApi: a
// GPU (open_cuda_device) or the emulated device of the tests. At
// construction it loads the model's CUDA kernels, uploads every weight the
// schedules read (the WeightStore's fp32, converted to the dtype the model
// was compiled for) and allocates one activation arena of the largest
// planned size (edg-plan-memory, at the compiled --max-batch/--max-seq).
// Each run uploads the arguments into per-function buffers sized for the
// maxima, launches every step in order and downloads the results.
//
// Same inputs/outputs contract as cpu::Executor::run, results as fp32 host
// tensors. Without a cache a run sees the whole sequence (forward, encode,
// decode over the whole target). With a CudaKvCache (kv_cache.h: greedy /
// sampled generation, runtime/api/decode_session.cc) every causal
// self-attention step that has generated `_append`/`_decode` kernels
// appends its new keys/values to the device cache, and a one-token step
// (T == 1) attends over the cache with the split-K decode kernels instead
// of the forward attention kernel; cross-attention's one query reads the
// encoder's keys with the same split-K kernels. The one-token runs after a
// request's first are the same launches at every position, so they are
// captured once as a CUDA graph and replayed (DeviceApi::begin_capture).
// Not thread-safe: one run at a time per executor.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_CUDA_EXECUTOR_H
#define EDG_RUNTIME_CUDA_CUDA_EXECUTOR_H

#include "runtime/core/model_file.h"
#include "runtime/core/tensor.h"
#include "runtime/core/weights.h"
#include "runtime/cuda/device_api.h"
#include "runtime/cuda/kv_cache.h"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace edg {
class TrainState;
namespace cpu {
struct OptimizerPlan;
} // namespace cpu
} // namespace edg

namespace edg::cuda {

class CudaExecutor {
public:
  /// Throws edg::Error when model.bin has no kernel-level schedule (compiled
  /// without --target=cuda|all), the weights are not bound, or the device
  /// fails. `file`, `weights` and `device` must outlive the executor.
  CudaExecutor(const ModelFile &file, const WeightStore &weights,
               DeviceApi &device);
  ~CudaExecutor();
  CudaExecutor(const CudaExecutor &) = delete;
  CudaExecutor &operator=(const CudaExecutor &) = delete;

  /// Whether entry function `name` has a device schedule.
  bool has_function(const std::string &name) const;

  /// Runs entry function `name` on `args` (ranks as the function declares;
  /// ids and positions i32, masks u8 or bool, float arguments f32) and
  /// returns its results as fp32 (float types) host tensors. Weights that
  /// changed since the last run (WeightStore::version) are uploaded again.
  std::vector<Tensor> run(const std::string &name,
                          const std::vector<const Tensor *> &args);

  /// run() without the results' download: what the device's work costs
  /// (the benchmarks). Waits for the device to finish.
  void run_on_device(const std::string &name,
                     const std::vector<const Tensor *> &args);

  /// A device KV cache for `batch` rows of up to `capacity` positions
  /// (prompt + new tokens; an encoder-decoder's decoder: BOS + new tokens).
  std::unique_ptr<CudaKvCache> new_cache(int64_t batch, int64_t capacity);

  /// A cached run (class comment): the first run may have T > 1 rows (the
  /// prompt, attended by the forward kernel; left padding as make_batch
  /// builds it, padded slots cached as invalid), every later one T == 1.
  /// B must be the cache's batch; the cache grows by T slots per run. Only
  /// the arguments with the T axis (ids, positions, valid) may change
  /// between the runs of one cache: the others (T5Gemma's encoder states and
  /// mask) and what the schedule computes from them alone (cross-attention
  /// K/V) are uploaded and computed by the first run only. Results [B, T, V]
  /// come back as [B, 1, V], the last position. With `greedy_tokens`, the
  /// device picks each row's argmax token of the last position's logits
  /// (result 0) instead, and only those B tokens come back (the results are
  /// then empty): greedy decoding downloads B int32s per step, not B x V
  /// floats.
  std::vector<Tensor> run(const std::string &name,
                          const std::vector<const Tensor *> &args,
                          CudaKvCache &cache,
                          std::vector<int32_t> *greedy_tokens = nullptr);

  /// Row r of `cache` continues row source_rows[r] (beam search), before
  /// the next run: every layer's k, v, pos and valid rows are gathered on
  /// the device (per buffer a snapshot copy and one edg_gather_rows launch,
  /// queued; the buffers do not move, so captured graphs stay valid). The
  /// request constants are not moved: a row must take its source from rows
  /// with the same constants (the beams of one prompt share its encoder
  /// states).
  void reorder_rows(CudaKvCache &cache, const std::vector<int64_t> &source_rows);

  /// Result `index` of the last run of `name`, downloaded (after
  /// run_on_device: the loss of grad_step without its gradients).
  Tensor result(const std::string &name, size_t index);

  /// Training's optimizer on the device (cuda_executor_optimizer.cc): the
  /// clipping and AdamW updates of `plan` applied to the gradients that the
  /// last run of `grad_fn` left on the device (its results 1.. are the
  /// gradients of `weights`), updating the device weights in place (bf16 /
  /// f16 ones through fp32 master copies started from the host's weights)
  /// and device moments (started from `state`'s). Returns the norm before
  /// clipping (0 when the plan has no clipping). The host's weights and
  /// moments are then stale until download_training_state.
  float optimizer_step(const std::string &grad_fn,
                       const std::vector<int32_t> &weights,
                       const cpu::OptimizerPlan &plan, TrainState &state);
  /// Whether the device holds weights newer than the host's.
  bool device_ahead() const { return !ahead_.empty(); }
  /// Copies those weights (the fp32 masters of bf16 / f16 ones) into
  /// `weights` and their moments into `state`.
  void download_training_state(WeightStore &weights, TrainState &state);
  /// Forgets the device moments and masters (new weights or a checkpoint
  /// were bound): the next optimizer step starts from the training state's
  /// moments and the host's weights.
  void reset_optimizer();

  /// Whether cached one-token runs replay CUDA graphs (default: on unless
  /// EDG_CUDA_GRAPHS=0). Off, every run launches its steps one by one.
  bool graphs() const { return graphs_; }
  void set_graphs(bool on) { graphs_ = on; }

  /// Bytes of device memory held: weights, arena, argument buffers.
  size_t device_bytes() const { return memory_.bytes(); }

private:
  /// A result left on the device by the last run of a function.
  struct DeviceValue {
    DevicePtr ptr = 0;
    schema::DType dtype = schema::DType::f32;
    size_t bytes = 0;
  };
  /// AdamW moments [n] fp32 of one weight; `loaded` once they hold the
  /// training state's values. A bf16 / f16 weight also has its fp32 master
  /// [n], which AdamW updates (the device weight is its rounded copy);
  /// `master_loaded` once it holds the host's fp32 weight (cleared by
  /// reset_optimizer, and by sync_weights when the host's weight changed).
  struct Moments {
    DevicePtr m = 0, v = 0, master = 0;
    bool loaded = false, master_loaded = false;
  };
  /// Results come back with `download`; `greedy_tokens` (cached runs): the
  /// argmax tokens of result 0's last position instead.
  std::vector<Tensor> run_steps(const std::string &name,
                                const std::vector<const Tensor *> &args,
                                CudaKvCache *cache, bool download,
                                std::vector<int32_t> *greedy_tokens = nullptr);
  /// Step `index` of function `fn` (named `name`): its launches and GEMMs,
  /// buffers at `address`.
  void run_step(const std::string &name, const schema::DeviceFunction &fn,
                int index, const schema::DeviceStep &s,
                const std::function<DevicePtr(int32_t)> &address,
                const std::vector<int64_t> &dims, CudaKvCache *cache,
                int64_t &appended, int64_t &decoded);
  /// Captures `walk` (one one-token step's launches) into `g`. On a capture
  /// error: one line on stderr, graphs off for this executor, false.
  bool capture(CudaKvCache::StepGraph &g, const std::function<void()> &walk,
               const std::vector<int64_t> &dims);
  /// The new rows per sequence of a run (dim T; 0 when `fn` has none).
  static int64_t new_rows(const schema::DeviceFunction &fn,
                          const std::vector<int64_t> &dims);
  /// Throws unless a cached run of `fn` with `dims` fits `cache`: its batch,
  /// room for T more rows, T == 1 after the first run.
  static void check_cache_room(const std::string &name,
                               const schema::DeviceFunction &fn,
                               const std::vector<int64_t> &dims,
                               const CudaKvCache &cache);
  const LaunchInfo &kernel(const std::string &name) const;
  void launch(const LaunchInfo &k, std::vector<uint64_t> ptrs,
              const std::vector<int64_t> &sizes);
  /// Buffer `b` at `p` as an fp32 (float types) host tensor; with
  /// `last_position`, of a [B, T, V] buffer only [B, 1, V] at T - 1.
  Tensor download_result(const schema::DeviceBuffer &b, DevicePtr p,
                         const std::vector<int64_t> &dims, bool last_position);
  /// Logits `b` [B, T, V] at `p`: each row's argmax at position T - 1,
  /// picked by edg_argmax_rows_<t> into the cache's token buffer and
  /// downloaded into `tokens` [B].
  void pick_greedy_tokens(const schema::DeviceBuffer &b, DevicePtr p,
                          const std::vector<int64_t> &dims, CudaKvCache &cache,
                          std::vector<int32_t> &tokens);
  /// Per buffer of `fn`: whether it is constant for a request of cached
  /// runs (cuda_executor_cached.cc).
  std::vector<bool> request_constants(const schema::DeviceFunction &fn) const;
  /// The three backward kernels of attention kernel `base` (stats, dK/dV,
  /// dQ) for an attention_backward step's 12 buffers; sizes {B, T, S}.
  void attention_backward(const std::string &base,
                          const std::vector<uint64_t> &ptrs,
                          const std::vector<int64_t> &sizes);
  /// Attention step `step` of `fn` in a cached run (cuda_executor_cached.cc):
  /// appends its keys/values to the cache when it is a causal
  /// self-attention with generated cache kernels (setting `appended` to its
  /// T) and, for T == 1, attends over the cache, or over the encoder's keys
  /// for cross-attention (counting `decoded`). False when the forward
  /// kernel must still run (the prefill).
  bool cached_attention(const std::string &fn, int step,
                        const schema::DeviceStep &s, const LaunchInfo &k,
                        const std::vector<uint64_t> &ptrs,
                        const std::vector<int64_t> &sizes, CudaKvCache &cache,
                        int64_t &appended, int64_t &decoded);
  void sync_weights();
  /// Fills `mo.master` [n] from the host's fp32 weight `w` unless loaded.
  void load_master(int32_t w, Moments &mo, int64_t n);
  DevicePtr allocate(size_t bytes) { return memory_.allocate(bytes); }

  const ModelFile &file_;
  const WeightStore &weights_;
  DeviceApi &device_;
  DeviceAllocations memory_{device_}; // everything below that is on the device
  std::map<std::string, LaunchInfo> kernels_;       // by name
  std::map<int64_t, DevicePtr> weight_ptrs_;         // weight index -> copy
  std::map<int64_t, uint64_t> weight_versions_;
  DevicePtr arena_ = 0;
  bool graphs_ = true;
  std::map<std::string, std::vector<DevicePtr>> argument_ptrs_;
  std::map<std::string, std::vector<bool>> request_constants_; // by function
  std::map<std::string, std::vector<DeviceValue>> results_; // of the last run
  // Training (cuda_executor_optimizer.cc).
  std::map<int32_t, Moments> moments_;
  std::set<int32_t> ahead_;           // weights updated on the device
  DevicePtr partials_ = 0, clip_ = 0, hyper_ = 0;
  size_t partials_bytes_ = 0, hyper_bytes_ = 0;
};

} // namespace edg::cuda

#endif // EDG_RUNTIME_CUDA_CUDA_EXECUTOR_H
