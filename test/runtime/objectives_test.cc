//===- objectives_test.cc - training batch builders ----------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The batch builders of runtime/core/objectives.h: UL2 span corruption
// loses no token and keeps its rates and the 1:1:1:1:4 denoiser mixture,
// PrefixLM splits sequences in halves and aligns the teacher, decoder
// inputs are BOS + target[:-1], decoder-only labels are shifted and masked,
// and a builder resumed at a cursor repeats the uninterrupted stream.
//===----------------------------------------------------------------------===//
#include "runtime/core/objectives.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace edg {
namespace {

constexpr int64_t kVocab = 1000;

Tokens iota_tokens(int64_t n, int32_t first = 3) {
  Tokens t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), first);
  return t;
}

BatchOptions options(BatchObjective o, bool encdec = true) {
  BatchOptions b;
  b.objective = o;
  b.encoder_decoder = encdec;
  b.batch = 2;
  b.seq = 64;
  b.vocab = kVocab;
  b.seed = 7;
  return b;
}

bool is_sentinel(int32_t id) { return id >= kVocab - 100; }

/// Re-inserts each noise span at its sentinel in the encoder input.
Tokens uncorrupt(const Example &e) {
  Tokens out;
  size_t t = 0;
  for (int32_t id : e.input) {
    if (!is_sentinel(id)) {
      out.push_back(id);
      continue;
    }
    EXPECT_LT(t, e.target.size());
    EXPECT_EQ(e.target[t], id) << "spans come in sentinel order";
    for (++t; t < e.target.size() && !is_sentinel(e.target[t]); ++t)
      out.push_back(e.target[t]);
  }
  return out;
}

TEST(Ul2, SpanCorruptionLosesNoTokenAndKeepsTheRate) {
  Tokens seq = iota_tokens(200);
  BatchOptions o = options(BatchObjective::ul2);
  const double rates[4] = {0.15, 0.5, 0.15, 0.5};
  for (int d = 0; d < 4; ++d) {
    Example e = ul2_corrupt(seq, d, 11, o);
    EXPECT_EQ(uncorrupt(e), seq) << "denoiser " << d;
    int64_t noise = 0;
    for (int32_t id : e.target)
      noise += !is_sentinel(id);
    EXPECT_EQ(noise, std::llround(rates[d] * 200)) << "denoiser " << d;
  }
  // The sequential denoiser: the last 3/4 is the target, no sentinel.
  Example s = ul2_corrupt(seq, 4, 11, o);
  EXPECT_EQ(s.input, Tokens(seq.begin(), seq.begin() + 50));
  EXPECT_EQ(s.target, Tokens(seq.begin() + 50, seq.end()));
}

TEST(Ul2, MixtureIsOneOneOneOneFour) {
  BatchBuilder b(options(BatchObjective::ul2), {iota_tokens(100)}, {});
  int count[5] = {};
  const int n = 8000;
  for (int i = 0; i < n; ++i)
    ++count[b.example(i).denoiser];
  for (int d = 0; d < 4; ++d)
    EXPECT_NEAR(count[d] / double(n), 1.0 / 8, 0.02) << "denoiser " << d;
  EXPECT_NEAR(count[4] / double(n), 4.0 / 8, 0.03);
}

TEST(PrefixLm, HalvesShiftedDecoderAndAlignedTeacher) {
  BatchOptions o = options(BatchObjective::prefixlm);
  o.teacher = true;
  o.batch = 1;
  BatchBuilder b(o, {iota_tokens(10)}, {});
  TrainBatch t = b.next();
  // encoder 3..7, target 8..12, decoder BOS 8..11
  ASSERT_EQ(t.ids.shape(), (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(t.ids.data<int32_t>()[0], 3);
  EXPECT_EQ(t.decoder_ids.data<int32_t>()[0], o.bos);
  EXPECT_EQ(t.decoder_ids.data<int32_t>()[1], 8);
  EXPECT_EQ(t.labels.data<int32_t>()[0], 8);
  EXPECT_EQ(t.labels.data<int32_t>()[4], 12);
  // The teacher sees all 10 tokens; its row 4 + t predicts target token t.
  ASSERT_EQ(t.teacher_ids.shape(), (std::vector<int64_t>{1, 10}));
  for (int i = 0; i < 5; ++i) {
    int32_t row = t.teacher_index.data<int32_t>()[i];
    EXPECT_EQ(row, 4 + i);
    EXPECT_EQ(t.teacher_ids.data<int32_t>()[row + 1], t.labels.data<int32_t>()[i]);
  }
}

TEST(Sft, PairsAreRightPaddedWithEos) {
  BatchOptions o = options(BatchObjective::sft);
  o.seed = 0;
  BatchBuilder b(o, {}, {{{5, 6, 7}, {8}}, {{9}, {10, 11, 12}}});
  TrainBatch t = b.next();
  ASSERT_EQ(t.labels.shape(), (std::vector<int64_t>{2, 4}));
  int64_t counted = t.num_targets();
  EXPECT_EQ(counted, 2 + 4); // targets + eos
  for (int64_t r = 0; r < 2; ++r) {
    const int32_t *l = t.labels.data<int32_t>() + r * 4;
    int64_t n = 0;
    while (n < 4 && l[n] != -100)
      ++n;
    EXPECT_EQ(l[n - 1], o.eos);
  }
}

TEST(DecoderOnly, LabelsAreShiftedAndOnlyOnTheTarget) {
  BatchOptions o = options(BatchObjective::prefixlm, /*encdec=*/false);
  o.batch = 1;
  BatchBuilder b(o, {iota_tokens(6)}, {});
  TrainBatch t = b.next();
  // ids 3..8; prompt 3,4,5; labels predict 6,7,8 from positions 2,3,4.
  const int32_t *l = t.labels.data<int32_t>();
  EXPECT_EQ(l[0], -100);
  EXPECT_EQ(l[1], -100);
  EXPECT_EQ(l[2], 6);
  EXPECT_EQ(l[4], 8);
  EXPECT_EQ(l[5], -100);
  EXPECT_FALSE(t.decoder_ids.numel());
}

TEST(BatchBuilder, ResumedCursorRepeatsTheStream) {
  std::vector<Tokens> data;
  for (int i = 0; i < 5; ++i)
    data.push_back(iota_tokens(20 + i, 3 + i));
  BatchBuilder a(options(BatchObjective::ul2), data, {});
  for (int i = 0; i < 3; ++i)
    a.next();
  TrainBatch want = a.next();
  BatchBuilder b(options(BatchObjective::ul2), data, {});
  b.set_cursor(6);
  TrainBatch got = b.next();
  ASSERT_EQ(got.ids.shape(), want.ids.shape());
  ASSERT_EQ(got.labels.shape(), want.labels.shape());
  for (int64_t i = 0; i < got.ids.numel(); ++i)
    EXPECT_EQ(got.ids.data<int32_t>()[i], want.ids.data<int32_t>()[i]);
  for (int64_t i = 0; i < got.labels.numel(); ++i)
    EXPECT_EQ(got.labels.data<int32_t>()[i], want.labels.data<int32_t>()[i]);
}

TEST(BatchBuilder, RejectsObjectivesThatDoNotFitTheModel) {
  EXPECT_THROW(BatchBuilder(options(BatchObjective::ul2, false), {iota_tokens(8)}, {}),
               Error);
  EXPECT_THROW(BatchBuilder(options(BatchObjective::lm, true), {iota_tokens(8)}, {}),
               Error);
  EXPECT_THROW(BatchBuilder(options(BatchObjective::sft), {iota_tokens(8)}, {}), Error);
}

} // namespace
} // namespace edg
