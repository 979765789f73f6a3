//===- edg-attention-check.cc - attention backward/decode on the emulator -*-
//C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-attention-check kernels.cu`
//
// Runs the attention backward kernels (`<name>_bwd_stats`, `_bwd_dkdv`,
// `_bwd_dq`, passes/EmitCudaAttentionBackward.cpp) and the KV-cache decode
// kernels (`<name>_decode`, `_decode_combine`, EmitCudaAttentionDecode.cpp)
// of a generated CUDA source (edg-opt --edg-emit-cuda, edg-compile
// --emit=cuda) on the CPU emulator of CUDA (test/cuda_emu) and compares them
// with the fp32 CPU reference (runtime/cpu/kernels.h: attention,
// attention_backward, rope_rotate_half[_backward]), for every forward
// attention kernel of the source that has such variants:
//
//   backward  B = 2, T = S = 70 (positions) or T = 37, S = 70; row 1 of a
//             key-padded case is left-padded by 6 with negative positions,
//             so its padding queries see no key: their dO is nonzero, the
//             reference takes it as 0 (the kernels must give zero gradients)
//   decode    B = 2, a cache of capacity 300 with 280 or 5 filled slots, row 1
//             left-padded by 10; slots past S hold garbage that must not be
//             read; the new query is at the last filled slot. S = 280 is
//             read from the device word `cache_len` (cached runs), S = 5
//             passed by value (cross-attention)
//   append    (`<name>_append`, EmitCudaAttentionAppend.cpp) B = 2, 7 rows
//             into slots [5, 12) of a capacity-20 cache: keys rotated at
//             their positions, values/positions/validity copied, other
//             slots untouched
//
// Errors are max |got - want| / max |want| per tensor; tolerance f32 1e-4,
// f16 5e-3, bf16 3e-2. Prints one line per check, exits 1 on any failure.
//===----------------------------------------------------------------------===//
#include "test/e2e/kernel_oracle.h"

#include "runtime/core/half.h"
#include "runtime/core/status.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cuda/launch_info.h"
#include "test/cuda_emu/emu_kernels.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

