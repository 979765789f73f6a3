//===- decode_bench.cc - decode tokens/s of the CUDA executor ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "test/e2e/decode_bench.h"

#include "runtime/core/model_file.h"
#include "runtime/core/status.h"
#include "runtime/core/weights.h"
#include "runtime/cuda/cuda_executor.h"
#include "test/e2e/fixture_io.h"
#include "test/e2e/synthetic_weights.h"

#include <chrono>
#include <cstdio>

namespace edg::conformance {

namespace {

Tensor ids_of(int64_t n, int32_t first, int64_t vocab) {
  Tensor t(DType::i32, {1, n});
  for (int64_t i = 0; i < n; ++i)
    t.data<int32_t>()[i] = int32_t((first + 7 * i) % vocab);
  return t;
}

} // namespace

DecodeBench bench_decode(const std::string &model_path, cuda::DeviceApi &device,
                         int64_t prompt, int64_t tokens) {
  ModelFile file = ModelFile::load(model_path);
  const schema::Model &m = file.model();
  WeightStore weights;
  bind_synthetic_weights(weights, m);
  cuda::CudaExecutor exec(file, weights, device);
  const bool encdec = exec.has_function("encode");
  const int64_t capacity = encdec ? 1 + tokens : prompt + tokens;
  check(capacity <= m.max_seq() && prompt <= m.max_seq(), "bench: ", prompt,
        " + ", tokens, " positions exceed the compiled maximum ", m.max_seq());
  const int64_t vocab = m.vocab_size();
  Tensor x = ids_of(prompt, 2, vocab), xp = fixture::arange_positions(1, prompt),
         xv = fixture::ones_u8(1, prompt);
  Tensor memory;
  if (encdec)
    memory = std::move(exec.run("encode", {&x, &xp, &xv}).at(0));
  DecodeBench r;
  r.prompt = prompt;
  r.tokens = tokens;
  // One request: the prefill (decoder-only) untimed, then `tokens` timed
  // one-token steps; the same tokens with and without graphs.
  auto request = [&](bool graphs) {
    exec.set_graphs(graphs);
    auto cache = exec.new_cache(1, capacity);
    // Greedy tokens picked on the device, as Model::generate does.
    std::vector<int32_t> next = {int32_t(m.bos_token_id())};
    int32_t position = 0;
    if (!encdec) {
      exec.run("forward", {&x, &xp, &xv}, *cache, &next);
      position = int32_t(prompt);
    }
    Tensor id(DType::i32, {1, 1}), pos(DType::i32, {1, 1}),
        valid = fixture::ones_u8(1, 1);
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < tokens; ++i, ++position) {
      id.data<int32_t>()[0] = next.at(0);
      pos.data<int32_t>()[0] = position;
      if (encdec)
        exec.run("decode", {&id, &pos, &valid, &memory, &xv}, *cache, &next);
      else
        exec.run("forward", {&id, &pos, &valid}, *cache, &next);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.decode_launches = cache->decode_launches();
    r.graph_replays = cache->graph_replays();
    return seconds;
  };
  r.seconds_eager = request(false);
  r.seconds = request(true);
  return r;
}

} // namespace edg::conformance
