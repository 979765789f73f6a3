//===- tensor_test.cc - DType helpers and edg::Tensor tests -----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Names, sizes and parsing of dtypes; Tensor allocation (aligned, zeroed),
// shape checks and type-checked access.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/tensor.h"

#include "test_util.h"

#include <gtest/gtest.h>

namespace edg {
namespace {

using test::throws_with;

TEST(DType, NamesSizesAndParsing) {
  const DType all[] = {DType::f32, DType::bf16, DType::f16,    DType::i32,
                       DType::i64, DType::u8,   DType::boolean};
  const size_t sizes[] = {4, 2, 2, 4, 8, 1, 1};
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(dtype_size(all[i]), sizes[i]);
    EXPECT_EQ(parse_dtype(dtype_safetensors_name(all[i])), all[i]);
  }
  EXPECT_STREQ(dtype_name(DType::bf16), "bf16");
  EXPECT_STREQ(dtype_safetensors_name(DType::boolean), "BOOL");
  EXPECT_TRUE(
      throws_with([] { parse_dtype("F8_E4M3"); }, {"unknown dtype 'F8_E4M3'"}));
  EXPECT_TRUE(throws_with([] { parse_dtype("f32"); }, {"unknown dtype"}));
}

TEST(Tensor, AllocatesAlignedZeroedStorage) {
  Tensor t(DType::f32, {3, 5});
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.nbytes(), 60u);
  EXPECT_EQ(t.rank(), 2);
  EXPECT_EQ(t.dim(-1), 5);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int64_t i = 0; i < t.numel(); ++i)
    EXPECT_EQ(t.data<float>()[i], 0.0f);
  t.data<float>()[7] = 2.5f;
  Tensor c = t.clone();
  EXPECT_EQ(c.data<float>()[7], 2.5f);
  EXPECT_NE(c.raw(), t.raw());
}

TEST(Tensor, EmptyAndScalarShapes) {
  Tensor s(DType::i64, {});
  EXPECT_EQ(s.numel(), 1);
  Tensor e(DType::bf16, {4, 0});
  EXPECT_EQ(e.numel(), 0);
  EXPECT_NE(e.raw(), nullptr);
}

TEST(Tensor, RejectsBadShapesAndTypes) {
  EXPECT_TRUE(throws_with(
      [] {
        Tensor t(DType::f32, {2, -3});
      },
      {"negative dimension -3"}));
  EXPECT_TRUE(throws_with(
      [] {
        shape_numel({int64_t(1) << 40, int64_t(1) << 40}, "x");
      },
      {"more elements than fit"}));
  Tensor t(DType::i32, {2});
  EXPECT_TRUE(throws_with([&] { t.data<float>(); }, {"dtype i32"}));
  EXPECT_NO_THROW(t.data<int32_t>());
  Tensor h(DType::bf16, {2});
  EXPECT_NO_THROW(h.data<uint16_t>());
  EXPECT_TRUE(throws_with([&] { t.dim(2); }, {"out of range"}));
}

} // namespace
} // namespace edg
