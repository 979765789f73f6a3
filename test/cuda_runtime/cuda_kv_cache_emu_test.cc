//===- cuda_kv_cache_emu_test.cc - generation with the device KV cache -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Greedy generation through CudaExecutor's cached runs (kv_cache.h) on the
// emulated device: the prompt once through the forward kernels (its keys
// appended to the cache by the generated `_append` kernels), then one
// position per step through the generated `_decode` / `_decode_combine`
// kernels, cross-attention's one query through its own `_decode` kernels.
// Must give HF's tokens for a Gemma 2 with a sliding window (4) shorter
// than prompt + new tokens (13) and for T5Gemma, and must actually take the
// cache path (decode launches counted by the emulated device) and replay the
// one-token steps as CUDA graphs (the emulated device replays what it
// captured with the arguments of the capture, as a GPU does, so a size that
// changes per step but was captured by value gives wrong tokens).
// DecodeSession (what edg::Model::generate runs) on the device must agree
// with the CPU session on a left-padded batch of two.
//===----------------------------------------------------------------------===//
#include "runtime/api/decode_session.h"
#include "runtime/core/beam_search.h"
#include "runtime/core/model_file.h"
#include "runtime/core/status.h"
#include "runtime/core/weights.h"
#include "runtime/cpu/executor.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/launch_info.h"
#include "test/cuda_emu/emu_device.h"
#include "test/e2e/device_conformance.h"
#include "test/e2e/fixture_io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace {

std::string model(const std::string &name) {
  return std::string(EDG_CUDA_TEST_MODELS_DIR) + "/" + name + ".bin";
}
std::string fixture(const std::string &name) {
  return std::string(EDG_FIXTURES_DIR) + "/" + name;
}

/// Generation only (the logits are CudaExecutorEmu's), one check.
edg::conformance::DeviceCheck generate(const std::string &bin,
                                       const std::string &dir,
                                       edg::cuda_emu::EmuDevice &device) {
  auto checks = edg::conformance::run_device_conformance(
      model(bin), fixture(dir), device, 1e-4, /*generate=*/true,
      /*tensors=*/false);
  EXPECT_EQ(checks.size(), 1u);
  return checks.at(0);
}

// 5 prompt tokens, 8 new ones: 7 one-token steps x 3 layers of decode; the
// first step runs eagerly, the second is captured, all but the first replay.
TEST(CudaKvCacheEmu, Gemma2SlidingGreedyMatchesHF) {
  edg::cuda_emu::EmuDevice device;
  auto c = generate("gemma2_f32", "gemma2_gqa_sliding", device);
  EXPECT_TRUE(c.ok) << c.detail;
  EXPECT_EQ(c.decode_steps, 7);
  EXPECT_EQ(c.decode_launches, 21);
  EXPECT_EQ(c.graph_replays, 6);
  EXPECT_EQ(device.captures(), 1);
  EXPECT_EQ(device.replays(), 6);
  EXPECT_EQ(device.launches_of("_decode"), 21);
  EXPECT_EQ(device.launches_of("_decode_combine"), 21);
  EXPECT_EQ(device.launches_of("_append"), 24); // the prefill's too
}

// BOS + 8 new tokens: every decoder step is cached, self- and
// cross-attention through the decode kernels (8 x 3 each). The
// cross-attention K/V GEMMs over the encoder states (2 of the 34 GEMMs of
// @decode, per layer: 6) are request constants and run in the first step
// only; @encode has 21 GEMMs. Steps 3 to 8 replay the graph step 3
// captured (step 1 computes the constants, step 2 runs eagerly).
TEST(CudaKvCacheEmu, T5GemmaGreedyMatchesHF) {
  edg::cuda_emu::EmuDevice device;
  auto c = generate("t5gemma_balanced_f32", "t5gemma_balanced", device);
  EXPECT_TRUE(c.ok) << c.detail;
  EXPECT_EQ(c.decode_steps, 8);
  EXPECT_EQ(c.decode_launches, 48);
  EXPECT_EQ(device.launches_of("_decode"), 48);
  EXPECT_EQ(device.launches_of("_decode_combine"), 48);
  EXPECT_EQ(c.graph_replays, 6);
  EXPECT_EQ(device.gemms(), 21 + 8 * (34 - 6) + 6);
}

class CudaKvCacheEmuGemma2 : public ::testing::Test {
protected:
  void SetUp() override {
    file_ = std::make_unique<edg::ModelFile>(edg::ModelFile::load(model("gemma2_f32")));
    weights_.bind(file_->model(), {fixture("gemma2_gqa_sliding") + "/model.safetensors"});
    exec_ = std::make_unique<edg::cuda::CudaExecutor>(*file_, weights_, device_);
  }
  edg::cuda_emu::EmuDevice device_;
  std::unique_ptr<edg::ModelFile> file_;
  edg::WeightStore weights_;
  std::unique_ptr<edg::cuda::CudaExecutor> exec_;
};

