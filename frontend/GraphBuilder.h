//===- GraphBuilder.h - build the edg module of a model ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Turns a parsed ModelConfig into an edg module as docs/design.md fixes it:
// weights named by HF key in execution order, the `edg.config` module
// attribute, and `@forward` (Gemma 2) or `@encode`/`@decode` (T5Gemma).
// Also merges a built module into an existing one (`--append-to`), refusing
// any symbol clash.
//===----------------------------------------------------------------------===//
#ifndef EDG_FRONTEND_GRAPHBUILDER_H
#define EDG_FRONTEND_GRAPHBUILDER_H

#include "frontend/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <vector>

namespace mlir::edg {

struct ImportOptions {
  DType dtype = DType::F32;
  /// Name of the Gemma 2 entry function; empty means "forward". T5Gemma's
  /// entry points are always @encode and @decode.
  std::string entry;
  /// Prepended to every weight key (and to every location), so that two
  /// models can share a module.
  std::string weightPrefix;
  /// Give every weight a fresh initialiser as HF initialises a new model:
  /// `#edg.init<normal, initializer_range>` for embeddings and projections,
  /// `#edg.init<zeros>` for norm offsets (gain 1). The runtime uses it for
  /// weights the checkpoint lacks (or when there is no checkpoint).
  bool initFresh = false;
};

/// One parameter a checkpoint must (or may) hold.
struct DeclaredWeight {
  std::string name;  // symbol name: prefix + HF key
  std::string hfKey; // the key as HF writes it
  llvm::SmallVector<int64_t, 2> shape;
};

struct ImportedModel {
  OwningOpRef<ModuleOp> module;
  /// Every declared weight, in declaration order.
  std::vector<DeclaredWeight> weights;
  /// Tied LM heads (`lm_head.weight`, `lm_head.out_proj.weight`): not
  /// declared, but a checkpoint that holds them is fine.
  std::vector<DeclaredWeight> tiedAliases;
};

/// Builds a new module for `config`. Fails only on option misuse (an entry
/// name for T5Gemma); the config itself was validated when parsed.
llvm::Expected<ImportedModel> importModel(MLIRContext &ctx,
                                          const ModelConfig &config,
                                          const ImportOptions &options);

/// Moves every symbol of `source` into `target`: weights after the target's
/// last weight, functions at the end. Fails, naming every clashing symbol,
/// if any name already exists in `target` (then nothing is moved). The
/// target keeps its `edg.config`, or takes the source's if it has none.
llvm::Error appendModule(ModuleOp target, ModuleOp source);

} // namespace mlir::edg

#endif // EDG_FRONTEND_GRAPHBUILDER_H
