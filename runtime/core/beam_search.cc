//===- beam_search.cc - beam search over per-step logits ----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "runtime/core/beam_search.h"

#include "runtime/core/status.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>

namespace edg {
namespace {

/// HF marks impossible candidates by adding -1e9 to an fp32 score.
constexpr float kDead = -1.0e9f;

struct Candidate {
  float score;   // accumulated log-probability
  int64_t index; // beam · V + token
};

/// Better first: higher score, then the lower index (a stable order for ties).
bool better(const Candidate &a, const Candidate &b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

/// The `n` best of scores[0..count), best first.
std::vector<Candidate> top_n(const float *scores, int64_t count, int n) {
  // Min-heap (worst on top) of the n best seen so far.
  auto worse_on_top = [](const Candidate &a, const Candidate &b) {
    return better(a, b);
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(worse_on_top)>
      heap(worse_on_top);
  for (int64_t i = 0; i < count; ++i) {
    Candidate c{scores[i], i};
    if (int(heap.size()) < n)
      heap.push(c);
    else if (better(c, heap.top())) {
      heap.pop();
      heap.push(c);
    }
  }
  std::vector<Candidate> out(heap.size());
  for (size_t i = out.size(); i-- > 0; heap.pop())
    out[i] = heap.top();
  return out;
}

/// log_softmax of one row as torch computes it in fp32: x - max - log Σ e^(x-max).
void log_softmax(const float *x, int64_t V, float *out) {
  float mx = *std::max_element(x, x + V);
  double sum = 0.0;
  for (int64_t v = 0; v < V; ++v)
    sum += std::exp(double(x[v] - mx));
  float lse = float(std::log(sum));
  for (int64_t v = 0; v < V; ++v)
    out[v] = (x[v] - mx) - lse;
}

} // namespace

BeamSearch::BeamSearch(int64_t batch, int beams, int64_t vocab,
                       int max_new_tokens, std::vector<int32_t> stop_tokens,
                       float length_penalty, bool early_stopping)
    : B_(batch), V_(vocab), k_(beams), max_new_(max_new_tokens),
      length_penalty_(length_penalty), early_stopping_(early_stopping) {
  check(beams >= 1, "beam search: num_beams must be >= 1, got ", beams);
  check(max_new_tokens >= 1, "beam search: max_new_tokens must be >= 1");
  // Ids outside the vocabulary (e.g. -1 for "never stop") cannot be produced.
  for (int32_t t : stop_tokens)
    if (t >= 0 && t < vocab)
      stops_.push_back(t);
  items_.resize(size_t(batch));
  for (Item &item : items_) {
    item.running.assign(size_t(k_), {});
    item.running_scores.assign(size_t(k_), kDead);
    item.running_scores[0] = 0.0f; // only beam 0 is live at the start
    item.finished.assign(size_t(k_), BeamHypothesis{{}, kDead});
    item.finished_real.assign(size_t(k_), false);
  }
}

bool BeamSearch::is_stop(int32_t token) const {
  return std::find(stops_.begin(), stops_.end(), token) != stops_.end();
}

bool BeamSearch::step(const float *logits, std::vector<int32_t> &next_tokens,
                      std::vector<int64_t> &source_rows) {
  check(len_ < max_new_, "beam search: step() after the last token");
  next_tokens.assign(size_t(B_ * k_), 0);
  source_rows.assign(size_t(B_ * k_), 0);
  std::vector<float> logprobs(size_t(k_ * V_));
  bool all_hit = true, any_improvable = false;
  for (int64_t b = 0; b < B_; ++b) {
    Item &item = items_[size_t(b)];
    // Accumulated scores of every (beam, token): [k, V].
    for (int j = 0; j < k_; ++j) {
      float *row = logprobs.data() + j * V_;
      log_softmax(logits + (b * k_ + j) * V_, V_, row);
      for (int64_t v = 0; v < V_; ++v)
        row[v] += item.running_scores[size_t(j)];
    }
    int keep = std::max(2, 1 + int(stops_.size())) * k_;
    std::vector<Candidate> top = top_n(logprobs.data(), k_ * V_, keep);
    // Which continuations end here: a stop token or the length limit.
    bool at_limit = len_ + 1 >= max_new_;
    std::vector<bool> hits(top.size());
    for (size_t c = 0; c < top.size(); ++c) {
      hits[c] = at_limit || is_stop(int32_t(top[c].index % V_));
      all_hit = all_hit && hits[c];
    }

    // Finished hypotheses: the first k continuations that ended compete with
    // the k kept so far (HF merges the lists and keeps the top k).
    float norm = float(std::pow(double(len_ + 1), double(length_penalty_)));
    bool full = std::all_of(item.finished_real.begin(), item.finished_real.end(),
                            [](bool r) { return r; });
    struct Slot {
      float score;
      bool real;
      size_t candidate; // index into `top`, or SIZE_MAX for a kept slot
      size_t kept;
    };
    std::vector<Slot> slots;
    for (size_t s = 0; s < size_t(k_); ++s)
      slots.push_back({item.finished[s].score, item.finished_real[s], SIZE_MAX, s});
    for (size_t c = 0; c < top.size(); ++c) {
      bool just_finished = hits[c] && c < size_t(k_);
      float score = top[c].score / norm;
      if (full && early_stopping_)
        score += kDead;
      if (!item.improvable)
        score += kDead;
      if (!just_finished)
        score += kDead;
      slots.push_back({score, just_finished, c, 0});
    }
    std::stable_sort(slots.begin(), slots.end(), [](const Slot &a, const Slot &b) {
      return a.score > b.score;
    });
    std::vector<BeamHypothesis> finished(static_cast<size_t>(k_));
    std::vector<bool> finished_real(static_cast<size_t>(k_));
    for (size_t s = 0; s < size_t(k_); ++s) {
      const Slot &slot = slots[s];
      if (slot.candidate == SIZE_MAX) {
        finished[s] = item.finished[slot.kept];
      } else {
        const Candidate &c = top[slot.candidate];
        finished[s].tokens = item.running[size_t(c.index / V_)];
        finished[s].tokens.push_back(int32_t(c.index % V_));
      }
      finished[s].score = slot.score;
      finished_real[s] = slot.real;
    }

    // Running beams: the best k continuations that did not end.
    std::vector<float> alive(top.size());
    for (size_t c = 0; c < top.size(); ++c)
      alive[c] = top[c].score + (hits[c] ? kDead : 0.0f);
    std::vector<Candidate> next = top_n(alive.data(), int64_t(alive.size()), k_);
    std::vector<std::vector<int32_t>> running(static_cast<size_t>(k_));
    for (int j = 0; j < k_; ++j) {
      const Candidate &c = top[size_t(next[size_t(j)].index)];
      int64_t src = c.index / V_;
      int32_t token = int32_t(c.index % V_);
      running[size_t(j)] = item.running[size_t(src)];
      running[size_t(j)].push_back(token);
      item.running_scores[size_t(j)] = next[size_t(j)].score;
      next_tokens[size_t(b * k_ + j)] = token;
      source_rows[size_t(b * k_ + j)] = b * k_ + src;
    }
    item.running = std::move(running);
    item.finished = std::move(finished);
    item.finished_real = std::move(finished_real);

    // Early-stop heuristic (HF, early_stopping=False): can the best running
    // beam, at the current length, still beat the worst finished one?
    float best_possible = item.running_scores[0] /
                          float(std::pow(double(len_ + 1), double(length_penalty_)));
    float worst = kDead;
    if (std::all_of(item.finished_real.begin(), item.finished_real.end(),
                    [](bool r) { return r; })) {
      worst = item.finished[0].score;
      for (const BeamHypothesis &h : item.finished)
        worst = std::min(worst, h.score);
    }
    item.improvable = item.improvable && best_possible > worst;
    any_improvable = any_improvable || item.improvable;
  }
  ++len_;
  bool all_full = true;
  for (const Item &item : items_)
    for (bool r : item.finished_real)
      all_full = all_full && r;
  bool open = !(all_full && early_stopping_);
  return any_improvable && open && !all_hit;
}

std::vector<BeamHypothesis> BeamSearch::best() const {
  std::vector<BeamHypothesis> out;
  for (const Item &item : items_)
    out.push_back(item.finished_real[0]
                      ? item.finished[0]
                      : BeamHypothesis{item.running[0], item.running_scores[0]});
  return out;
}

} // namespace edg