namespace {
using namespace edg;

int failures = 0;

void report(const std::string &name, const std::string &what, double err,
            double tol) {
  bool ok = err <= tol;
  failures += !ok;
  std::printf("%s %-52s %-22s rel_err %.3e (tol %.0e)\n", ok ? "PASS" : "FAIL",
              name.c_str(), what.c_str(), err, tol);
}

/// max |got - want| / max |want|; infinite for a non-finite value.
double rel_err(const std::vector<float> &got, const std::vector<float> &want) {
  if (got.size() != want.size())
    return INFINITY;
  double err = 0, scale = 1e-30;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i]))
      return INFINITY;
    err = std::max(err, double(std::fabs(got[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  return err / scale;
}

double tolerance(const std::string &dtype) {
  return dtype == "bf16" ? 3e-2 : dtype == "f16" ? 5e-3 : 1e-4;
}

float round_to(const std::string &dtype, float x) {
  if (dtype == "bf16")
    return bf16_to_f32(f32_to_bf16(x));
  if (dtype == "f16")
    return f16_to_f32(f32_to_f16(x));
  return x;
}

/// Emulator memory: host buffers freed at the end of a case.
struct Buffers {
  std::vector<void *> all;
  ~Buffers() {
    for (void *p : all)
      std::free(p);
  }
  void *bytes(const void *data, size_t n) {
    void *p = std::malloc(std::max<size_t>(n, 1));
    std::memcpy(p, data, n);
    all.push_back(p);
    return p;
  }
  /// Floats in the kernel's storage type.
  void *store(const std::vector<float> &x, const std::string &dtype) {
    if (dtype == "f32")
      return bytes(x.data(), x.size() * 4);
    std::vector<uint16_t> h;
    for (float v : x)
      h.push_back(dtype == "bf16" ? f32_to_bf16(v) : f32_to_f16(v));
    return bytes(h.data(), h.size() * 2);
  }
  /// n elements of NaN bytes: anything the kernel does not write fails.
  void *nan(size_t n, size_t eb) {
    std::vector<uint8_t> b(n * eb, 0xff);
    return bytes(b.data(), b.size());
  }
};

std::vector<float> load(const void *p, size_t n, const std::string &dtype) {
  std::vector<float> out(n);
  if (dtype == "f32") {
    std::memcpy(out.data(), p, n * 4);
    return out;
  }
  const uint16_t *h = static_cast<const uint16_t *>(p);
  for (size_t i = 0; i < n; ++i)
    out[i] = dtype == "bf16" ? bf16_to_f32(h[i]) : f16_to_f32(h[i]);
  return out;
}

std::vector<float> randoms(size_t n, std::mt19937 &rng,
                           const std::string &dtype) {
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> x(n);
  for (float &v : x)
    v = round_to(dtype, dist(rng));
  return x;
}

/// The attention specialisation read from a signature.
struct Spec {
  int64_t H = 0, K = 0, hd = 0, window = 0;
  float scale = 1, cap = 0, theta = 0;
  bool pos = false, kpad = false;
  std::string mask;
  cpu::AttentionParams params() const {
    cpu::AttentionParams p;
    p.scale = scale;
    p.softcap = cap;
    p.window = window;
    p.mask = mask == "causal"           ? cpu::MaskKind::causal
             : mask == "sliding_causal" ? cpu::MaskKind::sliding_causal
             : mask == "bidirectional"  ? cpu::MaskKind::bidirectional
                                        : cpu::MaskKind::sliding_bidirectional;
    return p;
  }
  bool visible(int qp, int kp) const {
    if (mask == "causal")
      return kp <= qp;
    if (mask == "sliding_causal")
      return kp <= qp && qp - kp < window;
    if (mask == "sliding_bidirectional")
      return std::abs(qp - kp) < window;
    return true;
  }
};

Spec spec_of(const std::string &sig) {
  auto f = [&](const char *k) { return oracle::attention_field(sig, k); };
  Spec s;
  s.H = std::stoll(f("H"));
  s.K = std::stoll(f("K"));
  s.hd = std::stoll(f("hd"));
  s.window = std::stoll(f("window"));
  s.scale = std::stof(f("scale"));
  s.cap = std::stof(f("cap"));
  s.theta = std::stof(f("rope"));
  s.pos = f("pos") == "1";
  s.kpad = f("kpad") == "1";
  s.mask = f("mask");
  return s;
}

using Emu = std::shared_ptr<const cuda_emu::EmuKernels>;

/// Launches kernel `k` on the emulator with `args` (pointers, then sizes),
/// on the grid the runtime computes for `sizes` (cuda::launch_grid).
void launch(const Emu &emu, const cuda::LaunchInfo &k,
            const std::vector<int64_t> &sizes,
            const std::vector<uint64_t> &args) {
  emu->launch(k.name, cuda::launch_grid(k, sizes), unsigned(k.block), args);
}

uint64_t P(const void *p) { return reinterpret_cast<uint64_t>(p); }

void check_backward(const Emu &emu, const cuda::LaunchInfo &stats,
                    const cuda::LaunchInfo &dkdv, const cuda::LaunchInfo &dq) {
  const std::string dtype = stats.dtype;
  const Spec sp = spec_of(stats.signature);
  const int64_t B = 2, S = 70, T = sp.pos ? S : 37, pad = 6;
  const int64_t H = sp.H, K = sp.K, hd = sp.hd;
  std::mt19937 rng(7);
  std::vector<float> q = randoms(size_t(B * T * H * hd), rng, dtype),
                     k = randoms(size_t(B * S * K * hd), rng, dtype),
                     v = randoms(size_t(B * S * K * hd), rng, dtype),
                     dout = randoms(size_t(B * T * H * hd), rng, dtype);
  // Positions as the kernels see them: pos [B, T] (keys: pos[b * S + j],
  // S == T) or S - T + t for queries and j for keys.
  std::vector<int32_t> pos(size_t(B * T)), qpos(size_t(B * T)),
      kpos(size_t(B * S));
  std::vector<uint8_t> valid(size_t(B * S));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t)
      pos[size_t(b * T + t)] = int32_t(b == 1 && sp.kpad ? t - pad : t);
    for (int64_t j = 0; j < S; ++j)
      valid[size_t(b * S + j)] = b == 0 ? 1 : sp.pos ? j >= pad : j < S - 9;
  }
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t)
      qpos[size_t(b * T + t)] =
          sp.pos ? pos[size_t(b * T + t)] : int32_t(S - T + t);
    for (int64_t j = 0; j < S; ++j)
      kpos[size_t(b * S + j)] = sp.pos ? pos[size_t(b * S + j)] : int32_t(j);
  }
  cpu::AttentionParams p = sp.params();
  p.q_pos = qpos.data();
  p.k_pos = kpos.data();
  if (sp.kpad)
    p.key_valid = valid.data();
  std::vector<float> qr = q, kr = k;
  if (sp.theta > 0) {
    cpu::rope_rotate_half(qr.data(), B, T, H, hd, qpos.data(), sp.theta);
    cpu::rope_rotate_half(kr.data(), B, S, K, hd, kpos.data(), sp.theta);
  }
  std::vector<float> o(q.size());
  cpu::attention(qr.data(), kr.data(), v.data(), o.data(), B, T, S, H, K, hd,
                 p);
  for (float &x : o)
    x = round_to(dtype, x); // the forward kernel's output
  // Rows that see no key: zero gradient (the reference drops their dO).
  std::vector<float> dref = dout;
  int64_t blind = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      bool any = false;
      for (int64_t j = 0; j < S && !any; ++j)
        any = (!sp.kpad || valid[size_t(b * S + j)]) &&
              sp.visible(qpos[size_t(b * T + t)], kpos[size_t(b * S + j)]);
      if (!any) {
        ++blind;
        std::fill_n(&dref[size_t((b * T + t) * H * hd)], H * hd, 0.0f);
      }
    }
  std::vector<float> wdq(q.size()), wdk(k.size()), wdv(v.size());
  cpu::attention_backward(qr.data(), kr.data(), v.data(), dref.data(),
                          wdq.data(), wdk.data(), wdv.data(), B, T, S, H, K, hd,
                          p);
  if (sp.theta > 0) {
    cpu::rope_rotate_half_backward(wdq.data(), B, T, H, hd, qpos.data(),
                                   sp.theta);
    cpu::rope_rotate_half_backward(wdk.data(), B, S, K, hd, kpos.data(),
                                   sp.theta);
  }

  Buffers mem;
  const size_t eb = dtype == "f32" ? 4 : 2;
  void *dq_ = mem.store(q, dtype), *dk_ = mem.store(k, dtype),
       *dv_ = mem.store(v, dtype), *dO = mem.store(dout, dtype),
       *dOut = mem.store(o, dtype);
  void *dpos = sp.pos ? mem.bytes(pos.data(), pos.size() * 4) : nullptr;
  void *dvalid = sp.kpad ? mem.bytes(valid.data(), valid.size()) : nullptr;
  void *lse = mem.nan(size_t(B * H * T), 4),
       *delta = mem.nan(size_t(B * H * T), 4);
  void *gq = mem.nan(q.size(), eb), *gk = mem.nan(k.size(), eb),
       *gv = mem.nan(v.size(), eb);
  const uint64_t b_ = uint64_t(B), t_ = uint64_t(T), s_ = uint64_t(S);
  launch(emu, stats, {B, T, S},
         {P(dq_), P(dk_), P(dpos), P(dvalid), P(dOut), P(dO), P(lse), P(delta),
          b_, t_, s_});
  launch(emu, dkdv, {B, T, S},
         {P(dq_), P(dk_), P(dv_), P(dpos), P(dvalid), P(dO), P(lse), P(delta),
          P(gk), P(gv), b_, t_, s_});
  launch(emu, dq, {B, T, S},
         {P(dq_), P(dk_), P(dv_), P(dpos), P(dvalid), P(dO), P(lse), P(delta),
          P(gq), b_, t_, s_});
  // lse is +inf exactly for the rows that see no key.
  int64_t inf_rows = 0;
  for (float x : load(lse, size_t(B * H * T), "f32"))
    inf_rows += std::isinf(x) && x > 0;
  std::string base = stats.name.substr(0, stats.name.size() - 10); // _bwd_stats
  std::string tag = "backward/" + dtype;
  report(base, tag + " lse: " + std::to_string(blind) + " blind rows",
         inf_rows == blind * H ? 0.0 : INFINITY, 0);
  const double tol = tolerance(dtype);
  report(base, tag + " dq", rel_err(load(gq, q.size(), dtype), wdq), tol);
  report(base, tag + " dk", rel_err(load(gk, k.size(), dtype), wdk), tol);
  report(base, tag + " dv", rel_err(load(gv, v.size(), dtype), wdv), tol);
}

