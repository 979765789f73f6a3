//===- weights.cc - bind model weights from checkpoints -----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See weights.h. Fresh initialisers draw from a counter-based stream seeded
// per weight (seed, index), so the result does not depend on binding order.
//===----------------------------------------------------------------------===//
#include "runtime/core/weights.h"

#include "runtime/core/safetensors.h"
#include "runtime/core/status.h"

#include <random>
#include <sstream>

namespace edg {

namespace {
std::vector<int64_t> manifest_shape(const schema::Weight &w) {
  std::vector<int64_t> shape;
  if (w.shape())
    shape.assign(w.shape()->begin(), w.shape()->end());
  return shape;
}

/// Finds `name` in the first checkpoint that has it.
const Checkpoint *find(const std::vector<Checkpoint> &cks,
                       const std::string &name) {
  for (const Checkpoint &ck : cks)
    if (ck.contains(name))
      return &ck;
  return nullptr;
}

void fill_fresh(const schema::Weight &w, uint64_t seed, uint64_t index,
                Tensor &out) {
  float *data = out.data<float>();
  switch (w.init()) {
  case schema::InitKind::zeros:
    std::fill(data, data + out.numel(), 0.0f);
    return;
  case schema::InitKind::ones:
    std::fill(data, data + out.numel(), 1.0f);
    return;
  case schema::InitKind::normal: {
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + index);
    std::normal_distribution<float> dist(0.0f, w.init_stddev());
    for (int64_t i = 0; i < out.numel(); ++i)
      data[i] = dist(rng);
    return;
  }
  case schema::InitKind::none:
    break;
  }
}
} // namespace

void WeightStore::bind(const schema::Model &model,
                       const std::vector<std::string> &paths, uint64_t seed) {
  std::vector<Checkpoint> checkpoints;
  for (const std::string &p : paths)
    checkpoints.push_back(Checkpoint::open(p));

  std::vector<Tensor> tensors;
  std::vector<WeightSource> sources;
  std::ostringstream problems;
  int nproblems = 0;
  const auto *manifest = model.weights();
  size_t n = manifest ? manifest->size() : 0;
  for (size_t i = 0; i < n; ++i) {
    const schema::Weight &w = *manifest->Get(flatbuffers::uoffset_t(i));
    std::string name = w.name()->str();
    std::vector<int64_t> shape = manifest_shape(w);
    Tensor t(DType::f32, shape);
    std::string key = name;
    const Checkpoint *ck = find(checkpoints, name);
    WeightSource source = WeightSource::checkpoint;
    if (!ck && w.init_from()) {
      key = w.init_from()->str();
      ck = find(checkpoints, key);
      source = WeightSource::init_from;
    }
    if (ck) {
      const TensorInfo &info = ck->info(key);
      if (info.shape != shape) {
        problems << "\n  " << key << ": shape " << shape_str(info.shape)
                 << " in " << ck->file_of(key) << ", the model needs "
                 << shape_str(shape)
                 << (key != name ? " (for " + name + ")" : "");
        ++nproblems;
        continue;
      }
      if (info.dtype != DType::f32 && info.dtype != DType::bf16 &&
          info.dtype != DType::f16) {
        problems << "\n  " << key << ": dtype " << dtype_name(info.dtype)
                 << " is not a floating-point weight";
        ++nproblems;
        continue;
      }
      convert_to_f32(info, t.data<float>());
    } else if (w.init() != schema::InitKind::none) {
      fill_fresh(w, seed, i, t);
      source = WeightSource::fresh;
    } else {
      problems << "\n  " << name << ": missing"
               << (w.init_from() ? " (and so is its init_from tensor " +
                                       w.init_from()->str() + ")"
                                 : "");
      ++nproblems;
      continue;
    }
    tensors.push_back(std::move(t));
    sources.push_back(source);
  }
  if (nproblems) {
    std::string files;
    for (const std::string &p : paths)
      files += (files.empty() ? "" : ", ") + p;
    fail("cannot bind weights from ", files.empty() ? "(no checkpoint)" : files,
         ": ", nproblems, " problem", nproblems == 1 ? "" : "s", ":",
         problems.str());
  }
  tensors_ = std::move(tensors);
  sources_ = std::move(sources);
  versions_.assign(tensors_.size(), ++last_version_);
}

int64_t WeightStore::parameter_count() const {
  int64_t total = 0;
  for (const Tensor &t : tensors_)
    total += t.numel();
  return total;
}

} // namespace edg
