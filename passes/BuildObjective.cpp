//===- BuildObjective.cpp - the loss function of an objective ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Objectives are graph builders (ARCHITECTURE.md §3): they turn the entry
// points into one scalar loss function that edg-autodiff differentiates.
// The batches of PrefixLM, UL2 and SFT differ (the runtime's batch builders
// make them, runtime/core/objectives.h) but their graph is the same
// encoder-decoder cross-entropy, so one `seq2seq` objective serves all
// three; `prefixlm-kd` adds the paper's knowledge distillation (arXiv
// 2504.06225 §3.3) from a decoder-only `@teacher` over prefix + target, with
// the teacher's weights frozen.
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/Train.h"

#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::edg {
#define GEN_PASS_DEF_BUILDOBJECTIVE
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {
/// The entry point `name`, which must take `numArgs` arguments and return
/// one value; `role` says what it is for in the diagnostic.
FailureOr<func::FuncOp> entry(ModuleOp module, StringRef name,
                              unsigned numArgs, StringRef role) {
  auto func = module.lookupSymbol<func::FuncOp>(name);
  if (!func || func.isExternal())
    return module.emitError() << "edg-build-objective: " << role
                              << " needs a function @" << name
                              << " with a body";
  if (func.getNumArguments() != numArgs || func.getNumResults() != 1 ||
      !func.getBody().hasOneBlock())
    return func.emitError() << "edg-build-objective: @" << name << " must take "
                            << numArgs
                            << " arguments, return one value and have one "
                               "block to serve as the "
                            << role;
  return func;
}

/// Weights read by `func`.
llvm::SmallPtrSet<Operation *, 32> weightsOf(ModuleOp module,
                                             func::FuncOp func) {
  llvm::SmallPtrSet<Operation *, 32> set;
  func.walk([&](UseWeightOp use) {
    if (auto w = module.lookupSymbol<WeightOp>(use.getNameAttr()))
      set.insert(w);
  });
  return set;
}

/// Freezes the teacher's weights; a `<prefix>X` weight without `init_from`
/// gets `init_from @X`, so the decoder-only checkpoint that initialises the
/// student also binds the teacher.
LogicalResult freezeTeacher(ModuleOp module, func::FuncOp teacher,
                            ArrayRef<func::FuncOp> students,
                            StringRef prefix) {
  auto teacherWeights = weightsOf(module, teacher);
  for (func::FuncOp student : students)
    for (Operation *w : weightsOf(module, student))
      if (teacherWeights.contains(w))
        return cast<WeightOp>(w).emitOpError()
               << "is read by both the teacher @" << teacher.getSymName()
               << " and the student @" << student.getSymName()
               << "; freezing the teacher would freeze the student (import "
                  "the teacher with --weight-prefix)";
  MLIRContext *ctx = module.getContext();
  for (WeightOp w : module.getOps<WeightOp>()) {
    if (!teacherWeights.contains(w))
      continue;
    w.setFrozen(true);
    w.removeFrozenStepsAttr();
    StringRef name = w.getSymName();
    if (!w.getInitFromAttr() && !prefix.empty() && name.starts_with(prefix))
      w.setInitFromAttr(FlatSymbolRefAttr::get(ctx, name.drop_front(prefix.size())));
  }
  return success();
}
} // namespace