/// Greedy tokens of `steps` steps of a session.
std::vector<std::vector<int32_t>> run_session(edg::DecodeSession &s, int steps) {
  std::vector<std::vector<int32_t>> out;
  for (int i = 0; i < steps; ++i) {
    out.push_back(s.greedy_tokens());
    if (i + 1 < steps)
      s.feed(s.greedy_tokens());
  }
  return out;
}

// Left padding (prompts of 5 and 2 tokens) and the window: the device
// session and the CPU session pick the same tokens.
TEST_F(CudaKvCacheEmuGemma2, DecodeSessionMatchesCpuOnPaddedBatch) {
  edg::Model m = edg::Model::load(model("gemma2_f32"));
  edg::cpu::Executor cpu(*file_, weights_);
  const std::vector<edg::TokenIds> prompts = {{2, 17, 45, 99, 120}, {2, 61}};
  edg::DecodeSession dev(m, cpu, exec_.get(), prompts, 1, 5, /*greedy=*/true);
  edg::DecodeSession host(m, cpu, nullptr, prompts, 1, 5, /*greedy=*/true);
  ASSERT_TRUE(dev.on_device());
  ASSERT_FALSE(host.on_device());
  EXPECT_EQ(run_session(dev, 5), run_session(host, 5));
  EXPECT_EQ(device_.launches_of("_decode"), 4 * 3);
  // Rows continue rows of their own prompt only (here: one copy each).
  EXPECT_THROW(dev.reorder({1, 0}), edg::Error);
}

/// Beam search (what Model::beam_search runs) over `session`: the best
/// hypothesis per prompt; `moved` counts the steps whose reorder was not
/// the identity.
std::vector<edg::BeamHypothesis> beam_search(edg::DecodeSession &s,
                                             int64_t prompts, int beams,
                                             int64_t vocab, int new_tokens,
                                             int &moved) {
  edg::BeamSearch search(prompts, beams, vocab, new_tokens, /*stops=*/{},
                         /*length_penalty=*/1.0f, /*early_stopping=*/false);
  std::vector<int32_t> next;
  std::vector<int64_t> source_rows;
  moved = 0;
  while (search.step(s.logits().data<float>(), next, source_rows)) {
    for (size_t r = 0; r < source_rows.size(); ++r)
      if (source_rows[r] != int64_t(r)) {
        ++moved;
        break;
      }
    s.reorder(source_rows);
    s.feed(next);
  }
  return search.best();
}

/// Beam search on the device (its KV cache gathers the surviving beams'
/// rows between steps, CudaExecutor::reorder_rows) against the same search
/// on the CPU executor: the same tokens, scores within 1e-4.
void expect_device_beams_match_cpu(const std::string &bin,
                                   const std::string &dir, int layers,
                                   const std::vector<edg::TokenIds> &prompts) {
  edg::cuda_emu::EmuDevice device;
  edg::ModelFile file = edg::ModelFile::load(model(bin));
  edg::WeightStore weights;
  weights.bind(file.model(), {fixture(dir) + "/model.safetensors"});
  edg::cuda::CudaExecutor exec(file, weights, device);
  edg::cpu::Executor cpu(file, weights);
  edg::Model m = edg::Model::load(model(bin));
  const int beams = 2, new_tokens = 6; // 4 rows: the compiled --max-batch
  const int64_t P = int64_t(prompts.size());
  edg::DecodeSession dev(m, cpu, &exec, prompts, beams, new_tokens, false);
  edg::DecodeSession host(m, cpu, nullptr, prompts, beams, new_tokens, false);
  ASSERT_TRUE(dev.on_device());
  int moved_dev = 0, moved_host = 0;
  auto got = beam_search(dev, P, beams, m.vocab_size(), new_tokens, moved_dev);
  auto want = beam_search(host, P, beams, m.vocab_size(), new_tokens, moved_host);
  EXPECT_GT(moved_host, 0) << "no step reordered the beams: nothing tested";
  EXPECT_EQ(moved_dev, moved_host);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].tokens, want[i].tokens) << "prompt " << i;
    EXPECT_NEAR(got[i].score, want[i].score, 1e-4) << "prompt " << i;
  }
  EXPECT_GT(device.launches_of("_decode"), 0);
  // Per reordering step one gather per cache buffer: k, v, pos and valid
  // of each self-attention layer (cross-attention's keys never move).
  EXPECT_EQ(device.launches_of("edg_gather_rows"), moved_dev * 4 * layers);
}

// Gemma 2, left padding (prompts of 5 and 2 tokens) and a sliding window
// (4) shorter than prompt + new tokens.
TEST(CudaKvCacheEmu, Gemma2BeamSearchMatchesCpu) {
  expect_device_beams_match_cpu("gemma2_f32", "gemma2_gqa_sliding", 3,
                                {{2, 17, 45, 99, 120}, {2, 61}});
}

