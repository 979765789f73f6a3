//===- weights.h - bind model weights from checkpoints ------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The weight store holds every parameter of the manifest as fp32 (CPU runs in
// fp32; bf16/f16 checkpoints are widened at bind time). Binding resolves each
// manifest entry in order: the tensor of that name in a checkpoint, else the
// tensor its `init_from` names (the paper's encoder-decoder initialisation
// from a decoder-only checkpoint), else its fresh initialiser. Every problem
// is collected and reported at once.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_WEIGHTS_H
#define EDG_RUNTIME_CORE_WEIGHTS_H

#include "runtime/core/model_file.h"
#include "runtime/core/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace edg {

/// Where each bound weight came from, for reports.
enum class WeightSource { checkpoint, init_from, fresh };

class WeightStore {
public:
  /// Binds every weight of `model` from the checkpoints (single safetensors
  /// files or sharded index jsons; earlier paths win on duplicate names).
  /// `seed` drives fresh initialisers. Throws edg::Error listing every
  /// missing or mis-shaped tensor.
  void bind(const schema::Model &model, const std::vector<std::string> &paths,
            uint64_t seed = 0);

  bool bound() const { return !tensors_.empty(); }
  const Tensor &get(int32_t index) const { return tensors_.at(size_t(index)); }
  /// Mutable access (training updates) counts as a change of that weight:
  /// its version() moves on, so caches derived from it are rebuilt. Call it
  /// again for every update rather than keeping the reference.
  Tensor &get(int32_t index) {
    Tensor &t = tensors_.at(size_t(index));
    versions_[size_t(index)] = ++last_version_;
    return t;
  }
  /// Changes whenever weight `index` may have changed (bind, mutable get), so
  /// that derived data (the runtime's int8 copy of the LM head) can be keyed
  /// by (index, version). Never 0 for a bound weight.
  uint64_t version(int32_t index) const {
    return versions_.at(size_t(index));
  }
  size_t size() const { return tensors_.size(); }
  WeightSource source(int32_t index) const { return sources_.at(size_t(index)); }
  /// Total number of parameters (elements).
  int64_t parameter_count() const;

private:
  std::vector<Tensor> tensors_;
  std::vector<WeightSource> sources_;
  std::vector<uint64_t> versions_;
  uint64_t last_version_ = 0;
};

} // namespace edg

#endif // EDG_RUNTIME_CORE_WEIGHTS_H
