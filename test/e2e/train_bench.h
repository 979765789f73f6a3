//===- train_bench.h - training step time of the CUDA executor ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Times a training step on a device as Model::train_step runs it there:
// `grad_step` (forward, loss, backward) and then train_step's optimizer
// (clipping, AdamW) on the gradients it left on the device, with synthetic
// weights and a synthetic batch (token ids spread over the vocabulary, no
// padding). The FLOPs are those of grad_step's schedule: 2MNK per GEMM,
// 4·B·T·S·H·hd per attention forward and 2.5 times that for its backward,
// times the fraction of (query, key) pairs the mask keeps (about 1/2
// causal, window/S sliding); the optimizer's few FLOPs per parameter are
// not counted. What scripts/gpu-check.sh reports as the training step's
// model FLOP utilisation.
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_E2E_TRAIN_BENCH_H
#define EDG_TEST_E2E_TRAIN_BENCH_H

#include "runtime/cuda/device_api.h"

#include <string>

namespace edg::conformance {

struct TrainBench {
  int64_t batch = 0, seq = 0, steps = 0;
  double flops = 0;   // per step
  double seconds = 0; // median step
};

/// `steps` timed training steps (after one untimed) at `batch` sequences of
/// `seq` tokens (encoder-decoder: `seq` encoder and `seq` decoder tokens).
/// Throws edg::Error when the model has no grad_step schedule.
TrainBench bench_train(const std::string &model_path, cuda::DeviceApi &device,
                       int64_t batch, int64_t seq, int64_t steps);

} // namespace edg::conformance

#endif // EDG_TEST_E2E_TRAIN_BENCH_H
