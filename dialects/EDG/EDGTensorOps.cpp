//===- EDGTensorOps.cpp - tensor- and kernel-level verifiers ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Verifiers of the ops edg-decompose, edg-fuse and edg-lower-to-kernels
// build: shape agreement of linear / rope / sdpa (dynamic dims match
// anything), element types shared between activations and weights, fusion
// and kernel bodies that only hold ops the emitters can generate, and launch
// sites whose operand and result types match the kernel they name.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGOps.h"
#include "dialects/EDG/EDGShapeUtils.h"

#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::edg;

using namespace mlir::edg::shape;

namespace {

std::string str(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") +
         (shape[i] == kDyn ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}

LogicalResult expectShape(Operation *op, Value v, StringRef name,
                          ArrayRef<int64_t> want, StringRef meaning) {
  ArrayRef<int64_t> got = dims(v);
  if (got.size() == want.size() &&
      llvm::all_of(llvm::zip(got, want),
                   [](auto p) { return agree(std::get<0>(p), std::get<1>(p)); }))
    return success();
  return op->emitOpError() << name << " must be " << str(want) << " "
                           << meaning << ", got " << str(got);
}

LogicalResult sameElementType(Operation *op, Value a, StringRef name, Value b) {
  if (getElementTypeOrSelf(a.getType()) == getElementTypeOrSelf(b.getType()))
    return success();
  return op->emitOpError() << name << " element type "
                           << getElementTypeOrSelf(a.getType())
                           << " does not match the input's "
                           << getElementTypeOrSelf(b.getType());
}

/// Ops a fusion or kernel body may hold, i.e. what the emitters generate:
/// the forward's, the two elementwise derivatives, and the training ops
/// that are a kernel each (rms_norm_grad_rows ... distill_kl_grad).
bool isKernelBodyOp(Operation *op) {
  return isa<GeluTanhOp, MulOp, AddOp, SoftcapOp, CastOp, RmsNormOp, RopeOp,
             EmbedOp, YieldOp, GeluTanhGradOp, SoftcapGradOp,
             RmsNormGradRowsOp, ColumnSumOp, EmbedGradOp, CrossEntropyRowsOp,
             LabelMeanOp, CrossEntropyGradOp, DistillKlRowsOp, DistillKlGradOp>(
      op);
}

/// Block arguments must mirror `types`; the terminator must yield `results`.
LogicalResult verifyBody(Operation *op, Region &body, TypeRange args,
                         TypeRange results) {
  Block &block = body.front();
  if (block.getArgumentTypes() != args)
    return op->emitOpError("body arguments must match the operand types");
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield || yield.getValues().getTypes() != results)
    return op->emitOpError("body must yield values of the result types");
  for (Operation &inner : block)
    if (!isKernelBodyOp(&inner))
      return inner.emitOpError()
             << "cannot be generated inside a '" << op->getName() << "'";
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// Tensor level
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  ArrayRef<int64_t> x = dims(getInput()), w = dims(getWeight());
  if (w.size() != 2)
    return emitOpError("weight must have rank 2 ([out, in]), got rank ")
           << w.size();
  if (x.empty())
    return emitOpError("input must have rank >= 1");
  SmallVector<int64_t> want(x.begin(), x.end());
  want.back() = w[0];
  if (!agree(x.back(), w[1]))
    return emitOpError() << "input width " << x.back() << " does not match "
                         << "the weight's in dim " << w[1];
  if (failed(expectShape(*this, getResult(), "result", want, "([..., out])")) ||
      failed(sameElementType(*this, getWeight(), "weight", getInput())) ||
      failed(sameElementType(*this, getResult(), "result", getInput())))
    return failure();
  if (getSoftcap() && !(getSoftcap()->convertToDouble() > 0))
    return emitOpError("softcap must be > 0");
  return success();
}

LogicalResult RopeOp::verify() {
  ArrayRef<int64_t> x = dims(getInput());
  int64_t hd = getHeadDim();
  if (getInput().getType() != getResult().getType())
    return emitOpError("result type must equal the input type");
  if (x.size() != 3)
    return emitOpError("input must be [batch, seq, heads*head_dim]");
  if (hd <= 0 || hd % 2 != 0)
    return emitOpError() << "head_dim must be even and > 0, got " << hd;
  if (x[2] != kDyn && x[2] % hd != 0)
    return emitOpError() << "width " << x[2]
                         << " is not a multiple of head_dim " << hd;
  if (!(getTheta().convertToDouble() > 0))
    return emitOpError("theta must be > 0");
  return expectShape(*this, getPositions(), "positions", {x[0], x[1]},
                     "([batch, seq])");
}

LogicalResult SdpaOp::verify() {
  int64_t H = getNumHeads(), K = getNumKvHeads(), hd = getHeadDim();
  if (H <= 0 || K <= 0 || hd <= 0)
    return emitOpError("num_heads, num_kv_heads and head_dim must be > 0");
  if (H % K != 0)
    return emitOpError() << "num_heads (" << H
                         << ") must be divisible by num_kv_heads (" << K << ")";
  ArrayRef<int64_t> q = dims(getQuery()), k = dims(getKey());
  if (q.size() != 3 || k.size() != 3)
    return emitOpError("query and key must be rank 3 ([batch, seq, width])");
  if (failed(expectShape(*this, getQuery(), "query", {q[0], q[1], H * hd},
                         "([batch, seq, num_heads*head_dim])")) ||
      failed(expectShape(*this, getKey(), "key", {q[0], k[1], K * hd},
                         "([batch, kv_seq, num_kv_heads*head_dim])")) ||
      failed(expectShape(*this, getValue(), "value", {q[0], k[1], K * hd},
                         "([batch, kv_seq, num_kv_heads*head_dim])")) ||
      failed(expectShape(*this, getResult(), "result", {q[0], q[1], H * hd},
                         "([batch, seq, num_heads*head_dim])")) ||
      failed(sameElementType(*this, getKey(), "key", getQuery())) ||
      failed(sameElementType(*this, getValue(), "value", getQuery())) ||
      failed(sameElementType(*this, getResult(), "result", getQuery())))
    return failure();
  if (getPositions() &&
      failed(expectShape(*this, getPositions(), "positions", {q[0], q[1]},
                         "([batch, seq])")))
    return failure();
  if (getKeyValid() &&
      failed(expectShape(*this, getKeyValid(), "key_valid", {q[0], k[1]},
                         "([batch, kv_seq])")))
    return failure();
  if (!(getScale().convertToDouble() > 0))
    return emitOpError("scale must be > 0");
  if (getSoftcap() && !(getSoftcap()->convertToDouble() > 0))
    return emitOpError("softcap must be > 0");
  if (getRopeTheta()) {
    if (!getPositions())
      return emitOpError("rope_theta needs positions to rotate q and k");
    if (hd % 2 != 0)
      return emitOpError("rope_theta needs an even head_dim");
  }
  return success();
}

LogicalResult SoftcapOp::verify() {
  if (!(getCap().convertToDouble() > 0))
    return emitOpError("cap must be > 0");
  return success();
}

LogicalResult CastOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getResult().getType());
  if (in.getShape() != out.getShape())
    return emitOpError("input and result shapes must be equal");
  if (!isa<FloatType>(in.getElementType()) ||
      !isa<FloatType>(out.getElementType()))
    return emitOpError("casts between float types only");
  return success();
}

