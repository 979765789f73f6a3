//===- edg-opt.cpp - the EDG optimizer driver -------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// MlirOptMain with only what EDG uses: the edg, func and arith dialects,
// canonicalize/cse, and every EDG pass and pipeline. Registering all of MLIR
// would cost a minute of compile and an 80 MB binary for nothing.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::edg::EDGDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  mlir::edg::registerEDGPasses();
  mlir::edg::registerEDGPipelines();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "EDG optimizer driver\n", registry));
}
