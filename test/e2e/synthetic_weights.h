//===- synthetic_weights.h - checkpoints for the device benchmarks -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The benchmarks of edg-cuda-check (decode tokens/s, training step time) run
// models of real sizes that have no checkpoint here: their weights are small
// deterministic pseudo-random bf16 values (throughput does not depend on
// them), written once to a temporary safetensors file and bound as a
// checkpoint.
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_E2E_SYNTHETIC_WEIGHTS_H
#define EDG_TEST_E2E_SYNTHETIC_WEIGHTS_H

#include "runtime/core/weights.h"

namespace edg::conformance {

/// Binds every weight of `model` to synthetic values in [-0.05, 0.05]
/// (through a temporary file, removed again). Throws edg::Error on I/O
/// failure.
void bind_synthetic_weights(WeightStore &weights, const schema::Model &model);

} // namespace edg::conformance

#endif // EDG_TEST_E2E_SYNTHETIC_WEIGHTS_H
