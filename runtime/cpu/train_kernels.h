//===- train_kernels.h - layer-level gradients and AdamW on CPU -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The computations behind the coarse gradient ops of EDGTrainOps.td, one
// function per forward op kind, built from the forward and backward kernels
// of kernels.h and the GEMMs of blas.h. Each gradient recomputes the
// forward op's internals (projections, RoPE, softmax, GeGLU, soft-capped
// logits) from the op's inputs: only the op inputs are kept from the
// forward pass (docs/training.md). Layouts are those of the forward ops:
// activations [N, d] row-major with N = B*T, weights [out, in] as in HF.
//
// All gradient outputs are overwritten (not accumulated): edg-autodiff
// sums contributions with explicit edg.add steps.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CPU_TRAIN_KERNELS_H
#define EDG_RUNTIME_CPU_TRAIN_KERNELS_H

#include "runtime/cpu/kernels.h"

#include <cstdint>
#include <vector>

namespace edg::cpu {

//===----------------------------------------------------------------------===//
// Attention layers (projections + RoPE + attention core + output)
//===----------------------------------------------------------------------===//

/// Static configuration of one attention op. Self-attention applies RoPE
/// (theta > 0) with q_pos = k_pos = `positions`; cross-attention has no RoPE
/// and mask none_cross.
struct AttentionLayer {
  int64_t H = 0, K = 0, hd = 0;
  float scale = 1.0f, softcap = 0.0f;
  float rope_theta = 0.0f; // 0: no RoPE (cross-attention)
  MaskKind mask = MaskKind::causal;
  int64_t window = 0;
};

/// The forward op: out [B, T, d] from x [B, T, d] (queries) and kv
/// [B, S, dkv] (keys/values; x itself for self-attention, S == T).
/// wq [H*hd, d], wk/wv [K*hd, dkv], wo [d, H*hd]; positions [B, T] (self
/// only), key_valid [B, S] or null.
void attention_layer_forward(const float *x, const float *kv, int64_t B,
                             int64_t T, int64_t S, int64_t d, int64_t dkv,
                             const int32_t *positions,
                             const uint8_t *key_valid, const float *wq,
                             const float *wk, const float *wv, const float *wo,
                             const AttentionLayer &cfg, float *out);

/// Gradients of attention_layer_forward given dy [B, T, d]. dx [B, T, d];
/// dkv [B, S, dkv] (null for self-attention, where kv == x and the key/value
/// path adds into dx); dwq, dwk, dwv, dwo shaped like the weights.
void attention_layer_backward(const float *x, const float *kv, int64_t B,
                              int64_t T, int64_t S, int64_t d, int64_t dkv,
                              const int32_t *positions,
                              const uint8_t *key_valid, const float *wq,
                              const float *wk, const float *wv,
                              const float *wo, const AttentionLayer &cfg,
                              const float *dy, float *dx, float *dkv_out,
                              float *dwq, float *dwk, float *dwv, float *dwo);

/// attention_backward (kernels.h) computed with blocked GEMMs
/// (attention_grad.cc): same arguments and results; k and v must be dense.
void attention_backward_blocked(const float *q, const float *k, const float *v,
                                const float *dout, float *dq, float *dk,
                                float *dv, int64_t B, int64_t T, int64_t S,
                                int64_t H, int64_t K, int64_t hd,
                                const AttentionParams &params);

//===----------------------------------------------------------------------===//
// MLP, LM head, embedding, norms
//===----------------------------------------------------------------------===//

/// Forward GeGLU MLP: y [N, d] = down(gelu_tanh(x gateᵀ) * (x upᵀ)).
/// gate/up [I, d], down [d, I].
void mlp_forward(const float *x, int64_t N, int64_t d, int64_t I,
                 const float *gate, const float *up, const float *down,
                 float *y);

/// Gradients of mlp_forward given dy [N, d].
void mlp_backward(const float *x, int64_t N, int64_t d, int64_t I,
                  const float *gate, const float *up, const float *down,
                  const float *dy, float *dx, float *dgate, float *dup,
                  float *ddown);

/// Forward LM head: logits [N, V] = x tableᵀ, then cap*tanh(./cap) if
/// softcap > 0.
void lm_head_forward(const float *x, int64_t N, int64_t d, const float *table,
                     int64_t V, float softcap, float *logits);

/// Gradients of lm_head_forward given dlogits [N, V]: dx [N, d],
/// dtable [V, d].
void lm_head_backward(const float *x, int64_t N, int64_t d,
                      const float *table, int64_t V, float softcap,
                      const float *dlogits, float *dx, float *dtable);

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

/// Distillation loss `weight * tau² * mean_rows KL(softmax(t/tau) ||
/// softmax(s/tau))` over rows whose label != ignore_index. student [B, T, V],
/// teacher [B, Tt, V], teacher_index [B, T] (row of the teacher matching
/// each student row), labels [B, T]. If dstudent ([B, T, V]) is non-null it
/// receives d loss / d student. Throws on an index outside [0, Tt).
float distill_kl(const float *student, const float *teacher,
                 const int32_t *teacher_index, const int32_t *labels,
                 int64_t B, int64_t T, int64_t Tt, int64_t V, float tau,
                 float weight, int32_t ignore_index, float *dstudent);

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

/// Global L2 norm of all `grads` (sizes in `numels`), accumulated in double
/// in a fixed order (so it is bit-reproducible). Scales every gradient in
/// place by min(1, max_norm / (norm + 1e-6)) as
/// torch.nn.utils.clip_grad_norm_ does, unless max_norm <= 0. Returns the
/// norm before clipping.
float clip_grad_norm(const std::vector<float *> &grads,
                     const std::vector<int64_t> &numels, float max_norm);

struct AdamWParams {
  double lr = 1e-3;   // learning rate of this step (schedule applied)
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  int64_t step = 1;   // this weight's update count, 1-based
};

/// One torch.optim.AdamW step (single-tensor path, fp32), in place:
/// p *= 1 - lr*wd; m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g*g;
/// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). All arrays [n].
void adamw_step(float *param, const float *grad, float *exp_avg,
                float *exp_avg_sq, int64_t n, const AdamWParams &p);

/// The learning rate at global step t (1-based): linear warm-up to `lr`
/// over `warmup` steps, then, if total > warmup, cosine decay to
/// min_ratio*lr at step `total` (constant after it).
double scheduled_lr(double lr, int64_t t, int64_t warmup, int64_t total,
                    double min_ratio);

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_TRAIN_KERNELS_H
