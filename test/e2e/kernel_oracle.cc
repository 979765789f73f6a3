//===- kernel_oracle.cc - test cases for generated kernels -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Signatures: `ew:` (all operands [n]; gelu_tanh_grad and softcap_grad[c]
// of training steps too), `row<d>:` (activations [rows, d];
// the second operand of rms_norm is a [d] gain), `embed:` (ids [rows], a
// [16, width] table), `rope:` (x [rows, width], positions [rows]) and
// `attention:` (key=value spec). Sizes are small but cross the tile edges
// of the CUDA kernels (70 keys: a full 64-key tile and a partial one), and
// attention rows are left-padded with cumsum positions, as generation does.
//===----------------------------------------------------------------------===//
#include "test/e2e/kernel_oracle.h"

#include "runtime/core/status.h"
#include "runtime/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>

namespace edg::oracle {

int64_t HostTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {

struct Op {
  std::string result, name;
  std::vector<double> attrs;
  std::vector<std::string> args;
};

struct Parsed {
  std::string kind;
  std::vector<Op> ops;
  std::vector<std::string> outputs;
};

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep))
    if (!part.empty())
      out.push_back(part);
  return out;
}

/// "t0=rms_norm[1e-06](i0,i1);t1=add(i2,t0)->t1" -> ops and outputs.
Parsed parse(const std::string &signature) {
  Parsed p;
  size_t colon = signature.find(':');
  check(colon != std::string::npos, "kernel signature '", signature,
        "' has no kind");
  p.kind = signature.substr(0, colon);
  std::string rest = signature.substr(colon + 1);
  size_t arrow = rest.find("->");
  check(arrow != std::string::npos, "kernel signature '", signature,
        "' has no results");
  p.outputs = split(rest.substr(arrow + 2), ',');
  for (const std::string &text : split(rest.substr(0, arrow), ';')) {
    Op op;
    size_t eq = text.find('='), open = text.find('('), br = text.find('[');
    check(eq != std::string::npos && open != std::string::npos,
          "cannot read '", text, "' in kernel signature '", signature, "'");
    op.result = text.substr(0, eq);
    size_t nameEnd = br != std::string::npos && br < open ? br : open;
    op.name = text.substr(eq + 1, nameEnd - eq - 1);
    if (nameEnd == br) {
      size_t close = text.find(']', br);
      // cast[f32] carries a type, not numbers: keep no attribute for it.
      if (op.name != "cast")
        for (const std::string &a : split(text.substr(br + 1, close - br - 1), ','))
          op.attrs.push_back(std::stod(a));
    }
    op.args = split(text.substr(open + 1, text.find(')', open) - open - 1), ',');
    p.ops.push_back(op);
  }
  return p;
}

HostTensor floats(std::vector<int64_t> shape, std::mt19937 &rng, float lo,
                  float hi, const RoundFn &round) {
  HostTensor t;
  t.shape = std::move(shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  t.f.resize(size_t(t.numel()));
  for (float &x : t.f)
    x = round(dist(rng));
  return t;
}

cpu::MaskKind mask_kind(const std::string &name) {
  if (name == "causal") return cpu::MaskKind::causal;
  if (name == "bidirectional") return cpu::MaskKind::bidirectional;
  if (name == "sliding_causal") return cpu::MaskKind::sliding_causal;
  if (name == "sliding_bidirectional") return cpu::MaskKind::sliding_bidirectional;
  fail("no oracle for attention mask '", name, "'");
}

KernelCase attention_case(const std::string &sig, const RoundFn &round,
                          std::mt19937 &rng) {
  auto num = [&](const char *k) { return std::stod(attention_field(sig, k)); };
  const int64_t H = int64_t(num("H")), K = int64_t(num("K")),
                hd = int64_t(num("hd"));
  const bool pos = attention_field(sig, "pos") == "1",
             kpad = attention_field(sig, "kpad") == "1";
  const int64_t B = 2, S = 70, T = pos ? S : 5, pad = 6;
  KernelCase c;
  c.inputs.push_back(floats({B, T, H * hd}, rng, -1, 1, round));
  c.inputs.push_back(floats({B, S, K * hd}, rng, -1, 1, round));
  c.inputs.push_back(floats({B, S, K * hd}, rng, -1, 1, round));
  HostTensor positions{HostTensor::i32, {B, T}, {}, {}, {}};
  HostTensor valid{HostTensor::u8, {B, S}, {}, {}, {}};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) // row 1 left-padded, cumsum - 1 positions
      positions.i.push_back(int32_t(b == 0 ? t : std::max<int64_t>(0, t - pad)));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < S; ++j)
      valid.u.push_back(b == 0 ? 1 : pos ? j >= pad : j < S - 9);
  if (pos)
    c.inputs.push_back(positions);
  if (kpad)
    c.inputs.push_back(valid);
  c.output_shapes = {{B, T, H * hd}};
  c.sizes = {B, T, S};

  std::vector<float> q = c.inputs[0].f, k = c.inputs[1].f;
  const double theta = num("rope");
  if (theta > 0) {
    cpu::rope_rotate_half(q.data(), B, T, H, hd, positions.i.data(), float(theta));
    cpu::rope_rotate_half(k.data(), B, S, K, hd, positions.i.data(), float(theta));
  }
  cpu::AttentionParams p;
  p.scale = float(num("scale"));
  p.softcap = float(num("cap"));
  p.mask = mask_kind(attention_field(sig, "mask"));
  p.window = int64_t(num("window"));
  if (pos)
    p.q_pos = p.k_pos = positions.i.data();
  if (kpad)
    p.key_valid = valid.u.data();
  std::vector<float> out(size_t(B * T * H * hd));
  cpu::attention(q.data(), k.data(), c.inputs[2].f.data(), out.data(), B, T, S,
                 H, K, hd, p);
  c.expected = {out};
  return c;
}
} // namespace

