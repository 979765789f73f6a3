//===- cuda_kernels.cc - load and launch generated CUDA kernels --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Grid shapes come from launch_info.h; attention kernels whose dynamic
// shared memory exceeds 48 KiB need cudaFuncAttributeMaxDynamicSharedMemorySize
// set once, at load.
//===----------------------------------------------------------------------===//
#include "runtime/cuda/cuda_kernels.h"

#include "runtime/core/status.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/kernel_image.h"

namespace edg::cuda {

namespace fb = ::edg::schema;

std::unique_ptr<CudaKernels> CudaKernels::load(const fb::Model &model,
                                               const std::string &path) {
  const CudaStatus &status = cuda_status();
  check(status.available, path, ": no CUDA device answers: ", status.message);
  KernelImage image =
      select_kernel_image(model, path, status.cc_major, status.cc_minor);
  std::unique_ptr<CudaKernels> out(new CudaKernels());
  out->arch_ = image.arch;
  EDG_CUDA_CHECK(cudaLibraryLoadData(&out->library_, image.data.data(), nullptr,
                                     nullptr, 0, nullptr, nullptr, 0));
  out->infos_ = parse_launch_lines(cuda_source(model, path));
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

void CudaKernels::launch(const LaunchInfo &k,
                         const std::vector<void *> &pointers,
                         const std::vector<int64_t> &sizes,
                         cudaStream_t stream) {
  size_t index = size_t(&k - infos_.data());
  check(index < infos_.size(), k.name, ": not a kernel of this model");
  GridShape g = launch_grid(k, sizes);
  if (g.x == 0 || g.y == 0 || g.z == 0)
    return; // empty tensors
  dim3 grid(g.x, g.y, g.z), block(unsigned(k.block));
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
