//===- edg-conformance.cc - compare EDG with HF reference outputs -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-conformance model.bin FIXTURE_DIR [--tol 1e-4]` binds the fixture's
// model.safetensors, runs the compiled model on the inputs stored in
// FIXTURE_DIR/reference.safetensors (written by test/fixtures/make_fixtures.py
// with HF transformers, eager attention, fp32) and compares:
//   - gemma2:  logits, loss, greedy generation with the KV cache
//   - t5gemma: encoder hidden states, decoder logits, loss, greedy generation
//   - both: beam search (FIXTURE_DIR/beam.safetensors), best hypotheses and
//     their scores
// Tensors pass when max|edg - ref| <= tol * max(1, max|ref|) (relative to the
// tensor's scale); generations must match token for token. Prints one line
// per check and exits 1 on any failure.
//
// `edg-conformance train.bin FIXTURE_DIR --grads|--adamw [--tol T] [-v]
// [--device=cuda|emu]` checks training instead (conformance_train.cc): every
// parameter gradient, or five AdamW steps, against HF's; --device runs the
// entry points that have CUDA schedules on a GPU or on the CPU emulator of
// CUDA.
//===----------------------------------------------------------------------===//
#include "test/e2e/conformance_train.h"

#include "runtime/core/safetensors.h"
#include "runtime/cpu/kernels.h"
#include "runtime/include/edg/edg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

int failures = 0;

edg::Tensor to_i32(const edg::SafetensorsFile &ref, const std::string &name) {
  const edg::TensorInfo &info = ref.info(name);
  edg::check(info.dtype == edg::DType::i64, name, " must be int64");
  edg::Tensor t(edg::DType::i32, info.shape);
  const int64_t *src = reinterpret_cast<const int64_t *>(info.data);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<int32_t>()[i] = int32_t(src[i]);
  return t;
}

edg::Tensor to_u8(const edg::SafetensorsFile &ref, const std::string &name) {
  edg::Tensor ids = to_i32(ref, name);
  edg::Tensor t(edg::DType::u8, ids.shape());
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<uint8_t>()[i] = ids.data<int32_t>()[i] != 0;
  return t;
}

edg::Tensor arange_positions(int64_t B, int64_t T) {
  edg::Tensor t(edg::DType::i32, {B, T});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < T; ++i)
      t.data<int32_t>()[b * T + i] = int32_t(i);
  return t;
}

edg::Tensor ones_u8(int64_t B, int64_t T) {
  edg::Tensor t(edg::DType::u8, {B, T});
  std::memset(t.raw(), 1, t.nbytes());
  return t;
}

void compare(const char *what, const edg::Tensor &got,
             const std::vector<float> &want, const std::vector<int64_t> &shape,
             double tol) {
  bool shape_ok = got.shape() == shape;
  double max_err = 0, max_ref = 1;
  if (shape_ok)
    for (size_t i = 0; i < want.size(); ++i) {
      max_err = std::max(max_err, double(std::fabs(got.data<float>()[i] - want[i])));
      max_ref = std::max(max_ref, double(std::fabs(want[i])));
    }
  bool ok = shape_ok && max_err <= tol * max_ref;
  failures += !ok;
  std::printf("%s %-24s max_abs_err %.3e  scale %.3e  rel %.3e%s\n",
              ok ? "PASS" : "FAIL", what, max_err, max_ref, max_err / max_ref,
              shape_ok ? "" : "  (shape mismatch)");
}

void compare_tokens(const char *what, const edg::TokenIds &got,
                    const edg::Tensor &want_all, int64_t skip) {
  edg::TokenIds want(want_all.data<int32_t>() + skip,
                     want_all.data<int32_t>() + want_all.numel());
  bool ok = got == want;
  failures += !ok;
  std::printf("%s %-24s", ok ? "PASS" : "FAIL", what);
  for (int32_t t : got)
    std::printf(" %d", t);
  if (!ok) {
    std::printf("   (HF:");
    for (int32_t t : want)
      std::printf(" %d", t);
    std::printf(")");
  }
  std::printf("\n");
}

