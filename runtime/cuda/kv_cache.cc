//===- kv_cache.cc - the device KV cache of one generation request -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "runtime/cuda/kv_cache.h"

#include "runtime/core/status.h"

#include <algorithm>

namespace edg::cuda {

CudaKvCache::CudaKvCache(DeviceApi &device, int64_t batch, int64_t capacity)
    : device_(device), batch_(batch), capacity_(capacity) {
  check(batch > 0 && capacity > 0, "KV cache: batch ", batch, " and capacity ",
        capacity, " must be positive");
  length_word_ = allocate(sizeof(int64_t));
  tokens_ = allocate(size_t(batch) * sizeof(int32_t));
}

const CudaKvCache::Layer &CudaKvCache::layer(const std::string &function,
                                             int step, size_t row_bytes) {
  auto [it, inserted] = layers_.try_emplace({function, step});
  if (inserted) {
    const size_t slots = size_t(batch_) * size_t(capacity_);
    Layer &l = it->second;
    l.row_bytes = row_bytes;
    l.k = allocate(slots * row_bytes);
    l.v = allocate(slots * row_bytes);
    l.pos = allocate(slots * sizeof(int32_t));
    l.valid = allocate(slots);
    device_.memset(l.valid, 0, slots);
  }
  return it->second;
}

DevicePtr CudaKvCache::constant(const std::string &function, int32_t buffer,
                                size_t bytes) {
  auto [it, inserted] = constants_.try_emplace({function, buffer}, 0);
  if (inserted)
    it->second = allocate(bytes);
  return it->second;
}

void CudaKvCache::reorder_rows(const std::vector<int64_t> &source_rows) {
  check(int64_t(source_rows.size()) == batch_, "KV cache reorder: ",
        source_rows.size(), " source rows for a batch of ", batch_);
  bool identity = true;
  for (size_t r = 0; r < source_rows.size(); ++r) {
    check(source_rows[r] >= 0 && source_rows[r] < batch_,
          "KV cache reorder: source row ", source_rows[r], " of row ", r,
          " is outside the batch of ", batch_);
    identity = identity && source_rows[r] == int64_t(r);
  }
  if (identity || length_ == 0 || layers_.empty())
    return;
  // Per buffer [batch, capacity, slot]: the whole buffer to the scratch,
  // then each moved row's filled slots back from its source row.
  auto gather = [&](DevicePtr buffer, size_t slot) {
    const size_t row = size_t(capacity_) * slot;
    device_.copy_on_device(reorder_scratch_, buffer, size_t(batch_) * row);
    for (size_t r = 0; r < source_rows.size(); ++r)
      if (source_rows[r] != int64_t(r))
        device_.copy_on_device(buffer + DevicePtr(r * row),
                               reorder_scratch_ + DevicePtr(size_t(source_rows[r]) * row),
                               size_t(length_) * slot);
  };
  size_t largest = 0;
  for (const auto &[key, l] : layers_)
    largest = std::max(largest, l.row_bytes);
  const size_t need =
      size_t(batch_) * size_t(capacity_) * std::max(largest, sizeof(int32_t));
  if (need > reorder_scratch_bytes_) {
    reorder_scratch_ = allocate(need);
    reorder_scratch_bytes_ = need;
  }
  for (const auto &[key, l] : layers_) {
    gather(l.k, l.row_bytes);
    gather(l.v, l.row_bytes);
    gather(l.pos, sizeof(int32_t));
    gather(l.valid, 1);
  }
}

DevicePtr CudaKvCache::scratch(size_t bytes) {
  if (bytes > scratch_bytes_) {
    scratch_ = allocate(bytes); // the smaller one stays owned until the end
    scratch_bytes_ = bytes;
  }
  return scratch_;
}

} // namespace edg::cuda
