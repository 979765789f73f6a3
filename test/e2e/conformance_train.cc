//===- conformance_train.cc - gradients and AdamW against HF -----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The training half of edg-conformance (`--grads`, `--adamw`), for a
// model.bin compiled from `edg-opt --edg-train-pipeline` (objective lm for
// Gemma 2, seq2seq for T5Gemma, max-grad-norm=0). Compares with the
// fixture's reference.safetensors (test/fixtures/README.md):
//   --grads  loss and EVERY `grad.<param>` (all HF named_parameters; the
//            tied head's gradient sits under the embedding's name)
//   --adamw  the loss before each of 5 torch.optim.AdamW steps
//            (adamw.losses) and every parameter after step 5
//            (adamw.step5.<param>), hyperparameters from adamw.json
// A tensor passes when max|edg - ref| <= tol * max|ref| (relative to its own
// scale; no floor, so small gradients are held to the same standard).
//===----------------------------------------------------------------------===//
#include "test/e2e/conformance_train.h"

#include "runtime/api/model_impl.h"
#include "runtime/core/safetensors.h"
#include "runtime/include/edg/edg.h"
#include "test/cuda_emu/emu_device.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace {

edg::Tensor to_i32(const edg::SafetensorsFile &ref, const std::string &name) {
  const edg::TensorInfo &info = ref.info(name);
  edg::check(info.dtype == edg::DType::i64, name, " must be int64");
  edg::Tensor t(edg::DType::i32, info.shape);
  const int64_t *src = reinterpret_cast<const int64_t *>(info.data);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<int32_t>()[i] = int32_t(src[i]);
  return t;
}

edg::Tensor to_u8(const edg::Tensor &mask) {
  edg::Tensor t(edg::DType::u8, mask.shape());
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<uint8_t>()[i] = mask.data<int32_t>()[i] != 0;
  return t;
}

edg::Tensor arange(int64_t B, int64_t T) {
  edg::Tensor t(edg::DType::i32, {B, T});
  for (int64_t i = 0; i < B * T; ++i)
    t.data<int32_t>()[i] = int32_t(i % T);
  return t;
}

/// The fixture's batch: gemma2 labels shifted left (ForCausalLM), t5gemma
/// labels as they are (decoder_input_ids = shift_right(labels)).
edg::TrainBatch fixture_batch(const edg::SafetensorsFile &ref, bool encdec) {
  edg::TrainBatch b;
  b.ids = to_i32(ref, "input_ids");
  b.valid = to_u8(to_i32(ref, "attention_mask"));
  edg::Tensor labels = to_i32(ref, "labels");
  int64_t B = b.ids.dim(0), T = b.ids.dim(1);
  if (!encdec) {
    b.positions = to_i32(ref, "position_ids");
    b.labels = edg::Tensor(edg::DType::i32, {B, T});
    for (int64_t r = 0; r < B; ++r)
      for (int64_t t = 0; t < T; ++t)
        b.labels.data<int32_t>()[r * T + t] =
            t + 1 < T ? labels.data<int32_t>()[r * T + t + 1] : -100;
    return b;
  }
  b.positions = arange(B, T);
  b.decoder_ids = to_i32(ref, "decoder_input_ids");
  int64_t Td = b.decoder_ids.dim(1);
  b.decoder_positions = arange(B, Td);
  b.decoder_valid = edg::Tensor(edg::DType::u8, {B, Td});
  std::memset(b.decoder_valid.raw(), 1, b.decoder_valid.nbytes());
  b.labels = std::move(labels);
  return b;
}

struct Checker {
  double tol;
  int failures = 0;
  int checked = 0;
  double worst = 0;
  std::string worst_name;

  /// Relative error of `got` against `want`; prints a line on failure (or
  /// always with `verbose`).
  void tensor(const std::string &name, const edg::Tensor &got,
              const std::vector<float> &want, bool verbose) {
    double err = 0, scale = 0;
    bool shape_ok = size_t(got.numel()) == want.size();
    for (size_t i = 0; shape_ok && i < want.size(); ++i) {
      err = std::max(err, double(std::fabs(got.data<float>()[i] - want[i])));
      scale = std::max(scale, double(std::fabs(want[i])));
    }
    double rel = scale > 0 ? err / scale : err;
    bool ok = shape_ok && rel <= tol;
    ++checked;
    if (rel > worst || !shape_ok) {
      worst = shape_ok ? rel : INFINITY;
      worst_name = name;
    }
    if (!ok || verbose)
      std::printf("%s %-56s max_abs_err %.3e  scale %.3e  rel %.3e%s\n",
                  ok ? "PASS" : "FAIL", name.c_str(), err, scale, rel,
                  shape_ok ? "" : "  (shape mismatch)");
    failures += !ok;
  }

  void summary(const char *what) {
    std::printf("%s %s: %d tensors, worst rel %.3e (%s)\n",
                failures ? "FAIL" : "PASS", what, checked, worst,
                worst_name.c_str());
  }
};

