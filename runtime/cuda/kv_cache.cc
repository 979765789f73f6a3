//===- kv_cache.cc - the device KV cache of one generation request -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "runtime/cuda/kv_cache.h"

#include "runtime/core/status.h"

namespace edg::cuda {

CudaKvCache::CudaKvCache(DeviceApi &device, int64_t batch, int64_t capacity)
    : device_(device), batch_(batch), capacity_(capacity) {
  check(batch > 0 && capacity > 0, "KV cache: batch ", batch, " and capacity ",
        capacity, " must be positive");
  length_word_ = allocate(sizeof(int64_t));
  tokens_ = allocate(size_t(batch) * sizeof(int32_t));
  source_rows_ = allocate(size_t(batch) * sizeof(int64_t));
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

DevicePtr CudaKvCache::scratch(size_t bytes) {
  if (bytes > scratch_bytes_) {
    scratch_ = allocate(bytes); // the smaller one stays owned until the end
    scratch_bytes_ = bytes;
  }
  return scratch_;
}

} // namespace edg::cuda
