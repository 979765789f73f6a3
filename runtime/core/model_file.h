//===- model_file.h - load and verify model.bin -------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Reads a compiled model file into memory and runs the FlatBuffers verifier
// before anything else touches it: a truncated, corrupt or foreign file is
// rejected with a message that says which, never read.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_MODEL_FILE_H
#define EDG_RUNTIME_CORE_MODEL_FILE_H

#include "runtime/schema/edg_model_generated.h"

#include <cstdint>
#include <string>
#include <vector>

namespace edg {

/// Newest model.bin schema this runtime reads (edg_model.fbs).
constexpr uint32_t kSchemaVersion = 1;

class ModelFile {
public:
  /// Throws edg::Error if the file cannot be read, is not a model.bin, fails
  /// verification, has a newer schema, or references values/weights out of
  /// range.
  static ModelFile load(const std::string &path);

  const schema::Model &model() const { return *model_; }
  const std::string &path() const { return path_; }
  /// The entry function called `name`, or null.
  const schema::Function *function(const std::string &name) const;

private:
  void check_indices() const;

  std::string path_;
  std::vector<uint8_t> bytes_;
  const schema::Model *model_ = nullptr;
};

} // namespace edg

#endif // EDG_RUNTIME_CORE_MODEL_FILE_H
