//===- executor.cc - run a model.bin schedule on the CPU ----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// One function per graph-level op kind. Activations are fp32 row-major with
// the shapes of MODEL_SPEC's notation; projections are y = x·Wᵀ with W
// [out, in] as stored in HF checkpoints (sgemm_nt).
//===----------------------------------------------------------------------===//
#include "runtime/cpu/executor.h"

#include "runtime/core/status.h"
#include "runtime/cpu/blas.h"
#include "runtime/cpu/greedy_head.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/parallel.h"
#include "runtime/cpu/train_steps.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace edg::cpu {

void KvState::reorder_rows(const std::vector<int64_t> &source_rows) {
  bool identity = true;
  for (size_t r = 0; r < source_rows.size(); ++r)
    identity = identity && source_rows[r] == int64_t(r);
  if (identity)
    return;
  for (auto &entry : self_) {
    SelfCache &c = entry.second;
    check(int64_t(source_rows.size()) == c.B, "KV cache reorder: ",
          source_rows.size(), " rows given for a cache of ", c.B);
    // Gathers the first `len` slots of each row: [B, capacity, width].
    auto gather = [&](auto &data, int64_t width) {
      auto old = data;
      int64_t n = c.len * width, stride = c.capacity * width;
      for (int64_t r = 0; r < c.B; ++r)
        std::copy_n(old.begin() + source_rows[size_t(r)] * stride, n,
                    data.begin() + r * stride);
    };
    gather(c.k, c.K * c.hd);
    gather(c.v, c.K * c.hd);
    gather(c.pos, 1);
    gather(c.valid, 1);
  }
}

namespace {
namespace fb = ::edg::schema;

/// The values of one function invocation: arguments are borrowed, op results
/// owned.
struct Frame {
  std::vector<Tensor> owned;
  std::vector<const Tensor *> view;

  const Tensor &in(const fb::Step &s, int i) const {
    const Tensor *t = view[size_t(s.inputs()->Get(flatbuffers::uoffset_t(i)))];
    check(t != nullptr, "internal error: step input ", i, " of ",
          s.location() ? s.location()->str() : "?", " is not computed yet");
    return *t;
  }
  void set(const fb::Step &s, int i, Tensor t) {
    set_value(s.outputs()->Get(flatbuffers::uoffset_t(i)), std::move(t));
  }
  void set_value(int32_t value, Tensor t) {
    size_t id = size_t(value);
    owned[id] = std::move(t);
    view[id] = &owned[id];
  }
};

std::string where(const fb::Step &s) {
  return s.location() && s.location()->size() ? s.location()->str()
                                              : std::string("(unnamed op)");
}

/// y[N, out] = x[N, in] · W[out, in]ᵀ.
void linear(const float *x, int64_t N, int64_t in, const Tensor &w, float *y) {
  int64_t out = w.dim(0);
  sgemm_nt(N, out, in, x, in, w.data<float>(), in, y, out);
}

const uint8_t *valid_or_null(const Frame &f, const fb::Step &s, int i) {
  return s.has_key_valid() ? f.in(s, i).data<uint8_t>() : nullptr;
}

MaskKind mask_of(const fb::Step &s) {
  switch (s.mask()) {
  case fb::MaskKind::causal: return MaskKind::causal;
  case fb::MaskKind::bidirectional: return MaskKind::bidirectional;
  case fb::MaskKind::sliding_causal: return MaskKind::sliding_causal;
  case fb::MaskKind::sliding_bidirectional: return MaskKind::sliding_bidirectional;
  case fb::MaskKind::prefix: break;
  }
  fail(where(s), ": the prefix mask needs prefix lengths, which this runtime "
                 "does not take yet");
}

/// EDG_PROFILE=1: wall time per (entry point, op kind), printed to stderr at
/// exit. A diagnostic for performance work; off by default.
class Profile {
public:
  static Profile *get() {
    static Profile *p = std::getenv("EDG_PROFILE") ? new Profile : nullptr;
    return p;
  }
  void add(const std::string &fn, fb::OpKind op, double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry &e = table_[fn + " " + fb::EnumNameOpKind(op)];
    e.seconds += seconds;
    ++e.calls;
  }
  ~Profile() = default;

private:
  Profile() { std::atexit([] { get()->print(); }); }
  void print() {
    std::lock_guard<std::mutex> lock(mu_);
    double total = 0.0;
    for (const auto &kv : table_)
      total += kv.second.seconds;
    std::fprintf(stderr, "edg profile (EDG_PROFILE): %.3f s in steps\n", total);
    for (const auto &kv : table_)
      std::fprintf(stderr, "  %-32s %9.3f s %5.1f%% %8ld calls\n",
                   kv.first.c_str(), kv.second.seconds,
                   total > 0 ? 100.0 * kv.second.seconds / total : 0.0,
                   long(kv.second.calls));
  }
  struct Entry {
    double seconds = 0.0;
    int64_t calls = 0;
  };
  std::mutex mu_;
  std::map<std::string, Entry> table_;
};

} // namespace

