//===- CheckpointCheck.cpp - compare a checkpoint with the module -*- C++ -*-=//
// SPDX-License-Identifier: Apache-2.0
//
// safetensors layout: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]},
// "__metadata__": {...}}, then the data section. The header is validated
// strictly (offsets inside the data section, byte counts matching dtype and
// shape), because a truncated download or a non-safetensors file should be
// reported here rather than at bind time. A sharded checkpoint's index is
// {"metadata": {...}, "weight_map": {"name":
// "model-00001-of-00004.safetensors"}} with shards beside it.
//===----------------------------------------------------------------------===//
#include "frontend/CheckpointCheck.h"
#include "frontend/ConfigFields.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <map>

using namespace mlir::edg;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

/// The safetensors reference implementation refuses headers above 100 MB.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// One tensor of a checkpoint header.
struct TensorInfo {
  std::string dtype;
  llvm::SmallVector<int64_t, 2> shape;
  std::string file; // the shard that holds it
};

/// name -> tensor; std::map keeps reports in a stable (sorted) order.
using TensorTable = std::map<std::string, TensorInfo>;

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? ", " : "") + std::to_string(d);
  return s + "]";
}

/// Bytes per element of a safetensors dtype; 0 if unknown.
uint64_t elementBytes(StringRef dtype) {
  return llvm::StringSwitch<uint64_t>(dtype)
      .Cases("F64", "I64", "U64", 8)
      .Cases("F32", "I32", "U32", 4)
      .Cases("F16", "BF16", "I16", "U16", 2)
      .Cases("BOOL", "I8", "U8", "F8_E4M3", "F8_E5M2", 1)
      .Default(0);
}

bool isFloat(StringRef dtype) {
  return dtype == "F64" || dtype == "F32" || dtype == "F16" || dtype == "BF16";
}

Expected<json::Value> parseJson(StringRef text, StringRef what) {
  Expected<json::Value> v = json::parse(text);
  if (!v)
    return fail(what + " is " + describeJsonError(v.takeError()));
  return v;
}

//===----------------------------------------------------------------------===//
// Reading headers
//===----------------------------------------------------------------------===//

/// Validates one header entry and returns its tensor; `dataBytes` is the
/// size of the data section.
Expected<TensorInfo> readEntry(StringRef name, const json::Value &value,
                               uint64_t dataBytes) {
  const json::Object *obj = value.getAsObject();
  std::optional<StringRef> dtype = obj ? obj->getString("dtype") : std::nullopt;
  const json::Array *shape = obj ? obj->getArray("shape") : nullptr;
  const json::Array *offsets = obj ? obj->getArray("data_offsets") : nullptr;
  if (!dtype || !shape || !offsets || offsets->size() != 2)
    return fail("header entry " + name +
                " lacks a dtype, shape or [begin, end] data_offsets");
  TensorInfo info;
  info.dtype = dtype->str();
  uint64_t elements = 1;
  for (const json::Value &d : *shape) {
    std::optional<int64_t> dim = d.getAsInteger();
    if (!dim || *dim < 0)
      return fail("header entry " + name + " has a malformed shape");
    info.shape.push_back(*dim);
    elements *= static_cast<uint64_t>(*dim);
  }
  std::optional<int64_t> begin = (*offsets)[0].getAsInteger();
  std::optional<int64_t> end = (*offsets)[1].getAsInteger();
  if (!begin || !end || *begin < 0 || *end < *begin ||
      static_cast<uint64_t>(*end) > dataBytes)
    return fail(llvm::formatv("tensor {0} has data_offsets outside the "
                              "{1}-byte data section: the file is truncated",
                              name, dataBytes));
  uint64_t bytes = elementBytes(info.dtype);
  if (bytes == 0)
    return fail("tensor " + name + " has unknown dtype " + info.dtype);
  if (static_cast<uint64_t>(*end - *begin) != elements * bytes)
    return fail(llvm::formatv("tensor {0} spans {1} bytes but {2} {3} "
                              "needs {4}",
                              name, *end - *begin, info.dtype,
                              shapeString(info.shape), elements * bytes));
  return info;
}