/// Decode of S filled slots of a cache of capacity 300. `from_device`: S
/// comes from the device word cache_len (= S - 1, as the runtime's cached
/// runs pass it), else by value (cross-attention).
void check_decode(const Emu &emu, const cuda::LaunchInfo &dec,
                  const cuda::LaunchInfo &combine, int64_t S, bool from_device) {
  const std::string dtype = dec.dtype;
  const Spec sp = spec_of(dec.signature);
  const int64_t B = 2, C = 300, pad = S > 20 ? 10 : 1;
  const int64_t H = sp.H, K = sp.K, hd = sp.hd, row = K * hd;
  std::mt19937 rng(11);
  std::vector<float> q = randoms(size_t(B * H * hd), rng, dtype),
                     kc = randoms(size_t(B * C * row), rng, dtype),
                     vc = randoms(size_t(B * C * row), rng, dtype);
  std::vector<int32_t> cpos(static_cast<size_t>(B * C)),
      qpos(static_cast<size_t>(B));
  std::vector<uint8_t> cvalid(size_t(B * C));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < C; ++j) {
      const bool filled = j < S;
      cpos[size_t(b * C + j)] =
          filled ? int32_t(b == 1 ? j - pad : j) : int32_t(-1000 + j);
      cvalid[size_t(b * C + j)] = filled ? uint8_t(b == 0 || j >= pad) : 1;
      if (!filled) // garbage past the filled slots: must not be read
        for (int64_t e = 0; e < row; ++e) {
          kc[size_t((b * C + j) * row + e)] = 100.0f;
          vc[size_t((b * C + j) * row + e)] = 100.0f;
        }
    }
    qpos[size_t(b)] = cpos[size_t(b * C + S - 1)];
  }
  // Reference: the CPU attention over the filled slots (k_pos/key_valid
  // compacted to [B, S]; k and v strided by the capacity).
  std::vector<int32_t> kpos(size_t(B * S));
  std::vector<uint8_t> kvalid(size_t(B * S));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < S; ++j) {
      kpos[size_t(b * S + j)] = cpos[size_t(b * C + j)];
      kvalid[size_t(b * S + j)] = cvalid[size_t(b * C + j)];
    }
  cpu::AttentionParams p = sp.params();
  p.q_pos = qpos.data();
  p.k_pos = kpos.data();
  p.key_valid = kvalid.data();
  p.kv_batch_stride = C * row;
  std::vector<float> qr = q;
  if (sp.theta > 0)
    cpu::rope_rotate_half(qr.data(), B, 1, H, hd, qpos.data(), sp.theta);
  std::vector<float> want(q.size());
  cpu::attention(qr.data(), kc.data(), vc.data(), want.data(), B, 1, S, H, K,
                 hd, p);

  Buffers mem;
  const size_t eb = dtype == "f32" ? 4 : 2;
  const int64_t nc = (C + dec.width - 1) / dec.width;
  void *dq_ = mem.store(q, dtype), *dk_ = mem.store(kc, dtype),
       *dv_ = mem.store(vc, dtype);
  void *dqpos = mem.bytes(qpos.data(), qpos.size() * 4),
       *dcpos = mem.bytes(cpos.data(), cpos.size() * 4),
       *dcvalid = mem.bytes(cvalid.data(), cvalid.size());
  void *part = mem.nan(size_t(B * H * nc * (hd + 2)), 4);
  void *out = mem.nan(q.size(), eb);
  // By device word, the by-value S is a decoy the kernels must ignore.
  const int64_t len_word = S - 1;
  const uint64_t b_ = uint64_t(B), s_ = uint64_t(from_device ? 1 : S),
                 c_ = uint64_t(C), len = from_device ? P(&len_word) : 0;
  launch(emu, dec, {B, S, C},
         {P(dq_), P(dk_), P(dv_), P(dqpos), P(dcpos), P(dcvalid), len, P(part),
          b_, s_, c_});
  launch(emu, combine, {B, S, C}, {P(part), len, P(out), b_, s_, c_});
  report(dec.name, "decode/" + dtype + " S=" + std::to_string(S) +
                       (from_device ? " (device word)" : ""),
         rel_err(load(out, q.size(), dtype), want), tolerance(dtype));
}

