//===- half_test.cc - bf16 / f16 conversion tests ---------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Exhaustive checks of the 16-bit widening conversions, round trips of every
// 16-bit pattern, and the narrowing rounding rules (ties to even, overflow to
// infinity, f16 subnormals, NaN stays NaN), against GCC's _Float16 where the
// compiler has it.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/half.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace edg {
namespace {

bool is_nan16_bf(uint16_t h) { return (h & 0x7F80) == 0x7F80 && (h & 0x7F); }
bool is_nan16_f(uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x3FF); }

TEST(Bf16, WideningIsTheHighHalf) {
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(bf16_to_f32(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7FC0)));
  // Smallest bf16 subnormal: 2^-133.
  EXPECT_EQ(bf16_to_f32(0x0001), std::ldexp(1.0f, -133));
}

TEST(Bf16, EveryPatternRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t back = f32_to_bf16(bf16_to_f32(uint16_t(h)));
    if (is_nan16_bf(uint16_t(h)))
      EXPECT_TRUE(is_nan16_bf(back)) << h;
    else
      EXPECT_EQ(back, h);
  }
}

TEST(Bf16, RoundsToNearestEven) {
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even (1.0).
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6: goes up.
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
  // Just above halfway rounds up.
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)),
            0x3F81);
  // FLT_MAX overflows to infinity, as torch does.
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  // A NaN whose payload is only in the low bits must not become infinity.
  EXPECT_TRUE(is_nan16_bf(f32_to_bf16(f32_from_bits(0x7F800001))));
  EXPECT_TRUE(is_nan16_bf(f32_to_bf16(f32_from_bits(0xFF800001))));
}

TEST(F16, WideningMatchesTheDefinition) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = f16_to_f32(uint16_t(h));
    const int sign = (h & 0x8000) ? -1 : 1;
    const int e = (h >> 10) & 0x1F, m = h & 0x3FF;
    if (e == 31) {
      if (m)
        EXPECT_TRUE(std::isnan(got)) << h;
      else
        EXPECT_EQ(got, sign * std::numeric_limits<float>::infinity()) << h;
      continue;
    }
    const double want = e == 0 ? sign * std::ldexp(double(m), -24)
                               : sign * std::ldexp(1.0 + m / 1024.0, e - 15);
    EXPECT_EQ(double(got), want) << h;
    EXPECT_EQ(std::signbit(got), sign < 0) << h;
  }
}

TEST(F16, EveryPatternRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t back = f32_to_f16(f16_to_f32(uint16_t(h)));
    if (is_nan16_f(uint16_t(h)))
      EXPECT_TRUE(is_nan16_f(back)) << h;
    else
      EXPECT_EQ(back, h);
  }
}

TEST(F16, NarrowingEdgeCases) {
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF); // below the halfway point
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00); // halfway to 2^16: ties to inf
  EXPECT_EQ(f32_to_f16(1e30f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-1e30f), 0xFC00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000); // tie -> even (0)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25) * 1.0001f), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);    // 1.5 ulp tie -> 2
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.0f, -24)), 0x03FF); // largest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);    // smallest normal
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00); // tie -> even
  EXPECT_TRUE(is_nan16_f(f32_to_f16(std::nanf(""))));
  EXPECT_TRUE(is_nan16_f(f32_to_f16(f32_from_bits(0x7F800001))));
}

#ifdef __FLT16_MAX__
TEST(F16, NarrowingMatchesCompilerFloat16) {
  // Random bit patterns over the whole binary32 range plus a dense sweep of
  // the subnormal/normal boundary.
  std::mt19937 rng(7);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t bits = rng();
    if (i % 2)
      bits =
          (bits & 0x80FFFFFFu) | ((0x30u + (bits >> 28)) << 23); // ~2^-31..2^16
    const float f = f32_from_bits(bits);
    if (std::isnan(f))
      continue;
    const _Float16 ref = _Float16(f);
    uint16_t want;
    std::memcpy(&want, &ref, 2);
    ASSERT_EQ(f32_to_f16(f), want) << "f32 bits 0x" << std::hex << bits;
  }
}
#endif

} // namespace
} // namespace edg
