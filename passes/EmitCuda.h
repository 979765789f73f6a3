//===- EmitCuda.h - CUDA kernel emitters (internal) -------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Shared by EmitCuda.cpp (prelude, elementwise/row/rope/embed kernels, the
// pass), EmitCudaTrain.cpp (the training kernels: rms_norm_grad,
// column_sum, embed_grad, cross_entropy_rows, label_mean,
// cross_entropy_grad), EmitCudaAttention.cpp (the FlashAttention-2-style kernel),
// EmitCudaAttentionBackward.cpp (its backward), EmitCudaAttentionDecode.cpp
// (its split-K KV-cache decode variant), EmitCudaAttentionAppend.cpp (the
// cache append kernel of that variant) and EmitCudaOptimizer.cpp (gradient
// clipping and AdamW of modules with a @train_step).
//
// Numerics of generated CUDA: tensors are stored in their IR element type
// (bf16, f16 or f32) and every value is computed in fp32 registers; each op
// result of a bf16/f16 type goes through edg_rbf16 / edg_rf16, which is the
// rounding point HF eager has there (MODEL_SPEC §3). GEMM-like reductions
// accumulate in fp32 and round once.
//
// Every kernel's launch configuration is printed as one machine-readable
// comment line the runtime reads from the stored source (runtime/cuda/
// cuda_kernels.cc), fields separated by single spaces:
//   // edg-launch: <name> kind=<kind> block=<threads> smem=<bytes>
//   //   grid=<rule> width=<row width> dtype=<f32|bf16|f16> signature=<sig>
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_EMITCUDA_H
#define EDG_PASSES_EMITCUDA_H

#include "passes/KernelUtils.h"

namespace mlir::edg::cuda {

/// Storage type of an element: float, __nv_bfloat16, __half, int,
/// unsigned char (i1), long long.
std::string storageType(Type elementType);

/// Rounding function to `elementType` applied to an fp32 expression, or the
/// expression itself for f32 (MODEL_SPEC §3 rounding points).
std::string roundTo(Type elementType, const std::string &expr);

/// "const T *in0, ..., T *out0, ..., " for a kernel type (storage types).
std::string kernelParams(FunctionType type);

/// The comment block before a kernel: name, kind, launches, origin,
/// signature and the `// edg-launch:` line with `launch` ("block=.. smem=..
/// grid=..") in it.
void kernelBanner(llvm::raw_ostream &os, KernelOp kernel,
                  llvm::StringRef launch);

/// Whether `kind` is one of the training kernel kinds EmitCudaTrain.cpp
/// generates (no CPU counterpart: edg-emit-cpp skips them).
bool isTrainKernelKind(llvm::StringRef kind);

/// Device helpers of the training kernels (block max, row logsumexp,
/// atomic adds); printed once, when the module has such a kernel.
void emitTrainHelpers(llvm::raw_ostream &os);

/// One training kernel (kind rms_norm_grad, column_sum, embed_grad,
/// cross_entropy_rows, label_mean or cross_entropy_grad) with its
/// `edg-launch` line; fails with a diagnostic when the body is not the
/// single op of its kind.
LogicalResult emitTrainKernel(KernelOp kernel, llvm::raw_ostream &os);

/// The attention kernel and its `edg-launch` line.
LogicalResult emitAttention(AttentionKernelOp kernel, llvm::raw_ostream &os);

/// Device helpers the attention kernels use (WMMA and scalar tile products,
/// warp reductions); printed once per translation unit.
void emitAttentionHelpers(llvm::raw_ostream &os);

/// `constexpr float kScale` and, when the kernel has them, `kCap` (soft-cap)
/// and `kTheta` (fused RoPE): the scalars every attention kernel variant of
/// `kernel` specialises on, one declaration per line.
void emitAttentionScalars(AttentionKernelOp kernel, llvm::raw_ostream &os);

/// The forward kernel's mask tests as C++ conditions: {"query at qpos may
/// see key at kpos", "some query in [qmin, qmax] may see kpos"}; empty for
/// the prefix mask.
std::pair<std::string, std::string> attentionMaskConditions(MaskAttr mask);

/// Lines (each prefixed by `indent`) that declare `float s`: the score of
/// raw product `raw` (q.k, fp32) in HF eager order with the forward's
/// rounding points: round, * scale, soft-cap (three rounded steps, the
/// rounded tanh kept as `float th`). Uses Elt, kScale, kCap.
std::string attentionScoreCode(AttentionKernelOp kernel, llvm::StringRef raw,
                               llvm::StringRef indent);

/// FlashAttention-2 backward of `kernel` (EmitCudaAttentionBackward.cpp):
/// `<name>_bwd_stats`, `<name>_bwd_dkdv`, `<name>_bwd_dq`, each with its
/// edg-launch line. Emitted for modules with a training entry.
LogicalResult emitAttentionBackward(AttentionKernelOp kernel,
                                    llvm::raw_ostream &os);
/// Extra device helpers of the backward kernels (A^T B tile product, the
/// transposed RoPE rotation); printed once, after emitAttentionHelpers.
void emitAttentionBackwardHelpers(llvm::raw_ostream &os);

/// Split-K KV-cache decode of `kernel` (EmitCudaAttentionDecode.cpp):
/// `<name>_decode` and `<name>_decode_combine`. Emitted for causal and
/// sliding-causal kernels of inference modules.
LogicalResult emitAttentionDecode(AttentionKernelOp kernel,
                                  llvm::raw_ostream &os);

/// `<name>_append` (EmitCudaAttentionAppend.cpp): writes new rows' keys
/// (rotated when RoPE is fused), values, positions and validity into the
/// KV cache `<name>_decode` reads. Emitted next to the decode kernels.
void emitAttentionAppend(AttentionKernelOp kernel, llvm::raw_ostream &os);

/// The optimizer kernels (EmitCudaOptimizer.cpp), not edg.kernel ops:
/// `edg_opt_sumsq_<t>` and `edg_opt_adamw_<t>` for each float element type
/// <t> (f32, bf16, f16) of the module's edg.weight ops,
/// `edg_opt_adamw_master_<t>` for the 16-bit ones (AdamW on an fp32 master
/// copy) and one `edg_opt_clip`, each with its edg-launch line (kinds
/// optimizer_sumsq, optimizer_clip, optimizer_adamw, optimizer_adamw_master).
/// Emitted for modules with a @train_step.
void emitOptimizerKernels(ModuleOp module, llvm::raw_ostream &os);

/// The generation kernels (EmitCudaGeneration.cpp), not edg.kernel ops:
/// `edg_argmax_rows_<t>` for t = f32, bf16, f16 (kind argmax_rows), the
/// greedy token of each row of a step's logits, and `edg_gather_rows` (kind
/// gather_rows), beam search's KV-cache row gather. Emitted for every
/// module.
void emitGenerationKernels(llvm::raw_ostream &os);

} // namespace mlir::edg::cuda

#endif // EDG_PASSES_EMITCUDA_H