// T5Gemma: the beams of a prompt share its encoder states and
// cross-attention K/V (request constants); only self-attention rows move.
TEST(CudaKvCacheEmu, T5GemmaBeamSearchMatchesCpu) {
  expect_device_beams_match_cpu("t5gemma_balanced_f32", "t5gemma_balanced", 3,
                                {{2, 17, 45, 99, 120}, {5, 61, 7}});
}

// bf16: the cached steps (append + split-K decode kernels) track the
// uncached forward over the whole sequence (the forward attention kernel);
// the two differ only in accumulation order and where P is rounded, which
// moved one step's logits by 9.3e-5 (relative) on the emulator. (bf16 greedy tokens need not equal the fp32 HF ones:
// the logits are 5e-2 off HF already, CudaExecutorEmu.Gemma2Bf16StaysNearHF.)
TEST(CudaKvCacheEmu, Bf16CachedStepsTrackUncachedForward) {
  edg::cuda_emu::EmuDevice device;
  edg::ModelFile file = edg::ModelFile::load(model("gemma2_bf16"));
  edg::WeightStore weights;
  weights.bind(file.model(), {fixture("gemma2_gqa_sliding") + "/model.safetensors"});
  edg::cuda::CudaExecutor exec(file, weights, device);
  std::vector<int32_t> seq = {2, 17, 45, 99, 120};
  auto cache = exec.new_cache(1, 12);
  for (int step = 0; step < 5; ++step) {
    const int64_t n = int64_t(seq.size());
    edg::Tensor x(edg::DType::i32, {1, n}), p = edg::fixture::arange_positions(1, n),
        v = edg::fixture::ones_u8(1, n);
    std::copy(seq.begin(), seq.end(), x.data<int32_t>());
    edg::Tensor full = std::move(exec.run("forward", {&x, &p, &v}).at(0));
    edg::Tensor got;
    if (step == 0) {
      got = std::move(exec.run("forward", {&x, &p, &v}, *cache).at(0));
      EXPECT_EQ(got.dim(1), 1); // a cached run downloads the last position
    } else {
      edg::Tensor id(edg::DType::i32, {1, 1}), pos(edg::DType::i32, {1, 1}),
          one = edg::fixture::ones_u8(1, 1);
      id.data<int32_t>()[0] = seq.back();
      pos.data<int32_t>()[0] = int32_t(n - 1);
      got = std::move(exec.run("forward", {&id, &pos, &one}, *cache).at(0));
    }
    const int64_t V = full.dim(2);
    const float *want = full.data<float>() + (n - 1) * V;
    const float *have = got.data<float>() + (got.dim(1) - 1) * V;
    double err = 0, scale = 1;
    int32_t best = 0;
    for (int64_t i = 0; i < V; ++i) {
      err = std::max(err, double(std::fabs(have[i] - want[i])));
      scale = std::max(scale, double(std::fabs(want[i])));
      if (want[i] > want[best])
        best = int32_t(i);
    }
    EXPECT_LT(err / scale, 1e-3) << "step " << step; // measured <= 9.3e-5
    seq.push_back(best);
  }
  EXPECT_EQ(cache->decode_launches(), 4 * 3);
}

// The runtime's grids for the cache kernels (launch_info.h).
TEST(CudaKvCacheGrid, AppendAndDecode) {
  edg::cuda::LaunchInfo k;
  k.signature = "attention:mask=causal;window=0;H=8;K=4;hd=256;scale=1;cap=1";
  k.kind = "attention_append";
  edg::cuda::GridShape g = edg::cuda::launch_grid(k, {2, 7, 20});
  EXPECT_EQ(g.x, 7u); // new rows
  EXPECT_EQ(g.y, 2u); // batch
  EXPECT_EQ(g.z, 1u);
  k.kind = "attention_decode";
  k.width = 256;
  g = edg::cuda::launch_grid(k, {2, 300, 700});
  EXPECT_EQ(g.x, 3u); // ceil(C / 256) chunks: fixed while the cache fills
  EXPECT_EQ(g.y, 4u); // kv heads
  EXPECT_EQ(g.z, 2u);
  EXPECT_EQ(edg::cuda::signature_field(k, "hd"), 256);
  EXPECT_THROW(edg::cuda::signature_field(k, "kpad"), edg::Error);
}

