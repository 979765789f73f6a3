//===- cuda_kernels.cc - load and launch generated CUDA kernels --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Grid shapes follow the emitters (passes/EmitCuda*.cpp): grid-stride loops
// for elementwise, rope and embed kernels, one block per row for row
// kernels, (ceil(T / tile), H, B) for attention, whose dynamic shared memory
// above 48 KiB needs cudaFuncAttributeMaxDynamicSharedMemorySize.
//===----------------------------------------------------------------------===//
#include "runtime/cuda/cuda_kernels.h"

#include "runtime/core/status.h"
#include "runtime/cuda/cuda_device.h"

#include <algorithm>
#include <sstream>

namespace edg::cuda {

namespace fb = ::edg::schema;

std::vector<LaunchInfo> parse_launch_lines(const std::string &source) {
  std::vector<LaunchInfo> out;
  std::istringstream in(source);
  const std::string tag = "// edg-launch: ";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(tag, 0) != 0)
      continue;
    std::istringstream fields(line.substr(tag.size()));
    LaunchInfo info;
    fields >> info.name;
    for (std::string f; fields >> f;) {
      size_t eq = f.find('=');
      if (eq == std::string::npos)
        continue;
      std::string key = f.substr(0, eq), value = f.substr(eq + 1);
      if (key == "kind") info.kind = value;
      else if (key == "block") info.block = std::stoi(value);
      else if (key == "smem") info.smem = std::stoll(value);
      else if (key == "grid") info.grid = value;
      else if (key == "width") info.width = std::stoll(value);
      else if (key == "dtype") info.dtype = value;
      else if (key == "signature") info.signature = value;
    }
    out.push_back(info);
  }
  return out;
}

std::unique_ptr<CudaKernels> CudaKernels::load(const fb::Model &model,
                                               const std::string &path) {
  const CudaStatus &status = cuda_status();
  check(status.available, path, ": no CUDA device answers: ", status.message);
  const std::string sm =
      "sm_" + std::to_string(status.cc_major) + std::to_string(status.cc_minor);
  const fb::KernelBinary *cubin = nullptr, *ptx = nullptr, *source = nullptr;
  if (model.kernels())
    for (const fb::KernelBinary *k : *model.kernels()) {
      if (!k->target() || k->target()->str() != "cuda" || !k->arch() ||
          !k->data())
        continue;
      std::string arch = k->arch()->str();
      // sm_90a code runs on sm_90 only; sm_XY code on sm_XY.
      if (arch == sm || arch == sm + "a")
        cubin = k;
      else if (arch.rfind("compute_", 0) == 0)
        ptx = k;
      else if (arch == "source")
        source = k;
    }
  check(source != nullptr, path,
        ": model.bin has no CUDA kernels (compile with edg-compile "
        "--target=cuda or --target=all)");
  const fb::KernelBinary *binary = cubin ? cubin : ptx;
  check(binary != nullptr, path, ": no cubin for ", sm,
        " and no PTX; recompile with --cuda-arch=", sm);

  std::unique_ptr<CudaKernels> out(new CudaKernels());
  out->arch_ = binary->arch()->str();
  // The PTX of nvrtcGetPTX ends in a NUL, as cudaLibraryLoadData wants.
  std::vector<uint8_t> image(binary->data()->begin(), binary->data()->end());
  if (!cubin && (image.empty() || image.back() != 0))
    image.push_back(0);
  EDG_CUDA_CHECK(cudaLibraryLoadData(&out->library_, image.data(), nullptr,
                                     nullptr, 0, nullptr, nullptr, 0));
  out->infos_ = parse_launch_lines(std::string(source->data()->begin(),
                                               source->data()->end()));
  for (const LaunchInfo &k : out->infos_) {
    cudaKernel_t handle = nullptr;
    EDG_CUDA_CHECK(cudaLibraryGetKernel(&handle, out->library_, k.name.c_str()));
    if (k.smem > 48 * 1024)
      EDG_CUDA_CHECK(cudaFuncSetAttribute(
          reinterpret_cast<const void *>(handle),
          cudaFuncAttributeMaxDynamicSharedMemorySize, int(k.smem)));
    out->handles_.push_back(handle);
  }
  return out;
}

CudaKernels::~CudaKernels() {
  if (library_)
    cudaLibraryUnload(library_); // no throw from a destructor
}

/// H from an attention signature ("...;H=8;...").
int CudaKernels::heads(const LaunchInfo &k) const {
  size_t at = k.signature.find(";H=");
  check(at != std::string::npos, k.name, ": attention signature has no H");
  return std::stoi(k.signature.substr(at + 3));
}

void CudaKernels::launch(const LaunchInfo &k,
                         const std::vector<void *> &pointers,
                         const std::vector<int64_t> &sizes,
                         cudaStream_t stream) {
  size_t index = size_t(&k - infos_.data());
  check(index < infos_.size(), k.name, ": not a kernel of this model");
  auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  dim3 grid(1), block(unsigned(k.block));
  int64_t n = sizes.empty() ? 0 : sizes[0];
  if (k.kind == "attention") {
    check(sizes.size() == 3, k.name, ": attention takes sizes B, T, S");
    grid = dim3(unsigned(ceil_div(sizes[1], k.width)), unsigned(heads(k)),
                unsigned(sizes[0]));
  } else if (k.kind == "row") {
    grid = dim3(unsigned(n));
  } else {
    // Grid-stride kernels: enough blocks to fill the GPU, no more.
    int64_t work = k.kind == "rope"    ? n * k.width / 2
                   : k.kind == "embed" ? n * k.width
                                       : n;
    grid = dim3(unsigned(std::clamp<int64_t>(ceil_div(work, 256), 1, 1 << 16)));
  }
  if (grid.x == 0 || grid.y == 0 || grid.z == 0)
    return; // empty tensors
  std::vector<void *> ptrs = pointers;
  std::vector<long long> dims(sizes.begin(), sizes.end());
  std::vector<void *> args;
  for (void *&p : ptrs)
    args.push_back(&p);
  for (long long &d : dims)
    args.push_back(&d);
  EDG_CUDA_CHECK(cudaLaunchKernel(reinterpret_cast<const void *>(handles_[index]),
                                  grid, block, args.data(), size_t(k.smem),
                                  stream));
}

} // namespace edg::cuda
