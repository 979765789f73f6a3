//===- cuda_driver_device.cc - a GPU as a DeviceApi --------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The real device of the CUDA executor: the device's primary context (the
// one cudart and cuBLASLt use too), one stream for every copy, launch and
// GEMM, the model's cubin (else PTX) loaded with cuModuleLoadData, and
// cuBLASLt GEMMs whose descriptors and heuristic algorithm are cached per
// (M, N, K, type); stream capture into CUDA graphs (the executor's decode
// steps). Uploads up to 4 MiB go through a pinned staging buffer
// (upload_staging.h) and do not wait; larger ones (weights) do. Every call
// goes through EDG_CU / EDG_LT, so a failure names the driver or cuBLASLt
// function. NOT YET RUN ON A GPU: CI has none;
// scripts/gpu-check.sh is its first test.
//===----------------------------------------------------------------------===//
#include "runtime/cuda/device_api.h"

#include "runtime/core/status.h"
#include "runtime/cuda/driver_symbols.h"
#include "runtime/cuda/kernel_image.h"
#include "runtime/cuda/upload_staging.h"

#include <cstring>
#include <map>
#include <tuple>

namespace edg::cuda {

namespace {

cudaDataType_t lt_type(GemmType t) {
  return t == GemmType::f32 ? CUDA_R_32F : t == GemmType::bf16 ? CUDA_R_16BF
                                                               : CUDA_R_16F;
}

class DriverDevice final : public DeviceApi {
public:
  explicit DriverDevice(int ordinal);
  ~DriverDevice() override;

  std::string describe() const override;
  void load_kernels(const schema::Model &model, const std::string &path) override;
  DevicePtr alloc(size_t bytes) override;
  void free(DevicePtr p) noexcept override;
  void copy_to_device(DevicePtr dst, const void *src, size_t bytes) override;
  void copy_to_host(void *dst, DevicePtr src, size_t bytes) override;
  void memset(DevicePtr dst, int value, size_t bytes) override;
  void copy_on_device(DevicePtr dst, DevicePtr src, size_t bytes) override;
  void launch(const std::string &kernel, GridShape grid, unsigned block,
              size_t smem, const std::vector<uint64_t> &args) override;
  void gemm(const GemmDesc &g) override;
  void synchronize() override;
  void begin_capture() override;
  std::unique_ptr<DeviceGraph> end_capture() override;

private:
  class Graph;
  /// cuBLASLt descriptors of one GEMM shape, column-major view: y^T [N, M] =
  /// (w [N, K] row-major = w^T col-major, transposed) * (x^T [K, M]).
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  void open();
  void release() noexcept;
  const Plan &plan(const GemmDesc &g);
  CUfunction function(const std::string &kernel, size_t smem);
  void bind() { EDG_CU(cuCtxSetCurrent, ctx_); }
  /// Waits for the stream; the staging buffer is then free again.
  void drain();

