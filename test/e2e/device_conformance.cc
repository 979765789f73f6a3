//===- device_conformance.cc - model-level conformance on a device -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "test/e2e/device_conformance.h"

#include "runtime/core/model_file.h"
#include "runtime/core/weights.h"
#include "runtime/cuda/cuda_executor.h"
#include "test/e2e/fixture_io.h"

#include <chrono>

namespace edg::conformance {

namespace {

DeviceCheck compare(const std::string &what, const Tensor &got,
                    const SafetensorsFile &ref, const std::string &name,
                    double tol) {
  DeviceCheck c;
  c.what = what;
  if (got.shape() != ref.info(name).shape) {
    c.detail = "shape " + shape_str(got.shape()) + ", HF " +
               shape_str(ref.info(name).shape);
    return c;
  }
  c.rel_err = fixture::relative_error(got, ref.read_f32(name));
  c.ok = c.rel_err <= tol;
  return c;
}

/// The greedy token of a cached run of one row, picked on the device
/// (edg_argmax_rows_<t>: what Model::generate does on a GPU).
int32_t greedy_next(cuda::CudaExecutor &exec, const std::string &name,
                    const std::vector<const Tensor *> &args,
                    cuda::CudaKvCache &cache) {
  std::vector<int32_t> tokens;
  exec.run(name, args, cache, &tokens);
  return tokens.at(0);
}

Tensor row_of(const std::vector<int32_t> &ids) {
  Tensor t(DType::i32, {1, int64_t(ids.size())});
  std::copy(ids.begin(), ids.end(), t.data<int32_t>());
  return t;
}

/// One position: ids [[token]], positions [[pos]], valid [[1]].
struct Step {
  Tensor ids, pos, valid;
  Step(int32_t token, int32_t position)
      : ids(row_of({token})), pos(row_of({position})), valid(fixture::ones_u8(1, 1)) {}
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

DeviceCheck compare_tokens(const std::vector<int32_t> &got, const Tensor &want,
                           int64_t skip) {
  DeviceCheck c;
  c.what = "greedy generation";
  std::vector<int32_t> expected(want.data<int32_t>() + skip,
                                want.data<int32_t>() + want.numel());
  c.ok = got == expected;
  for (int32_t t : got)
    c.detail += " " + std::to_string(t);
  if (!c.ok) {
    c.detail += "   (HF:";
    for (int32_t t : expected)
      c.detail += " " + std::to_string(t);
    c.detail += ")";
  }
  return c;
}

} // namespace

std::vector<DeviceCheck> run_device_conformance(const std::string &model_path,
                                                const std::string &dir,
                                                cuda::DeviceApi &device,
                                                double tol, bool generate,
                                                bool tensors) {
  ModelFile file = ModelFile::load(model_path);
  WeightStore weights;
  weights.bind(file.model(), {dir + "/model.safetensors"});
  cuda::CudaExecutor exec(file, weights, device);
  SafetensorsFile ref = SafetensorsFile::open(dir + "/reference.safetensors");
  Tensor ids = fixture::to_i32(ref, "input_ids");
  Tensor valid = fixture::to_u8(ref, "attention_mask");
  std::vector<DeviceCheck> out;

  if (!exec.has_function("encode")) { // decoder-only Gemma 2
    Tensor pos = fixture::to_i32(ref, "position_ids");
    if (tensors)
      out.push_back(compare("logits", exec.run("forward", {&ids, &pos, &valid}).at(0),
                            ref, "logits", tol));
    if (!generate)
      return out;
    Tensor prompt = fixture::to_i32(ref, "gen.prompt_ids");
    Tensor expected = fixture::to_i32(ref, "gen.output_ids");
    // Greedy with the device KV cache: the prompt once (prefill), then one
    // position per step through the decode kernels.
    std::vector<int32_t> seq(prompt.data<int32_t>(),
                             prompt.data<int32_t>() + prompt.numel()),
        generated;
    auto cache = exec.new_cache(1, expected.numel());
    Tensor x = row_of(seq), p = fixture::arange_positions(1, x.dim(1)),
           v = fixture::ones_u8(1, x.dim(1));
    int32_t next = greedy_next(exec, "forward", {&x, &p, &v}, *cache);
    const Clock::time_point t0 = Clock::now();
    int64_t steps = 0;
    for (;;) {
      seq.push_back(next);
      generated.push_back(next);
      if (int64_t(seq.size()) >= expected.numel())
        break;
      Step s(next, int32_t(seq.size() - 1));
      next = greedy_next(exec, "forward", {&s.ids, &s.pos, &s.valid}, *cache);
      ++steps;
    }
    out.push_back(compare_tokens(generated, expected, prompt.numel()));
    out.back().decode_steps = steps;
    out.back().decode_launches = cache->decode_launches();
    out.back().graph_replays = cache->graph_replays();
    out.back().decode_seconds = seconds_since(t0);
    return out;
  }

  if (tensors) {
    const int64_t B = ids.dim(0), S = ids.dim(1);
    Tensor enc_pos = fixture::arange_positions(B, S);
    Tensor enc = std::move(exec.run("encode", {&ids, &enc_pos, &valid}).at(0));
    out.push_back(compare("encoder_hidden_states", enc, ref,
                          "encoder_hidden_states", tol));
    Tensor dec_ids = fixture::to_i32(ref, "decoder_input_ids");
    const int64_t T = dec_ids.dim(1);
    Tensor dec_pos = fixture::arange_positions(B, T);
    Tensor dec_valid = fixture::ones_u8(B, T);
    out.push_back(compare(
        "logits",
        exec.run("decode", {&dec_ids, &dec_pos, &dec_valid, &enc, &valid}).at(0),
        ref, "logits", tol));
  }
  if (!generate)
    return out;

  // The generation prompt is right-padded: encode its valid tokens only.
  Tensor gen_in = fixture::to_i32(ref, "gen.input_ids");
  Tensor gen_valid = fixture::to_u8(ref, "gen.attention_mask");
  Tensor expected = fixture::to_i32(ref, "gen.output_ids");
  std::vector<int32_t> prompt;
  for (int64_t i = 0; i < gen_in.numel(); ++i)
    if (gen_valid.data<uint8_t>()[i])
      prompt.push_back(gen_in.data<int32_t>()[i]);
  Tensor x = row_of(prompt), xp = fixture::arange_positions(1, x.dim(1)),
         xv = fixture::ones_u8(1, x.dim(1));
  Tensor memory = std::move(exec.run("encode", {&x, &xp, &xv}).at(0));
  // HF starts the decoder from its start token, the first output id; every
  // decoder position is one cached step (the cross-attention keys/values are
  // computed by the first, cuda_executor_cached.cc).
  std::vector<int32_t> seq = {expected.data<int32_t>()[0]}, generated;
  auto cache = exec.new_cache(1, expected.numel());
  const Clock::time_point t0 = Clock::now();
  int64_t steps = 0;
  while (int64_t(seq.size()) < expected.numel()) {
    Step s(seq.back(), int32_t(seq.size() - 1));
    int32_t next =
        greedy_next(exec, "decode", {&s.ids, &s.pos, &s.valid, &memory, &xv}, *cache);
    ++steps;
    seq.push_back(next);
    generated.push_back(next);
  }
  out.push_back(compare_tokens(generated, expected, 1));
  out.back().decode_steps = steps;
  out.back().decode_launches = cache->decode_launches();
    out.back().graph_replays = cache->graph_replays();
  out.back().decode_seconds = seconds_since(t0);
  return out;
}

} // namespace edg::conformance
