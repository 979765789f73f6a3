//===- KernelUtils.cpp - shared helpers of lowering and codegen -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Op classification, origin names and the canonical kernel signature. The
// signature is a contract with the runtime (runtime/cpu/generated_kernels.cc
// rebuilds it from coarse steps), so its spelling must not change without
// changing both sides.
//===----------------------------------------------------------------------===//
#include "passes/KernelUtils.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"

#include <cstdio>

using namespace mlir;
using namespace mlir::edg;

bool mlir::edg::isElementwiseOp(Operation *op) {
  return isa<GeluTanhOp, MulOp, AddOp, SoftcapOp, CastOp, GeluTanhGradOp,
             SoftcapGradOp>(op);
}

bool mlir::edg::isRowOp(Operation *op) { return isa<RmsNormOp>(op); }

bool mlir::edg::isTrainKernelOp(Operation *op) {
  return isa<RmsNormGradRowsOp, ColumnSumOp, EmbedGradOp, CrossEntropyRowsOp,
             LabelMeanOp, CrossEntropyGradOp, DistillKlRowsOp, DistillKlGradOp>(
      op);
}

static void collectNames(Location loc, SmallVectorImpl<std::string> &names) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    std::string n = name.getName().str();
    if (!llvm::is_contained(names, n))
      names.push_back(n);
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      collectNames(inner, names);
}

std::string mlir::edg::locationName(Location loc) {
  SmallVector<std::string> names;
  collectNames(loc, names);
  return names.empty() ? std::string() : names.front();
}

std::string mlir::edg::originOf(Location loc) {
  SmallVector<std::string> names;
  collectNames(loc, names);
  std::string out;
  for (const std::string &n : names)
    out += (out.empty() ? "" : " + ") + n;
  return out.empty() ? std::string("(unnamed)") : out;
}

