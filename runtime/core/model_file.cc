//===- model_file.cc - load and verify model.bin ------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Verification happens in three layers: the file identifier (is this a
// model.bin at all?), the FlatBuffers verifier (are all offsets inside the
// buffer?), and our own index checks (does every step name values and weights
// that exist?). Only then is the model handed to the executor.
//===----------------------------------------------------------------------===//
#include "runtime/core/model_file.h"

#include "runtime/core/status.h"

#include <fstream>

namespace edg {

ModelFile ModelFile::load(const std::string &path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  check(bool(in), path, ": cannot open the model file");
  std::streamoff size = in.tellg();
  check(size >= 8, path, ": not a model.bin (", size,
        " bytes is too short for a FlatBuffers file)");
  ModelFile file;
  file.path_ = path;
  file.bytes_.resize(size_t(size));
  in.seekg(0);
  in.read(reinterpret_cast<char *>(file.bytes_.data()), size);
  check(bool(in), path, ": could not read the model file");

  check(flatbuffers::BufferHasIdentifier(file.bytes_.data(),
                                         schema::ModelIdentifier()),
        path, ": not a model.bin (file identifier is not '",
        schema::ModelIdentifier(), "'); was it written by edg-compile?");
  flatbuffers::Verifier verifier(file.bytes_.data(), file.bytes_.size());
  check(schema::VerifyModelBuffer(verifier), path,
        ": model.bin is corrupt or truncated (FlatBuffers verification "
        "failed); recompile it with edg-compile");
  file.model_ = schema::GetModel(file.bytes_.data());
  uint32_t version = file.model_->schema_version();
  check(version >= 1 && version <= kSchemaVersion, path,
        ": model.bin schema version ", version,
        " is not supported by this runtime (reads 1..", kSchemaVersion, ")");
  file.check_indices();
  return file;
}

void ModelFile::check_indices() const {
  size_t nweights = model_->weights() ? model_->weights()->size() : 0;
  check(model_->functions() && model_->functions()->size() > 0, path_,
        ": model.bin has no entry function");
  for (const schema::Function *fn : *model_->functions()) {
    size_t nvalues = fn->values() ? fn->values()->size() : 0;
    auto check_values = [&](const flatbuffers::Vector<int32_t> *ids,
                            const char *what) {
      if (!ids)
        return;
      for (int32_t id : *ids)
        check(id >= 0 && size_t(id) < nvalues, path_, ": function '",
              fn->name()->str(), "' ", what, " refers to value ", id,
              " of ", nvalues, "; the file is corrupt");
    };
    check_values(fn->arguments(), "argument list");
    check_values(fn->results(), "result list");
    if (!fn->steps())
      continue;
    for (const schema::Step *step : *fn->steps()) {
      check_values(step->inputs(), "step input");
      check_values(step->outputs(), "step output");
      if (step->weights())
        for (int32_t w : *step->weights())
          check(w >= 0 && size_t(w) < nweights, path_, ": function '",
                fn->name()->str(), "' refers to weight ", w, " of ",
                nweights, "; the file is corrupt");
    }
  }
}

const schema::Function *ModelFile::function(const std::string &name) const {
  for (const schema::Function *fn : *model_->functions())
    if (fn->name()->str() == name)
      return fn;
  return nullptr;
}

} // namespace edg
