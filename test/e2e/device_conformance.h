//===- device_conformance.h - model-level conformance on a device -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Runs a compiled model.bin with the CUDA executor on a DeviceApi (a GPU or
// the emulator) on the inputs of a fixture's reference.safetensors and
// compares with Hugging Face (eager, fp32):
//   gemma2:  logits of forward;
//   t5gemma: encoder hidden states (encode), logits (decode);
//   both:    greedy generation, token for token, with the device KV cache
//            (CudaExecutor::run with a CudaKvCache: the prompt once, then
//            one position per step through the generated decode kernels).
// Tensors pass when max|got - ref| <= tol * max(1, max|ref|).
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_E2E_DEVICE_CONFORMANCE_H
#define EDG_TEST_E2E_DEVICE_CONFORMANCE_H

#include "runtime/cuda/device_api.h"

#include <string>
#include <vector>

namespace edg::conformance {

struct DeviceCheck {
  std::string what;   // "logits", "encoder_hidden_states", "greedy generation"
  bool ok = false;
  double rel_err = 0; // tensors: the error measure above
  std::string detail; // generation: the tokens; a shape mismatch
  // Generation: one-position steps run, attention steps that ran the KV-cache
  // decode kernels in them, steps replayed from a CUDA graph, and their wall
  // time (host argmax included).
  int64_t decode_steps = 0, decode_launches = 0, graph_replays = 0;
  double decode_seconds = 0;
};

/// Throws edg::Error when the model, weights or fixture cannot be read.
/// `tensors`: the logits / encoder-state checks; `generate`: generation.
std::vector<DeviceCheck> run_device_conformance(const std::string &model_path,
                                                const std::string &fixture_dir,
                                                cuda::DeviceApi &device,
                                                double tol, bool generate,
                                                bool tensors = true);

} // namespace edg::conformance

#endif // EDG_TEST_E2E_DEVICE_CONFORMANCE_H
