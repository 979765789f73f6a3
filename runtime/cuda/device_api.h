//===- device_api.h - what the CUDA executor asks of a device ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The CUDA executor (cuda_executor.h) talks to a device only through this
// interface, so everything but the GPU calls themselves runs in CI:
//   - open_cuda_device() (cuda_driver_device.cc): a GPU through the CUDA
//     driver API and cuBLASLt, both dlopen'ed (no link-time dependency, so a
//     machine without a driver still starts);
//   - the emulated device of the tests (test/cuda_emu/emu_device.h): host
//     memory, the model's CUDA source built against the CPU emulator of
//     CUDA, GEMMs on the CPU BLAS.
// Every call that fails throws edg::Error naming the call that failed.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_DEVICE_API_H
#define EDG_RUNTIME_CUDA_DEVICE_API_H

#include "runtime/cuda/launch_info.h"
#include "runtime/schema/edg_model_generated.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edg::cuda {

/// A device address (CUdeviceptr on a GPU, a host address on the emulator).
using DevicePtr = uint64_t;

/// Storage type of a GEMM's x, w and y; accumulation is always fp32.
enum class GemmType { f32, bf16, f16 };

/// y[M, N] = op(x) * op(w), all row-major and contiguous, fp32
/// accumulation, y rounded once to its storage type (cuBLASLt's semantics
/// for edg.gemm; fp32 without TF32). x is [M, K], or [K, M] when
/// `transpose_x` (weight gradients: dW = dY^T X over the rows); w is [N, K]
/// when `transpose_w` (y = x W^T, the forward), else [K, N] (dX = dY W).
struct GemmDesc {
  int64_t M = 0, N = 0, K = 0;
  GemmType type = GemmType::f32;
  DevicePtr x = 0, w = 0, y = 0;
  bool transpose_x = false, transpose_w = true;
};

/// Device work recorded once and replayed (a CUDA graph): the launches,
/// GEMMs and memsets issued between DeviceApi::begin_capture and
/// end_capture, with the arguments they had then. Must not outlive the
/// device that captured it.
class DeviceGraph {
public:
  virtual ~DeviceGraph() = default;
  /// Queues the captured work once more, in capture order.
  virtual void replay() = 0;
};

class DeviceApi {
public:
  virtual ~DeviceApi() = default;

  /// One line: the device and the kernel binary in use.
  virtual std::string describe() const = 0;

  /// Makes the CUDA kernels of `model` launchable by name (a GPU: the cubin
  /// for its architecture, else the PTX; the emulator: the stored source).
  /// `path` is for messages.
  virtual void load_kernels(const schema::Model &model,
                            const std::string &path) = 0;

  virtual DevicePtr alloc(size_t bytes) = 0;
  /// Never throws (destructors call it); null is ignored.
  virtual void free(DevicePtr p) noexcept = 0;
  /// Queued in order with the launches; `src` may change once it returns.
  virtual void copy_to_device(DevicePtr dst, const void *src, size_t bytes) = 0;
  /// Waits for the work queued before it.
  virtual void copy_to_host(void *dst, DevicePtr src, size_t bytes) = 0;
  virtual void memset(DevicePtr dst, int value, size_t bytes) = 0;
  /// Queued in order with the launches: [dst, +bytes) = [src, +bytes); the
  /// ranges must not overlap.
  virtual void copy_on_device(DevicePtr dst, DevicePtr src, size_t bytes) = 0;

  /// Launches generated kernel `kernel`: `args` are its parameters in order,
  /// each 8 bytes (a DevicePtr or an int64 size), as the generated ABI
  /// declares them (inputs, outputs, then sizes).
  virtual void launch(const std::string &kernel, GridShape grid,
                      unsigned block, size_t smem,
                      const std::vector<uint64_t> &args) = 0;

  virtual void gemm(const GemmDesc &g) = 0;

  /// Waits for every queued operation; reports asynchronous errors.
  virtual void synchronize() = 0;

  /// Starts recording: until end_capture, launch, gemm and memset are
  /// recorded instead of run; copies and synchronize are errors.
  virtual void begin_capture() = 0;
  /// Stops recording and returns the work as a graph (throws when the
  /// capture failed; the device is then out of capture mode all the same).
  virtual std::unique_ptr<DeviceGraph> end_capture() = 0;
};

/// Device memory with one owner, freed together when the owner goes (the
/// executor's weights, arena and argument buffers; a request's KV cache).
class DeviceAllocations {
public:
  explicit DeviceAllocations(DeviceApi &device) : device_(device) {}
  ~DeviceAllocations() {
    for (DevicePtr p : owned_)
      device_.free(p);
  }
  DeviceAllocations(const DeviceAllocations &) = delete;
  DeviceAllocations &operator=(const DeviceAllocations &) = delete;

  DevicePtr allocate(size_t bytes) {
    DevicePtr p = device_.alloc(bytes);
    owned_.push_back(p);
    bytes_ += bytes;
    return p;
  }
  /// Bytes allocated so far.
  size_t bytes() const { return bytes_; }

private:
  DeviceApi &device_;
  std::vector<DevicePtr> owned_;
  size_t bytes_ = 0;
};

/// The GPU `ordinal` through libcuda.so.1 and libcublasLt (dlopen'ed on
/// first use). Throws edg::Error saying what is missing: no driver library,
/// cuInit failing, no such device, no cuBLASLt.
std::unique_ptr<DeviceApi> open_cuda_device(int ordinal = 0);

} // namespace edg::cuda

#endif // EDG_RUNTIME_CUDA_DEVICE_API_H
