//===- fast_math.h - Vectorisable exp and tanh for the kernels --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// glibc's expf/tanhf are scalar calls (~5 ns and ~24 ns here); attention does
// one exp and one tanh per score, which would cost more than the GEMMs. These
// branch-free versions inline into loops that GCC auto-vectorises, with errors
// of a few ulp (tested against libm in test/runtime/cpu_kernels_test.cc).
// They follow Cephes' expf/tanhf: Cody-Waite range reduction plus a degree-6
// polynomial for exp, an odd polynomial below |x| = 0.625 for tanh.
// Compile users with -fno-trapping-math, otherwise GCC will not if-convert the
// selects and the loops stay scalar.
//
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CPU_FAST_MATH_H
#define EDG_RUNTIME_CPU_FAST_MATH_H

#include <cstdint>
#include <cstring>

namespace edg::cpu {

/// exp(x) for finite or infinite x; results below ~1.2e-38 (x < -87.3) are
/// flushed to 0, x > 88.72 gives +inf, NaN gives NaN.
inline float fast_exp(float x) {
  const float kHi = 88.7228390520684f, kLo = -87.3365447504f;
  float xc = x > kHi ? kHi : (x < kLo ? kLo : x);
  // n = round(x / ln2); the magic constant rounds to nearest in fp32.
  const float kMagic = 12582912.0f; // 1.5 * 2^23
  float n = (xc * 1.44269504088896341f + kMagic) - kMagic;
  float r = xc - n * 0.693359375f; // ln2 split: exact high part
  r = r - n * -2.12194440e-4f;
  float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  // 2^n with n in [-126, 128]; n = 128 (x near the top) is 2^127 * 2.
  int32_t ni = int32_t(n);
  float extra = ni > 127 ? 2.0f : 1.0f;
  ni = ni > 127 ? 127 : ni;
  int32_t e = (ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, 4);
  float y = p * scale * extra;
  y = x < kLo ? 0.0f : y;
  y = x > kHi ? __builtin_inff() : y;
  return x != x ? x : y;
}

/// tanh(x); exact at 0, saturates to +-1 beyond |x| = 9.
inline float fast_tanh(float x) {
  float ax = x < 0.0f ? -x : x;
  // Small |x|: odd polynomial (Cephes tanhf), no cancellation.
  float z = x * x;
  float ps = -5.70498872745e-3f;
  ps = ps * z + 2.06390887954e-2f;
  ps = ps * z - 5.37397155531e-2f;
  ps = ps * z + 1.33314422036e-1f;
  ps = ps * z - 3.33332819422e-1f;
  ps = ps * z * x + x;
  // Large |x|: (1 - e)/(1 + e) with e = exp(-2|x|) in (0, 0.29]: no
  // cancellation and no overflow.
  float e = fast_exp(-2.0f * (ax > 9.0f ? 9.0f : ax));
  float pl = (1.0f - e) / (1.0f + e);
  pl = ax > 9.0f ? 1.0f : pl;
  pl = x < 0.0f ? -pl : pl;
  float y = ax < 0.625f ? ps : pl;
  return x != x ? x : y;
}

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_FAST_MATH_H
