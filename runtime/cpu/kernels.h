//===- kernels.h - fp32 CPU kernels for Gemma 2 / T5Gemma -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The element-wise, normalisation, RoPE, attention and loss kernels of the
// CPU backend, in fp32, with the numerics of Hugging Face's eager fp32 path
// (MODEL_SPEC.md §1.3-1.8, §2.3-2.6, §4). All tensors are dense row-major; the
// shape of each argument is given next to it. GEMMs are in blas.h.
//
// Forward kernels come first, then the backward kernels used by training.
// Backward kernels overwrite activation gradients (dx, dq, ...) and
// accumulate (+=) into parameter gradients (dw, dtable) so that gradients of
// several micro-batches can be summed in place.
//
// Every kernel validates its arguments and throws edg::Error (ids out of
// range, bad head counts, ...). None may be called from inside an OpenMP
// parallel region (attention calls BLAS).
//
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CPU_KERNELS_H
#define EDG_RUNTIME_CPU_KERNELS_H

#include <cstdint>

namespace edg::cpu {

//===----------------------------------------------------------------------===//
// Forward
//===----------------------------------------------------------------------===//

/// out[i, :] = table[ids[i], :] * scale.   ids: [n], table: [vocab, d],
/// out: [n, d]. `scale` is sqrt(d) already rounded to the activation dtype
/// (MODEL_SPEC §1.3). Throws if an id is outside [0, vocab).
void embed(const int32_t *ids, int64_t n, const float *table, int64_t vocab,
           int64_t d, float scale, float *out);

/// Gemma RMSNorm: out = (x * rsqrt(mean(x²) + eps)) * (1 + w), per row.
/// x: [n, d], w: [d] (stored offset), out: [n, d] (may alias x).
void rms_norm(const float *x, const float *w, int64_t n, int64_t d, float eps,
              float *out);

/// Rotate-half RoPE, in place. x: [B, T, nheads, hd], positions: [B, T].
/// inv_freq[i] = 1 / theta^(2i/hd) in fp32, angle = pos * inv_freq in fp32,
/// x'[i] = x[i]cos - x[i+hd/2]sin, x'[i+hd/2] = x[i+hd/2]cos + x[i]sin.
void rope_rotate_half(float *x, int64_t B, int64_t T, int64_t nheads,
                      int64_t hd, const int32_t *positions, float theta);

enum class MaskKind {
  causal,                // k_pos <= q_pos
  bidirectional,         // every key
  sliding_causal,        // k_pos <= q_pos && q_pos - k_pos < window
  sliding_bidirectional, // |q_pos - k_pos| < window
  none_cross,            // cross-attention: every key (padding via key_valid)
};

const char *mask_kind_name(MaskKind kind);

struct AttentionParams {
  float scale = 1.0f;   // query_pre_attn_scalar^-0.5
  float softcap = 0.0f; // attn_logit_softcapping; 0 disables
  MaskKind mask = MaskKind::causal;
  int64_t window = 0; // W, required (> 0) for the sliding kinds
  /// Absolute positions used by the masks. q_pos: [B, T], k_pos: [B, S].
  /// When null, queries are at S - T + t and keys at s (a query block at the
  /// end of the key sequence, as in prefill and KV-cached decoding).
  const int32_t *q_pos = nullptr;
  const int32_t *k_pos = nullptr;
  /// [B, S]; 0 marks a padding key (ANDed into every mask). Null: all valid.
  const uint8_t *key_valid = nullptr;
  /// Elements between consecutive batches of k and v; 0 means S*K*hd. Lets a
  /// KV cache of capacity C > S ([B, C, K, hd]) be passed with S filled rows.
  int64_t kv_batch_stride = 0;
  /// k and v are [B, K, S, hd] (each head's keys contiguous) instead of
  /// [B, S, K, hd]; kv_batch_stride then defaults to K*S*hd as well. Forward
  /// only (the decoding cross-attention cache uses it).
  bool kv_head_major = false;
};

/// Eager attention, HF order: s = (q·k)*scale; s = c*tanh(s/c) if softcap;
/// mask; softmax in fp32; out = p·v. GQA: query head h reads KV head
/// h / (H/K). A row that sees no key averages v uniformly over all S keys, as
/// HF's finfo.min additive mask does.
/// q: [B, T, H, hd], k, v: [B, S, K, hd], out: [B, T, H, hd].
void attention(const float *q, const float *k, const float *v, float *out,
               int64_t B, int64_t T, int64_t S, int64_t H, int64_t K,
               int64_t hd, const AttentionParams &params);

/// out = gelu_tanh(gate) * up with torch's gelu(approximate="tanh").
/// gate, up, out: [n] (out may alias either input).
void gelu_tanh_mul(const float *gate, const float *up, float *out, int64_t n);

/// out = a + b. a, b, out: [n] (out may alias).
void add(const float *a, const float *b, float *out, int64_t n);

/// x = cap * tanh(x / cap), in place. x: [n]. cap must be > 0.
void softcap(float *x, int64_t n, float cap);

/// One element of softcap(), bit for bit the value softcap() stores.
float softcap_value(float x, float cap);

/// x *= s, in place. x: [n].
void scale(float *x, int64_t n, float s);

/// Mean cross-entropy over rows whose label != ignore_index.
/// logits: [N, V], labels: [N]. If dlogits ([N, V]) is non-null it receives
/// d(mean loss)/d(logits) (zero rows for ignored labels). With no counted row
/// the loss is NaN and dlogits is zero, as torch's mean reduction gives.
/// Throws on a label outside [0, V) that is not ignore_index.
float cross_entropy(const float *logits, const int32_t *labels, int64_t N,
                    int64_t V, float *dlogits, int32_t ignore_index = -100);

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

/// dtable[ids[i], :] += dout[i, :] * scale. dout: [n, d], dtable: [vocab, d].
void embed_backward(const int32_t *ids, int64_t n, const float *dout,
                    int64_t vocab, int64_t d, float scale, float *dtable);

/// Gradients of rms_norm. x, dout, dx: [n, d]; w, dw: [d].
/// dx is overwritten; dw is accumulated (may be null to skip it).
void rms_norm_backward(const float *x, const float *w, const float *dout,
                       int64_t n, int64_t d, float eps, float *dx, float *dw);

/// Gradient of rope_rotate_half: rotates dx by -angle, in place.
/// dx: [B, T, nheads, hd], positions: [B, T].
void rope_rotate_half_backward(float *dx, int64_t B, int64_t T, int64_t nheads,
                               int64_t hd, const int32_t *positions,
                               float theta);

/// Gradients of attention (softmax recomputed). Shapes as in attention();
/// dout: [B, T, H, hd]; dq: [B, T, H, hd]; dk, dv: [B, S, K, hd] (dense, the
/// kv_batch_stride of params applies to k and v only). All three are
/// overwritten. Rows that see no key pass gradient to v only (their output
/// does not depend on q or k).
void attention_backward(const float *q, const float *k, const float *v,
                        const float *dout, float *dq, float *dk, float *dv,
                        int64_t B, int64_t T, int64_t S, int64_t H, int64_t K,
                        int64_t hd, const AttentionParams &params);

/// Gradients of gelu_tanh_mul. gate, up, dout, dgate, dup: [n] (overwritten).
void gelu_tanh_mul_backward(const float *gate, const float *up,
                            const float *dout, float *dgate, float *dup,
                            int64_t n);

/// Gradient of softcap given its *output* y = cap*tanh(x/cap):
/// dx = dy * (1 - (y/cap)²). y, dy, dx: [n] (dx may alias dy).
void softcap_backward(const float *y, const float *dy, float *dx, int64_t n,
                      float cap);

namespace detail {
/// The two attention strategies, exposed for tests: `direct` walks the keys
/// of each (batch, kv-head, query) with vector dot products (used for
/// decoding, small T); `gemm` blocks queries and uses sgemm for q·kᵀ and p·v
/// (used for prefill). attention() picks one by T.
void attention_direct(const float *q, const float *k, const float *v,
                      float *out, int64_t B, int64_t T, int64_t S, int64_t H,
                      int64_t K, int64_t hd, const AttentionParams &params);
void attention_gemm(const float *q, const float *k, const float *v, float *out,
                    int64_t B, int64_t T, int64_t S, int64_t H, int64_t K,
                    int64_t hd, const AttentionParams &params);
} // namespace detail

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_KERNELS_H
