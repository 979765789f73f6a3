//===- synthetic_weights.cc - checkpoints for the device benchmarks -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "test/e2e/synthetic_weights.h"

#include "runtime/core/half.h"
#include "runtime/core/status.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

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

} // namespace

void bind_synthetic_weights(WeightStore &weights, const schema::Model &model) {
  const std::string path = write_synthetic_weights(model);
  try {
    weights.bind(model, {path});
  } catch (...) {
    std::remove(path.c_str());
    throw;
  }
  std::remove(path.c_str());
}

} // namespace edg::conformance