/// The KV-cache append: T = 7 new rows into slots [5, 12) of a cache of
/// capacity 20 (B = 2, row 1 with two padding rows); keys must come out
/// rotated at their positions (CPU rope_rotate_half on the stored values),
/// values, positions and validity copied, every other slot untouched.
void check_append(const Emu &emu, const cuda::LaunchInfo &app) {
  const std::string dtype = app.dtype;
  const Spec sp = spec_of(app.signature);
  const int64_t B = 2, T = 7, C = 20, len = 5, K = sp.K, hd = sp.hd, row = K * hd;
  std::mt19937 rng(13);
  std::vector<float> k = randoms(size_t(B * T * row), rng, dtype),
                     v = randoms(size_t(B * T * row), rng, dtype);
  std::vector<int32_t> pos(size_t(B * T));
  std::vector<uint8_t> valid(size_t(B * T));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      pos[size_t(b * T + t)] = int32_t(len + t - (b == 1 ? 2 : 0));
      valid[size_t(b * T + t)] = uint8_t(b == 0 || t >= 2);
    }
  // Expected cache: sentinels (7.0, position -7, validity 9) outside the slots.
  std::vector<float> wk(size_t(B * C * row), 7.0f), wv = wk;
  std::vector<int32_t> wpos(size_t(B * C), -7);
  std::vector<uint8_t> wvalid(size_t(B * C), 9);
  std::vector<float> kr = k;
  if (sp.theta > 0)
    cpu::rope_rotate_half(kr.data(), B, T, K, hd, pos.data(), sp.theta);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t slot = b * C + len + t;
      std::copy_n(kr.begin() + (b * T + t) * row, row, wk.begin() + slot * row);
      std::copy_n(v.begin() + (b * T + t) * row, row, wv.begin() + slot * row);
      wpos[size_t(slot)] = sp.pos ? pos[size_t(b * T + t)] : int32_t(len + t);
      wvalid[size_t(slot)] = sp.kpad ? valid[size_t(b * T + t)] : 1;
    }
  Buffers mem;
  std::vector<float> sentinel(wk.size(), 7.0f);
  std::vector<int32_t> spos(wpos.size(), -7);
  std::vector<uint8_t> svalid(wvalid.size(), 9);
  void *dk = mem.store(k, dtype), *dv = mem.store(v, dtype),
       *dpos = mem.bytes(pos.data(), pos.size() * 4),
       *dvalid = mem.bytes(valid.data(), valid.size());
  void *ck = mem.store(sentinel, dtype), *cv = mem.store(sentinel, dtype),
       *cpos = mem.bytes(spos.data(), spos.size() * 4),
       *cvalid = mem.bytes(svalid.data(), svalid.size());
  const int64_t len_word = len; // the device word the kernel reads len from
  launch(emu, app, {B, T, C},
         {P(dk), P(dv), sp.pos ? P(dpos) : 0, sp.kpad ? P(dvalid) : 0,
          P(&len_word), P(ck), P(cv), P(cpos), P(cvalid), uint64_t(B),
          uint64_t(T), uint64_t(C)});
  const bool meta = std::memcmp(cpos, wpos.data(), wpos.size() * 4) == 0 &&
                    std::memcmp(cvalid, wvalid.data(), wvalid.size()) == 0;
  report(app.name, "append/" + dtype + " k",
         rel_err(load(ck, wk.size(), dtype), wk), tolerance(dtype));
  report(app.name, "append/" + dtype + " v, pos, valid",
         meta ? rel_err(load(cv, wv.size(), dtype), wv) : INFINITY, 0);
}

} // namespace

