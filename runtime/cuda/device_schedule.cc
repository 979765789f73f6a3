//===- device_schedule.cc - reading a model.bin DeviceFunction --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "runtime/cuda/device_schedule.h"

#include "runtime/core/half.h"
#include "runtime/core/status.h"

#include <cstring>

namespace edg::cuda {

namespace fb = ::edg::schema;

size_t device_dtype_size(fb::DType dtype) {
  switch (dtype) {
  case fb::DType::f32: case fb::DType::i32: return 4;
  case fb::DType::bf16: case fb::DType::f16: return 2;
  case fb::DType::i64: return 8;
  case fb::DType::i1: return 1;
  }
  return 0;
}

std::string float_kernel_suffix(fb::DType dtype, const char *what) {
  check(dtype == fb::DType::f32 || dtype == fb::DType::bf16 ||
            dtype == fb::DType::f16,
        what, " is not a float tensor");
  return dtype == fb::DType::f32 ? "f32" : dtype == fb::DType::bf16 ? "bf16" : "f16";
}

int64_t eval_size(const fb::SizeExpr &e, const std::vector<int64_t> &dims) {
  int64_t n = e.factor();
  if (e.dims())
    for (int32_t d : *e.dims())
      n *= dims.at(size_t(d));
  return n;
}

std::vector<int64_t> buffer_shape(const fb::DeviceBuffer &b,
                                  const std::vector<int64_t> &dims) {
  std::vector<int64_t> shape;
  if (b.shape())
    for (int64_t d : *b.shape())
      shape.push_back(d >= 0 ? d : dims.at(size_t(-1 - d)));
  return shape;
}

size_t buffer_bytes(const fb::DeviceBuffer &b, const std::vector<int64_t> &dims) {
  size_t n = device_dtype_size(b.dtype());
  for (int64_t d : buffer_shape(b, dims))
    n *= size_t(d);
  return n;
}

std::vector<int64_t> max_dims(const fb::DeviceFunction &fn) {
  std::vector<int64_t> out;
  if (fn.dims())
    for (const fb::DeviceDim *d : *fn.dims())
      out.push_back(d->max());
  return out;
}

void validate_device_function(const fb::Model &model,
                              const fb::DeviceFunction &fn,
                              const std::string &path) {
  const std::string where = path + ": device schedule of '" + fn.name()->str() + "'";
  const uint32_t nbuffers = fn.buffers() ? fn.buffers()->size() : 0;
  const uint32_t ndims = fn.dims() ? fn.dims()->size() : 0;
  const uint32_t nweights = model.weights() ? model.weights()->size() : 0;
  const uint32_t nargs = fn.arguments() ? fn.arguments()->size() : 0;
  for (uint32_t i = 0; i < ndims; ++i) {
    const fb::DeviceDim *d = fn.dims()->Get(i);
    check(d->argument() >= 0 && uint32_t(d->argument()) < nargs && d->axis() >= 0 &&
              d->max() > 0,
          where, ": dim ", i, " is bound to no argument axis");
  }
  for (uint32_t i = 0; i < nbuffers; ++i) {
    const fb::DeviceBuffer *b = fn.buffers()->Get(i);
    if (b->shape())
      for (int64_t d : *b->shape())
        check(d >= 0 || uint32_t(-1 - d) < ndims, where, ": buffer ", i,
              " has an unknown dim");
    check(device_dtype_size(b->dtype()) > 0, where, ": buffer ", i,
          " has an unknown dtype");
    switch (b->kind()) {
    case fb::BufferKind::arena:
      check(b->index() >= 0 &&
                int64_t(buffer_bytes(*b, max_dims(fn))) + b->index() <= fn.arena_size(),
            where, ": buffer ", i, " lies outside the arena");
      break;
    case fb::BufferKind::argument:
      check(b->index() >= 0 && uint64_t(b->index()) < nargs, where, ": buffer ",
            i, " names argument ", b->index());
      break;
    case fb::BufferKind::weight:
      check(b->index() >= 0 && uint64_t(b->index()) < nweights, where,
            ": buffer ", i, " names weight ", b->index());
      break;
    }
  }
  auto buffer_ok = [&](int32_t id) { return id >= 0 && uint32_t(id) < nbuffers; };
  for (uint32_t i = 0; i < nargs; ++i)
    check(buffer_ok(fn.arguments()->Get(i)) &&
              fn.buffers()->Get(uint32_t(fn.arguments()->Get(i)))->kind() ==
                  fb::BufferKind::argument,
          where, ": argument ", i, " has no argument buffer");
  if (fn.results())
    for (int32_t r : *fn.results())
      check(buffer_ok(r), where, ": a result names buffer ", r);
  if (!fn.steps())
    return;
  for (uint32_t i = 0; i < fn.steps()->size(); ++i) {
    const fb::DeviceStep *s = fn.steps()->Get(i);
    const std::string at = where + ", step " + std::to_string(i);
    uint32_t nin = s->inputs() ? s->inputs()->size() : 0;
    uint32_t nout = s->outputs() ? s->outputs()->size() : 0;
    uint32_t nsizes = s->sizes() ? s->sizes()->size() : 0;
    for (uint32_t k = 0; k < nin; ++k) {
      int32_t id = s->inputs()->Get(k);
      // Attention (and its backward): positions and key_valid may be absent.
      bool optional = (s->kind() == fb::DeviceStepKind::attention ||
                       s->kind() == fb::DeviceStepKind::attention_backward) &&
                      (k == 3 || k == 4);
      check(buffer_ok(id) || (optional && id == -1), at, ": input ", k,
            " names buffer ", id);
    }
    for (uint32_t k = 0; k < nout; ++k)
      check(buffer_ok(s->outputs()->Get(k)), at, ": output ", k, " names buffer ",
            s->outputs()->Get(k));
    for (uint32_t k = 0; k < nsizes; ++k)
      if (s->sizes()->Get(k)->dims())
        for (int32_t d : *s->sizes()->Get(k)->dims())
          check(d >= 0 && uint32_t(d) < ndims, at, ": a size names dim ", d);
    switch (s->kind()) {
    case fb::DeviceStepKind::launch:
      // One size; the distillation kernels add T and the teacher's Tt.
      check(s->kernel() && nin >= 1 && nout >= 1 && (nsizes == 1 || nsizes == 3),
            at, ": a launch needs a kernel, inputs, outputs and one size (or "
                "rows, T, Tt)");
      break;
    case fb::DeviceStepKind::attention:
      check(s->kernel() && nin == 5 && nout == 1 && nsizes == 3, at,
            ": attention needs q, k, v, positions, key_valid, one output and "
            "B, T, S");
      break;
    case fb::DeviceStepKind::attention_backward:
      check(s->kernel() && nin == 7 && nout == 5 && nsizes == 3, at,
            ": attention_backward needs q, k, v, positions, key_valid, out, "
            "dout, five outputs (dq, dk, dv, lse, delta) and B, T, S");
      break;
    case fb::DeviceStepKind::gemm: {
      check(nin == 2 && nout == 1 && nsizes == 3 &&
                !(s->transpose_x() && s->transpose_w()),
            at, ": a GEMM needs x, w, y, M, N, K and one of the forms x w^T, "
                "x w, x^T w");
      fb::DType t = fn.buffers()->Get(uint32_t(s->inputs()->Get(0)))->dtype();
      bool same = t == fn.buffers()->Get(uint32_t(s->inputs()->Get(1)))->dtype() &&
                  t == fn.buffers()->Get(uint32_t(s->outputs()->Get(0)))->dtype();
      check(same && (t == fb::DType::f32 || t == fb::DType::bf16 ||
                     t == fb::DType::f16),
            at, ": GEMM operands must share one of f32, bf16, f16");
      break;
    }
    }
  }
}

const schema::DeviceFunction *find_function(const schema::Model &model,
                                            const std::string &name) {
  if (model.device_functions())
    for (const schema::DeviceFunction *f : *model.device_functions())
      if (f->name()->str() == name)
        return f;
  return nullptr;
}

/// fp32 host values in the device's storage type (bf16/f16: round to
/// nearest even, as the model's rounding points do).
std::vector<uint8_t> to_device_bytes(const float *x, int64_t n, schema::DType dtype) {
  std::vector<uint8_t> out(size_t(n) * device_dtype_size(dtype));
  if (dtype == schema::DType::f32) {
    std::memcpy(out.data(), x, out.size());
    return out;
  }
  uint16_t *h = reinterpret_cast<uint16_t *>(out.data());
  for (int64_t i = 0; i < n; ++i)
    h[i] = dtype == schema::DType::bf16 ? f32_to_bf16(x[i]) : f32_to_f16(x[i]);
  return out;
}

/// A result downloaded from the device, as a host tensor (floats as f32).
Tensor host_tensor(const std::vector<uint8_t> &bytes, schema::DType dtype,
                   const std::vector<int64_t> &shape) {
  switch (dtype) {
  case schema::DType::f32: case schema::DType::bf16: case schema::DType::f16: {
    Tensor t(DType::f32, shape);
    float *out = t.data<float>();
    if (dtype == schema::DType::f32) {
      std::memcpy(out, bytes.data(), t.nbytes());
    } else {
      const uint16_t *h = reinterpret_cast<const uint16_t *>(bytes.data());
      for (int64_t i = 0; i < t.numel(); ++i)
        out[i] = dtype == schema::DType::bf16 ? bf16_to_f32(h[i]) : f16_to_f32(h[i]);
    }
    return t;
  }
  case schema::DType::i32: case schema::DType::i64: case schema::DType::i1: {
    Tensor t(dtype == schema::DType::i32   ? DType::i32
             : dtype == schema::DType::i64 ? DType::i64
                                       : DType::u8,
             shape);
    std::memcpy(t.raw(), bytes.data(), t.nbytes());
    return t;
  }
  }
  fail("unknown result dtype");
}

} // namespace edg::cuda
