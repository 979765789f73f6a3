//===- cuda_train_emu_test.cc - training steps on the emulated device -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Model::train_step with CUDA selected runs @grad_step's schedule and then
// the optimizer kernels on the device (cuda_executor_optimizer.cc), keeping
// the weights and AdamW moments there. On the emulated device it must
// follow the CPU's train_step (the same AdamW and clipping code on the
// host, runtime/cpu/train_steps.cc) step for step, bring the weights and
// moments back whenever the API reads them (weight(), save_checkpoint), and
// resume from a checkpoint as the CPU does. "Follow" is within AdamW's
// amplification of gradient rounding: the device's gradients differ from
// the CPU's by ~1e-5 relative (both are within 1e-5 of HF's), and Adam's
// normalisation turns that into parameter differences of ~5e-5 after three
// steps at lr 1e-2 (measured); they are held to 5e-4.
//
// A bf16 model keeps bf16 weights on the device for the forward but trains
// fp32 master copies of them, as the CPU trains its fp32 weights: at a
// learning rate whose updates are mostly below half a bf16 ulp, the device
// must follow the CPU's weights, which it cannot when it updates the bf16
// weights in place (every such update is lost).
//===----------------------------------------------------------------------===//
#include "runtime/api/model_impl.h"
#include "runtime/core/half.h"
#include "runtime/cpu/train_kernels.h"
#include "runtime/include/edg/edg.h"
#include "test/cuda_emu/emu_device.h"
#include "test/e2e/fixture_io.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

const std::string kModel = std::string(EDG_CUDA_TEST_MODELS_DIR) + "/gemma2_train.bin";
const std::string kBf16Model =
    std::string(EDG_CUDA_TEST_MODELS_DIR) + "/gemma2_train_bf16.bin";
const std::string kWeights =
    std::string(EDG_FIXTURES_DIR) + "/gemma2_gqa_sliding/model.safetensors";

/// Two rows of 8 tokens, the second with 3 padded positions and labels.
edg::TrainBatch batch() {
  edg::TrainBatch b;
  const int64_t B = 2, T = 8;
  b.ids = edg::Tensor(edg::DType::i32, {B, T});
  b.labels = edg::Tensor(edg::DType::i32, {B, T});
  b.positions = edg::fixture::arange_positions(B, T);
  b.valid = edg::fixture::ones_u8(B, T);
  for (int64_t i = 0; i < B * T; ++i) {
    b.ids.data<int32_t>()[i] = int32_t((3 + 37 * i) % 256);
    b.labels.data<int32_t>()[i] = int32_t((5 + 11 * i) % 256);
  }
  for (int64_t t = 5; t < T; ++t) {
    b.valid.data<uint8_t>()[T + t] = 0;
    b.labels.data<int32_t>()[T + t] = -100;
  }
  return b;
}

/// max |a - b| / max(1, max |b|) over every weight.
double weights_error(const edg::Model &a, const edg::Model &b) {
  double worst = 0;
  for (const std::string &name : a.weight_names()) {
    const edg::Tensor &x = a.weight(name), &y = b.weight(name);
    double err = 0, scale = 1;
    for (int64_t i = 0; i < x.numel(); ++i) {
      err = std::max(err, double(std::fabs(x.data<float>()[i] - y.data<float>()[i])));
      scale = std::max(scale, double(std::fabs(y.data<float>()[i])));
    }
    worst = std::max(worst, err / scale);
  }
  return worst;
}

/// The model on the emulated device; `emu` receives the device's counters.
edg::Model on_device(edg::cuda_emu::EmuDevice *&emu,
                     const std::string &path = kModel) {
  edg::Model m = edg::Model::load(path);
  m.bind_weights({kWeights});
  auto device = std::make_unique<edg::cuda_emu::EmuDevice>();
  emu = device.get();
  edg::ModelInternals::use_device(m, std::move(device));
  return m;
}

/// Every weight of `m` as fp32 values, in manifest order (weight() brings
/// the device's back first).
using Values = std::vector<std::vector<float>>;
Values values_of(const edg::Model &m) {
  Values out;
  for (const std::string &name : m.weight_names()) {
    const edg::Tensor &t = m.weight(name);
    out.emplace_back(t.data<float>(), t.data<float>() + t.numel());
  }
  return out;
}

