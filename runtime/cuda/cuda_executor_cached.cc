//===- cuda_executor_cached.cc - KV-cache runs of the CUDA executor -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The attention steps of a cached run (cuda_executor.h). A step qualifies
// when its kernel has the generated `<attn>_append`, `<attn>_decode` and
// `<attn>_decode_combine` (causal and sliding-causal kernels of inference
// modules) and attends over its own keys (T and S are one dim): then
//
//   <attn>_append          k, v, pos, key_valid [B, T] -> cache slots
//                          [len, len + T) (keys rotated by RoPE when fused)
//   T == 1:
//   <attn>_decode          q [B, 1, H*hd], cache, pos [B] -> partials
//                          [B, H, ceil(C/256), hd + 2] fp32 (S = len + 1)
//   <attn>_decode_combine  partials -> out [B, 1, H*hd]
//   T > 1 (the prefill; the cache was empty): the forward kernel, which sees
//                          every prompt key without the cache.
// len is the cache's device word (CudaKvCache::length_word), set by each
// run: the launches of a one-token step do not change from step to step,
// which is what lets run_steps replay them as a CUDA graph.
//
// Cross-attention (T5Gemma decode steps) is bidirectional without RoPE; at
// T == 1 its `_decode` kernels read the K/V projection of the encoder
// states directly (C = S, validity the encoder mask). Those K/V GEMMs read
// only the encoder states, a request constant (request_constants below),
// so they run in the request's first run only and their results live in
// the cache. Sliding windows need nothing here: the decode kernel masks by
// position, and the cache keeps every slot.
//===----------------------------------------------------------------------===//
#include "runtime/core/status.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/device_schedule.h"

#include <algorithm>

