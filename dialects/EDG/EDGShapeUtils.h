//===- EDGShapeUtils.h - shape helpers of the op verifiers -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// What the verifiers of EDGTensorOps.cpp and EDGTensorGradOps.cpp share:
// dynamic dims (`?`) agree with any size.
//===----------------------------------------------------------------------===//
#ifndef EDG_DIALECTS_EDG_EDGSHAPEUTILS_H
#define EDG_DIALECTS_EDG_EDGSHAPEUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

namespace mlir::edg::shape {

constexpr int64_t kDyn = ShapedType::kDynamic;

/// The shape of a ranked tensor value.
inline ArrayRef<int64_t> dims(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// Two sizes that may be the same at run time.
inline bool agree(int64_t a, int64_t b) {
  return a == kDyn || b == kDyn || a == b;
}

} // namespace mlir::edg::shape

#endif // EDG_DIALECTS_EDG_EDGSHAPEUTILS_H
