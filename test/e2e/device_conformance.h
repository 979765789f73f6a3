//===- device_conformance.h - model-level conformance on a device -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Runs a compiled model.bin with the CUDA executor on a DeviceApi (a GPU or
// the emulator) on the inputs of a fixture's reference.safetensors and
// compares with Hugging Face (eager, fp32):
//   gemma2:  logits of forward;
//   t5gemma: encoder hidden states (encode), logits (decode);
//   both:    greedy generation, token for token, by re-running the whole
//            sequence each step (the CUDA executor has no KV cache yet).
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
};

/// Throws edg::Error when the model, weights or fixture cannot be read.
std::vector<DeviceCheck> run_device_conformance(const std::string &model_path,
                                                const std::string &fixture_dir,
                                                cuda::DeviceApi &device,
                                                double tol, bool generate);

} // namespace edg::conformance

#endif // EDG_TEST_E2E_DEVICE_CONFORMANCE_H
