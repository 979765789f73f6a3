//===- train_oracle.cc - cases for generated training kernels ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See train_oracle.h. Sizes are small but cross the kernels' edges: 7 to 40
// rows, widths from the kernel (300 columns: a partial second element per
// thread; V = 1000: four strides of a 256-thread block).
//===----------------------------------------------------------------------===//
#include "test/e2e/train_oracle.h"

#include "runtime/core/status.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/train_kernels.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <regex>

namespace edg::oracle {

namespace {

using Round = std::function<float(const std::string &, float)>;

HostTensor floats(std::vector<int64_t> shape, std::mt19937 &rng, float lo,
                  float hi, const std::string &type, const Round &round) {
  HostTensor t;
  t.shape = std::move(shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  t.f.resize(size_t(t.numel()));
  for (float &x : t.f)
    x = round(type, dist(rng));
  return t;
}

HostTensor ints(std::vector<int64_t> shape, std::vector<int32_t> values) {
  HostTensor t{HostTensor::i32, std::move(shape), {}, std::move(values), {}};
  check(int64_t(t.i.size()) == t.numel(), "train oracle: bad int tensor");
  return t;
}

double constant(const KernelDecl &decl, const std::string &name) {
  auto it = decl.constants.find(name);
  check(it != decl.constants.end(), "train oracle: the kernel has no constant ",
        name);
  return it->second;
}

void expect_params(const KernelDecl &decl, size_t n, const std::string &kind) {
  check(decl.params.size() == n, kind, " kernel: expected ", n,
        " pointer parameters, got ", decl.params.size());
}

/// The oracle's labels and ids are int32, as the runtime passes i32 tensors.
void expect_int(const KernelDecl &decl, size_t param, const std::string &kind) {
  check(decl.params[param] == "int", kind,
        " kernel: the oracle passes int32 "
        "labels / ids, parameter ",
        param, " is ", decl.params[param]);
}

/// Labels of `rows` rows over a vocabulary of `v`: 0 first, v - 1 last,
/// rows 2 and 6 ignored, the others spread.
std::vector<int32_t> labels(int64_t rows, int64_t v, int32_t ignore) {
  std::vector<int32_t> out;
  for (int64_t r = 0; r < rows; ++r)
    out.push_back(r == 0             ? 0
                  : r == rows - 1    ? int32_t(v - 1)
                  : r == 2 || r == 6 ? ignore
                                     : int32_t((r * 131 + 7) % v));
  return out;
}

TrainCase rms_norm_grad_case(int64_t d, const KernelDecl &decl,
                             const Round &round, std::mt19937 &rng) {
  expect_params(decl, 5, "rms_norm_grad");
  const int64_t rows = 7;
  const float eps = float(constant(decl, "kEps"));
  TrainCase t;
  KernelCase &c = t.c;
  c.inputs = {floats({rows, d}, rng, -3, 3, decl.params[0], round),
              floats({d}, rng, -0.5f, 0.5f, decl.params[1], round),
              floats({rows, d}, rng, -1, 1, decl.params[2], round)};
  const std::vector<float> &x = c.inputs[0].f, &w = c.inputs[1].f,
                           &dy = c.inputs[2].f;
  std::vector<float> dx(static_cast<size_t>(rows * d));
  std::vector<float> partial(dx.size());
  cpu::rms_norm_backward(x.data(), w.data(), dy.data(), rows, d, eps, dx.data(),
                         nullptr);
  for (int64_t r = 0; r < rows; ++r) { // the CPU's r and dw terms
    double ss = 0;
    for (int64_t j = 0; j < d; ++j)
      ss += double(x[size_t(r * d + j)]) * x[size_t(r * d + j)];
    const float rs =
        float(1.0 / std::sqrt(double(float(ss / double(d))) + eps));
    for (int64_t j = 0; j < d; ++j) {
      const size_t i = size_t(r * d + j);
      partial[i] = dy[i] * x[i] * rs;
    }
  }
  c.output_shapes = {{rows, d}, {rows, d}};
  c.expected = {dx, partial};
  c.sizes = {rows};
  t.note = "dx, partial";
  return t;
}

TrainCase column_sum_case(int64_t d, const KernelDecl &decl, const Round &round,
                          std::mt19937 &rng) {
  expect_params(decl, 2, "column_sum");
  const int64_t rows = 37;
  TrainCase t;
  KernelCase &c = t.c;
  c.inputs = {floats({rows, d}, rng, -1, 1, decl.params[0], round)};
  std::vector<float> sums(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) {
    double s = 0;
    for (int64_t r = 0; r < rows; ++r)
      s += c.inputs[0].f[size_t(r * d + j)];
    sums[size_t(j)] = float(s);
  }
  c.output_shapes = {{d}};
  c.expected = {sums};
  c.sizes = {rows};
  t.note = "37 rows";
  return t;
}

TrainCase embed_grad_case(int64_t d, const KernelDecl &decl, const Round &round,
                          std::mt19937 &rng) {
  expect_params(decl, 3, "embed_grad");
  expect_int(decl, 0, "embed_grad");
  const int64_t rows = 40, v = int64_t(constant(decl, "kV"));
  const float scale = float(constant(decl, "kScale"));
  std::vector<int32_t> ids;
  const int64_t spread = std::min<int64_t>(v, 16); // ids repeat: accumulation
  for (int64_t r = 0; r < rows; ++r)
    ids.push_back(int32_t((r * 7) % spread));
  ids[5] = -1;              // outside the table: skipped
  ids[11] = int32_t(v);     // likewise
  ids[17] = int32_t(v - 1); // the last row of the table
  TrainCase t;
  KernelCase &c = t.c;
  c.inputs = {ints({rows}, ids),
              floats({rows, d}, rng, -1, 1, decl.params[1], round)};
  // The CPU kernel rejects ids outside the table: give it the others.
  std::vector<int32_t> kept;
  std::vector<float> dy;
  for (int64_t r = 0; r < rows; ++r)
    if (ids[size_t(r)] >= 0 && ids[size_t(r)] < v) {
      kept.push_back(ids[size_t(r)]);
      dy.insert(dy.end(), c.inputs[1].f.begin() + r * d,
                c.inputs[1].f.begin() + (r + 1) * d);
    }
  std::vector<float> table(static_cast<size_t>(v * d), 0.0f);
  cpu::embed_backward(kept.data(), int64_t(kept.size()), dy.data(), v, d, scale,
                      table.data());
  c.output_shapes = {{v, d}};
  c.expected = {table};
  c.sizes = {rows};
  t.zero_outputs = true;
  t.note = "repeats, 2 outside";
  return t;
}

/// Logits [rows, v] and labels for the cross-entropy kernels.
void cross_entropy_inputs(KernelCase &c, int64_t rows, int64_t v,
                          int32_t ignore, const std::string &type,
                          const Round &round, std::mt19937 &rng) {
  c.inputs = {floats({rows, v}, rng, -4, 4, type, round),
              ints({rows}, labels(rows, v, ignore))};
  c.inputs[0].f[size_t(3 * v + v / 2)] = round(type, 20.0f); // a clear winner
}

TrainCase cross_entropy_rows_case(int64_t v, const KernelDecl &decl,
                                  const Round &round, std::mt19937 &rng) {
  expect_params(decl, 3, "cross_entropy_rows");
  expect_int(decl, 1, "cross_entropy_rows");
  const int64_t rows = 9;
  const int32_t ignore = int32_t(constant(decl, "kIgnore"));
  TrainCase t;
  KernelCase &c = t.c;
  cross_entropy_inputs(c, rows, v, ignore, decl.params[0], round, rng);
  std::vector<float> loss(static_cast<size_t>(rows), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t label = c.inputs[1].i[size_t(r)];
    if (label == ignore)
      continue;
    const float *x = c.inputs[0].f.data() + r * v;
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < v; ++j)
      mx = std::max(mx, double(x[j]));
    for (int64_t j = 0; j < v; ++j)
      sum += std::exp(double(x[j]) - mx);
    loss[size_t(r)] = float(mx + std::log(sum) - x[label]);
  }
  c.output_shapes = {{rows}};
  c.expected = {loss};
  c.sizes = {rows};
  t.note = "2 of 9 ignored";
  return t;
}

TrainCase label_mean_case(const KernelDecl &decl, const Round &round,
                          std::mt19937 &rng) {
  expect_params(decl, 3, "label_mean");
  expect_int(decl, 1, "label_mean");
  const int64_t n = 300;
  const int32_t ignore = int32_t(constant(decl, "kIgnore"));
  std::vector<int32_t> l;
  for (int64_t i = 0; i < n; ++i)
    l.push_back(i % 4 == 1 ? ignore : int32_t(i % 11));
  TrainCase t;
  KernelCase &c = t.c;
  c.inputs = {floats({n}, rng, 0, 5, decl.params[0], round), ints({n}, l)};
  double sum = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += c.inputs[0].f[size_t(i)];
    count += l[size_t(i)] != ignore;
  }
  c.output_shapes = {{}};
  c.expected = {{float(sum / double(count))}};
  c.sizes = {n};
  t.note = "75 of 300 ignored";
  return t;
}

TrainCase cross_entropy_grad_case(int64_t v, const KernelDecl &decl,
                                  const Round &round, std::mt19937 &rng) {
  expect_params(decl, 3, "cross_entropy_grad");
  expect_int(decl, 1, "cross_entropy_grad");
  const int64_t rows = 9;
  const int32_t ignore = int32_t(constant(decl, "kIgnore"));
  TrainCase t;
  KernelCase &c = t.c;
  cross_entropy_inputs(c, rows, v, ignore, decl.params[0], round, rng);
  std::vector<float> grad(static_cast<size_t>(rows * v));
  cpu::cross_entropy(c.inputs[0].f.data(), c.inputs[1].i.data(), rows, v,
                     grad.data(), ignore);
  c.output_shapes = {{rows, v}};
  c.expected = {grad};
  c.sizes = {rows};
  t.note = "2 of 9 ignored";
  return t;
}

/// The distillation kernels: B = 2 sequences of T = 5 student rows, the
/// teacher's 8 rows each; teacher_index points past the prefix (3 + t, row
/// 1 of sequence 1 at the teacher's last row), 2 of 10 labels ignored.
/// `grad`: the gradient kernel, else the per-row losses.
TrainCase distill_case(bool grad, int64_t v, const KernelDecl &decl,
                       const Round &round, std::mt19937 &rng) {
  const std::string kind = grad ? "distill_kl_grad" : "distill_kl_rows";
  expect_params(decl, 5, kind);
  expect_int(decl, 2, kind);
  expect_int(decl, 3, kind);
  const int64_t B = 2, T = 5, Tt = 8, rows = B * T;
  const int32_t ignore = int32_t(constant(decl, "kIgnore"));
  const float tau = float(constant(decl, "kTau")),
              weight = float(constant(decl, "kWeight"));
  std::vector<int32_t> index;
  for (int64_t r = 0; r < rows; ++r)
    index.push_back(r == 6 ? int32_t(Tt - 1) : int32_t(3 + r % T));
  TrainCase t;
  KernelCase &c = t.c;
  c.inputs = {floats({B, T, v}, rng, -4, 4, decl.params[0], round),
              floats({B, Tt, v}, rng, -4, 4, decl.params[1], round),
              ints({B, T}, index), ints({B, T}, labels(rows, v, ignore))};
  if (grad) {
    std::vector<float> dstudent(static_cast<size_t>(rows * v));
    cpu::distill_kl(c.inputs[0].f.data(), c.inputs[1].f.data(),
                    c.inputs[2].i.data(), c.inputs[3].i.data(), B, T, Tt, v,
                    tau, weight, ignore, dstudent.data());
    c.output_shapes = {{B, T, v}};
    c.expected = {dstudent};
  } else {
    // Row r's value: the CPU loss with only row r's label counted.
    std::vector<float> per_row(static_cast<size_t>(rows), 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      if (c.inputs[3].i[size_t(r)] == ignore)
        continue;
      std::vector<int32_t> one(static_cast<size_t>(rows), ignore);
      one[size_t(r)] = c.inputs[3].i[size_t(r)];
      per_row[size_t(r)] = cpu::distill_kl(
          c.inputs[0].f.data(), c.inputs[1].f.data(), c.inputs[2].i.data(),
          one.data(), B, T, Tt, v, tau, weight, ignore, nullptr);
    }
    c.output_shapes = {{B, T}};
    c.expected = {per_row};
  }
  c.sizes = {rows, T, Tt};
  t.note = "B 2, T 5, teacher 8, 2 of 10 ignored";
  return t;
}

} // namespace