/// Mean cross-entropy of logits [B, T, V] against labels [B, T]; `shift`
/// predicts token t+1 from position t (causal LM), as HF's loss does.
float loss_of(const edg::Tensor &logits, const edg::Tensor &labels, bool shift) {
  int64_t B = logits.dim(0), T = logits.dim(1), V = logits.dim(2);
  std::vector<float> rows;
  std::vector<int32_t> targets;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t + (shift ? 1 : 0) < T; ++t) {
      const float *row = logits.data<float>() + (b * T + t) * V;
      rows.insert(rows.end(), row, row + V);
      targets.push_back(labels.data<int32_t>()[b * T + t + (shift ? 1 : 0)]);
    }
  return edg::cpu::cross_entropy(rows.data(), targets.data(),
                                 int64_t(targets.size()), V, nullptr);
}

/// Beam search against HF's generate(num_beams=3) (beam.safetensors, written
/// by test/fixtures/make_beam_fixtures.py): every prompt's best hypothesis,
/// token for token, and its score within `tol` relative.
void check_beams(const edg::Model &model, const std::string &dir, double tol) {
  edg::SafetensorsFile ref = edg::SafetensorsFile::open(dir + "/beam.safetensors");
  edg::Tensor ids = to_i32(ref, "prompt_ids"), lens = to_i32(ref, "prompt_len");
  int64_t B = ids.dim(0), P = ids.dim(1);
  std::vector<edg::TokenIds> prompts;
  for (int64_t b = 0; b < B; ++b) {
    // Decoder-only prompts are left-padded, encoder inputs right-padded.
    int64_t n = lens.data<int32_t>()[b];
    const int32_t *row = ids.data<int32_t>() + b * P;
    int64_t start = model.is_encoder_decoder() ? 0 : P - n;
    prompts.emplace_back(row + start, row + start + n);
  }
  for (const char *c : {"beam", "beam_eos"}) {
    std::string name = c;
    edg::Tensor want = to_i32(ref, name + ".output_ids");
    edg::Tensor want_len = to_i32(ref, name + ".output_len");
    std::vector<float> want_scores = ref.read_f32(name + ".scores");
    edg::GenerateOptions options;
    options.num_beams = 3;
    options.max_new_tokens = int(want.dim(1));
    options.stop_tokens = {to_i32(ref, name + ".eos").data<int32_t>()[0]};
    options.length_penalty = ref.read_f32(name + ".length_penalty")[0];
    std::vector<edg::Hypothesis> got = model.beam_search(prompts, options);
    edg::Tensor scores(edg::DType::f32, {B});
    for (int64_t b = 0; b < B; ++b) {
      std::string what = name + " search, prompt " + std::to_string(b);
      edg::Tensor row(edg::DType::i32, {want_len.data<int32_t>()[b]});
      std::copy_n(want.data<int32_t>() + b * want.dim(1), row.numel(),
                  row.data<int32_t>());
      compare_tokens(what.c_str(), got[size_t(b)].tokens, row, 0);
      scores.data<float>()[b] = got[size_t(b)].score;
    }
    compare((name + " scores").c_str(), scores, want_scores, {B}, tol);
  }
}

