//===- CausalToBidirectional.cpp - encoder masks ----------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The first step of the paper's adaptation (arXiv 2504.06225 §3.1): the
// encoder is the decoder-only stack with bidirectional self-attention. The
// mask is an attribute, so the rewrite is exact: causal -> bidirectional and
// sliding_causal(W) -> sliding_bidirectional(W), keeping T5Gemma's exclusive
// window |i - j| < W (MODEL_SPEC §2.3). `makeBidirectional` is also what
// edg-adapt-encoder-decoder runs on its `@encode` clone.
//===----------------------------------------------------------------------===//
#include "passes/Adapt.h"
#include "passes/Passes.h"

namespace mlir::edg {
#define GEN_PASS_DEF_CAUSALTOBIDIRECTIONAL
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {
/// The bidirectional counterpart of `mask`, or null for a mask kind the
/// pass does not know how to open up (prefix: its meaning is decided by the
/// data, not the layer).
MaskAttr toBidirectional(MaskAttr mask) {
  MLIRContext *ctx = mask.getContext();
  switch (mask.getKind()) {
  case MaskKind::causal:
  case MaskKind::bidirectional:
    return MaskAttr::get(ctx, MaskKind::bidirectional, 0);
  case MaskKind::sliding_causal:
  case MaskKind::sliding_bidirectional:
    return MaskAttr::get(ctx, MaskKind::sliding_bidirectional,
                         mask.getWindow());
  case MaskKind::prefix:
    return {};
  }
  return {};
}
} // namespace

LogicalResult mlir::edg::makeBidirectional(func::FuncOp func) {
  // Check every mask before rewriting any, so that a failure leaves the
  // function as it was.
  bool ok = true;
  func.walk([&](SelfAttentionOp op) {
    if (!toBidirectional(op.getMask())) {
      op.emitOpError() << "has mask " << op.getMask()
                       << " that cannot be made bidirectional";
      ok = false;
    }
  });
  if (!ok)
    return failure();
  func.walk([&](SelfAttentionOp op) {
    op.setMaskAttr(toBidirectional(op.getMask()));
  });
  return success();
}

namespace {
struct CausalToBidirectional
    : mlir::edg::impl::CausalToBidirectionalBase<CausalToBidirectional> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<std::string> names(functions.begin(), functions.end());
    if (names.empty())
      names.push_back("encode");
    bool failed = false;
    for (const std::string &name : names) {
      auto func = getOperation().lookupSymbol<func::FuncOp>(name);
      if (!func) {
        getOperation().emitError()
            << "edg-causal-to-bidirectional: no function @" << name
            << " in the module";
        failed = true;
        continue;
      }
      if (mlir::failed(makeBidirectional(func)))
        failed = true;
    }
    if (failed)
      signalPassFailure();
  }
};
} // namespace
