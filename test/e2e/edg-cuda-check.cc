//===- edg-cuda-check.cc - model-level conformance on a CUDA device -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-cuda-check model.bin FIXTURE_DIR [--device=cuda|emu] [--tol T]
//  [--no-generate]` runs model.bin (compiled with --target=cuda or all)
// with the CUDA executor and compares it with the fixture's HF reference
// (device_conformance.h): logits / encoder states within --tol (relative
// to max(1, max|ref|); default 1e-4) and greedy generation token for token
// with the device KV cache (prints its steps, decode launches, tokens/s).
// --device=cuda (default) uses the GPU through the driver API and
// cuBLASLt; --device=emu the CPU emulator of CUDA, which is how CI runs it.
// Prints the device, one line per check, and exits 1 on any failure, 2 on
// an error (no driver, a model without a kernel-level schedule, ...).
//
// `edg-cuda-check model.bin --bench-decode=N [--prompt=P] [--device=...]`
// instead times N greedy one-token steps at batch 1 with the device KV cache
// after a P-token prompt (default 16), on synthetic weights
// (decode_bench.h), and prints `BENCH decode ...` with tokens/s.
//
// `edg-cuda-check train.bin --bench-train=N [--batch=B] [--seq=T]
//  [--peak=TFLOPS] [--device=...]` times N training steps (grad_step and
// the optimizer on the device) of a training model (default 1 x 16 tokens;
// train_bench.h) and prints `BENCH train ...` with TFLOP/s and the model
// FLOP utilisation against --peak (default 790, the H200's achievable dense
// bf16 rate).
//===----------------------------------------------------------------------===//
#include "test/e2e/decode_bench.h"
#include "test/e2e/device_conformance.h"
#include "test/e2e/train_bench.h"
#include "test/cuda_emu/emu_device.h"

#include "runtime/core/status.h"

#include <cstdio>
#include <memory>
#include <string>

namespace {

/// --bench-decode: prints one BENCH line.
int bench_decode(edg::cuda::DeviceApi &dev, const std::string &model,
                 long prompt, long tokens) {
  auto r = edg::conformance::bench_decode(model, dev, prompt, tokens);
  std::printf("device: %s\n", dev.describe().c_str());
  const double n = double(r.tokens);
  std::printf("BENCH decode batch 1, KV cache, prompt %lld: %lld tokens in "
              "%.1f ms, %.3f ms/token, %.1f tokens/s (%lld decode attention "
              "launches, %lld steps replayed as CUDA graphs); without graphs "
              "%.3f ms/token, %.1f tokens/s\n",
              (long long)r.prompt, (long long)r.tokens, r.seconds * 1e3,
              r.seconds * 1e3 / n, n / r.seconds, (long long)r.decode_launches,
              (long long)r.graph_replays, r.seconds_eager * 1e3 / n,
              n / r.seconds_eager);
  return 0;
}

/// --bench-train: prints one BENCH line.
int bench_train(edg::cuda::DeviceApi &dev, const std::string &model, long batch,
                long seq, long steps, double peak) {
  auto r = edg::conformance::bench_train(model, dev, batch, seq, steps);
  const double tflops = r.seconds > 0 ? r.flops / r.seconds / 1e12 : 0;
  std::printf("device: %s\n", dev.describe().c_str());
  std::printf("BENCH train step batch %lld x %lld tokens: %.2f GFLOP, %.2f "
              "ms/step (median of %lld; grad_step and AdamW on the device), "
              "%.3f TFLOP/s, MFU %.2f%% of %.0f TFLOP/s\n",
              (long long)r.batch, (long long)r.seq, r.flops / 1e9,
              r.seconds * 1e3, (long long)r.steps, tflops, 100 * tflops / peak,
              peak);
  return 0;
}

/// The fixture checks: one line per check; 1 on any failure.
int check_fixture(edg::cuda::DeviceApi &dev, const std::string &model,
                  const std::string &fixture, double tol, bool generate) {
  auto checks = edg::conformance::run_device_conformance(model, fixture, dev,
                                                         tol, generate);
  std::printf("device: %s\n", dev.describe().c_str());
  int failures = 0;
  for (const auto &c : checks) {
    failures += !c.ok;
    if (c.what == "greedy generation")
      std::printf("%s %-24s%s\n     KV cache: %lld one-token steps (%lld "
                  "replayed as CUDA graphs), %lld decode attention launches, "
                  "%.1f tokens/s\n",
                  c.ok ? "PASS" : "FAIL", c.what.c_str(), c.detail.c_str(),
                  (long long)c.decode_steps, (long long)c.graph_replays,
                  (long long)c.decode_launches,
                  c.decode_seconds > 0 ? double(c.decode_steps) / c.decode_seconds
                                       : 0.0);
    else
      std::printf("%s %-24s rel %.3e (tol %.0e)%s%s\n", c.ok ? "PASS" : "FAIL",
                  c.what.c_str(), c.rel_err, tol, c.detail.empty() ? "" : "  ",
                  c.detail.c_str());
  }
  std::printf("%s: %d failure%s\n", fixture.c_str(), failures,
              failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string device = "cuda";
  double tol = 1e-4;
  bool generate = true;
  long bench = 0, prompt = 16, train = 0, batch = 1, seq = 16;
  double peak = 790;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--device=", 0) == 0)
      device = a.substr(9);
    else if (a == "--tol" && i + 1 < argc)
      tol = std::stod(argv[++i]);
    else if (a == "--no-generate")
      generate = false;
    else if (a.rfind("--bench-decode=", 0) == 0)
      bench = std::stol(a.substr(15));
    else if (a.rfind("--prompt=", 0) == 0)
      prompt = std::stol(a.substr(9));
    else if (a.rfind("--bench-train=", 0) == 0)
      train = std::stol(a.substr(14));
    else if (a.rfind("--batch=", 0) == 0)
      batch = std::stol(a.substr(8));
    else if (a.rfind("--seq=", 0) == 0)
      seq = std::stol(a.substr(6));
    else if (a.rfind("--peak=", 0) == 0)
      peak = std::stod(a.substr(7));
    else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "edg-cuda-check: unknown option '%s'\n", a.c_str());
      return 2;
    } else
      paths.push_back(a);
  }
  const bool benchmark = bench > 0 || train > 0;
  if (paths.size() != (benchmark ? 1u : 2u) || (device != "cuda" && device != "emu") ||
      batch < 1 || seq < 1 || !(peak > 0)) {
    std::fprintf(stderr, "usage: edg-cuda-check model.bin FIXTURE_DIR "
                         "[--device=cuda|emu] [--tol T] [--no-generate]\n"
                         "       edg-cuda-check model.bin --bench-decode=N "
                         "[--prompt=P] [--device=cuda|emu]\n"
                         "       edg-cuda-check train.bin --bench-train=N "
                         "[--batch=B] [--seq=T] [--peak=TFLOPS] [--device=cuda|emu]\n");
    return 2;
  }
  try {
    std::unique_ptr<edg::cuda::DeviceApi> dev =
        device == "emu" ? std::make_unique<edg::cuda_emu::EmuDevice>()
                        : edg::cuda::open_cuda_device(0);
    if (train > 0)
      return bench_train(*dev, paths[0], batch, seq, train, peak);
    return bench > 0 ? bench_decode(*dev, paths[0], prompt, bench)
                     : check_fixture(*dev, paths[0], paths[1], tol, generate);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "edg-cuda-check: error: %s\n", e.what());
    return 2;
  }
}