namespace edg::cuda {

namespace fb = ::edg::schema;

std::unique_ptr<CudaKvCache> CudaExecutor::new_cache(int64_t batch,
                                                     int64_t capacity) {
  return std::make_unique<CudaKvCache>(device_, batch, capacity);
}

std::vector<Tensor> CudaExecutor::run(const std::string &name,
                                      const std::vector<const Tensor *> &args,
                                      CudaKvCache &cache,
                                      std::vector<int32_t> *greedy_tokens) {
  return run_steps(name, args, &cache, /*download=*/!greedy_tokens,
                   greedy_tokens);
}

void CudaExecutor::pick_greedy_tokens(const fb::DeviceBuffer &b, DevicePtr p,
                                      const std::vector<int64_t> &dims,
                                      CudaKvCache &cache,
                                      std::vector<int32_t> &tokens) {
  const std::vector<int64_t> shape = buffer_shape(b, dims);
  check(shape.size() == 3, "greedy tokens: the first result is not [B, T, V] "
                           "logits");
  const int64_t B = shape[0], T = shape[1], V = shape[2];
  tokens.assign(size_t(B), 0);
  if (B == 0 || T == 0)
    return;
  const size_t elt = device_dtype_size(b.dtype());
  launch(kernel("edg_argmax_rows_" + float_kernel_suffix(b.dtype(), "the logits")),
         {p + DevicePtr(size_t((T - 1) * V) * elt), cache.tokens()},
         {B, V, T * V});
  device_.copy_to_host(tokens.data(), cache.tokens(), size_t(B) * sizeof(int32_t));
}

void CudaExecutor::reorder_rows(CudaKvCache &cache,
                                const std::vector<int64_t> &source_rows) {
  const int64_t B = cache.batch(), C = cache.capacity();
  check(int64_t(source_rows.size()) == B, "KV cache reorder: ",
        source_rows.size(), " source rows for a batch of ", B);
  bool identity = true;
  for (size_t r = 0; r < source_rows.size(); ++r) {
    check(source_rows[r] >= 0 && source_rows[r] < B, "KV cache reorder: source row ",
          source_rows[r], " of row ", r, " is outside the batch of ", B);
    identity = identity && source_rows[r] == int64_t(r);
  }
  if (identity || cache.length() == 0 || cache.layers().empty())
    return;
  device_.copy_to_device(cache.source_rows(), source_rows.data(),
                         source_rows.size() * sizeof(int64_t));
  size_t largest = sizeof(int32_t);
  for (const auto &[key, l] : cache.layers())
    largest = std::max(largest, l.row_bytes);
  const DevicePtr snapshot = cache.scratch(size_t(B * C) * largest);
  const LaunchInfo &gather = kernel("edg_gather_rows");
  // A buffer [B, C, slot]: its snapshot, then the moved rows' filled slots
  // from their sources in the snapshot.
  auto reorder = [&](DevicePtr buffer, size_t slot) {
    const int64_t stride = C * int64_t(slot);
    device_.copy_on_device(snapshot, buffer, size_t(B * stride));
    launch(gather, {snapshot, buffer, cache.source_rows()},
           {B, stride, cache.length() * int64_t(slot)});
  };
  for (const auto &[key, l] : cache.layers()) {
    reorder(l.k, l.row_bytes);
    reorder(l.v, l.row_bytes);
    reorder(l.pos, sizeof(int32_t));
    reorder(l.valid, 1);
  }
}

namespace {
/// Index of the dim named `name` in `fn`'s dims, or -1. The new rows' dim
/// is the one DeviceSchedule names T (bound to the ids' axis 1).
int32_t dim_index(const fb::DeviceFunction &fn, const char *name) {
  for (uint32_t d = 0; fn.dims() && d < fn.dims()->size(); ++d)
    if (fn.dims()->Get(d)->name()->str() == name)
      return int32_t(d);
  return -1;
}
} // namespace

int64_t CudaExecutor::new_rows(const fb::DeviceFunction &fn,
                               const std::vector<int64_t> &dims) {
  const int32_t t = dim_index(fn, "T");
  return t < 0 ? 0 : dims[size_t(t)];
}

void CudaExecutor::check_cache_room(const std::string &name,
                                    const fb::DeviceFunction &fn,
                                    const std::vector<int64_t> &dims,
                                    const CudaKvCache &cache) {
  const int32_t b = dim_index(fn, "B");
  const int64_t B = b < 0 ? cache.batch() : dims[size_t(b)],
                T = new_rows(fn, dims), len = cache.length(),
                C = cache.capacity();
  check(B == cache.batch(), "cached run of '", name, "': batch ", B,
        " differs from the KV cache's ", cache.batch());
  check(len + T <= C, "cached run of '", name, "': ", len, " cached + ", T,
        " new positions exceed the KV cache's capacity of ", C);
  check(T == 1 || len == 0, "cached run of '", name, "': ", T,
        " new positions after ", len, " cached ones (only the first run, the "
        "prefill, may have more than one)");
}

std::vector<bool>
CudaExecutor::request_constants(const fb::DeviceFunction &fn) const {
  // Within a request only the arguments with the T axis change; B and the
  // encoder length S are fixed by the cache and the encoder output.
  const int32_t t_dim = dim_index(fn, "T");
  const auto &buffers = *fn.buffers();
  std::vector<bool> constant(buffers.size(), false);
  for (uint32_t id = 0; id < buffers.size(); ++id) {
    const fb::DeviceBuffer *b = buffers[id];
    if (b->kind() == fb::BufferKind::weight)
      constant[id] = true;
    else if (b->kind() == fb::BufferKind::argument) {
      bool has_t = false;
      for (int64_t e : *b->shape())
        has_t |= e == -1 - t_dim;
      constant[id] = t_dim >= 0 && !has_t;
    }
  }
  // A step whose inputs are all constants computes constants. Arena buffers
  // are written once each (PlanMemory gives a live value its own range), so
  // marking outputs in step order is a forward dataflow pass.
  for (const fb::DeviceStep *s : *fn.steps()) {
    bool all = s->inputs()->size() > 0;
    for (int32_t id : *s->inputs())
      all &= id < 0 || constant[size_t(id)];
    for (int32_t id : *s->outputs())
      constant[size_t(id)] = all;
  }
  return constant;
}

bool CudaExecutor::cached_attention(const std::string &fn, int step,
                                    const fb::DeviceStep &s, const LaunchInfo &k,
                                    const std::vector<uint64_t> &ptrs,
                                    const std::vector<int64_t> &sizes,
                                    CudaKvCache &cache, int64_t &appended,
                                    int64_t &decoded) {
  auto decode = kernels_.find(k.name + "_decode");
  auto combine = kernels_.find(k.name + "_decode_combine");
  if (decode == kernels_.end() || combine == kernels_.end())
    return false;
  // ptrs: q, k, v, positions|0, key_valid|0, out; sizes {B, T, S}.
  const int64_t B = sizes[0], T = sizes[1], S = sizes[2],
                C = cache.capacity();
  const int64_t H = signature_field(k, "H"), K = signature_field(k, "K"),
                hd = signature_field(k, "hd"), width = decode->second.width;
  auto partials = [&](int64_t slots) {
    const int64_t chunks = (slots + width - 1) / width;
    return cache.scratch(size_t(B * H * chunks * (hd + 2)) * sizeof(float));
  };
  // Self-attention: the query and key lengths are the same dim.
  const fb::SizeExpr *tq = s.sizes()->Get(1), *tk = s.sizes()->Get(2);
  auto dims_of = [](const fb::SizeExpr *e) {
    return e->dims() ? std::vector<int32_t>(e->dims()->begin(), e->dims()->end())
                     : std::vector<int32_t>();
  };
  if (tq->factor() != tk->factor() || dims_of(tq) != dims_of(tk)) {
    // Cross-attention: the new query against the encoder's keys as the
    // K/V projection left them (no cache, no positions, S by value).
    if (T != 1)
      return false;
    DevicePtr part = partials(S);
    launch(decode->second, {ptrs[0], ptrs[1], ptrs[2], ptrs[3], 0, ptrs[4], 0, part},
           {B, S, S});
    launch(combine->second, {part, 0, ptrs[5]}, {B, S, S});
    ++decoded;
    return true;
  }
  auto append = kernels_.find(k.name + "_append");
  if (append == kernels_.end())
    return false;
  const size_t elt = k.dtype == "f32" ? 4 : 2;
  const CudaKvCache::Layer &layer = cache.layer(fn, step, size_t(K * hd) * elt);
  // Every size below is the same at every step (the length is the cache's
  // device word), so a one-token step can be captured once and replayed.
  launch(append->second,
         {ptrs[1], ptrs[2], ptrs[3], ptrs[4], cache.length_word(), layer.k,
          layer.v, layer.pos, layer.valid},
         {B, T, C});
  appended = T;
  if (T != 1)
    return false;
  DevicePtr part = partials(C);
  launch(decode->second,
         {ptrs[0], layer.k, layer.v, ptrs[3], layer.pos, layer.valid,
          cache.length_word(), part},
         {B, C, C});
  launch(combine->second, {part, cache.length_word(), ptrs[5]}, {B, C, C});
  ++decoded;
  return true;
}

} // namespace edg::cuda
