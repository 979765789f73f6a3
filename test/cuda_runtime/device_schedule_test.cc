//===- device_schedule_test.cc - reading DeviceFunctions ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Size and shape evaluation over B, T, S, and validation of a hand-built
// DeviceFunction: a corrupt schedule is an edg::Error naming the step, not
// an out-of-range device address.
//===----------------------------------------------------------------------===//
#include "runtime/core/status.h"
#include "runtime/cuda/device_schedule.h"

#include <gtest/gtest.h>

namespace {

namespace fb = ::edg::schema;

/// forward(ids [B, T]) -> gemm of the embedding table [16, 8], packed.
struct Built {
  flatbuffers::FlatBufferBuilder fbb;
  const fb::Model *model() const { return fb::GetModel(fbb.GetBufferPointer()); }
  const fb::DeviceFunction &fn() const { return *model()->device_functions()->Get(0); }
};

std::unique_ptr<Built> build(int32_t gemm_out_buffer, int64_t arena_size) {
  fb::ModelT m;
  auto w = std::make_unique<fb::WeightT>();
  w->name = "embed";
  w->shape = {16, 8};
  m.weights.push_back(std::move(w));
  auto f = std::make_unique<fb::DeviceFunctionT>();
  f->name = "forward";
  f->arena_size = arena_size;
  for (auto [name, axis, max] : {std::tuple{"B", 0, 4}, std::tuple{"T", 1, 64}}) {
    auto d = std::make_unique<fb::DeviceDimT>();
    d->name = name, d->argument = 0, d->axis = axis, d->max = max;
    f->dims.push_back(std::move(d));
  }
  auto buffer = [&](fb::BufferKind kind, int64_t index, fb::DType t,
                    std::vector<int64_t> shape) {
    auto b = std::make_unique<fb::DeviceBufferT>();
    b->kind = kind, b->index = index, b->dtype = t, b->shape = shape;
    f->buffers.push_back(std::move(b));
  };
  buffer(fb::BufferKind::argument, 0, fb::DType::f32, {-1, -2, 8}); // x [B, T, 8]
  buffer(fb::BufferKind::weight, 0, fb::DType::f32, {16, 8});
  buffer(fb::BufferKind::arena, 256, fb::DType::f32, {-1, -2, 16}); // y [B, T, 16]
  f->arguments = {0};
  f->results = {2};
  auto s = std::make_unique<fb::DeviceStepT>();
  s->kind = fb::DeviceStepKind::gemm;
  s->inputs = {0, 1};
  s->outputs = {gemm_out_buffer};
  for (auto [factor, dims] : {std::pair{int64_t(1), std::vector<int32_t>{0, 1}},
                              std::pair{int64_t(16), std::vector<int32_t>{}},
                              std::pair{int64_t(8), std::vector<int32_t>{}}}) {
    auto e = std::make_unique<fb::SizeExprT>();
    e->factor = factor, e->dims = dims;
    s->sizes.push_back(std::move(e));
  }
  f->steps.push_back(std::move(s));
  m.device_functions.push_back(std::move(f));
  auto out = std::make_unique<Built>();
  out->fbb.Finish(fb::Model::Pack(out->fbb, &m), fb::ModelIdentifier());
  return out;
}

TEST(CudaDeviceSchedule, SizesAndShapes) {
  auto b = build(2, 256 + 4 * 64 * 16 * 4);
  EXPECT_NO_THROW(edg::cuda::validate_device_function(*b->model(), b->fn(), "m.bin"));
  const std::vector<int64_t> dims = {3, 10}; // B = 3, T = 10
  const fb::DeviceStep &s = *b->fn().steps()->Get(0);
  EXPECT_EQ(edg::cuda::eval_size(*s.sizes()->Get(0), dims), 30); // M = B*T
  EXPECT_EQ(edg::cuda::eval_size(*s.sizes()->Get(1), dims), 16);
  const fb::DeviceBuffer &y = *b->fn().buffers()->Get(2);
  EXPECT_EQ(edg::cuda::buffer_shape(y, dims), (std::vector<int64_t>{3, 10, 16}));
  EXPECT_EQ(edg::cuda::buffer_bytes(y, dims), size_t(3 * 10 * 16 * 4));
  EXPECT_EQ(edg::cuda::max_dims(b->fn()), (std::vector<int64_t>{4, 64}));
}

TEST(CudaDeviceSchedule, BufferOutsideTheArenaIsRejected) {
  auto b = build(2, 1024); // y at the maxima needs 256 + 16 KiB
  try {
    edg::cuda::validate_device_function(*b->model(), b->fn(), "m.bin");
    FAIL() << "accepted";
  } catch (const edg::Error &e) {
    EXPECT_NE(std::string(e.what()).find("m.bin: device schedule of 'forward': "
                                         "buffer 2 lies outside the arena"),
              std::string::npos)
        << e.what();
  }
}

TEST(CudaDeviceSchedule, BadStepBufferIsRejected) {
  auto b = build(7, 1 << 20);
  try {
    edg::cuda::validate_device_function(*b->model(), b->fn(), "m.bin");
    FAIL() << "accepted";
  } catch (const edg::Error &e) {
    EXPECT_NE(std::string(e.what()).find("step 0: output 0 names buffer 7"),
              std::string::npos)
        << e.what();
  }
}

} // namespace