int main(int argc, char **argv) {
  try {
    if (argc != 2)
      edg::fail("usage: edg-attention-check kernels.cu");
    std::ifstream in(argv[1]);
    edg::check(bool(in), "cannot read ", argv[1]);
    std::stringstream buf;
    buf << in.rdbuf();
    std::string source = buf.str();
    std::map<std::string, edg::cuda::LaunchInfo> byName;
    for (const edg::cuda::LaunchInfo &k : edg::cuda::parse_launch_lines(source))
      byName[k.name] = k;
    Emu emu = edg::cuda_emu::EmuKernels::get(source);
    int checked = 0;
    for (auto &[name, k] : byName) {
      if (k.kind != "attention")
        continue;
      auto find =
          [&](const std::string &suffix) -> const edg::cuda::LaunchInfo * {
        auto it = byName.find(name + suffix);
        return it == byName.end() ? nullptr : &it->second;
      };
      if (find("_bwd_stats") && find("_bwd_dkdv") && find("_bwd_dq")) {
        check_backward(emu, *find("_bwd_stats"), *find("_bwd_dkdv"),
                       *find("_bwd_dq"));
        ++checked;
      }
      if (find("_decode") && find("_decode_combine")) {
        check_decode(emu, *find("_decode"), *find("_decode_combine"), 280,
                     /*from_device=*/true);
        check_decode(emu, *find("_decode"), *find("_decode_combine"), 5,
                     /*from_device=*/false);
        ++checked;
      }
      if (find("_append"))
        check_append(emu, *find("_append"));
    }
    edg::check(checked > 0, argv[1],
               ": no attention backward or decode kernels");
  } catch (const std::exception &e) {
    std::fprintf(stderr, "edg-attention-check: error: %s\n", e.what());
    return 2;
  }
  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