/// The int8 copies of LM heads for greedy decoding (cpu/greedy_head.h).
/// EDG_GREEDY_HEAD=exact turns the int8 search off (full fp32 logits).
struct Executor::Caches {
  std::mutex mu;
  struct Head {
    uint64_t version = 0;
    std::shared_ptr<const QuantizedTable> table;
  };
  std::map<int32_t, Head> heads;

  std::shared_ptr<const QuantizedTable> head(const WeightStore &w,
                                             int32_t index) {
    static const bool off = [] {
      const char *e = std::getenv("EDG_GREEDY_HEAD");
      return e && std::strcmp(e, "exact") == 0;
    }();
    if (off)
      return nullptr;
    std::lock_guard<std::mutex> lock(mu);
    Head &h = heads[index];
    if (!h.table || h.version != w.version(index)) {
      const Tensor &t = w.get(index);
      h.table = std::make_shared<const QuantizedTable>(
          QuantizedTable::build(t.data<float>(), t.dim(0), t.dim(1)));
      h.version = w.version(index);
    }
    return h.table;
  }
};

Executor::Executor(const ModelFile &file, const WeightStore &weights)
    : file_(file), weights_(weights), caches_(std::make_shared<Caches>()),
      kernels_(GeneratedKernels::load(file.model(), file.path())) {}

namespace {

class StepRunner {
public:
  StepRunner(const fb::Function &fn, const WeightStore &weights,
             const RunOptions &options, Frame &frame,
             Executor::Caches &caches)
      : fn_(fn), weights_(weights), options_(options), f_(frame),
        caches_(caches) {}

  void run(const fb::Step &s, int index) {
    switch (s.op()) {
    case fb::OpKind::embed: return embed_step(s);
    case fb::OpKind::rms_norm: return rms_norm_step(s);
    case fb::OpKind::self_attention: return self_attention_step(s, index);
    case fb::OpKind::cross_attention: return cross_attention_step(s, index);
    case fb::OpKind::mlp: return mlp_step(s);
    case fb::OpKind::add: return add_step(s);
    case fb::OpKind::lm_head: return lm_head_step(s);
    case fb::OpKind::cross_entropy: return cross_entropy_step(s);
    // Training steps (runtime/cpu/train_steps.cc).
    case fb::OpKind::embed_grad:
    case fb::OpKind::rms_norm_grad:
    case fb::OpKind::self_attention_grad:
    case fb::OpKind::cross_attention_grad:
    case fb::OpKind::mlp_grad:
    case fb::OpKind::lm_head_grad:
    case fb::OpKind::cross_entropy_grad:
    case fb::OpKind::distill_kl:
    case fb::OpKind::distill_kl_grad:
    case fb::OpKind::clip_grad_norm:
    case fb::OpKind::adamw_update: return train_step(s);
    }
    fail(where(s), ": op kind ", int(s.op()),
         " is unknown to this runtime; the model.bin is newer than the runtime");
  }

private:
  void train_step(const fb::Step &s) {
    TrainStepArgs args{s, fn_, {}, {}, {}, options_.train};
    for (flatbuffers::uoffset_t i = 0; s.inputs() && i < s.inputs()->size(); ++i)
      args.inputs.push_back(&f_.in(s, int(i)));
    for (flatbuffers::uoffset_t i = 0; s.weights() && i < s.weights()->size(); ++i) {
      args.weights.push_back(&weight(s, int(i)));
      args.weight_ids.push_back(s.weights()->Get(i));
    }
    std::vector<Tensor> outs = run_train_step(args);
    for (size_t i = 0; i < outs.size(); ++i)
      f_.set(s, int(i), std::move(outs[i]));
  }

