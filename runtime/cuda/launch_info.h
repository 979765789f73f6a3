//===- launch_info.h - launch shapes of generated CUDA kernels ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Every generated CUDA kernel carries one `// edg-launch:` comment line in
// the stored source (passes/EmitCuda.h): name, kind, threads per block,
// dynamic shared memory, row width, storage type and signature. This file
// reads those lines and turns a kernel's ABI sizes into its grid. No CUDA
// header: the CPU emulator of edg-kernel-check uses it too.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_LAUNCH_INFO_H
#define EDG_RUNTIME_CUDA_LAUNCH_INFO_H

#include <cstdint>
#include <string>
#include <vector>

namespace edg::cuda {

/// The version of the calling convention between the generated CUDA
/// kernels and CudaExecutor: argument order, sizes, device words such as the
/// KV cache's length. edg-emit-cuda writes it as the line
/// `// edg-cuda-abi: N`, the first line of the source (passes/EmitCuda.cpp);
/// bump it when the convention changes, so that an old model.bin is refused
/// with a clear message instead of launching kernels with the wrong
/// arguments.
constexpr int kCudaKernelAbi = 3;

/// The ABI of `source` (its first line, `// edg-cuda-abi: N`), 0 when it
/// has none.
int cuda_kernel_abi(const std::string &source);

/// Throws unless `source` has this runtime's kCudaKernelAbi; `path` names
/// the model.bin in the message, which says to recompile it.
void check_cuda_kernel_abi(const std::string &source, const std::string &path);

/// One `// edg-launch:` line of the generated source.
struct LaunchInfo {
  std::string name, kind, signature, dtype, grid;
  int block = 256;
  int64_t smem = 0;
  int64_t width = 0; // row width; the query tile (rows) for attention
};

/// Every edg-launch line of `source`.
std::vector<LaunchInfo> parse_launch_lines(const std::string &source);

struct GridShape {
  unsigned x = 1, y = 1, z = 1;
};

/// Integer field `field` ("H", "K", "hd") of an attention kernel's
/// signature (`attention:mask=..;H=4;K=2;hd=16;..`); throws when absent.
int64_t signature_field(const LaunchInfo &k, const std::string &field);

/// The grid of kernel `k` for ABI `sizes` (n or rows; B, T, S for
/// attention; B, T, C, len for the KV-cache append): grid-stride kernels get
/// enough blocks to fill a GPU, row kernels one block per row, attention
/// (ceil(T / tile), H, B), the append (T, B); training kernels: rows
/// (rms_norm_grad, cross_entropy_rows, cross_entropy_grad), ceil(d / 256)
/// (column_sum), grid-stride over rows * d (embed_grad), 1 (label_mean).
GridShape launch_grid(const LaunchInfo &k, const std::vector<int64_t> &sizes);

} // namespace edg::cuda

#endif // EDG_RUNTIME_CUDA_LAUNCH_INFO_H