std::string mlir::edg::formatNumber(double value) {
  char text[40];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

std::string mlir::edg::floatLiteral(double value) {
  std::string s = formatNumber(value);
  if (s.find_first_of(".eEn") == std::string::npos) // "50", not "inf"/"nan"
    s += ".0";
  return s + "f";
}

std::string mlir::edg::escapeC(StringRef text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string mlir::edg::kernelKind(Block &body) {
  bool row = false;
  for (Operation &op : body) {
    if (isa<EmbedOp>(op))
      return "embed";
    if (isa<RopeOp>(op))
      return "rope";
    // Training kernels are single-op bodies named after their op's role.
    if (isa<RmsNormGradRowsOp>(op))
      return "rms_norm_grad";
    if (isa<ColumnSumOp, EmbedGradOp, CrossEntropyRowsOp, LabelMeanOp,
            CrossEntropyGradOp, DistillKlRowsOp, DistillKlGradOp>(op))
      return op.getName().stripDialect().str();
    row |= isRowOp(&op);
  }
  return row ? "row" : "elementwise";
}

int64_t mlir::edg::kernelRowWidth(Block &body, StringRef kind,
                                  FunctionType type) {
  auto lastDim = [](Type t) {
    auto r = cast<RankedTensorType>(t);
    return r.getRank() ? r.getShape().back() : int64_t(0);
  };
  if (kind == "row") {
    for (Operation &op : body)
      if (auto n = dyn_cast<RmsNormOp>(op))
        return lastDim(n.getInput().getType());
    return 0;
  }
  // rope, embed, embed_grad: the result row [.., d]; rms_norm_grad: dx [.., d]
  // (in0 is x, out0 dx); column_sum: the input row, the result's only dim;
  // the cross-entropy and distillation kernels: the logits row [.., V]
  // (in0).
  if (kind == "rope" || kind == "embed" || kind == "embed_grad" ||
      kind == "rms_norm_grad" || kind == "column_sum")
    return lastDim(type.getResult(0));
  if (kind == "cross_entropy_rows" || kind == "cross_entropy_grad" ||
      kind == "distill_kl_rows" || kind == "distill_kl_grad")
    return lastDim(type.getInput(0));
  return 0; // elementwise, label_mean
}

/// `name[attrs]` of one body op, attrs that change the computation only.
static std::string opKey(Operation &op) {
  std::string name = op.getName().stripDialect().str();
  if (auto n = dyn_cast<RmsNormOp>(op))
    return name + "[" + formatNumber(n.getEps().convertToDouble()) + "]";
  if (auto s = dyn_cast<SoftcapOp>(op))
    return name + "[" + formatNumber(s.getCap().convertToDouble()) + "]";
  if (auto e = dyn_cast<EmbedOp>(op))
    return name + "[" + formatNumber(e.getScale().convertToDouble()) + "]";
  if (auto s = dyn_cast<SoftcapGradOp>(op))
    return name + "[" + formatNumber(s.getCap().convertToDouble()) + "]";
  if (auto n = dyn_cast<RmsNormGradRowsOp>(op))
    return name + "[" + formatNumber(n.getEps().convertToDouble()) + "]";
  if (auto e = dyn_cast<EmbedGradOp>(op))
    return name + "[" + formatNumber(e.getScale().convertToDouble()) + "]";
  if (auto c = dyn_cast<CrossEntropyRowsOp>(op))
    return name + "[" + std::to_string(c.getIgnoreIndexAttr().getInt()) + "]";
  if (auto m = dyn_cast<LabelMeanOp>(op))
    return name + "[" + std::to_string(m.getIgnoreIndexAttr().getInt()) + "]";
  if (auto c = dyn_cast<CrossEntropyGradOp>(op))
    return name + "[" + std::to_string(c.getIgnoreIndexAttr().getInt()) + "]";
  auto distill = [&](auto d) {
    return name + "[" + formatNumber(d.getTemperature().convertToDouble()) +
           "," + formatNumber(d.getWeight().convertToDouble()) + "," +
           std::to_string(d.getIgnoreIndexAttr().getInt()) + "]";
  };
  if (auto d = dyn_cast<DistillKlRowsOp>(op))
    return distill(d);
  if (auto d = dyn_cast<DistillKlGradOp>(op))
    return distill(d);
  if (auto r = dyn_cast<RopeOp>(op))
    return name + "[" + std::to_string(r.getHeadDim()) + "," +
           formatNumber(r.getTheta().convertToDouble()) + "]";
  if (auto c = dyn_cast<CastOp>(op)) {
    std::string t;
    llvm::raw_string_ostream os(t);
    os << getElementTypeOrSelf(c.getResult().getType());
    return name + "[" + t + "]";
  }
  return name;
}

std::string mlir::edg::kernelSignature(Block &body, StringRef kind,
                                       int64_t rowWidth) {
  llvm::DenseMap<Value, std::string> names;
  for (BlockArgument arg : body.getArguments())
    names[arg] = "i" + std::to_string(arg.getArgNumber());
  // The forward kinds keep their historical prefixes (ew:, rowD:, rope:,
  // embed:); the training kinds carry their row width when they have one
  // (`rms_norm_grad64:`, `label_mean:`).
  bool legacy = kind == "elementwise" || kind == "row" || kind == "rope" ||
                kind == "embed";
  std::string out = kind == "elementwise" ? "ew:"
                    : kind == "row" ? "row" + std::to_string(rowWidth) + ":"
                    : legacy || rowWidth == 0
                        ? kind.str() + ":"
                        : kind.str() + std::to_string(rowWidth) + ":";
  int next = 0;
  bool first = true;
  for (Operation &op : body) {
    if (auto yield = dyn_cast<YieldOp>(op)) {
      out += "->";
      for (auto [i, v] : llvm::enumerate(yield.getValues()))
        out += (i ? "," : "") + names.lookup(v);
      break;
    }
    std::string ops;
    for (auto [i, v] : llvm::enumerate(op.getOperands()))
      ops += (i ? "," : "") + names.lookup(v);
    // Multi-result ops (rms_norm_grad_rows) name each result: `t0,t1=`.
    std::string results;
    for (Value r : op.getResults()) {
      std::string name = "t" + std::to_string(next++);
      names[r] = name;
      results += (results.empty() ? "" : ",") + name;
    }
    out += (first ? "" : ";") + results + "=" + opKey(op) + "(" + ops + ")";
    first = false;
  }
  return out;
}

std::string mlir::edg::attentionSignature(AttentionKernelOp op) {
  auto num = [](std::optional<APFloat> v) {
    return v ? formatNumber(v->convertToDouble()) : std::string("0");
  };
  return "attention:mask=" + stringifyMaskKind(op.getMask().getKind()).str() +
         ";window=" + std::to_string(op.getMask().getWindow()) +
         ";H=" + std::to_string(op.getNumHeads()) +
         ";K=" + std::to_string(op.getNumKvHeads()) +
         ";hd=" + std::to_string(op.getHeadDim()) +
         ";scale=" + formatNumber(op.getScale().convertToDouble()) +
         ";cap=" + num(op.getSoftcap()) + ";rope=" + num(op.getRopeTheta()) +
         ";pos=" + (op.getHasPositions() ? "1" : "0") +
         ";kpad=" + (op.getHasKeyValid() ? "1" : "0");
}

std::string mlir::edg::dtypeName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  if (t.isF32())
    return "f32";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

std::string mlir::edg::kernelPattern(Block &body) {
  std::string out;
  for (Operation &op : body) {
    if (isa<YieldOp>(op))
      break;
    out += (out.empty() ? "" : "_") + op.getName().stripDialect().str();
  }
  return out;
}