LogicalResult mlir::edg::buildObjective(ModuleOp module,
                                        const ObjectiveOptions &options) {
  MLIRContext *ctx = module.getContext();
  Location loc = NameLoc::get(StringAttr::get(ctx, "loss"));
  bool encdec = options.objective != Objective::lm;
  bool kd = options.objective == Objective::prefixlmKd;
  if (kd && !(options.kdTemperature > 0.0))
    return module.emitError("edg-build-objective: kd-temperature must be > 0");
  if (kd && options.kdWeight < 0.0)
    return module.emitError("edg-build-objective: kd-weight must be >= 0");

  // The student's entry points: @forward, or @encode + @decode.
  func::FuncOp forward, encode, decode, teacher;
  if (!encdec) {
    FailureOr<func::FuncOp> f = entry(module, "forward", 3, "lm objective");
    if (failed(f))
      return failure();
    forward = *f;
  } else {
    FailureOr<func::FuncOp> e = entry(module, "encode", 3, "encoder");
    if (failed(e))
      return failure();
    FailureOr<func::FuncOp> d = entry(module, "decode", 5, "decoder");
    if (failed(d))
      return failure();
    encode = *e;
    decode = *d;
  }
  if (kd) {
    FailureOr<func::FuncOp> t =
        entry(module, options.teacher, 3, "distillation teacher");
    if (failed(t))
      return failure();
    teacher = *t;
  }

  // Signature: the student's inputs, labels, then the teacher's inputs.
  func::FuncOp first = encdec ? encode : forward;
  SmallVector<Type> inputs;
  SmallVector<StringRef> names;
  auto addArg = [&](Type t, StringRef name) {
    inputs.push_back(t);
    names.push_back(name);
  };
  Type ids = first.getArgumentTypes()[0], pos = first.getArgumentTypes()[1],
       valid = first.getArgumentTypes()[2];
  if (!encdec) {
    addArg(ids, "ids"), addArg(pos, "positions"), addArg(valid, "valid");
  } else {
    addArg(ids, "encoder_ids"), addArg(pos, "encoder_positions");
    addArg(valid, "encoder_valid");
    ArrayRef<Type> d = decode.getArgumentTypes();
    addArg(d[0], "decoder_ids"), addArg(d[1], "decoder_positions");
    addArg(d[2], "decoder_valid");
  }
  addArg(ids, "labels");
  if (kd) {
    ArrayRef<Type> t = teacher.getArgumentTypes();
    addArg(t[0], "teacher_ids"), addArg(t[1], "teacher_positions");
    addArg(t[2], "teacher_valid"), addArg(t[0], "teacher_index");
  }
  auto scalar = RankedTensorType::get({}, Float32Type::get(ctx));
  FailureOr<func::FuncOp> created = createFunction(
      module, options.function, FunctionType::get(ctx, inputs, {scalar}), loc);
  if (failed(created))
    return failure();
  func::FuncOp loss = *created;
  for (auto [i, name] : llvm::enumerate(names))
    loss.setArgAttr(i, kArgNameAttr, StringAttr::get(ctx, name));

  OpBuilder b = OpBuilder::atBlockBegin(&loss.getBody().front());
  auto args = loss.getArguments();
  Value logits, labels;
  if (!encdec) {
    logits = inlineBody(b, forward, args.take_front(3))[0];
    labels = args[3];
  } else {
    Value enc = inlineBody(b, encode, args.take_front(3))[0];
    SmallVector<Value> decArgs(args.slice(3, 3));
    decArgs.push_back(enc);
    decArgs.push_back(args[2]); // encoder_valid masks cross-attention keys
    logits = inlineBody(b, decode, decArgs)[0];
    labels = args[6];
  }
  auto ignore = b.getI64IntegerAttr(options.ignoreIndex);
  Value total;
  if (!kd || !options.kdOnly)
    total = b.create<CrossEntropyOp>(loc, scalar, logits, labels, ignore);
  if (kd) {
    Value tlogits = inlineBody(b, teacher, args.slice(7, 3))[0];
    Value kl = b.create<DistillKlOp>(
        NameLoc::get(StringAttr::get(ctx, "distill")), scalar, logits, tlogits,
        args[10], labels, b.getF64FloatAttr(options.kdTemperature),
        b.getF64FloatAttr(options.kdWeight), ignore);
    total = total ? b.create<AddOp>(loc, total, kl).getResult() : kl;
    if (failed(freezeTeacher(module, teacher, {encode, decode},
                             options.teacherPrefix)))
      return failure();
  }
  b.create<func::ReturnOp>(loc, total);
  return success();
}

namespace {
struct BuildObjective
    : mlir::edg::impl::BuildObjectiveBase<BuildObjective> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<Objective> kind = parseObjective(objective);
    if (!kind) {
      getOperation().emitError()
          << "edg-build-objective: unknown objective '" << objective
          << "' (use lm, seq2seq or prefixlm-kd; PrefixLM, UL2 and SFT "
             "batches all train the seq2seq graph)";
      return signalPassFailure();
    }
    ObjectiveOptions o;
    o.objective = *kind;
    o.function = function;
    o.teacher = teacher;
    o.teacherPrefix = teacherPrefix;
    o.kdWeight = kdWeight;
    o.kdTemperature = kdTemperature;
    o.kdOnly = kdOnly;
    o.ignoreIndex = ignoreIndex;
    if (failed(buildObjective(getOperation(), o)))
      signalPassFailure();
  }
};
} // namespace