  int ordinal_;
  CUdevice device_ = 0;
  CUcontext ctx_ = nullptr;
  CUstream stream_ = nullptr;
  CUmodule module_ = nullptr;
  int cc_major_ = 0, cc_minor_ = 0;
  std::string name_, arch_ = "none";
  std::map<std::string, CUfunction> functions_;
  std::map<CUfunction, size_t> smem_limit_; // opted-in dynamic smem
  cublasLtHandle_t lt_ = nullptr;
  CUdeviceptr workspace_ = 0;
  size_t workspace_bytes_ = size_t(32) << 20;
  UploadStaging staging_{size_t(4) << 20};
  unsigned char *staging_host_ = nullptr; // pinned, staging_.capacity() bytes
  std::map<std::tuple<int64_t, int64_t, int64_t, GemmType, bool, bool>, Plan>
      plans_;
};

DriverDevice::DriverDevice(int ordinal) : ordinal_(ordinal) {
  try {
    open();
  } catch (...) {
    release(); // the destructor does not run for a half-built object
    throw;
  }
}

void DriverDevice::open() {
  EDG_CU(cuInit, 0);
  int count = 0;
  EDG_CU(cuDeviceGetCount, &count);
  check(ordinal_ >= 0 && ordinal_ < count, "CUDA device ", ordinal_,
        " does not exist (", count, " device", count == 1 ? "" : "s", ")");
  EDG_CU(cuDeviceGet, &device_, ordinal_);
  char name[256] = {0};
  EDG_CU(cuDeviceGetName, name, int(sizeof(name) - 1), device_);
  name_ = name;
  EDG_CU(cuDeviceGetAttribute, &cc_major_,
         CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device_);
  EDG_CU(cuDeviceGetAttribute, &cc_minor_,
         CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device_);
  EDG_CU(cuDevicePrimaryCtxRetain, &ctx_, device_);
  bind();
  EDG_CU(cuStreamCreate, &stream_, CU_STREAM_NON_BLOCKING);
  EDG_LT(cublasLtCreate, &lt_);
  EDG_CU(cuMemAlloc_v2, &workspace_, workspace_bytes_);
  void *pinned = nullptr;
  EDG_CU(cuMemAllocHost_v2, &pinned, staging_.capacity());
  staging_host_ = static_cast<unsigned char *>(pinned);
}

DriverDevice::~DriverDevice() { release(); }

void DriverDevice::release() noexcept {
  // No throws: statuses are ignored on the way out. Without a context the
  // driver was never usable (and driver_symbols() might throw).
  if (!ctx_)
    return;
  const DriverSymbols &d = driver_symbols();
  d.cuCtxSetCurrent(ctx_);
  if (stream_)
    d.cuStreamSynchronize(stream_);
  if (lt_) {
    const CublasLtSymbols &t = cublaslt_symbols();
    for (auto &[key, p] : plans_) {
      t.cublasLtMatrixLayoutDestroy(p.w);
      t.cublasLtMatrixLayoutDestroy(p.x);
      t.cublasLtMatrixLayoutDestroy(p.y);
      t.cublasLtMatmulDescDestroy(p.desc);
    }
    t.cublasLtDestroy(lt_);
  }
  if (workspace_)
    d.cuMemFree_v2(workspace_);
  if (staging_host_) // after the synchronize above: no copy reads it
    d.cuMemFreeHost(staging_host_);
  if (module_)
    d.cuModuleUnload(module_);
  if (stream_)
    d.cuStreamDestroy_v2(stream_);
  d.cuDevicePrimaryCtxRelease_v2(device_);
  ctx_ = nullptr;
}

std::string DriverDevice::describe() const {
  return "CUDA device " + std::to_string(ordinal_) + ": " + name_ + " (sm_" +
         std::to_string(cc_major_) + std::to_string(cc_minor_) +
         "), kernels " + arch_ + ", driver " + driver_symbols().library +
         ", " + cublaslt_symbols().library;
}

void DriverDevice::load_kernels(const schema::Model &model,
                                const std::string &path) {
  KernelImage image = select_kernel_image(model, path, cc_major_, cc_minor_);
  bind();
  if (module_) {
    EDG_CU(cuModuleUnload, module_);
    module_ = nullptr;
    functions_.clear();
    smem_limit_.clear();
  }
  EDG_CU(cuModuleLoadData, &module_, image.data.data());
  arch_ = image.arch + (image.ptx ? " (PTX, JIT-compiled)" : " (cubin)");
}

DevicePtr DriverDevice::alloc(size_t bytes) {
  bind();
  CUdeviceptr p = 0;
  EDG_CU(cuMemAlloc_v2, &p, std::max<size_t>(bytes, 1));
  return DevicePtr(p);
}

void DriverDevice::free(DevicePtr p) noexcept {
  if (!p)
    return;
  const DriverSymbols &d = driver_symbols();
  d.cuCtxSetCurrent(ctx_);
  d.cuMemFree_v2(CUdeviceptr(p));
}

void DriverDevice::drain() {
  EDG_CU(cuStreamSynchronize, stream_);
  staging_.reset();
}

void DriverDevice::copy_to_device(DevicePtr dst, const void *src, size_t bytes) {
  if (!bytes)
    return;
  bind();
  std::optional<size_t> at = staging_.reserve(bytes);
  if (!at && bytes <= staging_.capacity()) {
    drain();
    at = staging_.reserve(bytes);
  }
  if (!at) {
    // Too large to stage: the driver reads the caller's pageable memory,
    // which may go away once we return, so wait for the copy.
    EDG_CU(cuMemcpyHtoDAsync_v2, CUdeviceptr(dst), src, bytes, stream_);
    drain();
    return;
  }
  std::memcpy(staging_host_ + *at, src, bytes);
  EDG_CU(cuMemcpyHtoDAsync_v2, CUdeviceptr(dst), staging_host_ + *at, bytes,
         stream_);
}

void DriverDevice::copy_to_host(void *dst, DevicePtr src, size_t bytes) {
  bind();
  if (bytes)
    EDG_CU(cuMemcpyDtoHAsync_v2, dst, CUdeviceptr(src), bytes, stream_);
  drain();
}

void DriverDevice::copy_on_device(DevicePtr dst, DevicePtr src, size_t bytes) {
  if (!bytes)
    return;
  bind();
  EDG_CU(cuMemcpyDtoDAsync_v2, CUdeviceptr(dst), CUdeviceptr(src), bytes, stream_);
}

void DriverDevice::memset(DevicePtr dst, int value, size_t bytes) {
  if (!bytes)
    return;
  bind();
  EDG_CU(cuMemsetD8Async, CUdeviceptr(dst), static_cast<unsigned char>(value),
         bytes, stream_);
}

CUfunction DriverDevice::function(const std::string &kernel, size_t smem) {
  check(module_ != nullptr, "cuLaunchKernel(", kernel, "): no kernels loaded");
  CUfunction &f = functions_[kernel];
  if (!f)
    EDG_CU(cuModuleGetFunction, &f, module_, kernel.c_str());
  // Dynamic shared memory above 48 KiB must be opted into per function.
  size_t &limit = smem_limit_[f];
  if (smem > 48 * 1024 && smem > limit) {
    EDG_CU(cuFuncSetAttribute, f,
           CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(smem));
    limit = smem;
  }
  return f;
}

void DriverDevice::launch(const std::string &kernel, GridShape grid,
                          unsigned block, size_t smem,
                          const std::vector<uint64_t> &args) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0)
    return; // empty tensors
  bind();
  CUfunction f = function(kernel, smem);
  std::vector<uint64_t> values = args; // every parameter is 8 bytes
  std::vector<void *> params;
  for (uint64_t &v : values)
    params.push_back(&v);
  EDG_CU(cuLaunchKernel, f, grid.x, grid.y, grid.z, block, 1, 1,
         unsigned(smem), stream_, params.data(), nullptr);
}

