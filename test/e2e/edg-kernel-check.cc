//===- edg-kernel-check.cc - run generated kernels against the oracle -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-kernel-check model.bin [--device=cpu|emu|cuda] [--bench-attention=T]
//  [--bench-gemm=N]`, `edg-kernel-check kernels.cu --device=emu`
//
// Runs every generated kernel stored in model.bin on random inputs and
// compares it with the hand-written fp32 CPU kernels (kernel_oracle.h; the
// training kinds of passes/EmitCudaTrain.cpp and the optimizer kernels of
// passes/EmitCudaOptimizer.cpp: train_oracle.h; the generation kernels of
// passes/EmitCudaGeneration.cpp against a host scan / copy, exactly):
//   cpu:  the shared object edg-compile built (fp32), tolerance 1e-4
//   emu:  the generated CUDA source, built with the host compiler against
//         the CPU emulator of CUDA (test/cuda_emu): the CUDA kernels' code
//         checked without a GPU; a `.cu` file (edg-opt --edg-emit-cuda)
//         instead of model.bin needs no NVRTC
//   cuda: the cubin/PTX for this GPU
// emu and cuda tolerances by storage type: f32 1e-4, f16 5e-3, bf16 3e-2 (a
// rounding point per op, MODEL_SPEC §3), relative to max(1, max |expected|);
// fp32 outputs of the training kinds 1e-5; the optimizer chain (sums of
// squares, clip, AdamW) against clip_grad_norm and adamw_step: the sum of
// squares within 1e-10, the norm, the coefficient and fp32 p, m, v within
// 1e-6 (relative to the largest |expected|; the CPU contracts to FMA where
// the emulator does not), bf16 / f16 p within 1e-2 / 2e-3. Prints one line
// per kernel and exits 1 on any failure. With CUDA, --bench-attention times the model's
// attention kernels at T = S (TFLOP/s; causal masks count half the
// products), and their backward kernels when the model is a training
// module, and --bench-gemm a bf16 cuBLASLt N x N x N GEMM.
//===----------------------------------------------------------------------===//
#include "test/e2e/kernel_oracle.h"
#include "test/e2e/train_oracle.h"

#include "runtime/core/half.h"
#include "runtime/core/model_file.h"
#include "runtime/core/sampling.h"
#include "runtime/core/status.h"
#include "runtime/cpu/generated_kernels.h"
#include "runtime/cuda/kernel_image.h"
#include "runtime/cuda/launch_info.h"
#include "test/cuda_emu/emu_kernels.h"

#ifdef EDG_ENABLE_CUDA
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_kernels.h"
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