  const Tensor &weight(const fb::Step &s, int i) const {
    return weights_.get(s.weights()->Get(flatbuffers::uoffset_t(i)));
  }

  // ids [B, T] -> [B, T, d]
  void embed_step(const fb::Step &s) {
    const Tensor &ids = f_.in(s, 0);
    const Tensor &table = weight(s, 0);
    int64_t B = ids.dim(0), T = ids.dim(1), d = table.dim(1);
    Tensor out(DType::f32, {B, T, d});
    cpu::embed(ids.data<int32_t>(), B * T, table.data<float>(), table.dim(0), d,
               float(s.scale()), out.data<float>());
    f_.set(s, 0, std::move(out));
  }

  // x [..., d] -> [..., d]
  void rms_norm_step(const fb::Step &s) {
    const Tensor &x = f_.in(s, 0);
    int64_t d = x.dim(-1);
    Tensor out(DType::f32, x.shape());
    cpu::rms_norm(x.data<float>(), weight(s, 0).data<float>(), x.numel() / d, d,
                  float(s.eps()), out.data<float>());
    f_.set(s, 0, std::move(out));
  }

  void add_step(const fb::Step &s) {
    const Tensor &a = f_.in(s, 0), &b = f_.in(s, 1);
    Tensor out(DType::f32, a.shape());
    cpu::add(a.data<float>(), b.data<float>(), out.data<float>(), a.numel());
    f_.set(s, 0, std::move(out));
  }

  // x [B, T, d] -> down(gelu_tanh(gate(x)) * up(x)) [B, T, d]
  void mlp_step(const fb::Step &s) {
    const Tensor &x = f_.in(s, 0);
    const Tensor &gate = weight(s, 0), &up = weight(s, 1), &down = weight(s, 2);
    int64_t d = x.dim(-1), N = x.numel() / d, I = gate.dim(0);
    std::vector<float> g(size_t(N * I)), u(size_t(N * I));
    // gate and up share x: one pass over both weights when decoding.
    const NtOutput gu[2] = {{gate.data<float>(), d, I, g.data(), I},
                            {up.data<float>(), d, up.dim(0), u.data(), I}};
    check(up.dim(0) == I, where(s), ": up_proj has ", up.dim(0),
          " rows, gate_proj ", I);
    sgemm_nt_group(N, d, x.data<float>(), d, gu, 2);
    gelu_tanh_mul_step(s, g.data(), u.data(), N * I);
    Tensor out(DType::f32, x.shape());
    linear(g.data(), N, I, down, out.data<float>());
    f_.set(s, 0, std::move(out));
  }

  AttentionParams params_of(const fb::Step &s) const {
    AttentionParams p;
    p.scale = float(s.scale());
    p.softcap = float(s.softcap());
    p.window = s.window();
    return p;
  }

