//===- launch_info.cc - launch shapes of generated CUDA kernels --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The grid rules mirror the emitters (passes/EmitCuda*.cpp): grid-stride
// loops for elementwise, rope and embed kernels, one block per row for row
// kernels, one block per (query tile, head, batch) for attention and its
// backward stats / dQ kernels, per (key tile, kv head, batch) for dK/dV,
// per (cache chunk, kv head, batch) for KV-cache decoding, per (new row,
// batch) for the KV-cache append. Training kernels (passes/
// EmitCudaTrain.cpp): one block per row for rms_norm_grad and the
// cross-entropy rows / gradient, one thread per column for column_sum, a
// grid-stride loop over rows * d for embed_grad, one block for label_mean.
// Optimizer kernels (passes/EmitCudaOptimizer.cpp): exactly 256 blocks for
// the sums of squares (the fixed split that keeps the norm deterministic),
// one block for the clip coefficient, a grid-stride loop over n for AdamW
// (and its variant with an fp32 master weight). Generation kernels
// (passes/EmitCudaGeneration.cpp): one block per row for greedy decoding's
// argmax, (1 KiB chunks, rows) for beam search's row gather.
//===----------------------------------------------------------------------===//
#include "runtime/cuda/launch_info.h"

#include "runtime/core/status.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace edg::cuda {

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

int cuda_kernel_abi(const std::string &source) {
  const std::string tag = "// edg-cuda-abi: ";
  return source.rfind(tag, 0) == 0 ? std::atoi(source.c_str() + tag.size()) : 0;
}

void check_cuda_kernel_abi(const std::string &source, const std::string &path) {
  const int abi = cuda_kernel_abi(source);
  check(abi == kCudaKernelAbi, path, ": its CUDA kernels were generated for ",
        abi ? "kernel ABI " + std::to_string(abi)
            : std::string("an older kernel ABI (no edg-cuda-abi line)"),
        ", this runtime launches ABI ", kCudaKernelAbi,
        "; recompile it with edg-compile --target=cuda or --target=all");
}

int64_t signature_field(const LaunchInfo &k, const std::string &field) {
  const std::string key = ";" + field + "=";
  size_t at = k.signature.find(key);
  check(at != std::string::npos, k.name, ": attention signature has no ",
        field);
  return std::stoll(k.signature.substr(at + key.size()));
}

GridShape launch_grid(const LaunchInfo &k, const std::vector<int64_t> &sizes) {
  auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  GridShape g;
  int64_t n = sizes.empty() ? 0 : sizes[0];
  auto heads = [&](const char *field) {
    return unsigned(signature_field(k, field));
  };
  if (k.kind == "attention_append") {
    // KV-cache append: sizes {B, T, C}, one block per (new row, batch).
    check(sizes.size() == 3, k.name, ": ", k.kind, " takes three sizes");
    g.x = unsigned(sizes[1]);
    g.y = unsigned(sizes[0]);
  } else if (k.kind.rfind("attention", 0) == 0) {
    // Forward, backward stats, dQ: sizes {B, T, S}, grid (T tiles, H, B).
    // dK/dV: (S tiles, K, B). Decode: sizes {B, S, C}, grid (C chunks, K,
    // B), chunks past S exit at once (S may be read on the device); its
    // combine: (H, B).
    check(sizes.size() == 3, k.name, ": ", k.kind, " takes three sizes");
    g.z = unsigned(sizes[0]);
    if (k.kind == "attention_decode_combine") {
      g.x = heads("H");
      g.y = unsigned(sizes[0]);
      g.z = 1;
    } else if (k.kind == "attention_bwd_dkdv" || k.kind == "attention_decode") {
      g.x = unsigned(ceil_div(sizes[2], k.width));
      g.y = heads("K");
    } else {
      g.x = unsigned(ceil_div(sizes[1], k.width));
      g.y = heads("H");
    }
  } else if (k.kind == "row" || k.kind == "rms_norm_grad" ||
             k.kind == "cross_entropy_rows" || k.kind == "cross_entropy_grad" ||
             k.kind == "distill_kl_rows" || k.kind == "distill_kl_grad" ||
             k.kind == "argmax_rows") {
    // sizes {rows} (distillation: {rows, T, Tt}; argmax: {rows, V, stride})
    g.x = unsigned(n);
  } else if (k.kind == "gather_rows") {
    // sizes {rows, stride, bytes}: a block per 1 KiB (256 words) of a row,
    // grid-striding past 1024 blocks; y: the rows.
    check(sizes.size() == 3, k.name, ": ", k.kind, " takes three sizes");
    g.x = unsigned(std::clamp<int64_t>(ceil_div(sizes[2], 1024), 1, 1024));
    g.y = unsigned(sizes[0]);
  } else if (k.kind == "column_sum") {
    g.x = unsigned(ceil_div(k.width, 256)); // one thread per column
  } else if (k.kind == "label_mean") {
    g.x = 1; // one block, even for n = 0 (the mean is then NaN)
  } else if (k.kind == "optimizer_sumsq") {
    // Up to 256 blocks (a block's share is fixed by n alone, so the sum is
    // deterministic); the runtime zeroes partial[256] first, so the blocks
    // a small gradient does not need are simply not launched.
    g.x = unsigned(std::clamp<int64_t>(ceil_div(n, 256), 1, 256));
  } else if (k.kind == "optimizer_clip") {
    g.x = 1;
  } else if (k.kind == "optimizer_adamw" ||
             k.kind == "optimizer_adamw_master") {
    // sizes {n}; the kernel grid-strides, so the cap loses nothing.
    g.x = n <= 0 ? 0u : unsigned(std::min<int64_t>(ceil_div(n, 256), 65535));
  } else {
    int64_t work = k.kind == "rope" ? n * k.width / 2
                   : k.kind == "embed" || k.kind == "embed_grad"
                       ? n * k.width
                       : n;
    g.x = work <= 0 ? 0u : unsigned(std::clamp<int64_t>(ceil_div(work, 256), 1, 1 << 16));
  }
  return g;
}

} // namespace edg::cuda
