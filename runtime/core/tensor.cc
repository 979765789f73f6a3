//===- tensor.cc - Element types and a small owning tensor ------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// DType name/size tables, shape arithmetic with overflow checks, and the
// aligned allocation behind edg::Tensor.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/tensor.h"

#include "runtime/core/status.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace edg {

const char *dtype_name(DType dt) {
  switch (dt) {
  case DType::f32:
    return "f32";
  case DType::bf16:
    return "bf16";
  case DType::f16:
    return "f16";
  case DType::i32:
    return "i32";
  case DType::i64:
    return "i64";
  case DType::u8:
    return "u8";
  case DType::boolean:
    return "bool";
  }
  return "?";
}

const char *dtype_safetensors_name(DType dt) {
  switch (dt) {
  case DType::f32:
    return "F32";
  case DType::bf16:
    return "BF16";
  case DType::f16:
    return "F16";
  case DType::i32:
    return "I32";
  case DType::i64:
    return "I64";
  case DType::u8:
    return "U8";
  case DType::boolean:
    return "BOOL";
  }
  return "?";
}

size_t dtype_size(DType dt) {
  switch (dt) {
  case DType::f32:
  case DType::i32:
    return 4;
  case DType::bf16:
  case DType::f16:
    return 2;
  case DType::i64:
    return 8;
  case DType::u8:
  case DType::boolean:
    return 1;
  }
  return 0;
}

DType parse_dtype(const std::string &name) {
  static const struct {
    const char *name;
    DType dt;
  } table[] = {{"F32", DType::f32},     {"BF16", DType::bf16},
               {"F16", DType::f16},     {"I32", DType::i32},
               {"I64", DType::i64},     {"U8", DType::u8},
               {"BOOL", DType::boolean}};
  for (const auto &e : table)
    if (name == e.name)
      return e.dt;
  fail("unknown dtype '", name,
       "' (supported: F32, BF16, F16, I32, I64, U8, BOOL)");
}

int64_t shape_numel(const std::vector<int64_t> &shape,
                    const std::string &what) {
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    check(shape[i] >= 0, what, " has negative dimension ", shape[i],
          " at index ", i, " of shape ", shape_str(shape));
    check(!__builtin_mul_overflow(n, shape[i], &n), what, " shape ",
          shape_str(shape), " has more elements than fit in int64");
  }
  return n;
}

std::string shape_str(const std::vector<int64_t> &shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

void Tensor::FreeDeleter::operator()(void *p) const { std::free(p); }

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  size_t bytes = size_t(numel_) * dtype_size(dtype_);
  check(numel_ == 0 || bytes / size_t(numel_) == dtype_size(dtype_),
        "tensor of shape ", shape_str(shape_), " is too large");
  // aligned_alloc wants a multiple of the alignment; keep a non-null pointer
  // even for empty tensors so raw() is always valid.
  size_t alloc = ((bytes + 63) / 64) * 64;
  if (alloc == 0)
    alloc = 64;
  void *p = std::aligned_alloc(64, alloc);
  check(p != nullptr, "out of memory allocating ", bytes, " bytes for a ",
        dtype_name(dtype_), " tensor of shape ", shape_str(shape_));
  std::memset(p, 0, alloc);
  data_.reset(p);
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes())
    std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

int64_t Tensor::dim(int64_t i) const {
  int64_t r = rank();
  check(i >= -r && i < r, "dimension index ", i, " out of range for rank ", r,
        " tensor of shape ", shape_str(shape_));
  return shape_[size_t(i < 0 ? i + r : i)];
}

void Tensor::check_type(bool ok, size_t elem_size) const {
  check(ok && elem_size == dtype_size(dtype_), "tensor of dtype ",
        dtype_name(dtype_), " accessed as an element type of ", elem_size,
        " bytes that does not match it");
}

} // namespace edg