namespace {
using namespace edg;
using oracle::HostTensor;
using oracle::KernelCase;

int failures = 0;

void report(const std::string &name, const std::string &what, double err,
            double tol) {
  bool ok = err <= tol;
  failures += !ok;
  std::printf("%s %-48s %-10s rel_err %.3e (tol %.0e)\n", ok ? "PASS" : "FAIL",
              name.c_str(), what.c_str(), err, tol);
}

//===----------------------------------------------------------------------===//
// CPU: the generated shared object
//===----------------------------------------------------------------------===//

void check_cpu(const ModelFile &file) {
  auto kernels = cpu::GeneratedKernels::load(file.model(), file.path());
  check(kernels != nullptr, file.path(),
        ": no generated CPU kernels (compile with --target=cpu or all)");
  uint32_t seed = 1;
  for (const cpu::GeneratedKernel *k : kernels->all()) {
    KernelCase c = oracle::make_case(k->signature, k->row_width,
                                    [](float x) { return x; }, seed++);
    std::vector<void *> args;
    for (HostTensor &t : c.inputs)
      args.push_back(t.kind == HostTensor::f32   ? static_cast<void *>(t.f.data())
                     : t.kind == HostTensor::i32 ? static_cast<void *>(t.i.data())
                                                 : static_cast<void *>(t.u.data()));
    std::vector<std::vector<float>> outs;
    for (const auto &shape : c.output_shapes) {
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      outs.emplace_back(size_t(n), -12345.0f);
    }
    for (auto &o : outs)
      args.push_back(o.data());
    k->run(args.data(), c.sizes.data());
    double err = 0;
    for (size_t i = 0; i < outs.size(); ++i)
      err = std::max(err, oracle::relative_error(outs[i], c.expected[i]));
    report(k->name, k->kind, err, 1e-4);
  }
}

//===----------------------------------------------------------------------===//
// Generated CUDA kernels: on the emulator or a GPU
//===----------------------------------------------------------------------===//

/// A tensor as the kernel stores it: fp32, bf16 or f16 bits, int32, u8.
std::vector<uint8_t> to_storage(const HostTensor &t, const std::string &dtype) {
  std::vector<uint8_t> out;
  auto put = [&](const void *p, size_t n) {
    const uint8_t *b = static_cast<const uint8_t *>(p);
    out.insert(out.end(), b, b + n);
  };
  if (t.kind == HostTensor::i32)
    put(t.i.data(), t.i.size() * 4);
  else if (t.kind == HostTensor::u8)
    put(t.u.data(), t.u.size());
  else if (dtype == "f32")
    put(t.f.data(), t.f.size() * 4);
  else
    for (float x : t.f) {
      uint16_t h = dtype == "bf16" ? f32_to_bf16(x) : f32_to_f16(x);
      put(&h, 2);
    }
  return out;
}

std::vector<float> from_storage(const std::vector<uint8_t> &bytes,
                                const std::string &dtype) {
  std::vector<float> out;
  if (dtype == "f32") {
    out.resize(bytes.size() / 4);
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    uint16_t h;
    std::memcpy(&h, &bytes[i], 2);
    out.push_back(dtype == "bf16" ? bf16_to_f32(h) : f16_to_f32(h));
  }
  return out;
}

float round_to(const std::string &dtype, float x) {
  if (dtype == "bf16")
    return bf16_to_f32(f32_to_bf16(x));
  if (dtype == "f16")
    return f16_to_f32(f32_to_f16(x));
  return x;
}

double tolerance(const std::string &dtype) {
  return dtype == "bf16" ? 3e-2 : dtype == "f16" ? 5e-3 : 1e-4;
}

/// Memory and launches of one target (the emulator or a GPU).
struct Target {
  std::function<void *(const std::vector<uint8_t> &)> upload;
  std::function<std::vector<uint8_t>(void *, size_t)> download;
  std::function<void(void *)> release;
  std::function<void(const cuda::LaunchInfo &, const std::vector<void *> &,
                     const std::vector<int64_t> &)>
      launch;
};

/// "f32", "bf16" or "f16" of a CUDA storage type; "" for integers.
std::string dtype_of(const std::string &storage) {
  return storage == "float"           ? "f32"
         : storage == "__nv_bfloat16" ? "bf16"
         : storage == "__half"        ? "f16"
                                      : "";
}

/// A training kernel (mixed storage types, read from its declaration in
/// `source`) against train_oracle.h; one report line per output.
void check_train_kernel(const cuda::LaunchInfo &k, const std::string &source,
                        Target &target, uint32_t seed) {
  const oracle::KernelDecl decl = oracle::find_kernel_decl(source, k.name);
  oracle::TrainCase t = oracle::make_train_case(
      k.kind, k.width, decl,
      [](const std::string &type, float x) {
        return round_to(dtype_of(type), x);
      },
      seed);
  const size_t ins = t.c.inputs.size();
  check(ins + t.c.output_shapes.size() == decl.params.size(), k.name,
        ": the case does not match the kernel's parameters");
  std::vector<void *> ptrs;
  for (size_t i = 0; i < ins; ++i)
    ptrs.push_back(target.upload(
        to_storage(t.c.inputs[i], dtype_of(decl.params[i]))));
  std::vector<size_t> bytes;
  for (size_t o = 0; o < t.c.output_shapes.size(); ++o) {
    int64_t n = 1;
    for (int64_t d : t.c.output_shapes[o])
      n *= d;
    bytes.push_back(size_t(n) * (dtype_of(decl.params[ins + o]) == "f32" ? 4 : 2));
    // Zeroed like the executor's zero_outputs, else NaN bytes: an element
    // the kernel never writes fails the check.
    ptrs.push_back(target.upload(
        std::vector<uint8_t>(bytes.back(), t.zero_outputs ? 0x00 : 0xff)));
  }
  target.launch(k, ptrs, t.c.sizes);
  for (size_t o = 0; o < bytes.size(); ++o) {
    const std::string dtype = dtype_of(decl.params[ins + o]);
    double err = oracle::relative_error(
        from_storage(target.download(ptrs[ins + o], bytes[o]), dtype),
        t.c.expected[o]);
    report(k.name, k.kind + "/" + dtype + " out" + std::to_string(o) + " (" +
                       t.note + ")",
           err, dtype == "f32" ? 1e-5 : tolerance(dtype));
  }
  for (void *p : ptrs)
    target.release(p);
}

/// max |got - want| / max |want| (not capped below at 1: the moments are
/// small).
double scaled_error(const std::vector<float> &got,
                    const std::vector<float> &want) {
  if (got.size() != want.size())
    return INFINITY;
  double err = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(double(got[i]) - double(want[i]));
    err = std::isnan(d) ? INFINITY : std::max(err, d);
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return err / std::max(scale, 1e-30);
}

/// The optimizer kernels (passes/EmitCudaOptimizer.cpp), chained as the
/// runtime runs them, per weight type: edg_opt_sumsq_<t> (n not a multiple
/// of the 256 x 256 stride), edg_opt_clip on its 256 partial sums,
/// edg_opt_adamw_<t> with the clip's {norm, coefficient} as `coef`, and for
/// 16-bit types edg_opt_adamw_master_<t> on an fp32 master of the same
/// weights (master within 1e-6 of the CPU's unrounded step, p its rounding);
/// max_norm binding, not binding and 0. Against train_oracle.h
/// make_optimizer_case.
void check_optimizer(const std::vector<cuda::LaunchInfo> &infos,
                     Target &target) {
  const cuda::LaunchInfo *clip = nullptr;
  for (const cuda::LaunchInfo &k : infos)
    if (k.kind == "optimizer_clip")
      clip = &k;
  uint32_t seed = 1000;
  for (const cuda::LaunchInfo &sumsq : infos) {
    if (sumsq.kind != "optimizer_sumsq")
      continue;
    const std::string dtype = sumsq.dtype;
    const cuda::LaunchInfo *adamw = nullptr, *master = nullptr;
    for (const cuda::LaunchInfo &k : infos) {
      if (k.kind == "optimizer_adamw" && k.dtype == dtype)
        adamw = &k;
      if (k.kind == "optimizer_adamw_master" && k.dtype == dtype)
        master = &k;
    }
    check(clip != nullptr && adamw != nullptr, sumsq.name,
          ": no edg_opt_clip or edg_opt_adamw_", dtype, " next to it");
    const size_t eb = dtype == "f32" ? 4 : 2;
    const int64_t n = 70001; // two strides of 256 x 256 for some threads
    for (int which = 0; which < 3; ++which) {
      oracle::OptimizerCase c = oracle::make_optimizer_case(
          n, which, [&](float x) { return round_to(dtype, x); }, seed++);
      auto upload_f32 = [&](const std::vector<float> &x) {
        HostTensor t{HostTensor::f32, {int64_t(x.size())}, x, {}, {}};
        return target.upload(to_storage(t, "f32"));
      };
      auto upload_t = [&](const std::vector<float> &x) {
        HostTensor t{HostTensor::f32, {int64_t(x.size())}, x, {}, {}};
        return target.upload(to_storage(t, dtype));
      };
      void *g = upload_t(c.g), *p = upload_t(c.p), *m = upload_f32(c.m),
           *v = upload_f32(c.v), *hyper = upload_f32(c.hyper),
           *clip_hyper = upload_f32({c.max_norm});
      // NaN bytes: a partial or output the kernel never writes fails.
      void *partial = target.upload(std::vector<uint8_t>(256 * 8, 0xff));
      void *out = target.upload(std::vector<uint8_t>(8, 0xff));
      const std::string note = " (" + c.note + ")";

      target.launch(sumsq, {g, partial}, {n});
      std::vector<uint8_t> bytes = target.download(partial, 256 * 8);
      std::vector<double> partials(256);
      std::memcpy(partials.data(), bytes.data(), bytes.size());
      double total = 0;
      for (double x : partials)
        total += x;
      report(sumsq.name, sumsq.kind + "/" + dtype + note,
             std::isnan(total) ? INFINITY
                               : std::fabs(total - c.sumsq) / c.sumsq,
             1e-10); // double sums in another order; one element is ~1e-5

      target.launch(*clip, {partial, clip_hyper, out}, {256});
      std::vector<float> got = from_storage(target.download(out, 8), "f32");
      report(clip->name,
             clip->kind + "/" + dtype + " norm, coef" + note,
             std::max(scaled_error({got[0]}, {c.norm}),
                      scaled_error({got[1]}, {c.coef})),
             1e-6);

      target.launch(*adamw, {p, m, v, g, out, hyper}, {n});
      const double ptol = dtype == "bf16" ? 1e-2 : dtype == "f16" ? 2e-3 : 1e-6;
      report(adamw->name, adamw->kind + "/" + dtype + " p" + note,
             scaled_error(from_storage(target.download(p, size_t(n) * eb), dtype),
                          c.p_out),
             ptol);
      report(adamw->name, adamw->kind + "/" + dtype + " m, v" + note,
             std::max(scaled_error(from_storage(target.download(m, size_t(n) * 4), "f32"),
                                   c.m_out),
                      scaled_error(from_storage(target.download(v, size_t(n) * 4), "f32"),
                                   c.v_out)),
             1e-6);
      if (master) { // fresh moments; the weights as an fp32 master
        void *w32 = upload_f32(c.p), *p16 = upload_t(c.p), *m2 = upload_f32(c.m),
             *v2 = upload_f32(c.v);
        target.launch(*master, {w32, p16, m2, v2, g, out, hyper}, {n});
        report(master->name, master->kind + "/" + dtype + " master" + note,
               scaled_error(from_storage(target.download(w32, size_t(n) * 4), "f32"),
                            c.master_out),
               1e-6);
        report(master->name, master->kind + "/" + dtype + " p" + note,
               scaled_error(from_storage(target.download(p16, size_t(n) * eb), dtype),
                            c.p_out),
               ptol);
        for (void *ptr : {w32, p16, m2, v2})
          target.release(ptr);
      }
      for (void *ptr : {g, p, m, v, hyper, clip_hyper, partial, out})
        target.release(ptr);
    }
  }
}

/// Greedy decoding's argmax (passes/EmitCudaGeneration.cpp) on rows of V = 3001
/// values at a stride of 2V (the last of two positions), stored in the
/// kernel's type: each token must be the host's first maximum of the stored
/// values. Planted: a tie across threads, NaN next to the maximum, an all
/// -inf row, NaN at index 0. The error reported is the share of wrong rows.
void check_argmax(const cuda::LaunchInfo &k, Target &target, uint32_t seed) {
  const int64_t B = 8, V = 3001, stride = 2 * V;
  const float inf = INFINITY, nan = NAN;
  HostTensor logits;
  logits.shape = {B, 2, V};
  logits.f.resize(size_t(B * stride));
  for (size_t i = 0; i < logits.f.size(); ++i)
    logits.f[i] = round_to(k.dtype, 8.0f * std::sin(0.37f * float(i + seed)));
  auto row = [&](int64_t b) { return logits.f.data() + b * stride + V; };
  row(1)[40] = row(1)[2900] = 20.0f;
  row(2)[7] = 20.0f, row(2)[8] = nan;
  std::fill(row(3), row(3) + V, -inf);
  row(4)[0] = nan;
  std::vector<int32_t> want(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b)
    want[size_t(b)] = argmax(row(b), V);
  const size_t eb = k.dtype == "f32" ? 4 : 2;
  void *in = target.upload(to_storage(logits, k.dtype));
  void *out = target.upload(std::vector<uint8_t>(size_t(B) * 4, 0xff));
  target.launch(k, {static_cast<char *>(in) + size_t(V) * eb, out}, {B, V, stride});
  std::vector<uint8_t> got = target.download(out, size_t(B) * 4);
  int wrong = 0;
  for (int64_t b = 0; b < B; ++b) {
    int32_t t;
    std::memcpy(&t, &got[size_t(b) * 4], 4);
    wrong += t != want[size_t(b)];
  }
  report(k.name, k.kind + "/" + k.dtype, double(wrong) / double(B), 0);
  target.release(in);
  target.release(out);
}

/// Beam search's row gather (passes/EmitCudaGeneration.cpp): rows of a
/// snapshot copied to their new rows, the first `bytes` of each row of
/// `stride`, once through the 4-byte path (stride 40, 36 bytes) and once
/// through the byte path (stride 13, 11 bytes). Rows whose source is
/// themselves, and bytes past `bytes`, must stay as they were. The error
/// reported is the share of wrong bytes.
void check_gather(const cuda::LaunchInfo &k, Target &target) {
  const int64_t rows = 5;
  const std::vector<int64_t> source = {3, 1, 0, 3, 2};
  size_t wrong = 0, total = 0;
  for (auto [stride, bytes] : {std::pair<int64_t, int64_t>{40, 36}, {13, 11}}) {
    std::vector<uint8_t> snapshot(size_t(rows * stride)), dst(snapshot.size());
    for (size_t i = 0; i < snapshot.size(); ++i) {
      snapshot[i] = uint8_t(i * 7 + 1);
      dst[i] = uint8_t(255 - i);
    }
    std::vector<uint8_t> want = dst;
    for (int64_t r = 0; r < rows; ++r)
      if (source[size_t(r)] != r)
        std::memcpy(&want[size_t(r * stride)],
                    &snapshot[size_t(source[size_t(r)] * stride)], size_t(bytes));
    std::vector<uint8_t> source_bytes(source.size() * 8);
    std::memcpy(source_bytes.data(), source.data(), source_bytes.size());
    void *s = target.upload(snapshot), *d = target.upload(dst),
         *rows_at = target.upload(source_bytes);
    target.launch(k, {s, d, rows_at}, {rows, stride, bytes});
    std::vector<uint8_t> got = target.download(d, dst.size());
    for (size_t i = 0; i < got.size(); ++i)
      wrong += got[i] != want[i];
    total += got.size();
    for (void *p : {s, d, rows_at})
      target.release(p);
  }
  report(k.name, k.kind, double(wrong) / double(total), 0);
}

/// Runs every kernel of `infos` on `target` against the oracle; `source` is
/// the generated CUDA (the training kinds read their declarations there).
void check_kernels(const std::vector<cuda::LaunchInfo> &infos,
                   const std::string &source, Target &target) {
  uint32_t seed = 1;
  for (const cuda::LaunchInfo &k : infos) {
    if (k.kind.rfind("attention_", 0) == 0)
      continue; // backward / decode variants: edg-attention-check
    if (oracle::is_optimizer_kind(k.kind))
      continue; // check_optimizer, below
    if (k.kind == "argmax_rows") {
      check_argmax(k, target, seed++);
      continue;
    }
    if (k.kind == "gather_rows") {
      check_gather(k, target);
      continue;
    }
    if (oracle::is_train_kind(k.kind)) {
      check_train_kernel(k, source, target, seed++);
      continue;
    }
    const std::string dtype = k.dtype;
    KernelCase c = oracle::make_case(
        k.signature, k.width, [&](float x) { return round_to(dtype, x); },
        seed++);
    std::vector<void *> ptrs;
    size_t next = 0;
    auto take = [&]() { return target.upload(to_storage(c.inputs[next++], dtype)); };
    if (k.kind == "attention") { // q, k, v, pos|null, key_valid|null, out
      for (int i = 0; i < 3; ++i)
        ptrs.push_back(take());
      bool pos = oracle::attention_field(k.signature, "pos") == "1";
      bool kpad = oracle::attention_field(k.signature, "kpad") == "1";
      ptrs.push_back(pos ? take() : nullptr);
      ptrs.push_back(kpad ? take() : nullptr);
    } else {
      while (next < c.inputs.size())
        ptrs.push_back(take());
    }
    std::vector<std::pair<void *, size_t>> outs;
    for (const auto &shape : c.output_shapes) {
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      size_t bytes = size_t(n) * (dtype == "f32" ? 4 : 2);
      // NaN bytes: an element the kernel never writes fails the check.
      outs.push_back({target.upload(std::vector<uint8_t>(bytes, 0xff)), bytes});
      ptrs.push_back(outs.back().first);
    }
    target.launch(k, ptrs, c.sizes);
    double err = 0;
    for (size_t i = 0; i < outs.size(); ++i)
      err = std::max(err, oracle::relative_error(
                              from_storage(target.download(outs[i].first,
                                                           outs[i].second),
                                           dtype),
                              c.expected[i]));
    for (void *p : ptrs)
      if (p)
        target.release(p);
    report(k.name, k.kind + "/" + dtype, err, tolerance(dtype));
  }
  check_optimizer(infos, target);
}

/// The CUDA source built for the CPU emulator and run on it.
void check_emu(const std::string &source) {
  std::shared_ptr<const cuda_emu::EmuKernels> kernels =
      cuda_emu::EmuKernels::get(source);
  Target emu;
  emu.upload = [](const std::vector<uint8_t> &bytes) -> void * {
    void *p = std::malloc(std::max<size_t>(bytes.size(), 1));
    std::memcpy(p, bytes.data(), bytes.size());
    return p;
  };
  emu.download = [](void *p, size_t n) {
    const uint8_t *b = static_cast<const uint8_t *>(p);
    return std::vector<uint8_t>(b, b + n);
  };
  emu.release = [](void *p) { std::free(p); };
  emu.launch = [&](const cuda::LaunchInfo &k, const std::vector<void *> &ptrs,
                   const std::vector<int64_t> &sizes) {
    std::vector<uint64_t> args;
    for (void *p : ptrs)
      args.push_back(reinterpret_cast<uint64_t>(p));
    for (int64_t s : sizes)
      args.push_back(uint64_t(s));
    kernels->launch(k.name, cuda::launch_grid(k, sizes), unsigned(k.block),
                    args);
  };
  std::printf("CUDA kernels on the CPU emulator (test/cuda_emu)\n");
  check_kernels(cuda::parse_launch_lines(source), source, emu);
}

#ifdef EDG_ENABLE_CUDA
void check_cuda(const ModelFile &file) {
  auto kernels = cuda::CudaKernels::load(file.model(), file.path());
  std::printf("CUDA kernels: %s, binary %s\n",
              cuda::cuda_status().message.c_str(), kernels->arch().c_str());
  Target gpu;
  gpu.upload = [](const std::vector<uint8_t> &bytes) -> void * {
    void *p = nullptr;
    EDG_CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(bytes.size(), 1)));
    EDG_CUDA_CHECK(cudaMemcpy(p, bytes.data(), bytes.size(),
                              cudaMemcpyHostToDevice));
    return p;
  };
  gpu.download = [](void *p, size_t n) {
    EDG_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<uint8_t> out(n);
    EDG_CUDA_CHECK(cudaMemcpy(out.data(), p, n, cudaMemcpyDeviceToHost));
    return out;
  };
  gpu.release = [](void *p) { EDG_CUDA_CHECK(cudaFree(p)); };
  gpu.launch = [&](const cuda::LaunchInfo &k, const std::vector<void *> &ptrs,
                   const std::vector<int64_t> &sizes) {
    kernels->launch(k, ptrs, sizes);
  };
  check_kernels(kernels->kernels(), cuda::cuda_source(file.model(), file.path()),
                gpu);
}