std::string attention_field(const std::string &signature,
                            const std::string &key) {
  for (const std::string &kv : split(signature.substr(signature.find(':') + 1), ';'))
    if (kv.rfind(key + "=", 0) == 0)
      return kv.substr(key.size() + 1);
  return "";
}

KernelCase make_case(const std::string &signature, int64_t width,
                     const RoundFn &round, uint32_t seed) {
  std::mt19937 rng(seed);
  if (signature.rfind("attention:", 0) == 0)
    return attention_case(signature, round, rng);
  Parsed p = parse(signature);
  const bool row = p.kind.rfind("row", 0) == 0;
  const int64_t rows = 7, n = 1000, vocab = 16;
  KernelCase c;
  // Operands: i<k> -> shapes from how the ops use them.
  std::map<std::string, HostTensor> values;
  auto input = [&](const std::string &name) -> HostTensor & {
    return values[name];
  };
  for (const Op &op : p.ops)
    for (size_t a = 0; a < op.args.size(); ++a) {
      const std::string &arg = op.args[a];
      if (arg[0] != 'i' || values.count(arg))
        continue;
      if (op.name == "embed")
        input(arg) = a == 0 ? HostTensor{HostTensor::i32, {rows}, {}, {}, {}}
                            : floats({vocab, width}, rng, -1, 1, round);
      else if (op.name == "rope")
        input(arg) = a == 0 ? floats({rows, width}, rng, -2, 2, round)
                            : HostTensor{HostTensor::i32, {rows}, {}, {}, {}};
      else if (op.name == "rms_norm" && a == 1)
        input(arg) = floats({width}, rng, -0.5f, 0.5f, round);
      else
        input(arg) = row ? floats({rows, width}, rng, -3, 3, round)
                         : floats({n}, rng, -3, 3, round);
      HostTensor &t = input(arg);
      if (t.kind == HostTensor::i32)
        for (int64_t r = 0; r < rows; ++r)
          t.i.push_back(int32_t((r * 5 + 3) % (op.name == "embed" ? vocab : 50)));
    }
  for (size_t k = 0; k < values.size(); ++k) {
    auto it = values.find("i" + std::to_string(k));
    check(it != values.end(), "kernel signature '", signature,
          "' does not use input i", k);
    c.inputs.push_back(it->second);
  }
  c.sizes = {row || p.kind == "embed" || p.kind == "rope" ? rows : n};

  // Oracle, op by op.
  for (const Op &op : p.ops) {
    auto arg = [&](size_t i) -> HostTensor & { return values.at(op.args[i]); };
    HostTensor out = arg(0);
    int64_t count = out.numel();
    if (op.name == "gelu_tanh") {
      std::vector<float> ones(size_t(count), 1.0f);
      cpu::gelu_tanh_mul(arg(0).f.data(), ones.data(), out.f.data(), count);
    } else if (op.name == "mul") {
      for (int64_t i = 0; i < count; ++i)
        out.f[size_t(i)] = arg(0).f[size_t(i)] * arg(1).f[size_t(i)];
    } else if (op.name == "add") {
      cpu::add(arg(0).f.data(), arg(1).f.data(), out.f.data(), count);
    } else if (op.name == "softcap") {
      cpu::softcap(out.f.data(), count, float(op.attrs.at(0)));
    } else if (op.name == "gelu_tanh_grad") { // (u, d): d * gelu'(u)
      std::vector<float> ones(static_cast<size_t>(count), 1.0f);
      std::vector<float> unused(static_cast<size_t>(count));
      cpu::gelu_tanh_mul_backward(arg(0).f.data(), ones.data(), arg(1).f.data(),
                                  out.f.data(), unused.data(), count);
    } else if (op.name == "softcap_grad") { // (y, d): d * (1 - (y/c)^2)
      cpu::softcap_backward(arg(0).f.data(), arg(1).f.data(), out.f.data(),
                            count, float(op.attrs.at(0)));
    } else if (op.name == "cast") {
      // fp32 in the oracle
    } else if (op.name == "rms_norm") {
      cpu::rms_norm(arg(0).f.data(), arg(1).f.data(), count / width, width,
                    float(op.attrs.at(0)), out.f.data());
    } else if (op.name == "embed") {
      out = HostTensor{HostTensor::f32, {rows, width}, {}, {}, {}};
      out.f.resize(size_t(rows * width));
      cpu::embed(arg(0).i.data(), rows, arg(1).f.data(), vocab, width,
                 float(op.attrs.at(0)), out.f.data());
    } else if (op.name == "rope") {
      int64_t hd = int64_t(op.attrs.at(0));
      cpu::rope_rotate_half(out.f.data(), rows, 1, width / hd, hd,
                            arg(1).i.data(), float(op.attrs.at(1)));
    } else {
      fail("no oracle for op '", op.name, "' of kernel signature '",
           signature, "'");
    }
    values[op.result] = out;
  }
  for (const std::string &o : p.outputs) {
    c.output_shapes.push_back(values.at(o).shape);
    c.expected.push_back(values.at(o).f);
  }
  return c;
}

double relative_error(const std::vector<float> &got,
                      const std::vector<float> &want) {
  if (got.size() != want.size())
    return INFINITY;
  double err = 0, scale = 1;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::max(err, double(std::fabs(got[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
    if (std::isnan(got[i]) != std::isnan(want[i]))
      return INFINITY;
  }
  return err / scale;
}

} // namespace edg::oracle