void scalar(Checker &c, const char *what, float got, float want) {
  double rel = std::fabs(double(got) - want) / std::max(1e-30, std::fabs(double(want)));
  bool ok = rel <= c.tol;
  c.failures += !ok;
  std::printf("%s %-24s edg %.8g  hf %.8g  rel %.3e\n", ok ? "PASS" : "FAIL",
              what, got, want, rel);
}

std::vector<std::string> ref_params(const edg::SafetensorsFile &ref,
                                    const std::string &prefix) {
  std::vector<std::string> names;
  for (const std::string &n : ref.names())
    if (n.rfind(prefix, 0) == 0)
      names.push_back(n.substr(prefix.size()));
  return names;
}

int run_grads(edg::Model &model, const edg::SafetensorsFile &ref,
              double tol, bool verbose) {
  edg::TrainBatch batch = fixture_batch(ref, model.train_is_encoder_decoder());
  edg::Gradients g = model.gradients(batch);
  Checker c{tol};
  scalar(c, "loss", g.loss, ref.read_f32("loss")[0]);
  // Every HF parameter must have an EDG gradient, and vice versa.
  std::vector<std::string> params = ref_params(ref, "grad.");
  for (const std::string &name : params) {
    const edg::Tensor *got = g.find(name);
    if (!got) {
      std::printf("FAIL %-56s no EDG gradient\n", name.c_str());
      ++c.failures;
      continue;
    }
    c.tensor(name, *got, ref.read_f32("grad." + name), verbose);
  }
  if (g.names.size() != params.size()) {
    std::printf("FAIL EDG has %zu gradients, HF %zu\n", g.names.size(),
                params.size());
    ++c.failures;
  }
  c.summary("gradients");
  // For investigating a failure: EDG_CONFORMANCE_DUMP=FILE writes EDG's
  // gradients (HF names) to compare with other references.
  if (const char *dump = std::getenv("EDG_CONFORMANCE_DUMP")) {
    std::vector<edg::NamedTensor> out;
    for (size_t i = 0; i < g.names.size(); ++i)
      out.push_back({g.names[i], g.grads[i].shape(), g.grads[i].data<float>(),
                     edg::DType::f32});
    edg::write_safetensors(dump, out);
  }
  return c.failures;
}

int run_adamw(edg::Model &model, const edg::SafetensorsFile &ref,
              const std::string &dir, double tol, bool verbose) {
  std::ifstream in(dir + "/adamw.json");
  edg::check(bool(in), dir, "/adamw.json is missing: not an AdamW fixture");
  nlohmann::json cfg = nlohmann::json::parse(in);
  edg::TrainOptions o;
  o.lr = cfg.at("lr").get<double>();
  o.beta1 = cfg.at("betas").at(0).get<double>();
  o.beta2 = cfg.at("betas").at(1).get<double>();
  o.eps = cfg.at("eps").get<double>();
  o.weight_decay = cfg.at("weight_decay").get<double>();
  o.warmup_steps = 0, o.total_steps = 0;
  o.max_grad_norm = 0.0; // torch's reference does not clip
  model.set_train_options(o);
  edg::TrainBatch batch = fixture_batch(ref, model.train_is_encoder_decoder());
  int steps = cfg.at("steps").get<int>();
  std::vector<float> want = ref.read_f32("adamw.losses");
  Checker c{tol};
  for (int s = 0; s < steps; ++s) {
    float loss = model.train_step(batch);
    std::string what = "loss before step " + std::to_string(s + 1);
    scalar(c, what.c_str(), loss, want.at(size_t(s)));
  }
  Checker p{tol};
  std::vector<std::string> params = ref_params(ref, "adamw.step5.");
  for (const std::string &name : params)
    p.tensor(name, model.weight(name), ref.read_f32("adamw.step5." + name),
             verbose);
  p.summary("parameters after step 5");
  return c.failures + p.failures;
}
} // namespace

int run_train_conformance(const std::string &model_path,
                          const std::string &dir, const std::string &mode,
                          double tol, bool verbose, const std::string &device) {
  edg::Model model = edg::Model::load(model_path);
  edg::check(model.is_trainable(), model_path,
             ": no train_step; compile a module built with "
             "edg-opt --edg-train-pipeline");
  model.bind_weights({dir + "/model.safetensors"});
  edg::SafetensorsFile ref =
      edg::SafetensorsFile::open(dir + "/reference.safetensors");
  auto run = [&] {
    return mode == "--grads" ? run_grads(model, ref, tol, verbose)
                             : run_adamw(model, ref, dir, tol, verbose);
  };
  if (device.empty())
    return run();
  if (device == "cuda") {
    auto gpu = edg::cuda::open_cuda_device(0);
    std::printf("device: %s\n", gpu->describe().c_str());
    edg::ModelInternals::use_device(model, std::move(gpu));
    return run();
  }
  auto owned = std::make_unique<edg::cuda_emu::EmuDevice>();
  edg::cuda_emu::EmuDevice &emu = *owned;
  edg::ModelInternals::use_device(model, std::move(owned));
  int failures = run();
  // Proof that the device ran the step: a schedule-less entry point would
  // have fallen back to the CPU and launched nothing.
  std::printf("emulated CUDA: %d kernel launches, %d GEMMs\n", emu.launches(),
              emu.gemms());
  return failures;
}
