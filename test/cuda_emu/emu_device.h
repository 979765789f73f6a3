//===- emu_device.h - a CUDA device emulated on the host ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The DeviceApi (runtime/cuda/device_api.h) the CUDA executor tests run on
// without a GPU: device memory is host memory (DevicePtr = host address),
// kernels are the model's stored CUDA source run on the CPU emulator of
// CUDA (emu_kernels.h), GEMMs widen to fp32, call the CPU BLAS and round
// the result once to the storage type, as cuBLASLt with fp32 accumulation
// does. It checks the executor's schedule walking, buffer addressing, sizes
// and grids, and replays captured graphs as a GPU would (arguments as they
// were at capture); not timing, streams or the driver API.
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_CUDA_EMU_EMU_DEVICE_H
#define EDG_TEST_CUDA_EMU_EMU_DEVICE_H

#include "runtime/cuda/device_api.h"
#include "test/cuda_emu/emu_kernels.h"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace edg::cuda_emu {

class EmuDevice : public cuda::DeviceApi {
public:
  EmuDevice() = default;
  ~EmuDevice() override;

  std::string describe() const override;
  void load_kernels(const schema::Model &model, const std::string &path) override;
  cuda::DevicePtr alloc(size_t bytes) override;
  void free(cuda::DevicePtr p) noexcept override;
  void copy_to_device(cuda::DevicePtr dst, const void *src, size_t bytes) override;
  void copy_to_host(void *dst, cuda::DevicePtr src, size_t bytes) override;
  void memset(cuda::DevicePtr dst, int value, size_t bytes) override;
  void copy_on_device(cuda::DevicePtr dst, cuda::DevicePtr src,
                      size_t bytes) override;
  void launch(const std::string &kernel, cuda::GridShape grid, unsigned block,
              size_t smem, const std::vector<uint64_t> &args) override;
  void gemm(const cuda::GemmDesc &g) override;
  void synchronize() override;
  /// Capture records each call as a closure over its arguments; replay runs
  /// them again (what a CUDA graph does: a value that changes between steps
  /// but was passed by value shows up as a wrong result).
  void begin_capture() override;
  std::unique_ptr<cuda::DeviceGraph> end_capture() override;

  /// Counters for tests: launches and GEMMs issued, bytes live.
  int launches() const { return launches_; }
  /// Launches of kernels whose name ends with `suffix` (e.g. "_decode").
  int launches_of(const std::string &suffix) const;
  int gemms() const { return gemms_; }
  /// Graphs captured and graph replays.
  int captures() const { return captures_; }
  int replays() const { return replays_; }
  size_t bytes_allocated() const;

private:
  /// Throws unless [p, p + bytes) lies inside one allocation: an executor
  /// addressing bug shows up as an error, not as corrupted host memory.
  void check_range(cuda::DevicePtr p, size_t bytes, const char *what) const;

  class Graph;
  void run_gemm(const cuda::GemmDesc &g);
  /// Runs `work` now, or records it while capturing.
  void issue(std::function<void()> work);
  /// Throws while capturing (copies and waits cannot be captured).
  void check_not_capturing(const char *what) const;

  std::shared_ptr<const EmuKernels> kernels_;
  std::map<cuda::DevicePtr, size_t> blocks_; // start -> size
  std::unique_ptr<std::vector<std::function<void()>>> capture_;
  int launches_ = 0, gemms_ = 0, captures_ = 0, replays_ = 0;
  std::map<std::string, int> launches_by_name_;
};

} // namespace edg::cuda_emu

#endif // EDG_TEST_CUDA_EMU_EMU_DEVICE_H
