//===- TrainUtils.cpp - helpers shared by the training passes ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Inlining a single-block entry function into another one (the objective
// builder inlines @encode/@decode/@teacher into @loss, the optimizer inlines
// @grad_step into @train_step) and creating a new entry function. The EDG
// graph has no calls: model.bin schedules one flat list of steps per entry
// point, so every builder works by cloning bodies.
//===----------------------------------------------------------------------===//
#include "passes/Train.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::edg;

SmallVector<Value> mlir::edg::inlineBody(OpBuilder &builder,
                                         func::FuncOp callee,
                                         ValueRange args) {
  IRMapping map;
  Block &body = callee.getBody().front();
  for (auto [arg, value] : llvm::zip(body.getArguments(), args))
    map.map(arg, value);
  SmallVector<Value> results;
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value v : ret.getOperands())
        results.push_back(map.lookupOrDefault(v));
      break;
    }
    builder.clone(op, map);
  }
  return results;
}

FailureOr<func::FuncOp> mlir::edg::createFunction(ModuleOp module,
                                                  StringRef name,
                                                  FunctionType type,
                                                  Location loc) {
  if (SymbolTable::lookupSymbolIn(module, name))
    return module.emitError() << "cannot create @" << name
                              << ": the module already has a symbol of that "
                                 "name (run the training passes once)";
  auto func = func::FuncOp::create(loc, name, type);
  module.push_back(func);
  func.addEntryBlock();
  return func;
}

std::optional<Objective> mlir::edg::parseObjective(StringRef name) {
  if (name == "lm")
    return Objective::lm;
  if (name == "seq2seq")
    return Objective::seq2seq;
  if (name == "prefixlm-kd")
    return Objective::prefixlmKd;
  return std::nullopt;
}