/// `v` rounded to bf16 (RNE): weights the device's bf16 copy holds exactly.
Values to_bf16(Values v) {
  for (std::vector<float> &w : v)
    for (float &x : w)
      x = edg::bf16_to_f32(edg::f32_to_bf16(x));
  return v;
}

/// Overwrites the host's weights of `m`, as an application editing them
/// would (their versions change: the device re-uploads them).
void set_values(edg::Model &m, const Values &v) {
  auto &impl = edg::ModelInternals::of(m); // Model::Impl
  impl.sync_host(); // nothing newer on the device is left to come back
  for (size_t i = 0; i < v.size(); ++i)
    std::copy(v[i].begin(), v[i].end(),
              impl.weights.get(int32_t(i)).data<float>());
}

/// How far `got` is from `want` relative to how far `want` moved from
/// `start`: sum |got - want| / sum |want - start| over every element.
double update_error(const Values &got, const Values &want,
                    const Values &start) {
  double err = 0, moved = 0;
  for (size_t i = 0; i < want.size(); ++i)
    for (size_t j = 0; j < want[i].size(); ++j) {
      err += std::fabs(double(got[i][j]) - want[i][j]);
      moved += std::fabs(double(want[i][j]) - start[i][j]);
    }
  return err / moved;
}

/// The fraction of elements that moved from `start` by less than half a
/// bf16 ulp of their start: updates a bf16 weight updated in place loses.
double below_half_ulp(const Values &want, const Values &start) {
  int64_t below = 0, all = 0;
  for (size_t i = 0; i < want.size(); ++i)
    for (size_t j = 0; j < want[i].size(); ++j, ++all) {
      if (start[i][j] == 0.0f)
        continue; // a zero keeps its updates
      const int e = std::ilogb(start[i][j]); // bf16: 8 significant bits
      below += std::fabs(want[i][j] - start[i][j]) < std::ldexp(1.0, e - 8);
    }
  return double(below) / double(all);
}

TEST(CudaTrainEmu, TrainStepFollowsTheCpu) {
  edg::Model cpu = edg::Model::load(kModel);
  cpu.bind_weights({kWeights});
  edg::cuda_emu::EmuDevice *emu = nullptr;
  edg::Model dev = on_device(emu);
  const edg::TrainBatch b = batch();
  for (int step = 1; step <= 2; ++step) {
    const float want = cpu.train_step(b), got = dev.train_step(b);
    EXPECT_NEAR(got, want, 1e-5 * std::fabs(want)) << "step " << step;
    EXPECT_NEAR(dev.last_grad_norm(), cpu.last_grad_norm(),
                1e-4 * cpu.last_grad_norm())
        << "step " << step;
    EXPECT_GT(cpu.last_grad_norm(), 0.5f); // the clipping binds
  }
  const int weights = int(dev.weight_names().size()); // every one trains
  EXPECT_EQ(emu->launches_of("edg_opt_adamw_f32"), 2 * weights);
  EXPECT_EQ(emu->launches_of("edg_opt_clip"), 2);
  EXPECT_LT(weights_error(dev, cpu), 5e-4); // weight() downloads them
  EXPECT_EQ(dev.train_steps_done(), 2);
  // A third step after the download: the device moments stayed valid.
  const float want = cpu.train_step(b);
  EXPECT_NEAR(dev.train_step(b), want, 1e-4 * std::fabs(want));
  EXPECT_LT(weights_error(dev, cpu), 5e-4);
}