/// The kernel named `name`, or null.
const cuda::LaunchInfo *find_kernel(const cuda::CudaKernels &kernels,
                                    const std::string &name) {
  for (const cuda::LaunchInfo &k : kernels.kernels())
    if (k.name == name)
      return &k;
  return nullptr;
}

/// Times each attention kernel at B=1, T=S=`seq`: TFLOP/s of QK^T and PV;
/// and its backward kernels when the model has them.
void bench_attention(const ModelFile &file, int64_t seq) {
  auto kernels = cuda::CudaKernels::load(file.model(), file.path());
  for (const cuda::LaunchInfo &k : kernels->kernels()) {
    if (k.kind != "attention")
      continue;
    auto field = [&](const char *f) {
      return std::stoll(oracle::attention_field(k.signature, f));
    };
    const int64_t B = 1, H = field("H"), K = field("K"), hd = field("hd");
    const bool pos = field("pos") == 1, kpad = field("kpad") == 1;
    size_t eb = k.dtype == "f32" ? 4 : 2;
    std::vector<void *> ptrs(6, nullptr);
    EDG_CUDA_CHECK(cudaMalloc(&ptrs[0], size_t(B * seq * H * hd) * eb));
    EDG_CUDA_CHECK(cudaMalloc(&ptrs[1], size_t(B * seq * K * hd) * eb));
    EDG_CUDA_CHECK(cudaMalloc(&ptrs[2], size_t(B * seq * K * hd) * eb));
    EDG_CUDA_CHECK(cudaMemset(ptrs[0], 0, size_t(B * seq * H * hd) * eb));
    EDG_CUDA_CHECK(cudaMemset(ptrs[1], 0, size_t(B * seq * K * hd) * eb));
    EDG_CUDA_CHECK(cudaMemset(ptrs[2], 0, size_t(B * seq * K * hd) * eb));
    if (pos) {
      std::vector<int32_t> p(size_t(B * seq));
      for (int64_t i = 0; i < B * seq; ++i)
        p[size_t(i)] = int32_t(i % seq);
      EDG_CUDA_CHECK(cudaMalloc(&ptrs[3], p.size() * 4));
      EDG_CUDA_CHECK(cudaMemcpy(ptrs[3], p.data(), p.size() * 4, cudaMemcpyHostToDevice));
    }
    if (kpad) {
      EDG_CUDA_CHECK(cudaMalloc(&ptrs[4], size_t(B * seq)));
      EDG_CUDA_CHECK(cudaMemset(ptrs[4], 1, size_t(B * seq)));
    }
    EDG_CUDA_CHECK(cudaMalloc(&ptrs[5], size_t(B * seq * H * hd) * eb));
    cudaEvent_t start, stop;
    EDG_CUDA_CHECK(cudaEventCreate(&start));
    EDG_CUDA_CHECK(cudaEventCreate(&stop));
    kernels->launch(k, ptrs, {B, seq, seq}); // warm-up
    const int iters = 10;
    EDG_CUDA_CHECK(cudaEventRecord(start));
    for (int i = 0; i < iters; ++i)
      kernels->launch(k, ptrs, {B, seq, seq});
    EDG_CUDA_CHECK(cudaEventRecord(stop));
    EDG_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    EDG_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    // FLOPs of the (query, key) pairs the mask lets through: 4 hd per pair
    // (QK^T and PV), as FlashAttention counts them.
    std::string mask = oracle::attention_field(k.signature, "mask");
    const int64_t w = field("window");
    double pairs = 0;
    for (int64_t i = 0; i < seq; ++i) {
      int64_t lo = 0, hi = seq - 1;
      if (mask == "causal" || mask == "sliding_causal")
        hi = i;
      if (mask == "sliding_causal" || mask == "sliding_bidirectional")
        lo = std::max<int64_t>(0, i - w + 1);
      if (mask == "sliding_bidirectional")
        hi = std::min<int64_t>(seq - 1, i + w - 1);
      pairs += double(hi - lo + 1);
    }
    double flops = 4.0 * B * H * pairs * hd;
    std::printf("BENCH attention_fwd %-44s T=S=%lld hd=%lld %s: %.3f ms, %.1f "
                "TFLOP/s\n",
                k.name.c_str(), (long long)seq, (long long)hd, mask.c_str(),
                ms / iters, flops / (ms / iters * 1e-3) / 1e12);
    // The backward kernels (training modules only): stats, dK/dV, dQ on the
    // forward's output, counted as 2.5x the forward's FLOPs (5 products of
    // the same shape instead of 2), as FlashAttention-2 counts them.
    const cuda::LaunchInfo *stats = find_kernel(*kernels, k.name + "_bwd_stats"),
                           *dkdv = find_kernel(*kernels, k.name + "_bwd_dkdv"),
                           *dq = find_kernel(*kernels, k.name + "_bwd_dq");
    if (stats && dkdv && dq) {
      const size_t q_bytes = size_t(B * seq * H * hd) * eb,
                   kv_bytes = size_t(B * seq * K * hd) * eb,
                   row_bytes = size_t(B * H * seq) * 4;
      void *dout, *lse, *delta, *gq, *gk, *gv;
      EDG_CUDA_CHECK(cudaMalloc(&dout, q_bytes));
      EDG_CUDA_CHECK(cudaMemset(dout, 0, q_bytes));
      EDG_CUDA_CHECK(cudaMalloc(&lse, row_bytes));
      EDG_CUDA_CHECK(cudaMalloc(&delta, row_bytes));
      EDG_CUDA_CHECK(cudaMalloc(&gq, q_bytes));
      EDG_CUDA_CHECK(cudaMalloc(&gk, kv_bytes));
      EDG_CUDA_CHECK(cudaMalloc(&gv, kv_bytes));
      // Operand order: passes/EmitCudaAttentionBackward.cpp.
      auto backward = [&] {
        kernels->launch(*stats, {ptrs[0], ptrs[1], ptrs[3], ptrs[4], ptrs[5], dout,
                                 lse, delta}, {B, seq, seq});
        kernels->launch(*dkdv, {ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], dout,
                                lse, delta, gk, gv}, {B, seq, seq});
        kernels->launch(*dq, {ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], dout,
                              lse, delta, gq}, {B, seq, seq});
      };
      backward(); // warm-up
      EDG_CUDA_CHECK(cudaEventRecord(start));
      for (int i = 0; i < iters; ++i)
        backward();
      EDG_CUDA_CHECK(cudaEventRecord(stop));
      EDG_CUDA_CHECK(cudaEventSynchronize(stop));
      EDG_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      std::printf("BENCH attention_bwd %-44s T=S=%lld hd=%lld %s: %.3f ms, %.1f "
                  "TFLOP/s\n",
                  k.name.c_str(), (long long)seq, (long long)hd, mask.c_str(),
                  ms / iters, 2.5 * flops / (ms / iters * 1e-3) / 1e12);
      for (void *p : {dout, lse, delta, gq, gk, gv})
        EDG_CUDA_CHECK(cudaFree(p));
    }
    for (void *p : ptrs)
      if (p)
        EDG_CUDA_CHECK(cudaFree(p));
  }
}

