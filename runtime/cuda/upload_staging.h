//===- upload_staging.h - room for asynchronous host-to-device copies -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// A copy from pageable host memory must be waited for before the caller's
// buffer may change, so every small upload (a step's token ids, positions,
// the KV cache's length word, the optimizer's hyperparameters) used to stall
// the host until the GPU had drained its queue. The driver device instead
// copies such uploads into a pinned buffer and queues the DMA from there:
// the host goes on at once, and the GPU runs the copy in stream order. This
// class does the bookkeeping (no CUDA here, so it is unit-tested): uploads
// take consecutive 16-byte-aligned slices, and a slice is handed out again
// only after the stream was synchronized (reset), when every queued copy
// out of it has run.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_UPLOAD_STAGING_H
#define EDG_RUNTIME_CUDA_UPLOAD_STAGING_H

#include <cstddef>
#include <optional>

namespace edg::cuda {

class UploadStaging {
public:
  explicit UploadStaging(size_t capacity) : capacity_(capacity) {}

  size_t capacity() const { return capacity_; }

  /// The offset of a free slice of `bytes`, or nothing when what is left
  /// is too small (the caller synchronizes, resets, asks again) or `bytes`
  /// exceeds the capacity (the caller copies without staging).
  std::optional<size_t> reserve(size_t bytes) {
    const size_t at = (used_ + kAlign - 1) / kAlign * kAlign;
    if (bytes > capacity_ || at > capacity_ - bytes)
      return std::nullopt;
    used_ = at + bytes;
    return at;
  }

  /// Every copy queued so far has run (the stream was synchronized).
  void reset() { used_ = 0; }

private:
  static constexpr size_t kAlign = 16;
  size_t capacity_;
  size_t used_ = 0;
};

} // namespace edg::cuda

#endif // EDG_RUNTIME_CUDA_UPLOAD_STAGING_H
