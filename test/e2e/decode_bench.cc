//===- decode_bench.cc - decode tokens/s of the CUDA executor ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "test/e2e/decode_bench.h"

#include "runtime/core/half.h"
#include "runtime/core/model_file.h"
#include "runtime/core/sampling.h"
#include "runtime/core/status.h"
#include "runtime/core/weights.h"
#include "runtime/cuda/cuda_executor.h"
#include "test/e2e/fixture_io.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

namespace edg::conformance {

namespace {

/// Writes every weight of `model` as bf16 to a fresh temporary safetensors
/// file (header: {"name": {"dtype", "shape", "data_offsets"}}, 8-byte
/// little-endian header length first); returns its path.
std::string write_synthetic_weights(const schema::Model &model) {
  const char *dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/edg-bench-XXXXXX";
  int fd = mkstemp(path.data());
  check(fd >= 0, "cannot create a temporary file in ", path);
  close(fd);
  std::string header = "{";
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const schema::Weight *w : *model.weights()) {
    uint64_t n = 1;
    std::string shape;
    if (w->shape())
      for (int64_t d : *w->shape()) {
        n *= uint64_t(d);
        shape += (shape.empty() ? "" : ",") + std::to_string(d);
      }
    header += (header.size() > 1 ? "," : "") + std::string("\"") +
              w->name()->str() + "\":{\"dtype\":\"BF16\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + 2 * n) + "]}";
    offset += 2 * n;
    sizes.push_back(n);
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary);
  const uint64_t len = header.size(); // little-endian hosts only
  out.write(reinterpret_cast<const char *>(&len), 8);
  out << header;
  // One block of values in [-0.05, 0.05], repeated.
  std::vector<uint16_t> block(1 << 20);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-0.05f, 0.05f);
  for (uint16_t &h : block)
    h = f32_to_bf16(dist(rng));
  for (uint64_t n : sizes)
    for (uint64_t done = 0; done < n;) {
      uint64_t m = std::min<uint64_t>(n - done, block.size());
      out.write(reinterpret_cast<const char *>(block.data()), std::streamsize(2 * m));
      done += m;
    }
  check(bool(out), "cannot write ", path);
  return path;
}

/// The first maximum of the last row of logits [1, L, V].
int32_t argmax_last(const Tensor &logits) {
  const int64_t L = logits.dim(1), V = logits.dim(2);
  return argmax(logits.data<float>() + (L - 1) * V, V);
}

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
  const std::string ckpt = write_synthetic_weights(m);
  try {
    weights.bind(m, {ckpt});
  } catch (...) {
    std::remove(ckpt.c_str());
    throw;
  }
  std::remove(ckpt.c_str());
  cuda::CudaExecutor exec(file, weights, device);
  const bool encdec = exec.has_function("encode");
  const int64_t capacity = encdec ? 1 + tokens : prompt + tokens;
  check(capacity <= m.max_seq() && prompt <= m.max_seq(), "bench: ", prompt,
        " + ", tokens, " positions exceed the compiled maximum ", m.max_seq());
  auto cache = exec.new_cache(1, capacity);
  const int64_t vocab = m.vocab_size();
  Tensor x = ids_of(prompt, 2, vocab), xp = fixture::arange_positions(1, prompt),
         xv = fixture::ones_u8(1, prompt);
  Tensor memory;
  int32_t next = int32_t(m.bos_token_id());
  int32_t position = 0;
  if (encdec) {
    memory = std::move(exec.run("encode", {&x, &xp, &xv}).at(0));
  } else {
    next = argmax_last(exec.run("forward", {&x, &xp, &xv}, *cache).at(0));
    position = int32_t(prompt);
  }
  DecodeBench r;
  r.prompt = prompt;
  r.tokens = tokens;
  Tensor id(DType::i32, {1, 1}), pos(DType::i32, {1, 1}),
      valid = fixture::ones_u8(1, 1);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < tokens; ++i, ++position) {
    id.data<int32_t>()[0] = next;
    pos.data<int32_t>()[0] = position;
    Tensor logits =
        encdec ? std::move(exec.run("decode", {&id, &pos, &valid, &memory, &xv}, *cache).at(0))
               : std::move(exec.run("forward", {&id, &pos, &valid}, *cache).at(0));
    next = argmax_last(logits);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.decode_launches = cache->decode_launches();
  return r;
}

} // namespace edg::conformance
