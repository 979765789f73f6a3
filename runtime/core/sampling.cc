//===- sampling.cc - choose the next token from logits ------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Order of the filters as in HF's generate: temperature, then top-k, then
// top-p over the surviving tokens, then a draw from the renormalised
// distribution.
//===----------------------------------------------------------------------===//
#include "runtime/core/sampling.h"

#include "runtime/core/status.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace edg {

int32_t argmax(const float *logits, int64_t V) {
  int64_t best = 0;
  for (int64_t i = 1; i < V; ++i)
    if (logits[i] > logits[best])
      best = i;
  return int32_t(best);
}

int32_t sample_token(const float *logits, int64_t V,
                     const SamplingParams &params, std::mt19937_64 &rng) {
  if (params.temperature <= 0.0f)
    return argmax(logits, V);
  check(params.top_p > 0.0f && params.top_p <= 1.0f,
        "top_p must be in (0, 1], got ", params.top_p);
  check(params.top_k >= 0, "top_k must be >= 0, got ", params.top_k);

  // Candidates sorted by logit, descending (stable: ties keep index order).
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  size_t keep = order.size();
  if (params.top_k > 0)
    keep = std::min(keep, size_t(params.top_k));

  std::vector<double> probs(keep);
  double top = logits[order[0]] / double(params.temperature), total = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp(logits[order[i]] / double(params.temperature) - top);
    total += probs[i];
  }
  if (params.top_p < 1.0f) {
    double mass = 0.0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      mass += probs[i] / total;
      if (mass >= params.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    probs.resize(keep);
  }
  std::discrete_distribution<size_t> pick(probs.begin(), probs.end());
  return order[pick(rng)];
}

} // namespace edg
