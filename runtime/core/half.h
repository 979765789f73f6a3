//===- half.h - bf16 / f16 <-> f32 conversions ------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Bit-exact scalar conversions between IEEE binary32 and the two 16-bit float
// formats checkpoints use: bfloat16 (the top half of a binary32) and IEEE
// binary16. Narrowing rounds to nearest, ties to even, like PyTorch's
// `.to(torch.bfloat16)` / `.to(torch.float16)`; NaN stays a (quiet) NaN with
// its sign, overflow becomes infinity and f16 subnormals are handled both
// ways.
//
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_HALF_H
#define EDG_RUNTIME_CORE_HALF_H

#include <cstdint>
#include <cstring>

namespace edg {

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// bfloat16 is exactly the high 16 bits of a binary32, so widening is a shift.
inline float bf16_to_f32(uint16_t h) {
  return f32_from_bits(uint32_t(h) << 16);
}

/// Round-to-nearest-even narrowing; NaN is kept quiet (truncation could turn a
/// NaN whose payload sits in the low bits into infinity).
inline uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u)
    return uint16_t((u >> 16) | 0x0040u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

/// binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
inline float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  if (exp == 0) {
    // Zero or subnormal: value = man * 2^-24, exact in binary32.
    float v = float(man) * 5.9604644775390625e-8f;
    return f32_from_bits(f32_bits(v) | sign);
  }
  if (exp == 31) // inf / NaN (payload kept)
    return f32_from_bits(sign | 0x7F800000u | (man << 13));
  return f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

inline uint16_t f32_to_f16(float f) {
  uint32_t x = f32_bits(f);
  uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) // NaN: keep the top payload bits, force quiet
    return uint16_t(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
  if (ax >= 0x477FF000u) // >= 65520 rounds to infinity (max finite is 65504)
    return uint16_t(sign | 0x7C00u);
  if (ax < 0x38800000u) { // below 2^-14: f16 subnormal or zero
    if (ax < 0x33000000u) // below 2^-25 (exactly 2^-25 ties to even: 0)
      return sign;
    uint32_t e = ax >> 23;
    uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
    // value / 2^-24 = m * 2^(e - 126 - 24 + ...) = m >> (126 - e)
    uint32_t shift = 126u - e; // e in [102, 112] -> shift in [14, 24]
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u)))
      ++q; // may carry into the smallest normal (0x400): still correct
    return uint16_t(sign | q);
  }
  uint32_t r = ax - 0x38000000u; // rebias exponent 127 -> 15
  r += 0xFFFu + ((r >> 13) & 1u);
  return uint16_t(sign | (r >> 13));
}

} // namespace edg

#endif // EDG_RUNTIME_CORE_HALF_H