bool is_train_kind(const std::string &kind) {
  return kind == "rms_norm_grad" || kind == "column_sum" ||
         kind == "embed_grad" || kind == "cross_entropy_rows" ||
         kind == "label_mean" || kind == "cross_entropy_grad" ||
         kind == "distill_kl_rows" || kind == "distill_kl_grad";
}

KernelDecl find_kernel_decl(const std::string &source,
                            const std::string &name) {
  // extern "C" __global__ void __launch_bounds__(256) <name>(<params>) {
  const std::string key = ") " + name + "(";
  const size_t at = source.find(key);
  check(at != std::string::npos, "no kernel ", name, " in the CUDA source");
  const size_t open = at + key.size(), close = source.find(')', open);
  KernelDecl decl;
  std::string params = source.substr(open, close - open);
  for (size_t begin = 0; begin <= params.size();) {
    size_t comma = params.find(',', begin);
    std::string p = params.substr(
        begin, comma == std::string::npos ? std::string::npos : comma - begin);
    size_t star = p.find('*');
    if (star != std::string::npos) {
      std::string type = p.substr(0, star);
      type =
          std::regex_replace(type, std::regex("^\\s*(const\\s+)?|\\s+$"), "");
      decl.params.push_back(type);
    }
    if (comma == std::string::npos)
      break;
    begin = comma + 1;
  }
  // Constants of the body: up to the closing brace in column 0.
  const size_t end = source.find("\n}\n", close);
  const std::string body = source.substr(close, end - close);
  static const std::regex constant(
      "(k[A-Z][A-Za-z]*) = (-?[0-9][0-9.eE+-]*)f?");
  for (std::sregex_iterator it(body.begin(), body.end(), constant), last;
       it != last; ++it)
    decl.constants.emplace((*it)[1].str(), std::stod((*it)[2].str()));
  return decl;
}