TEST(CudaTrainEmu, CheckpointResumesAsTheCpu) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / "edg-cuda-train-ckpt").string();
  std::filesystem::remove_all(dir);
  // Without clipping (TrainStepFollowsTheCpu's part; the norm is still
  // measured, as on the CPU).
  edg::TrainOptions no_clip;
  no_clip.max_grad_norm = 0.0;
  edg::cuda_emu::EmuDevice *emu = nullptr;
  edg::Model dev = on_device(emu);
  dev.set_train_options(no_clip);
  const edg::TrainBatch b = batch();
  dev.train_step(b);
  dev.save_checkpoint(dir); // brings the device's weights and moments back
  // Resume on the CPU and on the device: both must take the step the
  // uninterrupted run takes.
  edg::Model cpu = edg::Model::load(kModel);
  cpu.set_train_options(no_clip);
  cpu.load_checkpoint(dir);
  edg::cuda_emu::EmuDevice *emu2 = nullptr;
  edg::Model resumed = on_device(emu2);
  resumed.set_train_options(no_clip);
  resumed.load_checkpoint(dir);
  EXPECT_EQ(resumed.train_steps_done(), 1);
  const float want = dev.train_step(b);
  EXPECT_NEAR(cpu.train_step(b), want, 1e-4 * std::fabs(want));
  EXPECT_NEAR(resumed.train_step(b), want, 1e-5 * std::fabs(want));
  EXPECT_LT(weights_error(resumed, dev), 1e-6); // the same device path
  EXPECT_LT(weights_error(cpu, dev), 5e-4);
  std::filesystem::remove_all(dir);
}

/// The bf16 training model on the emulated device, from the fixture's
/// weights rounded to bf16 (returned in `start`; the device's bf16 copy
/// holds them exactly, so only the updates can differ from the CPU's), with
/// options `o` (lr 1e-4 in the tests: the fixture's weights are mostly in [2^-5, 2], where half a
/// bf16 ulp is >= 1.2e-4, and Adam moves a weight by about lr per step).
edg::Model bf16_on_device(edg::cuda_emu::EmuDevice *&emu, Values &start,
                          const edg::TrainOptions &o) {
  edg::Model m = on_device(emu, kBf16Model);
  start = to_bf16(values_of(m));
  m.set_train_options(o);
  set_values(m, start);
  return m;
}

/// Options whose AdamW parameters host_adamw states exactly: a constant
/// learning rate, no clipping.
edg::TrainOptions oracle_options() {
  edg::TrainOptions o;
  o.lr = 1e-4, o.beta1 = 0.9, o.beta2 = 0.999, o.eps = 1e-8;
  o.weight_decay = 0.1, o.warmup_steps = 0, o.total_steps = 0;
  o.max_grad_norm = 0.0;
  return o;
}

/// The next train_step of `dev` (oracle_options) as the CPU path takes it
/// (cpu::adamw_step on fp32 weights) from weights `from`, with the
/// gradients the device computes for `b` (the grad_step that train_step
/// runs next, on the same weights) and the current moments.
Values host_adamw(edg::Model &dev, const edg::TrainBatch &b,
                  const Values &from) {
  const edg::Gradients grads = dev.gradients(b); // the device's grad_step
  auto &impl = edg::ModelInternals::of(dev);      // Model::Impl
  impl.sync_host();                               // the device's moments
  const std::vector<std::string> names = dev.weight_names();
  edg::cpu::AdamWParams p;
  p.lr = 1e-4, p.beta1 = 0.9, p.beta2 = 0.999, p.eps = 1e-8;
  p.weight_decay = 0.1, p.step = dev.train_steps_done() + 1;
  Values out = from;
  for (size_t i = 0; i < names.size(); ++i) {
    const int64_t n = int64_t(out[i].size());
    std::vector<float> m(size_t(n), 0.0f), v(size_t(n), 0.0f);
    if (impl.train) {
      const float *em = impl.train->exp_avg(int32_t(i)).data<float>();
      const float *ev = impl.train->exp_avg_sq(int32_t(i)).data<float>();
      m.assign(em, em + n), v.assign(ev, ev + n);
    }
    edg::cpu::adamw_step(out[i].data(), grads.find(names[i])->data<float>(),
                         m.data(), v.data(), n, p);
  }
  return out;
}

/// max |got - want| / max(1, max |want|) over every weight.
double values_error(const Values &got, const Values &want) {
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double err = 0, scale = 1;
    for (size_t j = 0; j < want[i].size(); ++j) {
      err = std::max(err, std::fabs(double(got[i][j]) - want[i][j]));
      scale = std::max(scale, std::fabs(double(want[i][j])));
    }
    worst = std::max(worst, err / scale);
  }
  return worst;
}

