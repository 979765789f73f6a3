//===- cuda_device_test.cc - CUDA detection and backend choice ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The runtime starts and falls back to the CPU on machines without a GPU or
// driver (the CI machines); EDG_DEVICE forces a backend; EDG_CUDA_CHECK
// names the failing call. Tests that need a device skip with the reason.
//===----------------------------------------------------------------------===//
#include "runtime/core/status.h"
#include "runtime/cuda/cuda_device.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

/// Sets EDG_DEVICE for one test and restores it after.
class ScopedDevice {
public:
  explicit ScopedDevice(const char *value) {
    const char *old = std::getenv("EDG_DEVICE");
    had_ = old != nullptr;
    if (had_)
      old_ = old;
    if (value)
      setenv("EDG_DEVICE", value, 1);
    else
      unsetenv("EDG_DEVICE");
  }
  ~ScopedDevice() {
    if (had_)
      setenv("EDG_DEVICE", old_.c_str(), 1);
    else
      unsetenv("EDG_DEVICE");
  }

private:
  bool had_ = false;
  std::string old_;
};

TEST(CudaDevice, ProbeIsConsistent) {
  const edg::cuda::CudaStatus &s = edg::cuda::cuda_status();
  EXPECT_FALSE(s.message.empty());
  EXPECT_EQ(s.available, s.devices > 0);
  if (!s.runtime_found)
    EXPECT_FALSE(s.available);
  if (s.error == 35) { // no driver: the CI machines
    EXPECT_NE(s.message.find("no NVIDIA driver"), std::string::npos)
        << s.message;
  }
  // The answer is cached: the same object every time.
  EXPECT_EQ(&s, &edg::cuda::cuda_status());
}

TEST(CudaDevice, ForcedCpu) {
  ScopedDevice env("cpu");
  EXPECT_EQ(edg::cuda::select_backend(true), edg::cuda::Backend::cpu);
}

TEST(CudaDevice, AutoFallsBackWithoutExecutor) {
  ScopedDevice env(nullptr);
  EXPECT_EQ(edg::cuda::select_backend(false), edg::cuda::Backend::cpu);
}

TEST(CudaDevice, UnknownDevice) {
  ScopedDevice env("tpu");
  try {
    edg::cuda::select_backend(true);
    FAIL() << "EDG_DEVICE=tpu was accepted";
  } catch (const edg::Error &e) {
    EXPECT_NE(std::string(e.what()).find("EDG_DEVICE=tpu is not one of cpu, "
                                         "cuda, auto"),
              std::string::npos)
        << e.what();
  }
}

TEST(CudaDevice, ForcedCudaWithoutDeviceOrExecutorFails) {
  ScopedDevice env("cuda");
  const edg::cuda::CudaStatus &s = edg::cuda::cuda_status();
  try {
    edg::cuda::select_backend(false);
    FAIL() << "EDG_DEVICE=cuda without a CUDA executor was accepted";
  } catch (const edg::Error &e) {
    std::string what = e.what();
    if (s.available)
      EXPECT_NE(what.find("no CUDA executor"), std::string::npos) << what;
    else
      EXPECT_NE(what.find("no CUDA device answers"), std::string::npos) << what;
  }
}

TEST(CudaDevice, CheckNamesTheCall) {
  try {
    EDG_CUDA_CHECK(35);
    FAIL() << "EDG_CUDA_CHECK accepted an error";
  } catch (const edg::Error &e) {
    std::string what = e.what();
    EXPECT_NE(what.find("cuda_device_test.cc:"), std::string::npos) << what;
    EXPECT_NE(what.find("35 failed: "), std::string::npos) << what;
    EXPECT_NE(what.find("(35)"), std::string::npos) << what;
  }
  EDG_CUDA_CHECK(0); // success is silent
}

TEST(CudaDevice, CublasCheckNamesTheStatus) {
  try {
    EDG_CUBLAS_CHECK(1);
    FAIL() << "EDG_CUBLAS_CHECK accepted an error";
  } catch (const edg::Error &e) {
    EXPECT_NE(std::string(e.what()).find("CUBLAS_STATUS_NOT_INITIALIZED (1)"),
              std::string::npos)
        << e.what();
  }
}

TEST(CudaDevice, DeviceAnswers) {
  const edg::cuda::CudaStatus &s = edg::cuda::cuda_status();
  if (!s.available)
    GTEST_SKIP() << "no CUDA device answers: " << s.message;
  EXPECT_GE(s.cc_major, 7) << s.message;
}

} // namespace
