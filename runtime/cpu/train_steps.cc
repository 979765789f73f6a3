//===- train_steps.cc - training steps of a model.bin schedule --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See train_steps.h. Input orders (edg_model.fbs, written by ExportModel):
//   embed_grad            ids, grad                       -> dtable
//   rms_norm_grad         x, grad              [w]        -> dx, dw
//   self_attention_grad   x, positions, grad, [valid] [q k v o]
//                                                         -> dx, dq, dk, dv, do
//   cross_attention_grad  x, encoder, grad, [valid] [q k v o]
//                                                  -> dx, denc, dq, dk, dv, do
//   mlp_grad              x, grad          [gate up down] -> dx, dg, du, dd
//   lm_head_grad          x, grad              [table]    -> dx, dtable
//   cross_entropy_grad    logits, labels                  -> dlogits
//   distill_kl(_grad)     logits, teacher, index, labels  -> loss | dlogits
//   clip_grad_norm        g...                            -> norm, g'...
//   adamw_update          grad                 [w]        -> (none)
//===----------------------------------------------------------------------===//
#include "runtime/cpu/train_steps.h"

#include "runtime/core/status.h"
#include "runtime/core/train_state.h"
#include "runtime/cpu/train_kernels.h"

#include <cstring>
#include <optional>

namespace edg::cpu {

namespace {
namespace fb = ::edg::schema;

std::string where(const fb::Step &s) {
  return s.location() && s.location()->size() ? s.location()->str()
                                              : std::string("(unnamed op)");
}

MaskKind mask_of(const fb::Step &s) {
  switch (s.mask()) {
  case fb::MaskKind::causal: return MaskKind::causal;
  case fb::MaskKind::bidirectional: return MaskKind::bidirectional;
  case fb::MaskKind::sliding_causal: return MaskKind::sliding_causal;
  case fb::MaskKind::sliding_bidirectional: return MaskKind::sliding_bidirectional;
  case fb::MaskKind::prefix: break;
  }
  fail(where(s), ": the prefix mask has no gradient kernel");
}

/// Shape of output `i` as the function declares it (static for weights).
std::vector<int64_t> declared_shape(const TrainStepArgs &a, int i) {
  int32_t id = a.step.outputs()->Get(flatbuffers::uoffset_t(i));
  const fb::Value *v = a.function.values()->Get(flatbuffers::uoffset_t(id));
  std::vector<int64_t> shape(v->shape()->begin(), v->shape()->end());
  for (int64_t d : shape)
    check(d >= 0, where(a.step), ": output ", i, " needs a static shape");
  return shape;
}

Tensor like(const Tensor &t) { return Tensor(DType::f32, t.shape()); }

const uint8_t *key_valid(const TrainStepArgs &a, size_t index) {
  return a.step.has_key_valid() ? a.inputs.at(index)->data<uint8_t>()
                                : nullptr;
}

AttentionLayer layer_of(const fb::Step &s, bool self) {
  AttentionLayer c;
  c.H = s.num_heads(), c.K = s.num_kv_heads(), c.hd = s.head_dim();
  c.scale = float(s.scale());
  c.softcap = float(s.softcap());
  c.window = s.window();
  c.rope_theta = self ? float(s.rope_theta()) : 0.0f;
  c.mask = self ? mask_of(s) : MaskKind::none_cross;
  return c;
}

std::vector<Tensor> attention_grad(const TrainStepArgs &a, bool self) {
  const Tensor &x = *a.inputs[0], &second = *a.inputs[1], &dy = *a.inputs[2];
  const Tensor &kv = self ? x : second;
  const Tensor &wq = *a.weights[0], &wk = *a.weights[1], &wv = *a.weights[2],
               &wo = *a.weights[3];
  int64_t B = x.dim(0), T = x.dim(1), d = x.dim(2);
  int64_t S = kv.dim(1), dkv = kv.dim(2);
  check(kv.dim(0) == B, where(a.step), ": encoder batch ", kv.dim(0),
        " differs from decoder batch ", B);
  std::vector<Tensor> out;
  out.push_back(like(x));
  if (!self)
    out.push_back(like(kv));
  for (const Tensor *w : a.weights)
    out.push_back(like(*w));
  size_t g = self ? 1 : 2; // first weight gradient
  attention_layer_backward(
      x.data<float>(), kv.data<float>(), B, T, S, d, dkv,
      self ? second.data<int32_t>() : nullptr, key_valid(a, 3),
      wq.data<float>(), wk.data<float>(), wv.data<float>(), wo.data<float>(),
      layer_of(a.step, self), dy.data<float>(), out[0].data<float>(),
      self ? nullptr : out[1].data<float>(), out[g].data<float>(),
      out[g + 1].data<float>(), out[g + 2].data<float>(),
      out[g + 3].data<float>());
  return out;
}

Tensor scalar(float value) {
  Tensor t(DType::f32, {});
  t.data<float>()[0] = value;
  return t;
}

std::vector<Tensor> distill(const TrainStepArgs &a, bool grad) {
  const Tensor &s = *a.inputs[0], &t = *a.inputs[1], &index = *a.inputs[2],
               &labels = *a.inputs[3];
  int64_t B = s.dim(0), T = s.dim(1), V = s.dim(2), Tt = t.dim(1);
  check(t.dim(0) == B && t.dim(2) == V, where(a.step), ": teacher logits ",
        shape_str(t.shape()), " do not match the student's ",
        shape_str(s.shape()));
  Tensor d = grad ? like(s) : Tensor();
  float loss = distill_kl(s.data<float>(), t.data<float>(),
                          index.data<int32_t>(), labels.data<int32_t>(), B, T,
                          Tt, V, float(a.step.temperature()),
                          float(a.step.loss_weight()),
                          int32_t(a.step.ignore_index()),
                          grad ? d.data<float>() : nullptr);
  std::vector<Tensor> out;
  out.push_back(grad ? std::move(d) : scalar(loss));
  return out;
}

/// The max norm of clip_grad_norm step `s`, or the state's override.
double max_norm_of(const fb::Step &s, const TrainState *state) {
  if (state && state->overrides.max_grad_norm)
    return *state->overrides.max_grad_norm;
  return s.max_norm();
}

/// Clips `grads` in place to `max_norm` (0: measure only); returns the norm
/// before clipping and records it in the state.
float clip_in_place(double max_norm, TrainState *state,
                    const std::vector<Tensor *> &grads) {
  std::vector<float *> ptrs;
  std::vector<int64_t> sizes;
  for (Tensor *g : grads) {
    ptrs.push_back(g->data<float>());
    sizes.push_back(g->numel());
  }
  float norm = clip_grad_norm(ptrs, sizes, float(max_norm));
  if (state)
    state->last_grad_norm = norm;
  return norm;
}

std::vector<Tensor> clip(const TrainStepArgs &a) {
  std::vector<Tensor> out;
  out.push_back(scalar(0.0f));
  for (const Tensor *g : a.inputs)
    out.push_back(g->clone());
  // `out` no longer grows: pointers into it stay valid.
  std::vector<Tensor *> grads;
  for (size_t i = 1; i < out.size(); ++i)
    grads.push_back(&out[i]);
  out[0].data<float>()[0] =
      clip_in_place(max_norm_of(a.step, a.state), a.state, grads);
  return out;
}

/// The AdamW parameters of adamw_update step `s` for weight `index` in the
/// step being taken, advancing the weight's update count; none while the
/// weight is frozen (the paper's warm-up).
std::optional<AdamWParams> adamw_params(const fb::Step &s, TrainState &st,
                                        int32_t index) {
  const int64_t t = st.global_step; // 1-based number of this step
  if (t <= s.frozen_steps())
    return std::nullopt;
  const TrainOverrides &o = st.overrides;
  AdamWParams p;
  p.lr = scheduled_lr(o.lr.value_or(s.lr()), t,
                      o.warmup_steps.value_or(s.warmup_steps()),
                      o.total_steps.value_or(s.total_steps()),
                      o.min_lr_ratio.value_or(s.min_lr_ratio()));
  p.beta1 = o.beta1.value_or(s.beta1());
  p.beta2 = o.beta2.value_or(s.beta2());
  p.eps = o.eps.value_or(s.eps());
  p.weight_decay = o.weight_decay.value_or(s.weight_decay());
  p.step = ++st.param_step(index);
  return p;
}

/// One AdamW update of weight `index` with gradient `g` on the host.
void adamw_host(TrainState &st, int32_t index, const Tensor &g,
                const AdamWParams &p, const std::string &where) {
  Tensor &w = st.weights().get(index);
  check(g.shape() == w.shape(), where, ": gradient ", shape_str(g.shape()),
        " does not match weight ", shape_str(w.shape()));
  adamw_step(w.data<float>(), g.data<float>(), st.exp_avg(index).data<float>(),
             st.exp_avg_sq(index).data<float>(), w.numel(), p);
}

void adamw(const TrainStepArgs &a) {
  check(a.state != nullptr, where(a.step),
        ": adamw_update needs a training state; run the step through "
        "Model::train_step");
  const int32_t index = a.weight_ids.at(0);
  if (auto p = adamw_params(a.step, *a.state, index))
    adamw_host(*a.state, index, *a.inputs[0], *p, where(a.step));
}
} // namespace

OptimizerPlan plan_optimizer(const schema::Function &train_step,
                             TrainState &state) {
  OptimizerPlan plan;
  for (const fb::Step *s : *train_step.steps()) {
    if (s->op() == fb::OpKind::clip_grad_norm) {
      plan.max_norm = max_norm_of(*s, &state);
    } else if (s->op() == fb::OpKind::adamw_update) {
      check(s->weights() && s->weights()->size() == 1, where(*s),
            ": adamw_update names no weight");
      const int32_t w = s->weights()->Get(0);
      if (auto p = adamw_params(*s, state, w))
        plan.updates.push_back({w, *p, where(*s)});
    }
  }
  return plan;
}

bool is_train_step(schema::OpKind kind) {
  return int(kind) >= int(fb::OpKind::embed_grad) &&
         int(kind) <= int(fb::OpKind::adamw_update);
}

std::vector<Tensor> run_train_step(const TrainStepArgs &a) {
  const fb::Step &s = a.step;
  std::vector<Tensor> out;
  switch (s.op()) {
  case fb::OpKind::embed_grad: {
    const Tensor &ids = *a.inputs[0], &dy = *a.inputs[1];
    std::vector<int64_t> shape = declared_shape(a, 0); // [V, d]
    out.emplace_back(DType::f32, shape);
    embed_backward(ids.data<int32_t>(), ids.numel(), dy.data<float>(),
                   shape[0], shape[1], float(s.scale()),
                   out[0].data<float>());
    return out;
  }
  case fb::OpKind::rms_norm_grad: {
    const Tensor &x = *a.inputs[0], &dy = *a.inputs[1], &w = *a.weights[0];
    int64_t d = x.dim(-1);
    out.push_back(like(x));
    out.push_back(like(w)); // zeros: rms_norm_backward accumulates dw
    rms_norm_backward(x.data<float>(), w.data<float>(), dy.data<float>(),
                      x.numel() / d, d, float(s.eps()), out[0].data<float>(),
                      out[1].data<float>());
    return out;
  }
  case fb::OpKind::self_attention_grad:
    return attention_grad(a, /*self=*/true);
  case fb::OpKind::cross_attention_grad:
    return attention_grad(a, /*self=*/false);
  case fb::OpKind::mlp_grad: {
    const Tensor &x = *a.inputs[0], &dy = *a.inputs[1];
    int64_t d = x.dim(-1), N = x.numel() / d, I = a.weights[0]->dim(0);
    out.push_back(like(x));
    for (const Tensor *w : a.weights)
      out.push_back(like(*w));
    mlp_backward(x.data<float>(), N, d, I, a.weights[0]->data<float>(),
                 a.weights[1]->data<float>(), a.weights[2]->data<float>(),
                 dy.data<float>(), out[0].data<float>(), out[1].data<float>(),
                 out[2].data<float>(), out[3].data<float>());
    return out;
  }
  case fb::OpKind::lm_head_grad: {
    const Tensor &x = *a.inputs[0], &dy = *a.inputs[1], &table = *a.weights[0];
    int64_t d = x.dim(-1), N = x.numel() / d, V = table.dim(0);
    out.push_back(like(x));
    out.push_back(like(table));
    lm_head_backward(x.data<float>(), N, d, table.data<float>(), V,
                     float(s.softcap()), dy.data<float>(),
                     out[0].data<float>(), out[1].data<float>());
    return out;
  }
  case fb::OpKind::cross_entropy_grad: {
    const Tensor &logits = *a.inputs[0], &labels = *a.inputs[1];
    int64_t V = logits.dim(-1), N = logits.numel() / V;
    out.push_back(like(logits));
    cross_entropy(logits.data<float>(), labels.data<int32_t>(), N, V,
                  out[0].data<float>(), int32_t(s.ignore_index()));
    return out;
  }
  case fb::OpKind::distill_kl:
    return distill(a, /*grad=*/false);
  case fb::OpKind::distill_kl_grad:
    return distill(a, /*grad=*/true);
  case fb::OpKind::clip_grad_norm:
    return clip(a);
  case fb::OpKind::adamw_update:
    adamw(a);
    return out;
  default:
    break;
  }
  fail(where(s), ": op kind ", int(s.op()), " is not a training step");
}

} // namespace edg::cpu