/// Logits of the last position of each step: a 3-token prompt, then the
/// one-token steps feeding `tokens`, through a new cache.
std::vector<std::vector<float>> cached_logits(edg::cuda::CudaExecutor &exec,
                                              const std::vector<int32_t> &tokens) {
  edg::Tensor ids(edg::DType::i32, {1, 3}), pos = edg::fixture::arange_positions(1, 3),
      valid = edg::fixture::ones_u8(1, 3);
  for (int64_t i = 0; i < 3; ++i)
    ids.data<int32_t>()[i] = int32_t(2 + 5 * i);
  auto cache = exec.new_cache(1, 3 + int64_t(tokens.size()));
  auto flat = [](const edg::Tensor &t) {
    return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
  };
  std::vector<std::vector<float>> out = {
      flat(exec.run("forward", {&ids, &pos, &valid}, *cache).at(0))};
  for (size_t i = 0; i < tokens.size(); ++i) {
    edg::Tensor id(edg::DType::i32, {1, 1}), p(edg::DType::i32, {1, 1}),
        one = edg::fixture::ones_u8(1, 1);
    id.data<int32_t>()[0] = tokens[i];
    p.data<int32_t>()[0] = int32_t(3 + i);
    out.push_back(flat(exec.run("forward", {&id, &p, &one}, *cache).at(0)));
  }
  return out;
}

// A replayed step computes exactly what the same launches issued one by one
// compute (the emulated device is deterministic): every position of the
// request, including those past the sliding window.
TEST_F(CudaKvCacheEmuGemma2, GraphReplaysEqualEagerSteps) {
  const std::vector<int32_t> tokens = {7, 30, 11, 64, 5, 90};
  exec_->set_graphs(false);
  auto eager = cached_logits(*exec_, tokens);
  EXPECT_EQ(device_.captures(), 0);
  exec_->set_graphs(true);
  auto graphed = cached_logits(*exec_, tokens);
  EXPECT_EQ(device_.captures(), 1);
  EXPECT_EQ(device_.replays(), 5);
  EXPECT_EQ(graphed, eager);
}

/// A device whose stream capture fails, as a driver might.
class NoCaptureDevice : public edg::cuda_emu::EmuDevice {
public:
  void begin_capture() override {
    throw edg::Error("cuStreamBeginCapture_v2 failed: CUDA_ERROR_NOT_SUPPORTED");
  }
};

// A failing capture is reported once; generation goes on without graphs
// and gives the same logits.
TEST(CudaKvCacheEmu, FailedCaptureFallsBackToEagerSteps) {
  edg::ModelFile file = edg::ModelFile::load(model("gemma2_f32"));
  edg::WeightStore weights;
  weights.bind(file.model(), {fixture("gemma2_gqa_sliding") + "/model.safetensors"});
  edg::cuda_emu::EmuDevice plain;
  NoCaptureDevice failing;
  edg::cuda::CudaExecutor want(file, weights, plain), got(file, weights, failing);
  want.set_graphs(false);
  const std::vector<int32_t> tokens = {7, 30, 11};
  testing::internal::CaptureStderr();
  auto logits = cached_logits(got, tokens);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(logits, cached_logits(want, tokens));
  EXPECT_FALSE(got.graphs());
  EXPECT_NE(err.find("CUDA graph capture failed (cuStreamBeginCapture_v2 failed"),
            std::string::npos) << err;
  EXPECT_EQ(failing.replays(), 0);
}

/// Expects `fn` to throw an edg::Error whose message contains `text`.
template <class F> void expect_error(F fn, const std::string &text) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one containing '" << text << "'";
  } catch (const edg::Error &e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

TEST_F(CudaKvCacheEmuGemma2, CacheLimitsAreChecked) {
  edg::Tensor ids(edg::DType::i32, {1, 3}), pos = edg::fixture::arange_positions(1, 3),
      valid = edg::fixture::ones_u8(1, 3);
  for (int64_t i = 0; i < 3; ++i)
    ids.data<int32_t>()[i] = int32_t(2 + i);
  auto full = exec_->new_cache(1, 3);
  exec_->run("forward", {&ids, &pos, &valid}, *full);
  EXPECT_EQ(full->length(), 3);
  edg::Tensor one(edg::DType::i32, {1, 1}), one_pos(edg::DType::i32, {1, 1}),
      one_valid = edg::fixture::ones_u8(1, 1);
  one.data<int32_t>()[0] = 5;
  one_pos.data<int32_t>()[0] = 3;
  expect_error([&] { exec_->run("forward", {&one, &one_pos, &one_valid}, *full); },
               "exceed the KV cache's capacity of 3");
  auto roomy = exec_->new_cache(1, 8);
  exec_->run("forward", {&ids, &pos, &valid}, *roomy);
  expect_error([&] { exec_->run("forward", {&ids, &pos, &valid}, *roomy); },
               "only the first run, the prefill, may have more than one");
  auto two_rows = exec_->new_cache(2, 8);
  expect_error([&] { exec_->run("forward", {&ids, &pos, &valid}, *two_rows); },
               "batch 1 differs from the KV cache's 2");
}

} // namespace