bool is_optimizer_kind(const std::string &kind) {
  return kind == "optimizer_sumsq" || kind == "optimizer_clip" ||
         kind == "optimizer_adamw" || kind == "optimizer_adamw_master";
}

std::vector<float> adamw_hyper(double lr, double beta1, double beta2,
                               double eps, double weight_decay, int64_t step) {
  // As adamw_step computes its local floats.
  const double bc1 = 1.0 - std::pow(beta1, double(step));
  const double bc2 = 1.0 - std::pow(beta2, double(step));
  return {float(1.0 - lr * weight_decay), float(1.0 - beta1), float(beta2),
          float(1.0 - beta2),             float(lr / bc1),    float(std::sqrt(bc2)),
          float(eps)};
}

OptimizerCase make_optimizer_case(int64_t n, int which,
                                  const std::function<float(float)> &round,
                                  uint32_t seed) {
  std::mt19937 rng(seed);
  auto fill = [&](float lo, float hi, bool stored) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> out(static_cast<size_t>(n));
    for (float &x : out)
      x = stored ? round(dist(rng)) : dist(rng);
    return out;
  };
  OptimizerCase c;
  c.n = n;
  c.p = fill(-1, 1, true);
  c.g = fill(-1, 1, true);
  c.m = fill(-0.1f, 0.1f, false);
  c.v = fill(0, 0.01f, false);
  for (float x : c.g)
    c.sumsq += double(x) * double(x);
  const float norm = float(std::sqrt(c.sumsq));
  c.max_norm = which == 0 ? 0.25f * norm : which == 1 ? 4.0f * norm : 0.0f;
  c.note = which == 0   ? "clip binding"
           : which == 1 ? "clip not binding"
                        : "no clip";
  // The CPU's optimizer step: clip (scales the gradient in place when the
  // coefficient is < 1), then AdamW at step 3 with weight decay.
  std::vector<float> g = c.g;
  c.norm = cpu::clip_grad_norm({g.data()}, {n}, c.max_norm);
  c.coef = c.max_norm > 0.0f ? std::min(1.0f, c.max_norm / (c.norm + 1e-6f))
                             : 1.0f;
  cpu::AdamWParams params;
  params.lr = 1e-3;
  params.weight_decay = 0.01;
  params.step = 3;
  c.hyper = adamw_hyper(params.lr, params.beta1, params.beta2, params.eps,
                        params.weight_decay, params.step);
  c.p_out = c.p;
  c.m_out = c.m;
  c.v_out = c.v;
  cpu::adamw_step(c.p_out.data(), g.data(), c.m_out.data(), c.v_out.data(), n,
                  params);
  c.master_out = c.p_out;
  for (float &x : c.p_out)
    x = round(x);
  return c;
}

TrainCase make_train_case(const std::string &kind, int64_t width,
                          const KernelDecl &decl, const Round &round,
                          uint32_t seed) {
  std::mt19937 rng(seed);
  if (kind == "rms_norm_grad")
    return rms_norm_grad_case(width, decl, round, rng);
  if (kind == "column_sum")
    return column_sum_case(width, decl, round, rng);
  if (kind == "embed_grad")
    return embed_grad_case(width, decl, round, rng);
  if (kind == "cross_entropy_rows")
    return cross_entropy_rows_case(width, decl, round, rng);
  if (kind == "label_mean")
    return label_mean_case(decl, round, rng);
  if (kind == "cross_entropy_grad")
    return cross_entropy_grad_case(width, decl, round, rng);
  if (kind == "distill_kl_rows" || kind == "distill_kl_grad")
    return distill_case(kind == "distill_kl_grad", width, decl, round, rng);
  fail("no training oracle for kernel kind '", kind, "'");
}

} // namespace edg::oracle
