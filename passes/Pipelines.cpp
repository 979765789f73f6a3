//===- Pipelines.cpp - EDG pass pipelines -----------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Pass pipelines built from the individual EDG passes.
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

namespace mlir::edg {
void registerEDGPipelines() {}
} // namespace mlir::edg
