//===- KernelUtils.h - shared helpers of lowering and codegen ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// What edg-fuse, edg-lower-to-kernels and the two emitters must agree on:
// which ops are elementwise or row ops, how a kernel's dataflow is spelled as
// the canonical signature string the runtime looks kernels up by, how
// locations become readable origin names, and the C++ API of the emitters
// and of the compile pipeline (edg-compile calls them directly).
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_KERNELUTILS_H
#define EDG_PASSES_KERNELUTILS_H

#include "dialects/EDG/EDGOps.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::edg {

/// Same-shape elementwise ops: gelu_tanh, mul, add, softcap, cast.
bool isElementwiseOp(Operation *op);
/// Ops that need a whole row (last dim) of their input: rms_norm.
bool isRowOp(Operation *op);
/// Elementwise or row: what edg-fuse may group into one `edg.fusion`.
inline bool isFusibleOp(Operation *op) {
  return isElementwiseOp(op) || isRowOp(op);
}
/// Training ops that become a kernel of their own (never fused):
/// rms_norm_grad_rows, column_sum, embed_grad, cross_entropy_rows,
/// label_mean, cross_entropy_grad.
bool isTrainKernelOp(Operation *op);

/// The first NameLoc name inside `loc` ("model.layers.0.mlp"), or "".
std::string locationName(Location loc);
/// Every distinct NameLoc name in `loc`, joined by " + ".
std::string originOf(Location loc);

/// `%.9g` of a double: enough digits to round-trip a float, stable text.
std::string formatNumber(double value);

/// A C/C++/CUDA float literal of `value` ("50.0f", "1e-06f", "0.25f").
std::string floatLiteral(double value);

/// `text` as a C string literal body (quotes and backslashes escaped).
std::string escapeC(StringRef text);

/// Kernel kind of a body: "embed", "rope", "row" (holds rms_norm),
/// "elementwise", or for a training op's body "rms_norm_grad",
/// "column_sum", "embed_grad", "cross_entropy_rows", "label_mean",
/// "cross_entropy_grad" (docs/codegen.md).
std::string kernelKind(Block &body);

/// The static row width a kernel of `kind` is specialised on (0: none):
/// the norm's d for row, rms_norm_grad, column_sum; the result's last dim
/// for rope, embed, embed_grad; the logits' V for the cross-entropy kinds.
int64_t kernelRowWidth(Block &body, StringRef kind, FunctionType type);

/// Canonical dataflow of a kernel body, e.g.
/// `ew:t0=gelu_tanh(i0);t1=mul(t0,i1)->t1` or
/// `row64:t0=rms_norm[1e-06](i0,i1);t1=add(i2,t0);t2=rms_norm[1e-06](t1,i3)->t1,t2`.
/// iN are block arguments, tN op results in body order (an op with two
/// results names both: `rms_norm_grad64:t0,t1=rms_norm_grad_rows[1e-06](i0,i1,i2)->t0,t1`).
/// The runtime builds the same string from its steps
/// (runtime/cpu/generated_kernels.h).
std::string kernelSignature(Block &body, StringRef kind, int64_t rowWidth);

/// Canonical spec of an attention kernel, e.g.
/// `attention:mask=sliding_causal;window=4096;H=8;K=4;hd=256;scale=0.0625;`
/// `cap=50;rope=10000;pos=1;kpad=1` (cap/rope 0 when absent).
std::string attentionSignature(AttentionKernelOp op);

/// Short name of an element type in kernel metadata: f32, bf16, f16.
std::string dtypeName(Type elementType);

/// Short readable name of a body's op sequence ("rms_norm_add_rms_norm").
std::string kernelPattern(Block &body);

/// Writes the readable C++ of every kernel of a kernel-level module (the
/// output of edg-lower-to-kernels): one function per kernel with OpenMP
/// loops, a uniform `extern "C"` entry each and a kernel table.
LogicalResult emitCpp(ModuleOp module, llvm::raw_ostream &os);

/// Writes the CUDA C++ of every kernel (one translation unit, NVRTC-ready):
/// bf16/f16 storage with fp32 arithmetic and MODEL_SPEC §3 rounding points,
/// and one FlashAttention-2-style kernel per `edg.attention_kernel`.
LogicalResult emitCuda(ModuleOp module, llvm::raw_ostream &os);

/// decompose-grads -> decompose -> cse -> fuse -> lower-to-kernels ->
/// plan-memory (edg-compile's lowering, also the `edg-compile-pipeline`
/// pass pipeline).
struct CompilePipelineOptions {
  int64_t maxBatch = 8;
  int64_t maxSeq = 2048;
};
void buildCompilePipeline(OpPassManager &pm,
                          const CompilePipelineOptions &options);
/// Registers `edg-compile-pipeline` (called by registerEDGPipelines).
void registerCompilePipeline();

} // namespace mlir::edg

#endif // EDG_PASSES_KERNELUTILS_H
