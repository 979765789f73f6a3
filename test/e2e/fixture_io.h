//===- fixture_io.h - reading the HF reference fixtures ----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// test/fixtures/*/reference.safetensors stores ids and masks as int64 (as
// HF returns them); the runtime takes i32 ids/positions and u8 masks. Shared
// by edg-cuda-check and the CUDA executor tests.
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_E2E_FIXTURE_IO_H
#define EDG_TEST_E2E_FIXTURE_IO_H

#include "runtime/core/safetensors.h"
#include "runtime/core/status.h"
#include "runtime/core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace edg::fixture {

inline Tensor to_i32(const SafetensorsFile &ref, const std::string &name) {
  const TensorInfo &info = ref.info(name);
  check(info.dtype == DType::i64, name, " must be int64");
  Tensor t(DType::i32, info.shape);
  const int64_t *src = reinterpret_cast<const int64_t *>(info.data);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<int32_t>()[i] = int32_t(src[i]);
  return t;
}

inline Tensor to_u8(const SafetensorsFile &ref, const std::string &name) {
  Tensor ids = to_i32(ref, name);
  Tensor t(DType::u8, ids.shape());
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<uint8_t>()[i] = ids.data<int32_t>()[i] != 0;
  return t;
}

/// Positions 0..T-1 in every row: [B, T] i32.
inline Tensor arange_positions(int64_t B, int64_t T) {
  Tensor t(DType::i32, {B, T});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < T; ++i)
      t.data<int32_t>()[b * T + i] = int32_t(i);
  return t;
}

/// An all-valid mask: [B, T] u8.
inline Tensor ones_u8(int64_t B, int64_t T) {
  Tensor t(DType::u8, {B, T});
  std::memset(t.raw(), 1, t.nbytes());
  return t;
}

/// max|got - want| / max(1, max|want|): the conformance error measure.
inline double relative_error(const Tensor &got, const std::vector<float> &want) {
  double err = 0, scale = 1;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, double(std::fabs(got.data<float>()[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  return err / scale;
}

} // namespace edg::fixture

#endif // EDG_TEST_E2E_FIXTURE_IO_H
