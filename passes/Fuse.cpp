//===- Fuse.cpp - elementwise, residual+norm, RoPE, soft-cap ----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// edg-fuse works on tensor-level functions in three steps:
//
// 1. Soft-cap epilogue: `softcap(linear(x, E))` with the linear used once
//    becomes `linear {softcap}` (the final logits; the GEMM's epilogue).
// 2. RoPE into attention: `sdpa(rope(q), rope(k), v, positions)` with each
//    rope used once, on the sdpa's positions and one theta, becomes
//    `sdpa(q, k, v) {rope_theta}`; the attention kernel rotates q and k as it
//    loads them, so the rotated copies never reach memory.
// 3. Grouping: walk each block in order; an elementwise or rms_norm op joins
//    the group of one of its operands' producers when the shapes agree and no
//    outside user of the group's values comes before the op (the fusion is
//    built at the group's last op, so such a user would lose its operand).
//    Groups of two or more ops become one `edg.fusion`. In a Gemma 2 layer
//    this gives {gelu_tanh, mul} and {post-norm, residual add, next pre-norm}
//    (the residual stream and the normed activations are its two results).
//===----------------------------------------------------------------------===//
#include "passes/KernelUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::edg {
#define GEN_PASS_DEF_FUSE
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {

//===----------------------------------------------------------------------===//
// 1-2: epilogues and RoPE
//===----------------------------------------------------------------------===//

void fuseSoftcapEpilogues(Block &block) {
  for (Operation &op : llvm::make_early_inc_range(block)) {
    auto cap = dyn_cast<SoftcapOp>(op);
    if (!cap)
      continue;
    auto lin = cap.getInput().getDefiningOp<LinearOp>();
    if (!lin || !lin->hasOneUse() || lin.getSoftcap())
      continue;
    lin.setSoftcapAttr(cap.getCapAttr());
    lin->setLoc(FusedLoc::get(op.getContext(), {lin.getLoc(), cap.getLoc()}));
    cap.replaceAllUsesWith(lin.getResult());
    cap.erase();
  }
}

void fuseRopeIntoAttention(Block &block) {
  for (Operation &op : block) {
    auto sdpa = dyn_cast<SdpaOp>(op);
    if (!sdpa || !sdpa.getPositions() || sdpa.getRopeTheta())
      continue;
    auto rq = sdpa.getQuery().getDefiningOp<RopeOp>();
    auto rk = sdpa.getKey().getDefiningOp<RopeOp>();
    if (!rq || !rk || rq == rk || !rq->hasOneUse() || !rk->hasOneUse() ||
        rq.getPositions() != sdpa.getPositions() ||
        rk.getPositions() != sdpa.getPositions() ||
        rq.getTheta() != rk.getTheta() ||
        rq.getHeadDim() != sdpa.getHeadDim() ||
        rk.getHeadDim() != sdpa.getHeadDim())
      continue;
    sdpa.setRopeThetaAttr(rq.getThetaAttr());
    sdpa.getQueryMutable().assign(rq.getInput());
    sdpa.getKeyMutable().assign(rk.getInput());
    sdpa->setLoc(FusedLoc::get(op.getContext(),
                               {sdpa.getLoc(), rq.getLoc(), rk.getLoc()}));
    rq.erase();
    rk.erase();
  }
}

//===----------------------------------------------------------------------===//
// 3: grouping
//===----------------------------------------------------------------------===//

class Grouper {
public:
  explicit Grouper(Block &block) : block(block) {}

  void run() {
    for (Operation &op : block) {
      if (!isFusibleOp(&op) || !rowStatic(&op))
        continue;
      int joined = -1;
      for (Value operand : op.getOperands()) {
        Operation *def = operand.getDefiningOp();
        auto it = def ? groupOf.find(def) : groupOf.end();
        if (it != groupOf.end() && canJoin(it->second, &op)) {
          joined = it->second;
          break;
        }
      }
      if (joined < 0) {
        joined = static_cast<int>(groups.size());
        groups.emplace_back();
      }
      groups[joined].push_back(&op);
      groupOf[&op] = joined;
    }
    for (auto &group : groups)
      if (group.size() >= 2)
        materialize(group);
  }

private:
  /// Row ops need a static row width for the generated kernel.
  static bool rowStatic(Operation *op) {
    auto t = cast<RankedTensorType>(op->getResult(0).getType());
    return !isRowOp(op) || (t.getRank() >= 1 && !t.isDynamicDim(t.getRank() - 1));
  }

  static ArrayRef<int64_t> shapeOf(Operation *op) {
    return cast<RankedTensorType>(op->getResult(0).getType()).getShape();
  }

  bool canJoin(int g, Operation *op) {
    if (shapeOf(groups[g].front()) != shapeOf(op))
      return false;
    for (Operation *member : groups[g])
      for (Operation *user : member->getUsers()) {
        auto it = groupOf.find(user);
        if (user == op || (it != groupOf.end() && it->second == g))
          continue;
        if (user->getBlock() != &block || user->isBeforeInBlock(op))
          return false;
      }
    return true;
  }

  void materialize(ArrayRef<Operation *> ops) {
    llvm::SmallPtrSet<Operation *, 8> inGroup(ops.begin(), ops.end());
    llvm::SetVector<Value> inputs;
    SmallVector<Value> outputs;
    SmallVector<Location> locs;
    for (Operation *op : ops) {
      locs.push_back(op->getLoc());
      for (Value v : op->getOperands())
        if (!inGroup.contains(v.getDefiningOp()))
          inputs.insert(v);
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(), [&](Operation *u) {
              return !inGroup.contains(u);
            }))
          outputs.push_back(r);
    }
    Operation *last = ops.back();
    OpBuilder b(last->getContext());
    b.setInsertionPointAfter(last);
    Location loc = FusedLoc::get(last->getContext(), locs);
    SmallVector<Type> resultTypes;
    for (Value v : outputs)
      resultTypes.push_back(v.getType());
    auto fusion =
        b.create<FusionOp>(loc, resultTypes, inputs.getArrayRef());
    SmallVector<Type> argTypes;
    SmallVector<Location> argLocs;
    for (Value v : inputs) {
      argTypes.push_back(v.getType());
      argLocs.push_back(v.getLoc());
    }
    Block *body = b.createBlock(&fusion.getBody(), {}, argTypes, argLocs);
    IRMapping map;
    for (auto [v, arg] : llvm::zip(inputs, body->getArguments()))
      map.map(v, arg);
    for (Operation *op : ops)
      b.clone(*op, map);
    SmallVector<Value> yielded;
    for (Value v : outputs)
      yielded.push_back(map.lookup(v));
    b.create<YieldOp>(loc, yielded);
    for (auto [v, r] : llvm::zip(outputs, fusion.getResults()))
      v.replaceUsesWithIf(r, [&](OpOperand &use) {
        return !inGroup.contains(use.getOwner());
      });
    for (Operation *op : llvm::reverse(ops))
      op->erase();
  }

  Block &block;
  std::vector<SmallVector<Operation *>> groups;
  llvm::DenseMap<Operation *, int> groupOf;
};

struct Fuse : mlir::edg::impl::FuseBase<Fuse> {
  using Base::Base;

  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp fn) {
      for (Block &block : fn.getBody()) {
        fuseSoftcapEpilogues(block);
        if (fuseRope)
          fuseRopeIntoAttention(block);
        Grouper(block).run();
      }
    });
  }
};
} // namespace
