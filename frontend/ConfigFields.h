//===- ConfigFields.h - typed access to config.json fields ------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// A thin typed view of one JSON object of a config.json, used by
// ModelConfig.cpp and StackConfig.cpp. Its point is the error messages: every
// one names the field with its sub-config path ("decoder.head_dim") and says
// what was expected and what was found, so a user can fix the file without
// reading EDG's source. Internal to EDGFrontend.
//===----------------------------------------------------------------------===//
#ifndef EDG_FRONTEND_CONFIGFIELDS_H
#define EDG_FRONTEND_CONFIGFIELDS_H

#include "frontend/ModelConfig.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>

namespace mlir::edg {

/// A one-line error (the caller adds "edg-import: error: <file>: ").
llvm::Error configError(const llvm::Twine &message);

/// "null", "a string", "an object", ... for messages.
llvm::StringRef jsonKindName(const llvm::json::Value &value);

/// Rewrites llvm::json's "[3:5, byte=40]: Expected X" parse error as
/// "invalid JSON at line 3, column 5: Expected X".
std::string describeJsonError(llvm::Error err);

/// Upper bound on every size field. Real models are far below it (V = 256000
/// is the largest); it keeps products such as H*hd and V*d inside int64.
constexpr int64_t kMaxSize = int64_t(1) << 24;

/// Typed fields of one JSON object. Absent fields keep the caller's default
/// (HF's), so defaults live next to the struct they fill.
class ConfigFields {
public:
  /// `prefix` ("", "encoder.", "decoder.") qualifies names in messages.
  ConfigFields(const llvm::json::Object &obj, std::string prefix)
      : obj(obj), prefix(std::move(prefix)) {}

  std::string name(llvm::StringRef key) const { return prefix + key.str(); }
  const llvm::json::Value *get(llvm::StringRef key) const {
    return obj.get(key);
  }
  bool has(llvm::StringRef key) const { return obj.get(key) != nullptr; }
  bool isNull(llvm::StringRef key) const;

  /// "field 'x' must be <expected>, got <kind>".
  llvm::Error typeError(llvm::StringRef key, llvm::StringRef expected) const;

  /// An integer that must be present ("missing required field 'x'").
  llvm::Error requiredInt(llvm::StringRef key, int64_t &out) const;
  /// A size that must be present, > 0 and at most kMaxSize.
  llvm::Error requiredSize(llvm::StringRef key, int64_t &out) const;
  /// An integer (integral JSON numbers such as 256.0 count).
  llvm::Error optionalInt(llvm::StringRef key, int64_t &out) const;
  /// A number; null is a type error.
  llvm::Error optionalDouble(llvm::StringRef key, double &out) const;
  /// A number, or null which clears `out` (the soft-caps).
  llvm::Error nullableDouble(llvm::StringRef key,
                             std::optional<double> &out) const;
  llvm::Error optionalBool(llvm::StringRef key, bool &out) const;
  /// A string; null leaves `out` unset like absence does.
  llvm::Error optionalString(llvm::StringRef key,
                             std::optional<std::string> &out) const;
  /// A token id: an integer, a list whose first entry counts (as for
  /// `eos_token_id: [1, 107]`), or null/empty (no such token).
  llvm::Error tokenId(llvm::StringRef key, std::optional<int64_t> &out) const;

  /// "field 'x' must be > 0, got v" unless value > 0.
  llvm::Error positive(llvm::StringRef key, double value) const;

private:
  const llvm::json::Object &obj;
  std::string prefix;
};

/// Reads one stack (a Gemma 2 config, or a T5Gemma sub-config) with HF's
/// defaults; `vocabOverride` is T5Gemma's top-level vocab_size, which HF
/// pushes into both sub-configs. Implemented in StackConfig.cpp.
llvm::Expected<StackConfig>
readStackConfig(const ConfigFields &fields,
                std::optional<int64_t> vocabOverride);

} // namespace mlir::edg

#endif // EDG_FRONTEND_CONFIGFIELDS_H
