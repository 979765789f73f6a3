//===- ConfigFields.h - typed access to config.json fields ------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// A thin typed view of one JSON object of a config.json, used by
// ModelConfig.cpp. Its point is the error messages: every one names the
// field with its sub-config path ("decoder.head_dim") and says what was
// expected and what was found, so a user can fix the file without reading
// EDG's source. Internal to EDGFrontend.
//===----------------------------------------------------------------------===//
#ifndef EDG_FRONTEND_CONFIGFIELDS_H
#define EDG_FRONTEND_CONFIGFIELDS_H

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

} // namespace mlir::edg

#endif // EDG_FRONTEND_CONFIGFIELDS_H