  // x [B, T, d], positions [B, T], key_valid [B, T] -> [B, T, d]
  void self_attention_step(const fb::Step &s, int index) {
    const Tensor &x = f_.in(s, 0), &positions = f_.in(s, 1);
    const uint8_t *key_valid = valid_or_null(f_, s, 2);
    int64_t B = x.dim(0), T = x.dim(1), d = x.dim(2);
    int64_t H = s.num_heads(), K = s.num_kv_heads(), hd = s.head_dim();
    std::vector<float> q(size_t(B * T * H * hd)), k(size_t(B * T * K * hd)),
        v(size_t(B * T * K * hd)), o(size_t(B * T * H * hd));
    check(weight(s, 0).dim(0) == H * hd && weight(s, 1).dim(0) == K * hd &&
              weight(s, 2).dim(0) == K * hd,
          where(s), ": q/k/v projection shapes do not match the head counts");
    // q, k and v share x: one pass over the three weights when decoding.
    const NtOutput qkv[3] = {
        {weight(s, 0).data<float>(), d, H * hd, q.data(), H * hd},
        {weight(s, 1).data<float>(), d, K * hd, k.data(), K * hd},
        {weight(s, 2).data<float>(), d, K * hd, v.data(), K * hd}};
    sgemm_nt_group(B * T, d, x.data<float>(), d, qkv, 3);
    const int32_t *pos = positions.data<int32_t>();
    float theta = float(s.rope_theta());
    rope_rotate_half(q.data(), B, T, H, hd, pos, theta);
    rope_rotate_half(k.data(), B, T, K, hd, pos, theta);

    AttentionParams p = params_of(s);
    p.mask = mask_of(s);
    if (!options_.state) {
      p.q_pos = pos;
      p.k_pos = pos;
      p.key_valid = key_valid;
      attention(q.data(), k.data(), v.data(), o.data(), B, T, T, H, K, hd, p);
    } else {
      attend_cached(s, index, k, v, pos, key_valid, q, o, B, T, H, K, hd, p);
    }
    Tensor out(DType::f32, {B, T, d});
    linear(o.data(), B * T, H * hd, weight(s, 3), out.data<float>());
    f_.set(s, 0, std::move(out));
  }

  /// Appends this step's keys/values to the layer's cache, then attends over
  /// the cached slots. Sliding layers only read the last W-1 slots before the
  /// first query: all rows advance one slot per token, so a slot distance is
  /// a position distance for every valid key.
  void attend_cached(const fb::Step &s, int index, const std::vector<float> &k,
                     const std::vector<float> &v, const int32_t *pos,
                     const uint8_t *key_valid, const std::vector<float> &q,
                     std::vector<float> &o, int64_t B, int64_t T, int64_t H,
                     int64_t K, int64_t hd, AttentionParams p) {
    KvState::SelfCache &c = options_.state->self(&fn_, index);
    if (c.capacity == 0) {
      c.B = B, c.K = K, c.hd = hd, c.len = 0;
      c.capacity = std::max(options_.state->capacity(), T);
      c.k.assign(size_t(B * c.capacity * K * hd), 0.f);
      c.v.assign(c.k.size(), 0.f);
      c.pos.assign(size_t(B * c.capacity), 0);
      c.valid.assign(size_t(B * c.capacity), 0);
    }
    check(c.B == B, where(s), ": batch changed from ", c.B, " to ", B,
          " within one request");
    check(c.len + T <= c.capacity, where(s), ": sequence of ", c.len + T,
          " tokens exceeds the KV cache capacity of ", c.capacity);
    int64_t row = K * hd;
    for (int64_t b = 0; b < B; ++b) {
      std::memcpy(&c.k[size_t((b * c.capacity + c.len) * row)],
                  &k[size_t(b * T * row)], size_t(T * row) * sizeof(float));
      std::memcpy(&c.v[size_t((b * c.capacity + c.len) * row)],
                  &v[size_t(b * T * row)], size_t(T * row) * sizeof(float));
      for (int64_t t = 0; t < T; ++t) {
        c.pos[size_t(b * c.capacity + c.len + t)] = pos[b * T + t];
        c.valid[size_t(b * c.capacity + c.len + t)] =
            key_valid ? key_valid[b * T + t] : 1;
      }
    }
    c.len += T;
    int64_t start = 0;
    if (p.mask == MaskKind::sliding_causal)
      start = std::max<int64_t>(0, c.len - T - (p.window - 1));
    int64_t S = c.len - start;
    std::vector<int32_t> kpos(size_t(B * S));
    std::vector<uint8_t> kvalid(size_t(B * S));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < S; ++j) {
        kpos[size_t(b * S + j)] = c.pos[size_t(b * c.capacity + start + j)];
        kvalid[size_t(b * S + j)] = c.valid[size_t(b * c.capacity + start + j)];
      }
    p.q_pos = pos;
    p.k_pos = kpos.data();
    p.key_valid = kvalid.data();
    p.kv_batch_stride = c.capacity * row;
    attention(q.data(), &c.k[size_t(start * row)], &c.v[size_t(start * row)],
              o.data(), B, T, S, H, K, hd, p);
  }

