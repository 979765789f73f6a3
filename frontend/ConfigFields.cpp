//===- ConfigFields.cpp - typed access to config.json fields ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Implements ConfigFields. HF writes integers as JSON integers but Python
// may write 256.0 for an int field after arithmetic, so integral numbers are
// accepted as integers (llvm::json::Value::getAsInteger already does this);
// booleans are never numbers and strings are never parsed as numbers.
//===----------------------------------------------------------------------===//
#include "frontend/ConfigFields.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace mlir::edg;
using llvm::Error;
using llvm::StringRef;
namespace json = llvm::json;

Error mlir::edg::configError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

StringRef mlir::edg::jsonKindName(const json::Value &v) {
  switch (v.kind()) {
  case json::Value::Null:
    return "null";
  case json::Value::Boolean:
    return "a boolean";
  case json::Value::Number:
    return "a number";
  case json::Value::String:
    return "a string";
  case json::Value::Array:
    return "an array";
  case json::Value::Object:
    return "an object";
  }
  return "a value";
}

std::string mlir::edg::describeJsonError(Error err) {
  std::string text = llvm::toString(std::move(err));
  unsigned line = 0, col = 0, byte = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "[%u:%u, byte=%u]: %n", &line, &col, &byte,
                  &consumed) == 3 &&
      consumed > 0)
    return llvm::formatv("invalid JSON at line {0}, column {1}: {2}", line, col,
                         StringRef(text).drop_front(consumed));
  return "invalid JSON: " + text;
}

//===----------------------------------------------------------------------===//
// ConfigFields
//===----------------------------------------------------------------------===//

bool ConfigFields::isNull(StringRef key) const {
  const json::Value *v = obj.get(key);
  return v && v->kind() == json::Value::Null;
}

Error ConfigFields::typeError(StringRef key, StringRef expected) const {
  return configError("field '" + name(key) + "' must be " + expected +
                     ", got " + jsonKindName(*obj.get(key)));
}

Error ConfigFields::requiredInt(StringRef key, int64_t &out) const {
  if (!has(key))
    return configError("missing required field '" + name(key) + "'");
  return optionalInt(key, out);
}

Error ConfigFields::requiredSize(StringRef key, int64_t &out) const {
  if (Error e = requiredInt(key, out))
    return e;
  if (Error e = positive(key, out))
    return e;
  if (out > kMaxSize)
    return configError(
        llvm::formatv("field '{0}' is implausibly large ({1} > {2})", name(key),
                      out, kMaxSize));
  return Error::success();
}

Error ConfigFields::optionalInt(StringRef key, int64_t &out) const {
  const json::Value *v = get(key);
  if (!v)
    return Error::success();
  std::optional<int64_t> i = v->getAsInteger();
  if (!i)
    return typeError(key, "an integer");
  out = *i;
  return Error::success();
}

Error ConfigFields::optionalDouble(StringRef key, double &out) const {
  const json::Value *v = get(key);
  if (!v)
    return Error::success();
  std::optional<double> d = v->getAsNumber();
  if (!d)
    return typeError(key, "a number");
  out = *d;
  return Error::success();
}

Error ConfigFields::nullableDouble(StringRef key,
                                   std::optional<double> &out) const {
  if (!has(key))
    return Error::success();
  if (isNull(key)) {
    out.reset();
    return Error::success();
  }
  double d = 0;
  if (Error e = optionalDouble(key, d))
    return e;
  out = d;
  return Error::success();
}

Error ConfigFields::optionalBool(StringRef key, bool &out) const {
  const json::Value *v = get(key);
  if (!v)
    return Error::success();
  std::optional<bool> b = v->getAsBoolean();
  if (!b)
    return typeError(key, "a boolean");
  out = *b;
  return Error::success();
}

Error ConfigFields::optionalString(StringRef key,
                                   std::optional<std::string> &out) const {
  const json::Value *v = get(key);
  if (!v || v->kind() == json::Value::Null)
    return Error::success();
  std::optional<StringRef> s = v->getAsString();
  if (!s)
    return typeError(key, "a string");
  out = s->str();
  return Error::success();
}

Error ConfigFields::tokenId(StringRef key, std::optional<int64_t> &out) const {
  const json::Value *v = get(key);
  if (!v)
    return Error::success();
  if (const json::Array *a = v->getAsArray()) {
    if (a->empty()) {
      out.reset();
      return Error::success();
    }
    v = &a->front();
  }
  if (v->kind() == json::Value::Null) {
    out.reset();
    return Error::success();
  }
  std::optional<int64_t> i = v->getAsInteger();
  if (!i)
    return typeError(key, "an integer or a list of integers");
  out = *i;
  return Error::success();
}

Error ConfigFields::positive(StringRef key, double value) const {
  if (value > 0)
    return Error::success();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format("%g", value);
  return configError("field '" + name(key) + "' must be > 0, got " + os.str());
}