// The device's bf16 weights are trained through fp32 masters: after each
// step the weights read back are what the CPU path's AdamW makes of fp32
// weights with the same gradients, although most of the updates (82%) are
// below half a bf16 ulp; the masters reload when the host's weights change
// and when they are bound again. Measured 0 after a first step, <= 3e-8 (an
// fp32 rounding) after later ones; held to 1e-6. Updating the bf16 weights
// in place instead is off by 1.1e-4 to 2.2e-4: the lost updates.
TEST(CudaTrainEmu, Bf16MastersTakeTheCpusAdamWStep) {
  edg::cuda_emu::EmuDevice *emu = nullptr;
  Values start;
  edg::Model dev = bf16_on_device(emu, start, oracle_options());
  const edg::TrainBatch b = batch();
  Values want = host_adamw(dev, b, start);
  dev.train_step(b);
  const double lost = below_half_ulp(want, start);
  EXPECT_GT(lost, 0.75) << "most updates must be below half a bf16 ulp, or "
                           "the test shows nothing";
  double err = values_error(values_of(dev), want);
  std::printf("bf16 masters: %.1f%% of the updates < half a bf16 ulp; "
              "error %.3g\n", 100 * lost, err);
  EXPECT_LT(err, 1e-6);
  // A second step from the masters (the download left them valid).
  want = host_adamw(dev, b, want);
  dev.train_step(b);
  err = values_error(values_of(dev), want);
  std::printf("bf16 masters, step 2: error %.3g\n", err);
  EXPECT_LT(err, 1e-6);
  // The host's weights change under the masters (sync_weights uploads
  // them): the next step starts from the new ones, rounded to bf16 here so
  // that they differ from the masters.
  const Values next = to_bf16(want);
  set_values(dev, next);
  want = host_adamw(dev, b, next);
  dev.train_step(b);
  err = values_error(values_of(dev), want);
  std::printf("bf16 masters after a host change: error %.3g\n", err);
  EXPECT_LT(err, 1e-6);
  // Binding the weights again starts over (reset_optimizer).
  dev.bind_weights({kWeights});
  set_values(dev, start);
  want = host_adamw(dev, b, start);
  dev.train_step(b);
  EXPECT_EQ(dev.train_steps_done(), 1);
  err = values_error(values_of(dev), want);
  std::printf("bf16 masters after bind_weights: error %.3g\n", err);
  EXPECT_LT(err, 1e-6);
  const int weights = int(dev.weight_names().size());
  EXPECT_EQ(emu->launches_of("edg_opt_adamw_master_bf16"), 4 * weights);
  EXPECT_EQ(emu->launches_of("edg_opt_adamw_bf16"), 0);
}

// The same model's train_step on the CPU and on the device (clipping that
// binds, lr 1e-4): the device's weights must follow the CPU's fp32 ones.
// The gradients differ (bf16 activations on the device, fp32 on the CPU:
// losses 3-6% apart, held to 10%), and Adam turns that into updates that
// differ by ~10% (L1 over every element, measured 0.107 after four steps);
// held to 0.2. Updating the bf16 weights in place instead loses most
// updates: 0.88.
TEST(CudaTrainEmu, Bf16MastersFollowTheCpu) {
  edg::TrainOptions o;
  o.lr = 1e-4;
  edg::cuda_emu::EmuDevice *emu = nullptr;
  Values start;
  edg::Model dev = bf16_on_device(emu, start, o);
  edg::Model cpu = edg::Model::load(kBf16Model);
  cpu.bind_weights({kWeights});
  cpu.set_train_options(o);
  set_values(cpu, start);
  const edg::TrainBatch b = batch();
  for (int step = 1; step <= 4; ++step) {
    const float want = cpu.train_step(b);
    EXPECT_NEAR(dev.train_step(b), want, 0.1 * std::fabs(want));
  }
  const double err = update_error(values_of(dev), values_of(cpu), start);
  std::printf("bf16 masters vs the CPU: update error %.3g\n", err);
  EXPECT_LT(err, 0.2);
}

} // namespace
