//===- ExportModel.h - write a graph-level module as model.bin --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Serialises a verified graph-level edg module into the FlatBuffers model
// file the runtime executes (runtime/schema/edg_model.fbs): the weight
// manifest, one schedule per entry function, and the model metadata.
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_CONVERSION_EDGTOMODELBIN_EXPORTMODEL_H
#define EDG_PASSES_CONVERSION_EDGTOMODELBIN_EXPORTMODEL_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <vector>

namespace mlir::edg {

struct ExportOptions {
  int64_t maxBatch = 8;
  int64_t maxSeq = 2048;
};

/// Appends the model file bytes to `out`. Emits a diagnostic on the op that
/// cannot be exported (an op the runtime has no kernel for, a weight operand
/// not read through edg.use_weight) and fails.
LogicalResult exportModel(ModuleOp module, const ExportOptions &options,
                          std::vector<uint8_t> &out);

} // namespace mlir::edg

#endif // EDG_PASSES_CONVERSION_EDGTOMODELBIN_EXPORTMODEL_H
