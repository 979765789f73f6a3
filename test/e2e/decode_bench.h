//===- decode_bench.h - decode tokens/s of the CUDA executor -----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Greedy decoding at batch 1 with the device KV cache (CudaExecutor's
// cached runs) on a model.bin with synthetic weights (synthetic_weights.h):
// what scripts/gpu-check.sh reports as decode tokens/s. A step is what
// generation pays per token: the arguments' upload, every launch and GEMM,
// the argmax on the device and the token's download.
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_E2E_DECODE_BENCH_H
#define EDG_TEST_E2E_DECODE_BENCH_H

#include "runtime/cuda/device_api.h"

#include <string>

namespace edg::conformance {

struct DecodeBench {
  // Counted in the run with graphs.
  int64_t prompt = 0, tokens = 0, decode_launches = 0, graph_replays = 0;
  // The `tokens` one-token steps, prefill excluded: with CUDA graphs (the
  // default) and with every step's launches issued one by one.
  double seconds = 0, seconds_eager = 0;
};

/// Prefills `prompt` tokens (decoder-only: through `forward`; encoder-
/// decoder: `encode` of the prompt, then BOS) and times `tokens` one-token
/// steps, once without CUDA graphs and once with them. Throws edg::Error when the model has no kernel-level schedule or
/// prompt + tokens exceed its compiled maximum.
DecodeBench bench_decode(const std::string &model_path, cuda::DeviceApi &device,
                         int64_t prompt, int64_t tokens);

} // namespace edg::conformance

#endif // EDG_TEST_E2E_DECODE_BENCH_H
