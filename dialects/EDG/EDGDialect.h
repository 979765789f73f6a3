//===- EDGDialect.h - the edg dialect ---------------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Declares the edg dialect class, its enums and attributes.
//===----------------------------------------------------------------------===//
#ifndef EDG_DIALECTS_EDG_EDGDIALECT_H
#define EDG_DIALECTS_EDG_EDGDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "dialects/EDG/EDGDialect.h.inc"
#include "dialects/EDG/EDGEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/EDG/EDGAttrs.h.inc"

#endif // EDG_DIALECTS_EDG_EDGDIALECT_H
