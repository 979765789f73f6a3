//===- LowerToKernels.cpp - tensor level -> kernel level --------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// edg-lower-to-kernels turns a fused tensor-level function into a host
// schedule of library calls and kernel launches:
//
//   edg.fusion / lone elementwise, rms_norm, rope, embed
//       -> edg.kernel @pattern_N (module level) + edg.launch @pattern_N(...)
//   edg.linear      -> edg.gemm (epilogue = @softcap_N when it had one)
//   edg.sdpa        -> edg.attention_kernel @attention_... + edg.launch
//
// and the training ops of edg-decompose-grads:
//
//   rms_norm_grad_rows, column_sum, embed_grad, cross_entropy_rows,
//   label_mean, cross_entropy_grad -> a single-op edg.kernel each
//   edg.linear_grad_input  -> edg.gemm {form = nn}  (dy [.., out] W [out, in])
//   edg.linear_grad_weight -> edg.gemm {form = tn}  (dy^T x over the rows)
//   edg.sdpa_grad   -> edg.attention_backward of the forward's attention
//                      kernel (same specialisation, so one is shared)
//
// Kernels are deduplicated by (signature, function type): the 26 layers of
// Gemma 2 2B share one gelu_tanh*mul kernel and one residual+norm kernel per
// distinct eps, and `uses` says how many launches each serves. Ops the pass
// does not know (losses, training ops, use_weight) stay as they are.
//===----------------------------------------------------------------------===//
#include "passes/KernelUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::edg {
#define GEN_PASS_DEF_LOWERTOKERNELS
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {

std::string typeString(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

/// C-identifier-safe spelling of a float attribute ("50", "0p0625").
std::string idNumber(double v) {
  std::string s = formatNumber(v);
  for (char &c : s)
    if (c == '.')
      c = 'p';
    else if (c == '-')
      c = 'm';
    else if (c == '+')
      c = 'x';
  return s;
}

class Lowering {
public:
  explicit Lowering(ModuleOp module)
      : module(module), kernels(OpBuilder::atBlockEnd(module.getBody())) {}

  void run(func::FuncOp fn) {
    // Top-level ops only: the bodies of fusions are outlined with them.
    SmallVector<Operation *> ops;
    for (Block &block : fn.getBody())
      for (Operation &op : block)
        ops.push_back(&op);
    for (Operation *op : ops) {
      if (auto fusion = dyn_cast<FusionOp>(op))
        outline(fusion);
      else if (isFusibleOp(op) || isa<RopeOp, EmbedOp>(op) ||
               isTrainKernelOp(op))
        outline(wrap(op));
      else if (auto lin = dyn_cast<LinearOp>(op))
        lowerLinear(lin);
      else if (auto gi = dyn_cast<LinearGradInputOp>(op))
        lowerGradGemm(op, gi.getGrad(), gi.getWeight(), GemmForm::nn);
      else if (auto gw = dyn_cast<LinearGradWeightOp>(op))
        lowerGradGemm(op, gw.getGrad(), gw.getInput(), GemmForm::tn);
      else if (auto sdpa = dyn_cast<SdpaOp>(op))
        lowerSdpa(sdpa);
      else if (auto grad = dyn_cast<SdpaGradOp>(op))
        lowerSdpaGrad(grad);
    }
  }

private:
  /// A single op as a one-op fusion, so outlining has one path.
  FusionOp wrap(Operation *op) {
    OpBuilder b(op);
    auto fusion =
        b.create<FusionOp>(op->getLoc(), op->getResultTypes(), op->getOperands());
    SmallVector<Location> locs(op->getNumOperands(), op->getLoc());
    Block *body = b.createBlock(&fusion.getBody(), {},
                                op->getOperandTypes(), locs);
    IRMapping map;
    map.map(op->getOperands(), body->getArguments());
    Operation *clone = b.clone(*op, map);
    b.create<YieldOp>(op->getLoc(), clone->getResults());
    op->replaceAllUsesWith(fusion.getResults());
    op->erase();
    return fusion;
  }

  /// The kernel computing `body` (taken from it when new), with `loc` as
  /// its origin.
  KernelOp getOrCreateKernel(Region &body, FunctionType type, Location loc) {
    Block &block = body.front();
    std::string kind = kernelKind(block);
    int64_t rowWidth = kernelRowWidth(block, kind, type);
    std::string signature = kernelSignature(block, kind, rowWidth);
    std::string key = signature + "|" + typeString(type);
    if (KernelOp existing = byKey.lookup(key)) {
      existing.setUses(existing.getUses() + 1);
      return existing;
    }
    // Origin: the model ops the body came from (a fusion's own location may
    // be unnamed), else `loc`.
    SmallVector<Location> locs;
    for (Operation &op : block.without_terminator())
      locs.push_back(op.getLoc());
    std::string origin = originOf(FusedLoc::get(loc.getContext(), locs));
    if (origin == "(unnamed)")
      origin = originOf(loc);
    std::string name = kernelPattern(block) + "_" + std::to_string(counter++);
    auto kernel = kernels.create<KernelOp>(loc, name, type, kind, signature,
                                           origin, rowWidth, 1);
    kernel.getBody().takeBody(body);
    byKey[key] = kernel;
    return kernel;
  }

  void outline(FusionOp fusion) {
    auto type = FunctionType::get(fusion.getContext(),
                                  fusion.getInputs().getTypes(),
                                  fusion.getResultTypes());
    KernelOp kernel = getOrCreateKernel(fusion.getBody(), type, fusion.getLoc());
    OpBuilder b(fusion);
    auto launch = b.create<LaunchOp>(fusion.getLoc(), fusion.getResultTypes(),
                                     kernel.getSymName(), fusion.getInputs());
    fusion.replaceAllUsesWith(launch.getResults());
    fusion.erase();
  }

  void lowerLinear(LinearOp lin) {
    OpBuilder b(lin);
    FlatSymbolRefAttr epilogue;
    if (auto cap = lin.getSoftcapAttr()) {
      // In-place elementwise soft-cap on the GEMM's output.
      Type t = lin.getResult().getType();
      Region region;
      Block *block = new Block();
      region.push_back(block);
      Value arg = block->addArgument(t, lin.getLoc());
      // The region has no parent op yet: give the builder its context.
      OpBuilder eb(lin.getContext());
      eb.setInsertionPointToEnd(block);
      Value capped = eb.create<SoftcapOp>(lin.getLoc(), t, arg, cap);
      eb.create<YieldOp>(lin.getLoc(), capped);
      auto type = FunctionType::get(lin.getContext(), {t}, {t});
      epilogue = FlatSymbolRefAttr::get(
          getOrCreateKernel(region, type, lin.getLoc()).getSymNameAttr());
    }
    auto gemm = b.create<GemmOp>(lin.getLoc(), lin.getResult().getType(),
                                 lin.getInput(), lin.getWeight(), epilogue);
    lin.replaceAllUsesWith(gemm.getResult());
    lin.erase();
  }

  /// A backward GEMM: nn a = dy [.., out], b = W [out, in] -> [.., in];
  /// tn a = dy [.., out], b = x [.., in] -> [out, in] summed over the rows.
  void lowerGradGemm(Operation *op, Value a, Value b, GemmForm form) {
    OpBuilder builder(op);
    auto gemm = builder.create<GemmOp>(
        op->getLoc(), op->getResult(0).getType(), a, b, FlatSymbolRefAttr(),
        GemmFormAttr::get(op->getContext(), form));
    op->getResult(0).replaceAllUsesWith(gemm.getResult());
    op->erase();
  }

  /// The attention kernel of `op`'s specialisation (an edg.sdpa or its
  /// edg.sdpa_grad: the same accessors), made on first use and shared by
  /// every later forward and backward with the same attributes.
  template <typename SdpaLike>
  AttentionKernelOp getOrCreateAttention(SdpaLike op) {
    Type elt = getElementTypeOrSelf(op.getQuery().getType());
    MaskAttr mask = op.getMask();
    std::string key;
    llvm::raw_string_ostream os(key);
    os << mask << "|" << op.getNumHeads() << "|" << op.getNumKvHeads() << "|"
       << op.getHeadDim() << "|" << formatNumber(op.getScale().convertToDouble())
       << "|" << (op.getSoftcap() ? formatNumber(op.getSoftcap()->convertToDouble()) : "-")
       << "|" << (op.getRopeTheta() ? formatNumber(op.getRopeTheta()->convertToDouble()) : "-")
       << "|" << elt << "|" << bool(op.getPositions()) << bool(op.getKeyValid());
    if (AttentionKernelOp existing = attnByKey.lookup(key)) {
      existing.setUses(existing.getUses() + 1);
      return existing;
    }
    // attention_<mask>[_w<W>]_hd<hd>_h<H>kv<K>[_cap<c>][_rope]_<n>
    std::string name = "attention_" + stringifyMaskKind(mask.getKind()).str();
    if (mask.isSliding())
      name += "_w" + std::to_string(mask.getWindow());
    name += "_hd" + std::to_string(op.getHeadDim()) + "_h" +
            std::to_string(op.getNumHeads()) + "kv" +
            std::to_string(op.getNumKvHeads());
    if (op.getSoftcap())
      name += "_cap" + idNumber(op.getSoftcap()->convertToDouble());
    if (op.getRopeTheta())
      name += "_rope";
    name += "_" + std::to_string(counter++);
    OpBuilder::InsertionGuard guard(kernels);
    auto kernel = kernels.create<AttentionKernelOp>(
        op.getLoc(), name, mask, op.getNumHeads(), op.getNumKvHeads(),
        op.getHeadDim(), op.getScale(), op.getSoftcapAttr(),
        op.getRopeThetaAttr(), elt, bool(op.getPositions()),
        bool(op.getKeyValid()), originOf(op.getLoc()), 1);
    attnByKey[key] = kernel;
    return kernel;
  }

  /// The attention kernel's operands: q, k, v[, positions][, key_valid].
  template <typename OpT> static SmallVector<Value> attentionOperands(OpT op) {
    SmallVector<Value> operands = {op.getQuery(), op.getKey(), op.getValue()};
    if (op.getPositions())
      operands.push_back(op.getPositions());
    if (op.getKeyValid())
      operands.push_back(op.getKeyValid());
    return operands;
  }

  void lowerSdpa(SdpaOp op) {
    AttentionKernelOp kernel = getOrCreateAttention(op);
    SmallVector<Value> operands = attentionOperands(op);
    OpBuilder b(op);
    auto launch = b.create<LaunchOp>(op.getLoc(), op.getResult().getType(),
                                     kernel.getSymName(), operands);
    op.getResult().replaceAllUsesWith(launch.getResult(0));
    op.erase();
  }

  /// edg.sdpa_grad -> edg.attention_backward @attn(q, k, v[, pos][, kv], out,
  /// dout) -> (dq, dk, dv, lse, delta), lse and delta [B, H, T] f32: the row
  /// statistics the three backward kernels pass between them.
  void lowerSdpaGrad(SdpaGradOp op) {
    AttentionKernelOp kernel = getOrCreateAttention(op);
    SmallVector<Value> operands = attentionOperands(op);
    operands.push_back(op.getOut());
    operands.push_back(op.getGrad());
    auto q = cast<RankedTensorType>(op.getQuery().getType());
    auto statsType = RankedTensorType::get(
        {q.getDimSize(0), int64_t(op.getNumHeads()), q.getDimSize(1)},
        Float32Type::get(op.getContext()));
    SmallVector<Type> types(op.getResultTypes());
    types.append({statsType, statsType});
    OpBuilder b(op);
    auto bwd = b.create<AttentionBackwardOp>(op.getLoc(), types,
                                             kernel.getSymName(), operands);
    op->replaceAllUsesWith(bwd.getResults().take_front(3));
    op.erase();
  }

  ModuleOp module;
  OpBuilder kernels;
  llvm::StringMap<KernelOp> byKey;
  llvm::StringMap<AttentionKernelOp> attnByKey;
  int counter = 0;
};

struct LowerToKernels
    : mlir::edg::impl::LowerToKernelsBase<LowerToKernels> {
  using Base::Base;

  void runOnOperation() override {
    Lowering lowering(getOperation());
    SmallVector<func::FuncOp> fns(getOperation().getOps<func::FuncOp>());
    for (func::FuncOp fn : fns)
      if (!fn.isExternal())
        lowering.run(fn);
  }
};
} // namespace
