//===- EmitCpp.h - C++ kernel emitters (internal) ---------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The per-kind emitters of edg-emit-cpp (EmitCppKernels.cpp), called by the
// module-level driver in EmitCpp.cpp. Each writes one `static void <name>(
// typed pointers..., sizes)` function; the driver adds the banner comment
// before it and the uniform `extern "C"` entry after it.
//
// Generated CPU code is fp32 throughout: the CPU backend widens bf16 weights
// at bind time (ARCHITECTURE §4), so casts are identities and no rounding
// point is emitted. Kernel arguments are dense row-major buffers.
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_EMITCPP_H
#define EDG_PASSES_EMITCPP_H

#include "passes/KernelUtils.h"

namespace mlir::edg::cpp {

/// C type of one element on the CPU: float for every float type, int32_t,
/// int64_t, uint8_t for i1 (the runtime's key-padding masks).
std::string cType(Type elementType);

/// "const float *in0, const float *in1, float *out0" for a kernel type.
std::string paramList(FunctionType type);

LogicalResult emitElementwise(KernelOp kernel, llvm::raw_ostream &os);
LogicalResult emitRow(KernelOp kernel, llvm::raw_ostream &os);
LogicalResult emitRope(KernelOp kernel, llvm::raw_ostream &os);
LogicalResult emitEmbed(KernelOp kernel, llvm::raw_ostream &os);
LogicalResult emitAttention(AttentionKernelOp kernel, llvm::raw_ostream &os);

} // namespace mlir::edg::cpp

#endif // EDG_PASSES_EMITCPP_H
