//===- EDGTensorGradOps.cpp - verifiers of tensor-level backward ops -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Shape checks of EDGTensorGradOps.td. Dynamic dims agree with anything; the
// ops are built by edg-decompose-grads from verified gradient ops, so these
// checks guard hand-written IR and the pass itself.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGOps.h"
#include "dialects/EDG/EDGShapeUtils.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::edg;

using namespace mlir::edg::shape;

namespace {

/// a and b have the same rank and agreeing dims on [0, rank - skipLast).
bool leadingAgree(Value a, Value b, unsigned skipLast) {
  ArrayRef<int64_t> x = dims(a), y = dims(b);
  if (x.size() != y.size())
    return false;
  for (size_t i = 0; i + skipLast < x.size(); ++i)
    if (!agree(x[i], y[i]))
      return false;
  return true;
}

bool sameShape(Value a, Value b) { return leadingAgree(a, b, 0); }
} // namespace

LogicalResult LinearGradInputOp::verify() {
  ArrayRef<int64_t> w = dims(getWeight());
  if (w.size() != 2)
    return emitOpError("weight must be [out, in]");
  if (!agree(dims(getGrad()).back(), w[0]) ||
      !agree(dims(getResult()).back(), w[1]) ||
      !leadingAgree(getGrad(), getResult(), 1))
    return emitOpError("grad [..., out] and result [..., in] must match the "
                       "weight [out, in]");
  return success();
}

LogicalResult LinearGradWeightOp::verify() {
  ArrayRef<int64_t> r = dims(getResult());
  if (r.size() != 2 || !agree(dims(getGrad()).back(), r[0]) ||
      !agree(dims(getInput()).back(), r[1]))
    return emitOpError("result must be [out, in] for grad [..., out] and "
                       "input [..., in]");
  if (!leadingAgree(getGrad(), getInput(), 1))
    return emitOpError("grad and input must share their leading dims");
  return success();
}

LogicalResult SdpaGradOp::verify() {
  if (!sameShape(getOut(), getGrad()) || !sameShape(getQuery(), getOut()))
    return emitOpError("query, out and grad must have one shape");
  if (getDquery().getType() != getQuery().getType() ||
      getDkey().getType() != getKey().getType() ||
      getDvalue().getType() != getValue().getType())
    return emitOpError("dquery, dkey, dvalue must be typed like query, key, "
                       "value");
  if (getNumHeads() % getNumKvHeads() != 0)
    return emitOpError("num_heads must be a multiple of num_kv_heads");
  if (getRopeTheta() && !getPositions())
    return emitOpError("rope_theta needs positions");
  return success();
}

LogicalResult RmsNormGradRowsOp::verify() {
  if (!sameShape(getInput(), getGrad()) || !sameShape(getInput(), getDinput()) ||
      !sameShape(getInput(), getPartial()))
    return emitOpError("input, grad, dinput and partial must have one shape");
  ArrayRef<int64_t> w = dims(getWeight());
  if (w.size() != 1 || !agree(w[0], dims(getInput()).back()))
    return emitOpError("weight must be [d]");
  if (!getElementTypeOrSelf(getPartial().getType()).isF32())
    return emitOpError("partial must be f32");
  return success();
}

LogicalResult ColumnSumOp::verify() {
  ArrayRef<int64_t> r = dims(getResult());
  if (r.size() != 1 || !agree(r[0], dims(getInput()).back()))
    return emitOpError("result must be [d] for input [..., d]");
  return success();
}

LogicalResult CrossEntropyRowsOp::verify() {
  ArrayRef<int64_t> logits = dims(getLogits()), rows = dims(getResult());
  if (logits.size() != rows.size() + 1 ||
      !llvm::all_of(llvm::zip(rows, logits), [](auto p) {
        return agree(std::get<0>(p), std::get<1>(p));
      }))
    return emitOpError("result must be the logits' leading dims");
  if (!sameShape(getLabels(), getResult()))
    return emitOpError("labels must have the result's shape");
  if (!getElementTypeOrSelf(getResult().getType()).isF32())
    return emitOpError("result must be f32");
  return success();
}

LogicalResult DistillKlRowsOp::verify() {
  ArrayRef<int64_t> logits = dims(getLogits()), teacher = dims(getTeacherLogits());
  if (logits.size() != 3 || !sameShape(getLabels(), getResult()) ||
      !sameShape(getTeacherIndex(), getResult()) ||
      dims(getResult()).size() != 2 || !agree(dims(getResult())[0], logits[0]) ||
      !agree(dims(getResult())[1], logits[1]))
    return emitOpError("logits must be [B, T, V]; teacher_index, labels and "
                       "the result [B, T]");
  if (teacher.size() != 3 || !agree(teacher[0], logits[0]) ||
      !agree(teacher[2], logits[2]))
    return emitOpError("teacher_logits must be [B, Tt, V] with the student's "
                       "batch and vocabulary");
  if (!getElementTypeOrSelf(getResult().getType()).isF32())
    return emitOpError("result must be f32");
  if (!(getTemperature().convertToDouble() > 0.0))
    return emitOpError("temperature must be > 0");
  return success();
}

LogicalResult LabelMeanOp::verify() {
  if (!sameShape(getValues(), getLabels()))
    return emitOpError("values and labels must have one shape");
  return success();
}

LogicalResult
AttentionBackwardOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto kernel =
      symbols.lookupNearestSymbolFrom<AttentionKernelOp>(*this, getKernelAttr());
  if (!kernel)
    return emitOpError() << getKernelAttr() << " is not an edg.attention_kernel";
  unsigned want = kernel.getNumOperandsExpected() + 2;
  if (getOperands().size() != want || getResults().size() != 5)
    return emitOpError() << "takes " << want
                         << " operands (the forward's, out, dout) and gives 5 "
                            "results (dq, dk, dv, lse, delta)";
  return success();
}
