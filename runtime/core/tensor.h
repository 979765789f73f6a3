//===- tensor.h - Element types and a small owning tensor -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// DType lists the element types the runtime moves around (the ones safetensors
// checkpoints and model inputs use). Tensor is a deliberately small owning
// buffer: a shape, a dtype and 64-byte aligned, zero-initialised storage with
// type-checked accessors. Views, arenas and strides belong to the executor, not
// here.
//
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_TENSOR_H
#define EDG_RUNTIME_CORE_TENSOR_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edg {

enum class DType { f32, bf16, f16, i32, i64, u8, boolean };

/// Lower-case name used in messages ("f32", "bf16", ...).
const char *dtype_name(DType dt);
/// The safetensors spelling ("F32", "BF16", "F16", "I32", "I64", "U8", "BOOL").
const char *dtype_safetensors_name(DType dt);
/// Bytes per element.
size_t dtype_size(DType dt);
/// Parses a safetensors dtype name; throws edg::Error naming the unknown value.
DType parse_dtype(const std::string &name);

/// Number of elements of `shape`; throws edg::Error on a negative dimension or
/// on int64 overflow (`what` names the tensor in the message).
int64_t shape_numel(const std::vector<int64_t> &shape,
                    const std::string &what = "tensor");
/// "[2, 3, 4]"
std::string shape_str(const std::vector<int64_t> &shape);

/// Maps a C++ element type to the dtype(s) whose storage it can view.
template <class T> bool dtype_holds(DType dt);
template <> inline bool dtype_holds<float>(DType dt) {
  return dt == DType::f32;
}
template <> inline bool dtype_holds<uint16_t>(DType dt) {
  return dt == DType::bf16 || dt == DType::f16;
}
template <> inline bool dtype_holds<int32_t>(DType dt) {
  return dt == DType::i32;
}
template <> inline bool dtype_holds<int64_t>(DType dt) {
  return dt == DType::i64;
}
template <> inline bool dtype_holds<uint8_t>(DType dt) {
  return dt == DType::u8 || dt == DType::boolean;
}

/// An owning, contiguous, row-major tensor with 64-byte aligned storage.
class Tensor {
public:
  Tensor() = default;
  /// Zero-filled tensor; throws edg::Error on negative dims.
  Tensor(DType dtype, std::vector<int64_t> shape);

  Tensor(Tensor &&) noexcept = default;
  Tensor &operator=(Tensor &&) noexcept = default;
  Tensor(const Tensor &) = delete; // copies are explicit: clone()
  Tensor &operator=(const Tensor &) = delete;

  Tensor clone() const;

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t rank() const { return int64_t(shape_.size()); }
  /// Size of dimension `i`; negative `i` counts from the back.
  int64_t dim(int64_t i) const;
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }

  void *raw() { return data_.get(); }
  const void *raw() const { return data_.get(); }

  /// Typed access; throws edg::Error if T cannot view this dtype.
  template <class T> T *data() {
    check_type(dtype_holds<T>(dtype_), sizeof(T));
    return static_cast<T *>(raw());
  }
  template <class T> const T *data() const {
    check_type(dtype_holds<T>(dtype_), sizeof(T));
    return static_cast<const T *>(raw());
  }

private:
  void check_type(bool ok, size_t elem_size) const;

  struct FreeDeleter {
    void operator()(void *p) const;
  };
  DType dtype_ = DType::f32;
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  std::unique_ptr<void, FreeDeleter> data_;
};

} // namespace edg

#endif // EDG_RUNTIME_CORE_TENSOR_H
