//===- cuda_greedy_emu_test.cc - greedy decoding's argmax kernel -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// edg_argmax_rows_<t> (passes/EmitCudaGeneration.cpp) on the emulated device,
// launched as CudaExecutor launches it (launch line, grid rule): the first
// index of each row's largest value, rows at a stride (the last position of
// [B, T, V] logits), against a host scan; ties, NaN and -inf rows; bf16
// storage. (Greedy generation through it against HF's tokens and the CPU
// session: cuda_kv_cache_emu_test.cc.)
//===----------------------------------------------------------------------===//
#include "runtime/core/half.h"
#include "runtime/core/model_file.h"
#include "runtime/core/sampling.h"
#include "runtime/cuda/kernel_image.h"
#include "runtime/cuda/launch_info.h"
#include "test/cuda_emu/emu_device.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using edg::cuda::DevicePtr;

std::string model(const std::string &name) {
  return std::string(EDG_CUDA_TEST_MODELS_DIR) + "/" + name + ".bin";
}

class CudaGreedyEmu : public ::testing::Test {
protected:
  void SetUp() override {
    file_ = std::make_unique<edg::ModelFile>(edg::ModelFile::load(model("gemma2_f32")));
    device_.load_kernels(file_->model(), file_->path());
    for (const auto &k : edg::cuda::parse_launch_lines(
             edg::cuda::cuda_source(file_->model(), file_->path())))
      kernels_[k.name] = k;
  }
  /// Tokens of rows [B] of `logits` (row r at r * stride + offset, V
  /// values) stored as `type`, through the kernel.
  std::vector<int32_t> run(const std::vector<float> &logits, const char *type,
                           int64_t B, int64_t V, int64_t stride, int64_t offset) {
    const bool bf16 = std::string(type) == "bf16";
    const size_t elt = bf16 ? 2 : 4;
    std::vector<uint8_t> bytes(logits.size() * elt);
    for (size_t i = 0; i < logits.size(); ++i) {
      if (bf16) {
        uint16_t h = edg::f32_to_bf16(logits[i]);
        std::memcpy(&bytes[i * 2], &h, 2);
      } else {
        std::memcpy(&bytes[i * 4], &logits[i], 4);
      }
    }
    DevicePtr in = device_.alloc(bytes.size()), out = device_.alloc(size_t(B) * 4);
    device_.copy_to_device(in, bytes.data(), bytes.size());
    const edg::cuda::LaunchInfo &k = kernels_.at(std::string("edg_argmax_rows_") + type);
    EXPECT_EQ(k.kind, "argmax_rows");
    const std::vector<int64_t> sizes = {B, V, stride};
    device_.launch(k.name, edg::cuda::launch_grid(k, sizes), unsigned(k.block),
                   size_t(k.smem),
                   {in + DevicePtr(size_t(offset) * elt), out, uint64_t(B),
                    uint64_t(V), uint64_t(stride)});
    std::vector<int32_t> tokens(static_cast<size_t>(B));
    device_.copy_to_host(tokens.data(), out, tokens.size() * 4);
    device_.free(in);
    device_.free(out);
    return tokens;
  }
  edg::cuda_emu::EmuDevice device_;
  std::unique_ptr<edg::ModelFile> file_;
  std::map<std::string, edg::cuda::LaunchInfo> kernels_;
};

// Rows of V = 1000 (four strided passes of 256 threads, a partial last one)
// at the last of T = 3 positions; row 0 random, row 1 a tie between 17 and
// 900 (first wins, across threads), row 2 a tie inside one thread (5 and
// 261), row 3 NaNs around the maximum, row 4 all -inf, row 5 NaN at 0.
TEST_F(CudaGreedyEmu, FirstMaximumOfEachRow) {
  const int64_t B = 6, T = 3, V = 1000;
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> logits(size_t(B * T * V));
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] = std::sin(0.7f * float(i)) * 10.0f;
  auto row = [&](int64_t b) { return logits.data() + (b * T + T - 1) * V; };
  row(1)[17] = row(1)[900] = 50.0f;
  row(2)[5] = row(2)[261] = 60.0f;
  row(3)[400] = 70.0f, row(3)[401] = nan, row(3)[999] = nan;
  std::fill(row(4), row(4) + V, -inf);
  row(5)[0] = nan;
  std::vector<int32_t> want(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b)
    want[size_t(b)] = edg::argmax(row(b), V);
  EXPECT_EQ(want[1], 17);
  EXPECT_EQ(want[2], 5);
  EXPECT_EQ(want[3], 400);
  EXPECT_EQ(want[4], 0);
  EXPECT_EQ(want[5], 0);
  EXPECT_EQ(run(logits, "f32", B, V, T * V, (T - 1) * V), want);
}

// bf16 logits: around the peak of 30 + sin/2 many values round to the same
// bf16 number, so the maximum is a tie across threads; the kernel must pick
// the first of the rounded maxima.
TEST_F(CudaGreedyEmu, Bf16PicksTheFirstOfTheRoundedMaxima) {
  const int64_t B = 3, V = 4099;
  std::vector<float> logits(size_t(B * V)), rounded(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    logits[i] = 30.0f + std::sin(0.013f * float(i)) * 0.5f;
    rounded[i] = edg::bf16_to_f32(edg::f32_to_bf16(logits[i]));
  }
  std::vector<int32_t> want(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b)
    want[size_t(b)] = edg::argmax(rounded.data() + b * V, V);
  // The rounded maximum 30.5 spans many indices, i.e. many threads.
  EXPECT_EQ(rounded[size_t(want[0]) + 1], rounded[size_t(want[0])]);
  EXPECT_EQ(run(logits, "bf16", B, V, V, 0), want);
}

} // namespace