  // x [B, T, d], encoder [B, S, d_enc], encoder_valid [B, S] -> [B, T, d]
  void cross_attention_step(const fb::Step &s, int index) {
    const Tensor &x = f_.in(s, 0), &enc = f_.in(s, 1);
    const uint8_t *enc_valid = valid_or_null(f_, s, 2);
    int64_t B = x.dim(0), T = x.dim(1), d = x.dim(2);
    int64_t S = enc.dim(1), de = enc.dim(2);
    int64_t H = s.num_heads(), K = s.num_kv_heads(), hd = s.head_dim();
    check(enc.dim(0) == B, where(s), ": encoder batch ", enc.dim(0),
          " differs from decoder batch ", B);
    std::vector<float> q(size_t(B * T * H * hd)), o(size_t(B * T * H * hd));
    linear(x.data<float>(), B * T, d, weight(s, 0), q.data());

    // Encoder keys/values: once per request when a KV state is kept, then
    // stored head-major ([B, K, S, hd]) for the decoding steps.
    KvState::CrossCache local;
    KvState::CrossCache *kv =
        options_.state ? options_.state->cross(&fn_, index) : nullptr;
    if (!kv || kv->S != S) {
      kv = options_.state ? &options_.state->new_cross(&fn_, index) : &local;
      kv->S = S;
      kv->k.resize(size_t(B * S * K * hd));
      kv->v.resize(kv->k.size());
      linear(enc.data<float>(), B * S, de, weight(s, 1), kv->k.data());
      linear(enc.data<float>(), B * S, de, weight(s, 2), kv->v.data());
      if (options_.state) {
        std::vector<float> sk(kv->k.size()), sv(kv->v.size());
        const float *k0 = kv->k.data(), *v0 = kv->v.data();
        parallel_for(B * K, 1, [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) {
            const int64_t b = i / K, h = i % K;
            for (int64_t t = 0; t < S; ++t) {
              const int64_t from = ((b * S + t) * K + h) * hd,
                            to = ((b * K + h) * S + t) * hd;
              std::copy(k0 + from, k0 + from + hd, sk.data() + to);
              std::copy(v0 + from, v0 + from + hd, sv.data() + to);
            }
          }
        });
        kv->k.swap(sk);
        kv->v.swap(sv);
      }
    }
    AttentionParams p = params_of(s);
    p.mask = MaskKind::none_cross;
    p.key_valid = enc_valid;
    p.kv_head_major = options_.state != nullptr;
    attention(q.data(), kv->k.data(), kv->v.data(), o.data(), B, T, S, H, K, hd,
              p);
    Tensor out(DType::f32, {B, T, d});
    linear(o.data(), B * T, H * hd, weight(s, 3), out.data<float>());
    f_.set(s, 0, std::move(out));
  }

  // x [B, T, d] -> logits [B, T, V] (or [B, 1, V] for the last position)
  void lm_head_step(const fb::Step &s) {
    const Tensor &x = f_.in(s, 0);
    const Tensor &table = weight(s, 0);
    int64_t B = x.dim(0), T = x.dim(1), d = x.dim(2), V = table.dim(0);
    const float cap = float(s.softcap());
    if (!options_.logits_last_only) {
      Tensor out(DType::f32, {B, T, V});
      sgemm_nt(B * T, V, d, x.data<float>(), d, table.data<float>(), d,
               out.data<float>(), V);
      if (cap > 0)
        cpu::softcap(out.data<float>(), out.numel(), cap);
      f_.set(s, 0, std::move(out));
      return;
    }
    // The last position of each row: rows of x T*d apart, as one skinny
    // product per block of 8 rows (one pass over the table per block).
    const float *last = x.data<float>() + (T - 1) * d;
    if (options_.greedy_tokens) {
      std::shared_ptr<const QuantizedTable> qt =
          caches_.head(weights_, s.weights()->Get(0));
      greedy_argmax(last, B, T * d, table.data<float>(), V, d, cap, qt.get(),
                    options_.greedy_tokens);
      f_.set(s, 0, Tensor(DType::f32, {B, 1, 0}));
      return;
    }
    Tensor out(DType::f32, {B, 1, V});
    for (int64_t b0 = 0; b0 < B; b0 += 8)
      sgemm_nt(std::min<int64_t>(8, B - b0), V, d, last + b0 * T * d, T * d,
               table.data<float>(), d, out.data<float>() + b0 * V, V);
    if (cap > 0)
      cpu::softcap(out.data<float>(), out.numel(), cap);
    f_.set(s, 0, std::move(out));
  }

  void cross_entropy_step(const fb::Step &s) {
    const Tensor &logits = f_.in(s, 0), &labels = f_.in(s, 1);
    int64_t V = logits.dim(-1), N = logits.numel() / V;
    Tensor out(DType::f32, {});
    out.data<float>()[0] =
        cpu::cross_entropy(logits.data<float>(), labels.data<int32_t>(), N, V,
                           nullptr, int32_t(s.ignore_index()));
    f_.set(s, 0, std::move(out));
  }

  //===--------------------------------------------------------------------===//
  // Generated kernels (generated_kernels.h)
  //===--------------------------------------------------------------------===//
