//===- upload_staging_test.cc - the pinned upload buffer's slices -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// UploadStaging (runtime/cuda/upload_staging.h) hands out aligned slices
// that never overlap until reset: a staged copy's bytes must not be
// overwritten before the stream has run it.
//===----------------------------------------------------------------------===//
#include "runtime/cuda/upload_staging.h"

#include <gtest/gtest.h>

namespace {

using edg::cuda::UploadStaging;

TEST(UploadStaging, SlicesAreAlignedAndDisjoint) {
  UploadStaging s(64);
  EXPECT_EQ(s.reserve(8), 0u);
  EXPECT_EQ(s.reserve(3), 16u); // aligned past the first slice
  EXPECT_EQ(s.reserve(32), 32u);
  EXPECT_FALSE(s.reserve(1)); // 64 of 64 bytes are in flight
}

TEST(UploadStaging, FullBufferIsReusedOnlyAfterReset) {
  UploadStaging s(64);
  ASSERT_EQ(s.reserve(40), 0u);
  EXPECT_FALSE(s.reserve(24)); // 48 + 24 > 64
  s.reset();
  EXPECT_EQ(s.reserve(24), 0u);
  EXPECT_EQ(s.reserve(24), 32u);
}

TEST(UploadStaging, LargerThanCapacityIsNeverStaged) {
  UploadStaging s(64);
  EXPECT_FALSE(s.reserve(65));
  s.reset();
  EXPECT_FALSE(s.reserve(65));
  EXPECT_EQ(s.reserve(64), 0u); // exactly the capacity fits
  EXPECT_FALSE(s.reserve(size_t(-1))); // no overflow in the bounds check
}

} // namespace
