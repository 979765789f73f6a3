//===- train_oracle.h - cases for generated training kernels ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The training kernel kinds of passes/EmitCudaTrain.cpp (rms_norm_grad,
// column_sum, embed_grad, cross_entropy_rows, label_mean,
// cross_entropy_grad) mix storage types (bf16 logits, fp32 losses; int32
// labels), so their cases are built from the kernel's parameter list in the
// generated source, and the constants the kernel specialises on (kEps,
// kScale, kIgnore, kV) are read from its body. Expected outputs come from
// the hand-written CPU kernels (runtime/cpu/kernels.h: rms_norm_backward,
// embed_backward, cross_entropy) or, where the CPU has no separate kernel
// (per-row losses, column sums, the label mean), from double-precision
// loops. Cases cover ignored labels, repeated ids (accumulation) and ids
// outside the table (skipped).
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_E2E_TRAIN_ORACLE_H
#define EDG_TEST_E2E_TRAIN_ORACLE_H

#include "test/e2e/kernel_oracle.h"

#include <map>
#include <string>
#include <vector>

namespace edg::oracle {

/// Whether `kind` is a training kernel kind with a case here.
bool is_train_kind(const std::string &kind);

/// A generated kernel as its source declares it.
struct KernelDecl {
  /// Storage type of each pointer parameter, inputs then outputs: "float",
  /// "__nv_bfloat16", "__half", "int", "edg_i64", "unsigned char".
  std::vector<std::string> params;
  /// `constexpr <type> kName = <number>` lines of its body.
  std::map<std::string, double> constants;
};

/// The declaration of kernel `name` in generated CUDA `source`; throws
/// edg::Error when the source has no such kernel.
KernelDecl find_kernel_decl(const std::string &source, const std::string &name);

/// One case of a training kernel: inputs rounded to their storage types,
/// each output's shape, the ABI sizes and the oracle's outputs. Outputs of
/// embed_grad start zeroed (the executor's zero_outputs), others as NaN.
struct TrainCase {
  KernelCase c;
  bool zero_outputs = false;
  std::string note; // what the case exercises, for the report line
};

/// The case of kernel `kind` with row width `width`; `round(type, x)` rounds
/// to a storage type.
TrainCase
make_train_case(const std::string &kind, int64_t width, const KernelDecl &decl,
                const std::function<float(const std::string &, float)> &round,
                uint32_t seed);

/// Whether `kind` is one of the optimizer kernels of
/// passes/EmitCudaOptimizer.cpp (optimizer_sumsq, optimizer_clip,
/// optimizer_adamw). They are checked as one chain per weight type, as the
/// runtime runs them: sums of squares, the norm and clip coefficient, then
/// AdamW on the clipped gradient.
bool is_optimizer_kind(const std::string &kind);

/// adamw_step's fp32 scalars (runtime/cpu/train_kernels.cc), the `hyper` of
/// edg_opt_adamw_<t>: {decay, w1, b2, w2, step_size, bc2_sqrt, eps}.
std::vector<float> adamw_hyper(double lr, double beta1, double beta2,
                               double eps, double weight_decay, int64_t step);

/// One optimizer chain over `n` elements of one weight type. Expected
/// values from the CPU: clip_grad_norm (on the gradient alone) then
/// adamw_step, in fp32 on the values `round` gives (the weight's storage
/// type); p_out rounded the same way.
struct OptimizerCase {
  std::string note;
  int64_t n = 0;
  float max_norm = 0; // hyper[0] of edg_opt_clip
  std::vector<float> hyper;
  std::vector<float> p, m, v, g; // inputs (p, g as stored)
  double sumsq = 0;              // sum of g^2 in double
  float norm = 0, coef = 1;      // clip_grad_norm's norm and coefficient
  std::vector<float> p_out, m_out, v_out;
  /// p after the step before rounding to the storage type: what an fp32
  /// master copy holds (edg_opt_adamw_master_<t>).
  std::vector<float> master_out;
};

/// Case `which`: 0 max_norm binding (a quarter of the norm), 1 not binding
/// (four times the norm), 2 max_norm 0 (no clipping).
OptimizerCase make_optimizer_case(int64_t n, int which,
                                  const std::function<float(float)> &round,
                                  uint32_t seed);

} // namespace edg::oracle

#endif // EDG_TEST_E2E_TRAIN_ORACLE_H