void run(const std::string &model_path, const std::string &dir, double tol) {
  edg::Model model = edg::Model::load(model_path);
  model.bind_weights({dir + "/model.safetensors"});
  edg::SafetensorsFile ref =
      edg::SafetensorsFile::open(dir + "/reference.safetensors");
  edg::Tensor ids = to_i32(ref, "input_ids");
  edg::Tensor valid = to_u8(ref, "attention_mask");
  edg::Tensor labels = to_i32(ref, "labels");
  edg::Tensor loss(edg::DType::f32, {1});

  if (!model.is_encoder_decoder()) {
    edg::Tensor pos = to_i32(ref, "position_ids");
    edg::Tensor logits =
        std::move(model.run("forward", {&ids, &pos, &valid}).at(0));
    compare("logits", logits, ref.read_f32("logits"), ref.info("logits").shape,
            tol);
    loss.data<float>()[0] = loss_of(logits, labels, /*shift=*/true);
    compare("loss", loss, ref.read_f32("loss"), {1}, tol);
    edg::Tensor prompt = to_i32(ref, "gen.prompt_ids");
    edg::Tensor expected = to_i32(ref, "gen.output_ids");
    edg::GenerateOptions options;
    options.max_new_tokens = int(expected.numel() - prompt.numel());
    options.stop_tokens = {-1}; // the reference generates without stopping
    edg::TokenIds p(prompt.data<int32_t>(), prompt.data<int32_t>() + prompt.numel());
    compare_tokens("greedy generation", model.generate({p}, options)[0],
                   expected, prompt.numel());
    check_beams(model, dir, tol);
    return;
  }

  int64_t B = ids.dim(0), S = ids.dim(1);
  edg::Tensor enc_pos = arange_positions(B, S);
  edg::Tensor enc = std::move(model.run("encode", {&ids, &enc_pos, &valid}).at(0));
  // The T5Gemma references follow MODEL_SPEC §2.3's exclusive encoder window
  // |i-j| < W (test/fixtures/README.md), as EDG does.
  compare("encoder_hidden_states", enc, ref.read_f32("encoder_hidden_states"),
          ref.info("encoder_hidden_states").shape, tol);
  edg::Tensor dec_ids = to_i32(ref, "decoder_input_ids");
  int64_t T = dec_ids.dim(1);
  edg::Tensor dec_pos = arange_positions(B, T);
  edg::Tensor dec_valid = ones_u8(B, T);
  edg::Tensor logits = std::move(
      model.run("decode", {&dec_ids, &dec_pos, &dec_valid, &enc, &valid}).at(0));
  compare("logits", logits, ref.read_f32("logits"), ref.info("logits").shape,
          tol);
  loss.data<float>()[0] = loss_of(logits, labels, /*shift=*/false);
  compare("loss", loss, ref.read_f32("loss"), {1}, tol);

  // The generation prompt is right-padded; generate() pads by itself.
  edg::Tensor gen_in = to_i32(ref, "gen.input_ids");
  edg::Tensor gen_valid = to_u8(ref, "gen.attention_mask");
  edg::Tensor expected = to_i32(ref, "gen.output_ids");
  edg::GenerateOptions options;
  options.max_new_tokens = int(expected.numel() - 1);
  options.stop_tokens = {-1};
  edg::TokenIds p;
  for (int64_t i = 0; i < gen_in.numel(); ++i)
    if (gen_valid.data<uint8_t>()[i])
      p.push_back(gen_in.data<int32_t>()[i]);
  compare_tokens("greedy generation", model.generate({p}, options)[0], expected,
                 1);
  check_beams(model, dir, tol);
}
} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: edg-conformance model.bin FIXTURE_DIR [--grads|--adamw] "
                 "[--tol T] [-v] [--device=cuda|emu]\n");
    return 2;
  }
  double tol = 1e-4;
  std::string mode;
  bool verbose = false;
  std::string device;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--tol" && i + 1 < argc)
      tol = std::stod(argv[++i]);
    else if (a == "--grads" || a == "--adamw")
      mode = a;
    else if (a == "-v")
      verbose = true;
    else if (a == "--device=emu" || a == "--device=cuda")
      device = a.substr(9);
    else {
      std::fprintf(stderr, "edg-conformance: unknown option '%s'\n", a.c_str());
      return 2;
    }
  }
  if (!device.empty() && mode.empty()) {
    std::fprintf(stderr, "edg-conformance: --device goes with --grads or "
                         "--adamw (inference on a device: edg-cuda-check)\n");
    return 2;
  }
  try {
    if (!mode.empty())
      failures = run_train_conformance(argv[1], argv[2], mode, tol, verbose,
                                       device);
    else
      run(argv[1], argv[2], tol);
  } catch (const edg::Error &e) {
    std::fprintf(stderr, "edg-conformance: error: %s\n", e.what());
    return 1;
  }
  std::printf("%s: %d failure%s\n", argv[2], failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
