//===- cuda_driver_device_test.cc - the GPU DeviceApi -----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// open_cuda_device() dlopens libcuda.so.1 and libcublasLt: on a machine
// without a driver (CI) it must fail with a message that says so, never
// stop the program; these tests then skip with that message. On a GPU
// (scripts/gpu-check.sh, where a skip counts as a failure) they run a
// cuBLASLt GEMM against the host and the model-level conformance of the
// CUDA executor.
//===----------------------------------------------------------------------===//
#include "runtime/core/half.h"
#include "runtime/core/status.h"
#include "runtime/cuda/device_api.h"
#include "test/e2e/device_conformance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

namespace {

/// The GPU, or null with the reason in `why`.
std::unique_ptr<edg::cuda::DeviceApi> open_or_why(std::string &why) {
  try {
    return edg::cuda::open_cuda_device(0);
  } catch (const edg::Error &e) {
    why = e.what();
    return nullptr;
  }
}

TEST(CudaDriverDevice, OpensOrSaysWhy) {
  std::string why;
  auto device = open_or_why(why);
  if (!device) {
    // The message names what is missing: the driver library, cuInit, ...
    EXPECT_TRUE(why.find("libcuda") != std::string::npos ||
                why.find("cu") == 0 || why.find("CUDA") != std::string::npos)
        << why;
    GTEST_SKIP() << "no CUDA device: " << why;
  }
  EXPECT_NE(device->describe().find("CUDA device 0"), std::string::npos);
}

// Small uploads return before the GPU has run them (they are staged in
// pinned memory): the caller may overwrite its buffer at once, and more
// uploads than the staging buffer holds (4 MiB) must wrap around without
// overwriting a copy still queued. 600 uploads of 24 KiB, one host buffer.
TEST(CudaDriverDevice, StagedUploadsKeepTheirBytes) {
  std::string why;
  auto device = open_or_why(why);
  if (!device)
    GTEST_SKIP() << "no CUDA device: " << why;
  const size_t n = 6144, uploads = 600; // floats per upload
  edg::cuda::DevicePtr p = device->alloc(n * uploads * sizeof(float));
  std::vector<float> host(n);
  for (size_t u = 0; u < uploads; ++u) {
    for (size_t i = 0; i < n; ++i)
      host[i] = float(u * n + i);
    device->copy_to_device(p + u * n * sizeof(float), host.data(),
                           n * sizeof(float));
  }
  std::vector<float> back(n * uploads);
  device->copy_to_host(back.data(), p, back.size() * sizeof(float));
  size_t wrong = 0;
  for (size_t i = 0; i < back.size(); ++i)
    wrong += back[i] != float(i);
  EXPECT_EQ(wrong, 0u);
  device->free(p);
}

// y[M, N] = x[M, K] w[N, K]^T through cuBLASLt, fp32 and bf16 storage.
TEST(CudaDriverDevice, GemmMatchesHost) {
  std::string why;
  auto device = open_or_why(why);
  if (!device)
    GTEST_SKIP() << "no CUDA device: " << why;
  const int64_t M = 37, N = 70, K = 48;
  std::vector<float> x(size_t(M * K)), w(size_t(N * K)), want(size_t(M * N));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(0.37f * float(i));
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = std::cos(0.11f * float(i));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += double(x[size_t(m * K + k)]) * w[size_t(n * K + k)];
      want[size_t(m * N + n)] = float(s);
    }
  for (auto type : {edg::cuda::GemmType::f32, edg::cuda::GemmType::bf16}) {
    const bool bf16 = type == edg::cuda::GemmType::bf16;
    const size_t e = bf16 ? 2 : 4;
    auto upload = [&](const std::vector<float> &v) {
      std::vector<uint16_t> h(v.size());
      for (size_t i = 0; i < v.size(); ++i)
        h[i] = edg::f32_to_bf16(v[i]);
      edg::cuda::DevicePtr p = device->alloc(v.size() * e);
      device->copy_to_device(p, bf16 ? static_cast<const void *>(h.data())
                                     : static_cast<const void *>(v.data()),
                             v.size() * e);
      return p;
    };
    edg::cuda::GemmDesc g;
    g.M = M, g.N = N, g.K = K, g.type = type;
    g.x = upload(x), g.w = upload(w), g.y = device->alloc(size_t(M * N) * e);
    device->gemm(g);
    std::vector<uint8_t> bytes(size_t(M * N) * e);
    device->copy_to_host(bytes.data(), g.y, bytes.size());
    double err = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      float got;
      if (bf16) {
        uint16_t h;
        std::memcpy(&h, &bytes[i * 2], 2);
        got = edg::bf16_to_f32(h);
      } else {
        std::memcpy(&got, &bytes[i * 4], 4);
      }
      err = std::max(err, double(std::fabs(got - want[i])));
    }
    EXPECT_LT(err, bf16 ? 0.5 : 1e-3) << (bf16 ? "bf16" : "fp32");
    for (auto p : {g.x, g.w, g.y})
      device->free(p);
  }
}

TEST(CudaDriverDevice, Gemma2ForwardMatchesHF) {
  std::string why;
  auto device = open_or_why(why);
  if (!device)
    GTEST_SKIP() << "no CUDA device: " << why;
  auto checks = edg::conformance::run_device_conformance(
      std::string(EDG_CUDA_TEST_MODELS_DIR) + "/gemma2_f32.bin",
      std::string(EDG_FIXTURES_DIR) + "/gemma2_gqa_sliding", *device, 1e-4,
      /*generate=*/true);
  for (const auto &c : checks)
    EXPECT_TRUE(c.ok) << c.what << ": rel_err " << c.rel_err << c.detail;
}

} // namespace
