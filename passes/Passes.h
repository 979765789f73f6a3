//===- Passes.h - EDG pass declarations -------------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Declares every EDG pass (generated from Passes.td) and the registration
// pipeline registration used by edg-opt.
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_PASSES_H
#define EDG_PASSES_PASSES_H

#include "dialects/EDG/EDGOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::edg {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Registers the pass pipelines (edg-train-pipeline, ...). The adaptation,
/// edg-adapt-encoder-decoder, is one module pass (its C++ API is in
/// passes/Adapt.h), so it is registered with the passes above.
void registerEDGPipelines();

} // namespace mlir::edg

#endif // EDG_PASSES_PASSES_H