public:
  void use_generated(const GeneratedKernels *kernels,
                     const std::vector<int> *uses) {
    gen_ = kernels;
    uses_ = uses;
  }

  /// Runs the steps from `index` on with one generated kernel when one
  /// matches (residual add + norms); returns how many steps it ran, 0 for
  /// none (the caller runs step `index` itself).
  int run_generated(int index) {
    const fb::Step &s = *fn_.steps()->Get(flatbuffers::uoffset_t(index));
    if (!gen_ || s.op() != fb::OpKind::rms_norm)
      return 0;
    const Tensor &x = f_.in(s, 0);
    const int64_t d = x.dim(-1);
    FusedSteps run = match_steps(*gen_, fn_, index, *uses_, d);
    if (!run.steps)
      return 0;
    // Activations [rows, d] and gains [d], fp32: else the built-in kernels.
    std::vector<void *> args;
    for (const StepOperand &o : run.inputs) {
      const Tensor *t = o.weight ? &weights_.get(o.id) : f_.view[size_t(o.id)];
      if (!t || t->dtype() != DType::f32 ||
          t->numel() != (o.weight ? d : x.numel()))
        return 0;
      args.push_back(const_cast<void *>(t->raw()));
    }
    std::vector<Tensor> outs;
    for (size_t i = 0; i < run.outputs.size(); ++i)
      outs.emplace_back(DType::f32, x.shape());
    for (Tensor &t : outs)
      args.push_back(t.raw());
    const int64_t rows = x.numel() / d;
    run.kernel->run(args.data(), &rows);
    gen_->note_use(*run.kernel, where(s) + " (" + std::to_string(run.steps) +
                                    " steps)");
    for (size_t i = 0; i < outs.size(); ++i)
      f_.set_value(run.outputs[i], std::move(outs[i]));
    return run.steps;
  }

