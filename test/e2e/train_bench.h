//===- train_bench.h - training step time of the CUDA executor ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Times `grad_step` (forward, loss and backward: every FLOP of a training
// step but the optimizer's) of a training model.bin on a device, with
// synthetic weights and a synthetic batch (token ids spread over the
// vocabulary, no padding). The FLOPs are counted from the step's schedule:
// 2MNK per GEMM, 4·B·T·S·H·hd per attention forward and 2.5 times that for
// its backward, times the fraction of (query, key) pairs the mask keeps
// (about 1/2 causal, window/S sliding). What scripts/gpu-check.sh reports as
// the training step's model FLOP utilisation. A timed step includes the
// batch's upload and the gradients' download (train_step's optimizer then
// runs on the host: runtime/api/train.cc).
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_E2E_TRAIN_BENCH_H
#define EDG_TEST_E2E_TRAIN_BENCH_H

#include "runtime/cuda/device_api.h"

#include <string>

namespace edg::conformance {

struct TrainBench {
  int64_t batch = 0, seq = 0, steps = 0;
  double flops = 0;          // per step
  double seconds = 0;        // median step
};

/// `steps` timed grad_step runs (after one untimed) at `batch` sequences of
/// `seq` tokens (encoder-decoder: `seq` encoder and `seq` decoder tokens).
/// Throws edg::Error when the model has no grad_step schedule.
TrainBench bench_train(const std::string &model_path, cuda::DeviceApi &device,
                       int64_t batch, int64_t seq, int64_t steps);

} // namespace edg::conformance

#endif // EDG_TEST_E2E_TRAIN_BENCH_H
