//===- emu_device.cc - a CUDA device emulated on the host --------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "test/cuda_emu/emu_device.h"

#include "runtime/core/half.h"
#include "runtime/core/status.h"
#include "runtime/cpu/blas.h"
#include "runtime/cuda/kernel_image.h"

#include <cstdlib>
#include <cstring>

namespace edg::cuda_emu {

using cuda::DevicePtr;
using cuda::GemmType;

namespace {
// The emulator's dynamic shared memory buffer (cuda_emu.h edg_emu_smem).
constexpr size_t kEmuSharedBytes = 256 * 1024;

size_t element_size(GemmType t) { return t == GemmType::f32 ? 4 : 2; }

std::vector<float> widen(const void *p, int64_t n, GemmType t) {
  std::vector<float> out(static_cast<size_t>(n));
  if (t == GemmType::f32) {
    std::memcpy(out.data(), p, size_t(n) * 4);
    return out;
  }
  const uint16_t *h = static_cast<const uint16_t *>(p);
  for (int64_t i = 0; i < n; ++i)
    out[size_t(i)] = t == GemmType::bf16 ? bf16_to_f32(h[i]) : f16_to_f32(h[i]);
  return out;
}
} // namespace

EmuDevice::~EmuDevice() {
  for (auto &[p, n] : blocks_)
    std::free(reinterpret_cast<void *>(p));
}

std::string EmuDevice::describe() const {
  return "CUDA emulator on the CPU (test/cuda_emu), kernels from the stored "
         "CUDA source";
}

void EmuDevice::load_kernels(const schema::Model &model, const std::string &path) {
  kernels_ = EmuKernels::get(cuda::cuda_source(model, path));
}

DevicePtr EmuDevice::alloc(size_t bytes) {
  // 256-byte alignment, as cuMemAlloc gives.
  size_t rounded = (std::max<size_t>(bytes, 1) + 255) / 256 * 256;
  void *p = std::aligned_alloc(256, rounded);
  check(p != nullptr, "emulated cuMemAlloc(", bytes, ") failed: out of memory");
  blocks_[reinterpret_cast<DevicePtr>(p)] = bytes;
  return reinterpret_cast<DevicePtr>(p);
}

void EmuDevice::free(DevicePtr p) noexcept {
  auto it = blocks_.find(p);
  if (it == blocks_.end())
    return;
  std::free(reinterpret_cast<void *>(p));
  blocks_.erase(it);
}

size_t EmuDevice::bytes_allocated() const {
  size_t total = 0;
  for (auto &[p, n] : blocks_)
    total += n;
  return total;
}

void EmuDevice::check_range(DevicePtr p, size_t bytes, const char *what) const {
  auto it = blocks_.upper_bound(p);
  bool ok = it != blocks_.begin() &&
            (--it, p >= it->first && p + bytes <= it->first + it->second);
  check(ok, "emulated ", what, ": [", p, ", +", bytes,
        ") is not inside one device allocation");
}

class EmuDevice::Graph final : public cuda::DeviceGraph {
public:
  Graph(EmuDevice &device, std::vector<std::function<void()>> work)
      : device_(device), work_(std::move(work)) {}
  void replay() override {
    device_.check_not_capturing("graph launch");
    ++device_.replays_;
    for (auto &w : work_)
      w();
  }

private:
  EmuDevice &device_;
  std::vector<std::function<void()>> work_;
};

void EmuDevice::issue(std::function<void()> work) {
  if (capture_)
    capture_->push_back(std::move(work));
  else
    work();
}

void EmuDevice::check_not_capturing(const char *what) const {
  check(!capture_, "emulated ", what, " during a stream capture");
}

void EmuDevice::begin_capture() {
  check_not_capturing("cuStreamBeginCapture");
  capture_ = std::make_unique<std::vector<std::function<void()>>>();
}

std::unique_ptr<cuda::DeviceGraph> EmuDevice::end_capture() {
  check(capture_ != nullptr, "emulated cuStreamEndCapture: not capturing");
  auto work = std::move(*capture_);
  capture_.reset();
  ++captures_;
  return std::make_unique<Graph>(*this, std::move(work));
}

void EmuDevice::synchronize() { check_not_capturing("cuStreamSynchronize"); }

void EmuDevice::copy_to_device(DevicePtr dst, const void *src, size_t bytes) {
  check_not_capturing("cuMemcpyHtoD");
  if (!bytes)
    return;
  check_range(dst, bytes, "cuMemcpyHtoD");
  std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
}

void EmuDevice::copy_to_host(void *dst, DevicePtr src, size_t bytes) {
  check_not_capturing("cuMemcpyDtoH");
  if (!bytes)
    return;
  check_range(src, bytes, "cuMemcpyDtoH");
  std::memcpy(dst, reinterpret_cast<const void *>(src), bytes);
}

void EmuDevice::memset(DevicePtr dst, int value, size_t bytes) {
  if (!bytes)
    return;
  check_range(dst, bytes, "cuMemsetD8");
  issue([=] { std::memset(reinterpret_cast<void *>(dst), value, bytes); });
}

void EmuDevice::copy_on_device(DevicePtr dst, DevicePtr src, size_t bytes) {
  if (!bytes)
    return;
  check_range(dst, bytes, "cuMemcpyDtoD destination");
  check_range(src, bytes, "cuMemcpyDtoD source");
  check(dst + bytes <= src || src + bytes <= dst,
        "emulated cuMemcpyDtoD: the ranges overlap");
  issue([=] {
    std::memcpy(reinterpret_cast<void *>(dst),
                reinterpret_cast<const void *>(src), bytes);
  });
}

void EmuDevice::launch(const std::string &kernel, cuda::GridShape grid,
                       unsigned block, size_t smem,
                       const std::vector<uint64_t> &args) {
  check(kernels_ != nullptr, "emulated cuLaunchKernel(", kernel,
        "): no kernels loaded");
  check(smem <= kEmuSharedBytes, "emulated cuLaunchKernel(", kernel,
        "): ", smem, " bytes of shared memory, the emulator has ",
        kEmuSharedBytes);
  check(block >= 1 && block <= 1024, "emulated cuLaunchKernel(", kernel,
        "): block of ", block, " threads");
  issue([this, kernel, grid, block, args] {
    ++launches_;
    ++launches_by_name_[kernel];
    kernels_->launch(kernel, grid, block, args);
  });
}

int EmuDevice::launches_of(const std::string &suffix) const {
  int n = 0;
  for (const auto &[name, count] : launches_by_name_)
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      n += count;
  return n;
}

void EmuDevice::gemm(const cuda::GemmDesc &g) {
  if (g.M != 0 && g.N != 0) {
    const size_t e = element_size(g.type);
    check_range(g.x, size_t(g.M * g.K) * e, "gemm x");
    check_range(g.w, size_t(g.N * g.K) * e, "gemm w");
    check_range(g.y, size_t(g.M * g.N) * e, "gemm y");
  }
  issue([this, g] { run_gemm(g); });
}

void EmuDevice::run_gemm(const cuda::GemmDesc &g) {
  ++gemms_;
  if (g.M == 0 || g.N == 0)
    return;
  std::vector<float> x = widen(reinterpret_cast<const void *>(g.x), g.M * g.K, g.type);
  std::vector<float> w = widen(reinterpret_cast<const void *>(g.w), g.N * g.K, g.type);
  std::vector<float> y(size_t(g.M * g.N));
  if (g.transpose_x && !g.transpose_w)        // x [K, M], w [K, N]
    cpu::sgemm_tn(g.M, g.N, g.K, x.data(), g.M, w.data(), g.N, y.data(), g.N);
  else if (!g.transpose_x && !g.transpose_w)  // x [M, K], w [K, N]
    cpu::sgemm_nn(g.M, g.N, g.K, x.data(), g.K, w.data(), g.N, y.data(), g.N);
  else if (!g.transpose_x)                    // x [M, K], w [N, K]
    cpu::sgemm_nt(g.M, g.N, g.K, x.data(), g.K, w.data(), g.K, y.data(), g.N);
  else
    throw Error("emulated gemm: x^T w^T is not a form edg.gemm lowers to");
  void *out = reinterpret_cast<void *>(g.y);
  if (g.type == GemmType::f32) {
    std::memcpy(out, y.data(), y.size() * 4);
    return;
  }
  uint16_t *h = static_cast<uint16_t *>(out);
  for (size_t i = 0; i < y.size(); ++i)
    h[i] = g.type == GemmType::bf16 ? f32_to_bf16(y[i]) : f32_to_f16(y[i]);
}

} // namespace edg::cuda_emu
