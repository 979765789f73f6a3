//===- edg-cuda-check.cc - model-level conformance on a CUDA device -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-cuda-check model.bin FIXTURE_DIR [--device=cuda|emu] [--tol T]
//  [--no-generate]` runs model.bin (compiled with --target=cuda or all)
// with the CUDA executor and compares it with the fixture's HF reference
// (device_conformance.h): logits / encoder states within --tol (relative
// to max(1, max|ref|); default 1e-4) and greedy generation token for token.
// --device=cuda (default) uses the GPU through the driver API and
// cuBLASLt; --device=emu the CPU emulator of CUDA, which is how CI runs it.
// Prints the device, one line per check, and exits 1 on any failure, 2 on
// an error (no driver, a model without a kernel-level schedule, ...).
//===----------------------------------------------------------------------===//
#include "test/e2e/device_conformance.h"
#include "test/cuda_emu/emu_device.h"

#include "runtime/core/status.h"

#include <cstdio>
#include <memory>
#include <string>

int main(int argc, char **argv) {
  std::string device = "cuda";
  double tol = 1e-4;
  bool generate = true;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--device=", 0) == 0)
      device = a.substr(9);
    else if (a == "--tol" && i + 1 < argc)
      tol = std::stod(argv[++i]);
    else if (a == "--no-generate")
      generate = false;
    else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "edg-cuda-check: unknown option '%s'\n", a.c_str());
      return 2;
    } else
      paths.push_back(a);
  }
  if (paths.size() != 2 || (device != "cuda" && device != "emu")) {
    std::fprintf(stderr, "usage: edg-cuda-check model.bin FIXTURE_DIR "
                         "[--device=cuda|emu] [--tol T] [--no-generate]\n");
    return 2;
  }
  int failures = 0;
  try {
    std::unique_ptr<edg::cuda::DeviceApi> dev;
    if (device == "emu")
      dev = std::make_unique<edg::cuda_emu::EmuDevice>();
    else
      dev = edg::cuda::open_cuda_device(0);
    auto checks = edg::conformance::run_device_conformance(paths[0], paths[1],
                                                           *dev, tol, generate);
    std::printf("device: %s\n", dev->describe().c_str());
    for (const auto &c : checks) {
      failures += !c.ok;
      if (c.what == "greedy generation")
        std::printf("%s %-24s%s\n", c.ok ? "PASS" : "FAIL", c.what.c_str(),
                    c.detail.c_str());
      else
        std::printf("%s %-24s rel %.3e (tol %.0e)%s%s\n", c.ok ? "PASS" : "FAIL",
                    c.what.c_str(), c.rel_err, tol, c.detail.empty() ? "" : "  ",
                    c.detail.c_str());
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "edg-cuda-check: error: %s\n", e.what());
    return 2;
  }
  std::printf("%s: %d failure%s\n", paths[1].c_str(), failures,
              failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