/// bf16 x bf16 -> bf16 GEMM with fp32 accumulation through cuBLASLt.
void bench_gemm(int64_t n) {
  cublasLtHandle_t lt;
  EDG_CUBLAS_CHECK(cublasLtCreate(&lt));
  void *a, *b, *c, *workspace;
  size_t bytes = size_t(n * n) * 2, wsBytes = size_t(64) << 20;
  EDG_CUDA_CHECK(cudaMalloc(&a, bytes));
  EDG_CUDA_CHECK(cudaMalloc(&b, bytes));
  EDG_CUDA_CHECK(cudaMalloc(&c, bytes));
  EDG_CUDA_CHECK(cudaMalloc(&workspace, wsBytes));
  EDG_CUDA_CHECK(cudaMemset(a, 0, bytes));
  EDG_CUDA_CHECK(cudaMemset(b, 0, bytes));
  cublasLtMatmulDesc_t desc;
  EDG_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t opT = CUBLAS_OP_T; // y = x W^T, as edg.gemm
  EDG_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                                &opT, sizeof(opT)));
  cublasLtMatrixLayout_t la, lb, lc;
  EDG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, n, n, n));
  EDG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, n, n, n));
  EDG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_16BF, n, n, n));
  cublasLtMatmulPreference_t pref;
  EDG_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  EDG_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes, sizeof(wsBytes)));
  cublasLtMatmulHeuristicResult_t heuristic;
  int found = 0;
  EDG_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref,
                                                1, &heuristic, &found));
  check(found > 0, "cuBLASLt has no algorithm for a bf16 ", n, "^3 GEMM");
  float alpha = 1, beta = 0;
  auto run = [&] {
    EDG_CUBLAS_CHECK(cublasLtMatmul(lt, desc, &alpha, a, la, b, lb, &beta, c, lc,
                                  c, lc, &heuristic.algo, workspace, wsBytes, 0));
  };
  run();
  cudaEvent_t start, stop;
  EDG_CUDA_CHECK(cudaEventCreate(&start));
  EDG_CUDA_CHECK(cudaEventCreate(&stop));
  const int iters = 20;
  EDG_CUDA_CHECK(cudaEventRecord(start));
  for (int i = 0; i < iters; ++i)
    run();
  EDG_CUDA_CHECK(cudaEventRecord(stop));
  EDG_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  EDG_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  std::printf("BENCH gemm_bf16 %lld^3 (cuBLASLt, fp32 accumulate): %.3f ms, "
              "%.1f TFLOP/s\n",
              (long long)n, ms / iters,
              2.0 * double(n) * n * n / (ms / iters * 1e-3) / 1e12);
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatmulDescDestroy(desc);
  cublasLtDestroy(lt);
  for (void *p : {a, b, c, workspace})
    cudaFree(p);
}
#endif
/// Generated CUDA for --device=emu: a `.cu` file as is, else the source
/// stored in model.bin.
std::string emu_source(const std::string &path) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".cu") == 0) {
    std::ifstream in(path);
    check(bool(in), "cannot read ", path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  ModelFile file = ModelFile::load(path);
  return cuda::cuda_source(file.model(), file.path());
}
} // namespace