//===----------------------------------------------------------------------===//
// Kernel level
//===----------------------------------------------------------------------===//

LogicalResult FusionOp::verify() {
  if (getResults().empty())
    return emitOpError("must yield at least one value");
  return verifyBody(*this, getBody(), getInputs().getTypes(),
                    getResults().getTypes());
}

LogicalResult KernelOp::verify() {
  StringRef kind = getKind();
  if (!llvm::is_contained({"elementwise", "row", "rope", "embed",
                           "rms_norm_grad", "column_sum", "embed_grad",
                           "cross_entropy_rows", "label_mean",
                           "cross_entropy_grad", "distill_kl_rows",
                           "distill_kl_grad"},
                          kind))
    return emitOpError() << "unknown kernel kind '" << kind
                         << "' (elementwise, row, rope, embed, rms_norm_grad, "
                            "column_sum, embed_grad, cross_entropy_rows, "
                            "label_mean, cross_entropy_grad, distill_kl_rows, "
                            "distill_kl_grad)";
  // Kinds whose generated code walks rows of a static width (docs/codegen.md).
  if (llvm::is_contained({"row", "rms_norm_grad", "column_sum", "embed_grad",
                          "cross_entropy_rows", "cross_entropy_grad",
                          "distill_kl_rows", "distill_kl_grad"},
                         kind) &&
      getRowWidth() <= 0)
    return emitOpError() << "a " << kind
                         << " kernel needs a static row_width > 0";
  FunctionType type = getFunctionType();
  return verifyBody(*this, getBody(), type.getInputs(), type.getResults());
}

LogicalResult AttentionKernelOp::verify() {
  if (getNumHeads() <= 0 || getNumKvHeads() <= 0 || getHeadDim() <= 0 ||
      getNumHeads() % getNumKvHeads() != 0)
    return emitOpError("heads must be > 0 with num_heads a multiple of "
                       "num_kv_heads");
  if (!isa<FloatType>(getElementType()))
    return emitOpError("element_type must be a float type");
  if (getRopeTheta() && !getHasPositions())
    return emitOpError("rope_theta needs positions");
  return success();
}

LogicalResult LaunchOp::verifySymbolUses(SymbolTableCollection &symbols) {
  Operation *callee =
      symbols.lookupNearestSymbolFrom(*this, getKernelAttr());
  if (auto kernel = dyn_cast_or_null<KernelOp>(callee)) {
    FunctionType type = kernel.getFunctionType();
    if (TypeRange(getOperands().getTypes()) != type.getInputs() ||
        TypeRange(getResults().getTypes()) != type.getResults())
      return emitOpError() << "types do not match kernel @"
                           << kernel.getSymName() << " " << type;
    return success();
  }
  if (auto attn = dyn_cast_or_null<AttentionKernelOp>(callee)) {
    if (getOperands().size() != attn.getNumOperandsExpected() ||
        getResults().size() != 1)
      return emitOpError() << "attention kernel @" << attn.getSymName()
                           << " takes " << attn.getNumOperandsExpected()
                           << " operands and gives one result";
    return success();
  }
  return emitOpError() << "no edg.kernel or edg.attention_kernel named "
                       << getKernelAttr();
}

LogicalResult GemmOp::verifySymbolUses(SymbolTableCollection &symbols) {
  if (!getEpilogue())
    return success();
  auto kernel =
      symbols.lookupNearestSymbolFrom<KernelOp>(*this, getEpilogueAttr());
  if (!kernel || kernel.getKind() != "elementwise")
    return emitOpError() << "epilogue " << getEpilogueAttr()
                         << " is not an elementwise edg.kernel";
  return success();
}
