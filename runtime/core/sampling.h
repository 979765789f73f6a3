//===- sampling.h - choose the next token from logits -------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Greedy (first maximum wins, as torch.argmax), and temperature / top-k /
// top-p sampling applied to already soft-capped logits (MODEL_SPEC §1.8).
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_SAMPLING_H
#define EDG_RUNTIME_CORE_SAMPLING_H

#include <cstdint>
#include <random>

namespace edg {

struct SamplingParams {
  float temperature = 0.0f; // 0: greedy
  int top_k = 0;            // 0: no limit
  float top_p = 1.0f;       // 1: no limit
};

/// Index of the first maximum of logits[0..V).
int32_t argmax(const float *logits, int64_t V);

/// Picks a token from logits [V] with `params`, drawing from `rng`.
int32_t sample_token(const float *logits, int64_t V,
                     const SamplingParams &params, std::mt19937_64 &rng);

} // namespace edg

#endif // EDG_RUNTIME_CORE_SAMPLING_H