/// Reads the tensors of one .safetensors file's header into `table`.
Error readSafetensors(StringRef path, TensorTable &table) {
  uint64_t fileBytes = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, fileBytes))
    return fail("cannot read the file: " + ec.message());
  if (fileBytes < 8)
    return fail(llvm::formatv("the file has {0} bytes, too short for a "
                              "safetensors header",
                              fileBytes));
  auto lengthBuf = llvm::MemoryBuffer::getFileSlice(path, 8, 0);
  if (!lengthBuf)
    return fail("cannot read the file: " + lengthBuf.getError().message());
  uint64_t headerBytes =
      llvm::support::endian::read64le((*lengthBuf)->getBufferStart());
  if (headerBytes < 2 || headerBytes > kMaxHeaderBytes)
    return fail(llvm::formatv("header length {0} is implausible: not a "
                              "safetensors file",
                              headerBytes));
  if (headerBytes > fileBytes - 8)
    return fail(
        llvm::formatv("header length {0} exceeds the file size ({1} "
                      "bytes): the file is truncated or not safetensors",
                      headerBytes, fileBytes));
  auto headerBuf = llvm::MemoryBuffer::getFileSlice(path, headerBytes, 8);
  if (!headerBuf)
    return fail("cannot read the file: " + headerBuf.getError().message());
  Expected<json::Value> header =
      parseJson((*headerBuf)->getBuffer(), "the safetensors header");
  if (!header)
    return header.takeError();
  const json::Object *root = header->getAsObject();
  if (!root)
    return fail("the safetensors header is not a JSON object");

  uint64_t dataBytes = fileBytes - 8 - headerBytes;
  for (const auto &[key, value] : *root) {
    if (key == "__metadata__")
      continue;
    Expected<TensorInfo> info = readEntry(key, value, dataBytes);
    if (!info)
      return info.takeError();
    info->file = path.str();
    table[key.str()] = std::move(*info);
  }
  return Error::success();
}

} // namespace

//===----------------------------------------------------------------------===//
// checkCheckpoint
//===----------------------------------------------------------------------===//

std::vector<CheckpointProblem>
mlir::edg::checkCheckpoint(StringRef path,
                           llvm::ArrayRef<DeclaredWeight> weights,
                           llvm::ArrayRef<DeclaredWeight> tiedAliases) {
  std::vector<CheckpointProblem> problems;
  auto fatal = [&](StringRef file, Error err) {
    problems.push_back({file.str(), llvm::toString(std::move(err))});
    return problems;
  };

  // 1. What the checkpoint holds.
  TensorTable tensors;
  if (!path.ends_with(".json")) {
    if (Error e = readSafetensors(path, tensors))
      return fatal(path, std::move(e));
  } else {
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
    if (!buffer)
      return fatal(
          path, fail("cannot read the file: " + buffer.getError().message()));
    Expected<json::Value> index =
        parseJson((*buffer)->getBuffer(), "the index");
    if (!index)
      return fatal(path, index.takeError());
    const json::Object *root = index->getAsObject();
    const json::Object *map = root ? root->getObject("weight_map") : nullptr;
    if (!map)
      return fatal(path, fail("the index has no 'weight_map' object"));

    // Read every shard once; keep only what the weight map points at, as
    // HF's loader does.
    std::map<std::string, std::string> wanted; // tensor -> shard file name
    for (const auto &[key, value] : *map) {
      std::optional<StringRef> shard = value.getAsString();
      if (!shard)
        return fatal(path, fail("weight_map entry " + StringRef(key) +
                                " is not a file name"));
      wanted[key.str()] = shard->str();
    }
    std::map<std::string, TensorTable> shards;
    for (const auto &[key, shard] : wanted) {
      if (shards.count(shard))
        continue;
      llvm::SmallString<256> shardPath = llvm::sys::path::parent_path(path);
      llvm::sys::path::append(shardPath, shard);
      if (Error e = readSafetensors(shardPath, shards[shard]))
        return fatal(shardPath, std::move(e));
    }
    for (const auto &[key, shard] : wanted) {
      TensorTable &table = shards[shard];
      auto it = table.find(key);
      if (it == table.end()) {
        problems.push_back({path.str(), "the index maps tensor " + key +
                                            " to " + shard +
                                            ", which does not hold it"});
        continue;
      }
      tensors[key] = it->second;
    }
  }

  // 2. Match by symbol name or HF key; tied heads may be present.
  llvm::StringMap<const DeclaredWeight *> byKey;
  for (const DeclaredWeight &w : tiedAliases) {
    byKey[w.hfKey] = &w;
    byKey[w.name] = &w;
  }
  for (const DeclaredWeight &w : weights) {
    byKey[w.hfKey] = &w;
    byKey[w.name] = &w;
  }
  llvm::DenseSet<const DeclaredWeight *> found;
  for (const auto &[key, info] : tensors) {
    auto it = byKey.find(key);
    if (it == byKey.end()) {
      problems.push_back({info.file, "unexpected tensor " + key + " " +
                                         shapeString(info.shape)});
      continue;
    }
    const DeclaredWeight *w = it->second;
    found.insert(w);
    if (llvm::ArrayRef<int64_t>(info.shape) !=
        llvm::ArrayRef<int64_t>(w->shape))
      problems.push_back({info.file, "tensor " + key + " has shape " +
                                         shapeString(info.shape) +
                                         ", expected " +
                                         shapeString(w->shape)});
    if (!isFloat(info.dtype))
      problems.push_back({info.file, "tensor " + key + " has dtype " +
                                         info.dtype +
                                         "; a weight must be floating-point"});
  }
  for (const DeclaredWeight &w : weights)
    if (!found.contains(&w))
      problems.push_back({path.str(), "missing tensor " + w.hfKey + " " +
                                          shapeString(w.shape)});
  return problems;
}
