//===- beam_search_test.cc - BeamSearch bookkeeping ----------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Hand-built logits with known answers; the model-level agreement with HF's
// generate(num_beams=3) is test/e2e/conformance.test.
//===----------------------------------------------------------------------===//
#include "runtime/core/beam_search.h"
#include "runtime/core/status.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

/// Logits [rows, V] giving each row the log-probabilities `p` (V = p.size()).
std::vector<float> rows_of(const std::vector<double> &p, int rows) {
  std::vector<float> out;
  for (int r = 0; r < rows; ++r)
    for (double x : p)
      out.push_back(float(std::log(x)));
  return out;
}

TEST(BeamSearch, OneBeamIsGreedy) {
  edg::BeamSearch search(1, 1, 4, 3, {}, 1.0f, false);
  std::vector<int32_t> next;
  std::vector<int64_t> src;
  ASSERT_TRUE(search.step(rows_of({0.1, 0.6, 0.2, 0.1}, 1).data(), next, src));
  EXPECT_EQ(next, std::vector<int32_t>{1});
  ASSERT_TRUE(search.step(rows_of({0.1, 0.1, 0.2, 0.6}, 1).data(), next, src));
  EXPECT_EQ(next, std::vector<int32_t>{3});
  EXPECT_FALSE(search.step(rows_of({0.7, 0.1, 0.1, 0.1}, 1).data(), next, src));
  std::vector<edg::BeamHypothesis> best = search.best();
  EXPECT_EQ(best[0].tokens, (std::vector<int32_t>{1, 3, 0}));
  EXPECT_NEAR(best[0].score, std::log(0.6 * 0.6 * 0.7) / 3, 1e-6);
}

// Greedy takes 0.5 then 0.4 (0.2); the beam through the 0.4 token finds 0.9
// next (0.36): beam search keeps the second beam alive and wins with it.
TEST(BeamSearch, SecondBeamOvertakes) {
  edg::BeamSearch search(1, 2, 3, 2, {}, 0.0f, false);
  std::vector<int32_t> next;
  std::vector<int64_t> src;
  ASSERT_TRUE(search.step(rows_of({0.5, 0.4, 0.1}, 2).data(), next, src));
  EXPECT_EQ(next, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(src, (std::vector<int64_t>{0, 0})); // both continue beam 0
  // Row 0 (after token 0) is flat; row 1 (after token 1) is confident.
  std::vector<float> logits = rows_of({0.4, 0.3, 0.3}, 1);
  std::vector<float> sure = rows_of({0.05, 0.05, 0.9}, 1);
  logits.insert(logits.end(), sure.begin(), sure.end());
  EXPECT_FALSE(search.step(logits.data(), next, src));
  EXPECT_EQ(search.best()[0].tokens, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(search.best()[0].score, std::log(0.36), 1e-6);
}

// A stop token ends a hypothesis; with length_penalty 0 (sum of log-probs)
// the short one wins, and the item is done once no running beam can beat it.
TEST(BeamSearch, StopTokenFinishesEarly) {
  edg::BeamSearch search(2, 2, 3, 5, {2}, 0.0f, false);
  std::vector<int32_t> next;
  std::vector<int64_t> src;
  // Item 0 prefers the stop token; item 1 never stops.
  std::vector<float> logits = rows_of({0.2, 0.2, 0.6}, 2);
  std::vector<float> item1 = rows_of({0.5, 0.5, 1e-9}, 2);
  logits.insert(logits.end(), item1.begin(), item1.end());
  ASSERT_TRUE(search.step(logits.data(), next, src));
  for (int r = 0; r < 4; ++r)
    EXPECT_EQ(src[size_t(r)] / 2, r / 2) << "beams stay within their item";
  while (search.step(logits.data(), next, src)) {
  }
  std::vector<edg::BeamHypothesis> best = search.best();
  EXPECT_EQ(best[0].tokens, std::vector<int32_t>{2});
  EXPECT_NEAR(best[0].score, std::log(0.6), 1e-6);
  EXPECT_EQ(best[1].tokens.size(), 5u);
}

TEST(BeamSearch, RejectsBadArguments) {
  EXPECT_THROW(edg::BeamSearch(1, 0, 4, 3, {}, 1.0f, false), edg::Error);
  EXPECT_THROW(edg::BeamSearch(1, 2, 4, 0, {}, 1.0f, false), edg::Error);
}

} // namespace