private:
  /// out = gelu_tanh(gate) * up, in place in `gate` ([n] each).
  void gelu_tanh_mul_step(const fb::Step &s, float *gate, const float *up,
                          int64_t n) {
    if (const GeneratedKernel *k =
            gen_ ? gen_->find(kGeluTanhMulSignature) : nullptr) {
      void *args[3] = {gate, const_cast<float *>(up), gate};
      k->run(args, &n);
      gen_->note_use(*k, where(s) + " (MLP activation)");
      return;
    }
    cpu::gelu_tanh_mul(gate, up, gate, n);
  }

  const fb::Function &fn_;
  const WeightStore &weights_;
  const RunOptions &options_;
  Frame &f_;
  Executor::Caches &caches_;
  const GeneratedKernels *gen_ = nullptr;
  const std::vector<int> *uses_ = nullptr;
};
} // namespace

std::vector<Tensor> Executor::run(const std::string &name,
                                  const std::vector<const Tensor *> &args,
                                  const RunOptions &options) const {
  const fb::Function *fn = file_.function(name);
  check(fn != nullptr, file_.path(), ": the model has no entry point '", name,
        "'");
  check(weights_.bound(), "weights are not bound: call bind_weights first");
  size_t nargs = fn->arguments() ? fn->arguments()->size() : 0;
  check(args.size() == nargs, "entry point '", name, "' takes ", nargs,
        " arguments, got ", args.size());

  Frame frame;
  size_t nvalues = fn->values()->size();
  frame.owned.resize(nvalues);
  frame.view.assign(nvalues, nullptr);
  for (size_t i = 0; i < nargs; ++i) {
    const fb::Value *decl = fn->values()->Get(fn->arguments()->Get(flatbuffers::uoffset_t(i)));
    check(args[i] != nullptr && args[i]->rank() == int64_t(decl->shape()->size()),
          "argument ", i, " of '", name, "' must have rank ",
          decl->shape()->size());
    for (size_t d = 0; d < decl->shape()->size(); ++d) {
      int64_t want = decl->shape()->Get(flatbuffers::uoffset_t(d));
      check(want < 0 || want == args[i]->dim(int64_t(d)), "argument ", i,
            " of '", name, "' has dim ", d, " = ", args[i]->dim(int64_t(d)),
            ", the model needs ", want);
    }
    frame.view[size_t(fn->arguments()->Get(flatbuffers::uoffset_t(i)))] = args[i];
  }

  StepRunner runner(*fn, weights_, options, frame, *caches_);
  std::vector<int> uses; // read counts, for matching generated kernels
  if (kernels_) {
    uses = value_uses(*fn);
    runner.use_generated(kernels_.get(), &uses);
  }
  Profile *prof = Profile::get();
  const int nsteps = int(fn->steps()->size());
  for (int index = 0; index < nsteps;) {
    const fb::Step *step = fn->steps()->Get(flatbuffers::uoffset_t(index));
    auto t0 = prof ? std::chrono::steady_clock::now()
                   : std::chrono::steady_clock::time_point();
    int done = runner.run_generated(index);
    if (!done) {
      runner.run(*step, index);
      done = 1;
    }
    if (prof)
      prof->add(name, step->op(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                    .count());
    index += done;
  }

  std::vector<Tensor> results;
  for (int32_t id : *fn->results()) {
    check(frame.view[size_t(id)] != nullptr,
          "internal error: result value ", id, " was never computed");
    if (frame.owned[size_t(id)].numel() || frame.view[size_t(id)] == &frame.owned[size_t(id)])
      results.push_back(std::move(frame.owned[size_t(id)]));
    else
      results.push_back(frame.view[size_t(id)]->clone());
  }
  return results;
}

} // namespace edg::cpu
