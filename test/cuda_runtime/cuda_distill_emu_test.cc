//===- cuda_distill_emu_test.cc - PrefixLM + distillation on the device -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The paper's adaptation objective (prefixlm-kd: PrefixLM cross-entropy plus
// weight * tau^2 KL from a frozen decoder-only teacher) on the emulated
// device. @grad_step runs the teacher's forward over prefix + target, the
// student's encoder-decoder forward and backward and the generated
// distillation kernels (distill_kl_rows, label_mean, distill_kl_grad;
// passes/EmitCudaTrain.cpp); loss and every student gradient must match the
// CPU path's (runtime/cpu/train_kernels.cc distill_kl, whose own tests check
// it). The teacher's weights are frozen: neither path returns gradients for
// them. Tolerance: 1e-4 relative, the fp32 device/CPU difference of the
// seq2seq gradients (test/e2e/train-conformance-cuda-emu.test); measured in
// the assertion messages.
//===----------------------------------------------------------------------===//
#include "runtime/api/model_impl.h"
#include "runtime/core/objectives.h"
#include "runtime/include/edg/edg.h"
#include "test/cuda_emu/emu_device.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace {

const std::string kModel = std::string(EDG_CUDA_TEST_MODELS_DIR) + "/kd_train.bin";
const std::string kWeights =
    std::string(EDG_FIXTURES_DIR) + "/gemma2_mha_nocap/model.safetensors";

/// Two PrefixLM examples of different lengths (padding in the encoder, the
/// decoder and the teacher), vocabulary 128.
edg::TrainBatch prefixlm_batch() {
  edg::BatchOptions o;
  o.objective = edg::BatchObjective::prefixlm;
  o.teacher = true;
  o.batch = 2;
  o.seq = 8;
  o.vocab = 128;
  std::vector<edg::Tokens> sequences;
  for (int64_t n : {14, 9}) {
    edg::Tokens t;
    for (int64_t i = 0; i < n; ++i)
      t.push_back(int32_t(3 + (17 * i + 5 * n) % 120));
    sequences.push_back(t);
  }
  return edg::BatchBuilder(o, sequences, {}).next();
}

/// max |a - b| / max(1, max |b|).
double rel_err(const edg::Tensor &a, const edg::Tensor &b) {
  double err = 0, scale = 1;
  for (int64_t i = 0; i < b.numel(); ++i) {
    err = std::max(err, double(std::fabs(a.data<float>()[i] - b.data<float>()[i])));
    scale = std::max(scale, double(std::fabs(b.data<float>()[i])));
  }
  return err / scale;
}

TEST(CudaDistillEmu, GradientsMatchCpu) {
  edg::Model cpu = edg::Model::load(kModel), dev = edg::Model::load(kModel);
  cpu.bind_weights({kWeights});
  dev.bind_weights({kWeights});
  auto emu = std::make_unique<edg::cuda_emu::EmuDevice>();
  edg::cuda_emu::EmuDevice &device = *emu;
  edg::ModelInternals::use_device(dev, std::move(emu));

  const edg::TrainBatch batch = prefixlm_batch();
  ASSERT_GT(batch.teacher_ids.dim(1), batch.labels.dim(1)); // prefix + target
  const edg::Gradients want = cpu.gradients(batch), got = dev.gradients(batch);
  EXPECT_GT(device.gemms(), 0); // the step ran on the device
  EXPECT_TRUE(std::isfinite(want.loss));
  EXPECT_NEAR(got.loss, want.loss, 1e-5 * std::fabs(want.loss));
  ASSERT_EQ(got.names, want.names);
  for (const std::string &name : want.names)
    EXPECT_EQ(name.rfind("teacher.", 0), std::string::npos)
        << name << ": the teacher is frozen";
  double worst = 0;
  std::string where;
  for (size_t i = 0; i < want.grads.size(); ++i) {
    const double e = rel_err(got.grads[i], want.grads[i]);
    if (e > worst)
      worst = e, where = want.names[i];
  }
  EXPECT_LT(worst, 1e-4) << "worst gradient: " << where;
  std::printf("prefixlm-kd on the device: loss %.6f (CPU %.6f), worst "
              "gradient rel. err %.2e (%s)\n",
              got.loss, want.loss, worst, where.c_str());
}

} // namespace
