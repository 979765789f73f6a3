//===- EDGDialect.cpp - edg dialect registration ----------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Registers the edg operations and attributes with MLIR.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGDialect.h"
#include "dialects/EDG/EDGOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::edg;

#include "dialects/EDG/EDGDialect.cpp.inc"

void EDGDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/EDG/EDGOps.cpp.inc"
      >();
  registerAttributes();
}