int main(int argc, char **argv) {
  std::string path, device = "cpu";
  long long benchAttention = 0, benchGemm = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--device=", 0) == 0)
      device = a.substr(9);
    else if (a.rfind("--bench-attention=", 0) == 0)
      benchAttention = std::stoll(a.substr(18));
    else if (a.rfind("--bench-gemm=", 0) == 0)
      benchGemm = std::stoll(a.substr(13));
    else
      path = a;
  }
  try {
    if (path.empty() && !benchGemm)
      edg::fail("usage: edg-kernel-check model.bin|kernels.cu "
                "[--device=cpu|emu|cuda] "
                "[--bench-attention=T] [--bench-gemm=N]");
    if (device != "cpu" && device != "emu" && device != "cuda")
      edg::fail("--device=", device, " is not one of cpu, emu, cuda");
#ifdef EDG_ENABLE_CUDA
    if (benchGemm)
      bench_gemm(benchGemm);
    if (!path.empty() && device == "emu" && !benchAttention) {
      check_emu(emu_source(path));
    } else if (!path.empty()) {
      edg::ModelFile file = edg::ModelFile::load(path);
      if (benchAttention)
        bench_attention(file, benchAttention);
      else if (device == "cuda")
        check_cuda(file);
      else
        check_cpu(file);
    }
#else
    if (device == "cuda" || benchAttention || benchGemm)
      edg::fail("this edg-kernel-check was built without CUDA "
                "(EDG_ENABLE_CUDA=OFF)");
    if (device == "emu")
      check_emu(emu_source(path));
    else
      check_cpu(edg::ModelFile::load(path));
#endif
  } catch (const std::exception &e) {
    std::fprintf(stderr, "edg-kernel-check: error: %s\n", e.what());
    return 2;
  }
  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