const DriverDevice::Plan &DriverDevice::plan(const GemmDesc &g) {
  auto key = std::make_tuple(g.M, g.N, g.K, g.type, g.transpose_x, g.transpose_w);
  auto it = plans_.find(key);
  if (it != plans_.end())
    return it->second;
  Plan p;
  // fp32 storage computes in fp32 (no TF32): the 1e-4 conformance needs it.
  EDG_LT(cublasLtMatmulDescCreate, &p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
  // Row-major y[M, N] is column-major y^T[N, M] = op(w)^T op(x)^T, so w is
  // cuBLAS's A and x its B. A row-major [r, c] matrix is a column-major
  // c x r one: w [N, K] needs OP_T, w [K, N] none; x [M, K] none, x [K, M]
  // OP_T.
  cublasOperation_t opA = g.transpose_w ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opB = g.transpose_x ? CUBLAS_OP_T : CUBLAS_OP_N;
  EDG_LT(cublasLtMatmulDescSetAttribute, p.desc, CUBLASLT_MATMUL_DESC_TRANSA,
         &opA, sizeof(opA));
  EDG_LT(cublasLtMatmulDescSetAttribute, p.desc, CUBLASLT_MATMUL_DESC_TRANSB,
         &opB, sizeof(opB));
  cudaDataType_t t = lt_type(g.type);
  if (g.transpose_w)
    EDG_LT(cublasLtMatrixLayoutCreate, &p.w, t, uint64_t(g.K), uint64_t(g.N), g.K);
  else
    EDG_LT(cublasLtMatrixLayoutCreate, &p.w, t, uint64_t(g.N), uint64_t(g.K), g.N);
  if (g.transpose_x)
    EDG_LT(cublasLtMatrixLayoutCreate, &p.x, t, uint64_t(g.M), uint64_t(g.K), g.M);
  else
    EDG_LT(cublasLtMatrixLayoutCreate, &p.x, t, uint64_t(g.K), uint64_t(g.M), g.K);
  EDG_LT(cublasLtMatrixLayoutCreate, &p.y, t, uint64_t(g.N), uint64_t(g.M), g.N);
  cublasLtMatmulPreference_t pref = nullptr;
  EDG_LT(cublasLtMatmulPreferenceCreate, &pref);
  EDG_LT(cublasLtMatmulPreferenceSetAttribute, pref,
         CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes_,
         sizeof(workspace_bytes_));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  EDG_LT(cublasLtMatmulAlgoGetHeuristic, lt_, p.desc, p.w, p.x, p.y, p.y, pref,
         1, &result, &found);
  cublaslt_symbols().cublasLtMatmulPreferenceDestroy(pref);
  check(found > 0, "cublasLtMatmulAlgoGetHeuristic: no algorithm for y[", g.M,
        ", ", g.N, "] = x", g.transpose_x ? "^T" : "", " w",
        g.transpose_w ? "^T" : "", " (K = ", g.K, ")");
  p.algo = result.algo;
  return plans_.emplace(key, p).first->second;
}

void DriverDevice::gemm(const GemmDesc &g) {
  if (g.M == 0 || g.N == 0)
    return;
  if (g.K == 0) { // an empty sum (no rows): cuBLASLt rejects K = 0
    memset(g.y, 0, size_t(g.M * g.N) * (g.type == GemmType::f32 ? 4 : 2));
    return;
  }
  bind();
  const Plan &p = plan(g);
  const float alpha = 1.0f, beta = 0.0f;
  EDG_LT(cublasLtMatmul, lt_, p.desc, &alpha, reinterpret_cast<const void *>(g.w),
         p.w, reinterpret_cast<const void *>(g.x), p.x, &beta,
         reinterpret_cast<void *>(g.y), p.y, reinterpret_cast<void *>(g.y), p.y,
         &p.algo, reinterpret_cast<void *>(workspace_), workspace_bytes_,
         reinterpret_cast<cudaStream_t>(stream_));
}

void DriverDevice::synchronize() {
  bind();
  drain();
}

/// An instantiated graph, launched on the device's stream.
class DriverDevice::Graph final : public DeviceGraph {
public:
  Graph(DriverDevice &device, CUgraph graph) : device_(device), graph_(graph) {
    device_.bind();
    try {
      EDG_CU(cuGraphInstantiateWithFlags, &exec_, graph_, 0);
    } catch (...) {
      driver_symbols().cuGraphDestroy(graph_);
      throw;
    }
  }
  ~Graph() override {
    const DriverSymbols &d = driver_symbols();
    d.cuCtxSetCurrent(device_.ctx_);
    d.cuGraphExecDestroy(exec_);
    d.cuGraphDestroy(graph_);
  }
  void replay() override {
    device_.bind();
    EDG_CU(cuGraphLaunch, exec_, device_.stream_);
  }

private:
  DriverDevice &device_;
  CUgraph graph_ = nullptr;
  CUgraphExec exec_ = nullptr;
};

void DriverDevice::begin_capture() {
  bind();
  // Thread-local: another thread's unsafe calls (cuMemAlloc) do not break
  // this capture; this thread makes none while capturing.
  EDG_CU(cuStreamBeginCapture_v2, stream_, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
}

std::unique_ptr<DeviceGraph> DriverDevice::end_capture() {
  bind();
  CUgraph graph = nullptr;
  EDG_CU(cuStreamEndCapture, stream_, &graph);
  return std::make_unique<Graph>(*this, graph);
}

} // namespace

std::unique_ptr<DeviceApi> open_cuda_device(int ordinal) {
  return std::make_unique<DriverDevice>(ordinal);
}

} // namespace edg::cuda
