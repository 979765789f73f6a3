//===- CheckpointCheck.h - compare a checkpoint with the module -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-import --weights`: reads the safetensors header(s) of a checkpoint (a
// single `model.safetensors`, or a sharded `model.safetensors.index.json`
// and the shards its `weight_map` names) and compares the tensors with the
// weights the module declares. Only headers are read (never tensor data),
// so checking a 50 GB checkpoint is instant. This deliberately does not use
// the runtime's safetensors reader: the compiler does not link the runtime.
//===----------------------------------------------------------------------===//
#ifndef EDG_FRONTEND_CHECKPOINTCHECK_H
#define EDG_FRONTEND_CHECKPOINTCHECK_H

#include "frontend/GraphBuilder.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace mlir::edg {

/// One finding, about one file (the index, or the shard that holds the
/// tensor): "missing tensor ...", "unexpected tensor ...", "tensor ... has
/// shape ...", or why the file cannot be read at all.
struct CheckpointProblem {
  std::string file;
  std::string message;
};

/// Compares the checkpoint at `path` with `weights` (which it must hold
/// exactly) and `tiedAliases` (which it may hold). A checkpoint key matches
/// a weight by its symbol name or by its HF key, so an HF checkpoint also
/// checks a module imported with --weight-prefix. The checkpoint's dtype may
/// differ from the module's (the runtime converts when it binds). Returns
/// every problem found; an unreadable or malformed file stops the check
/// with that one problem. Empty means the checkpoint fits.
std::vector<CheckpointProblem>
checkCheckpoint(llvm::StringRef path, llvm::ArrayRef<DeclaredWeight> weights,
                llvm::ArrayRef<DeclaredWeight> tiedAliases);

} // namespace mlir::edg

#endif // EDG_FRONTEND_CHECKPOINTCHECK_H
