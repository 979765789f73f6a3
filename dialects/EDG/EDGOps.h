//===- EDGOps.h - edg operations --------------------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Declares the edg operations generated from EDGOps.td.
//===----------------------------------------------------------------------===//
#ifndef EDG_DIALECTS_EDG_EDGOPS_H
#define EDG_DIALECTS_EDG_EDGOPS_H

#include "dialects/EDG/EDGDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/EDG/EDGOps.h.inc"

#endif // EDG_DIALECTS_EDG_EDGOPS_H
