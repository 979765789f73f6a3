//===- safetensors.h - Read and write safetensors checkpoints ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// SafetensorsFile maps one `.safetensors` file read-only and validates all of
// it up front (header length, JSON, every entry's dtype/shape/offsets, bounds
// and overlaps), so that later accessors can hand out raw pointers without
// re-checking. Checkpoint adds the sharded form (`*.safetensors.index.json`
// with a `weight_map`). write_safetensors writes f32/bf16/f16 tensors
// atomically (temp file + fsync + rename), so a crash never leaves a
// half-written checkpoint under the final name.
//
// File format: u64 little-endian header length N, N bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {}},
// then the data section; offsets are relative to the data section.
//
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_SAFETENSORS_H
#define EDG_RUNTIME_CORE_SAFETENSORS_H

#include "runtime/core/tensor.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace edg {

/// One tensor of a mapped file. `data` points into the mapping and stays valid
/// while the owning SafetensorsFile (or Checkpoint) lives; it may be unaligned.
struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t nbytes = 0;
  int64_t numel() const;
};

/// Headers larger than this are rejected as hostile (real ones are < 1 MB).
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100u * 1000u * 1000u;

class SafetensorsFile {
public:
  /// Maps and validates `path`. Throws edg::Error naming the file and the
  /// problem (short file, bad header length, bad JSON, bad entry, ...).
  static SafetensorsFile open(const std::string &path);

  SafetensorsFile(SafetensorsFile &&other) noexcept;
  SafetensorsFile &operator=(SafetensorsFile &&other) noexcept;
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;
  ~SafetensorsFile();

  const std::string &path() const { return path_; }
  /// Tensor names, sorted.
  std::vector<std::string> names() const;
  size_t size() const { return tensors_.size(); }
  bool contains(const std::string &name) const;
  /// Throws edg::Error naming the tensor and file if absent.
  const TensorInfo &info(const std::string &name) const;
  /// Copies a F32/BF16/F16 tensor out as f32; other dtypes throw.
  std::vector<float> read_f32(const std::string &name) const;
  /// String-valued entries of `__metadata__` (other values are skipped).
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }

private:
  SafetensorsFile() = default;
  void unmap();

  std::string path_;
  void *map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

/// Converts a F32/BF16/F16 tensor to f32; `out` holds info.numel() floats.
/// Throws edg::Error for other dtypes.
void convert_to_f32(const TensorInfo &info, float *out);

/// A whole checkpoint: either one `.safetensors` file or a sharded
/// `model.safetensors.index.json` whose `weight_map` names shard files relative
/// to the index's folder. A directory path is accepted too: it opens
/// `model.safetensors.index.json` there if present, else `model.safetensors`.
class Checkpoint {
public:
  static Checkpoint open(const std::string &path);

  /// Union of all shards' tensor names, sorted.
  std::vector<std::string> names() const;
  size_t size() const { return where_.size(); }
  bool contains(const std::string &name) const;
  const TensorInfo &info(const std::string &name) const;
  std::vector<float> read_f32(const std::string &name) const;
  /// Path of the shard that holds `name`.
  const std::string &file_of(const std::string &name) const;
  const std::vector<SafetensorsFile> &shards() const { return shards_; }

private:
  std::string path_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, size_t> where_; // tensor name -> index in shards_
};

/// A tensor to write: `data` holds prod(shape) f32 values that are stored as
/// `dtype` (F32, BF16 or F16; narrowing rounds to nearest even).
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  const float *data = nullptr;
  DType dtype = DType::f32;
};

/// Writes `tensors` (in the given order) to `path` atomically: the bytes go to
/// `<path>.tmp.<pid>`, which is fsync'ed and renamed over `path`. The header is
/// space-padded so the data section starts 8-byte aligned. Throws edg::Error
/// (and removes the temp file) on invalid input or I/O failure.
void write_safetensors(const std::string &path,
                       const std::vector<NamedTensor> &tensors,
                       const std::map<std::string, std::string> &metadata = {});

} // namespace edg

#endif // EDG_RUNTIME_CORE_SAFETENSORS_H
