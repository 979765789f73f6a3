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
  Tensor &get(int32_t index) { return tensors_.at(size_t(index)); }
  size_t size() const { return tensors_.size(); }
  WeightSource source(int32_t index) const { return sources_.at(size_t(index)); }
  /// Total number of parameters (elements).
  int64_t parameter_count() const;

private:
  std::vector<Tensor> tensors_;
  std::vector<WeightSource> sources_;
};

} // namespace edg

#endif // EDG_RUNTIME_CORE_WEIGHTS_H
