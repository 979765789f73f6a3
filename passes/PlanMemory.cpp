//===- PlanMemory.cpp - liveness-based arena planning -----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// edg-plan-memory gives every intermediate tensor of a kernel-level function
// a byte offset in one activation arena, sized for the compiled maxima
// (--max-batch for the first dynamic dim, --max-seq for the others). The
// schedule is the op order of the function body, so liveness is an interval
// [defining op, last user]; results of the function live to the end.
//
// Allocation is first-fit over a sorted free list with coalescing. At op i
// the results are placed first and only then are the operands whose last use
// is i freed: a kernel may read an input while writing its output, so the
// two must never share bytes. Weights (edg.use_weight) and arguments live
// outside the arena; a result that is not a tensor of numbers gets -1.
// Attributes written:
//   op:       arena_offsets = array<i64: ...>   (one per result)
//   function: edg.arena_size (bytes), edg.arena_unplanned_size (sum of all
//             slots, what one buffer per value would cost)
//===----------------------------------------------------------------------===//
#include "passes/KernelUtils.h"
#include "passes/Passes.h"

#include "llvm/ADT/DenseMap.h"

#include <map>

namespace mlir::edg {
#define GEN_PASS_DEF_PLANMEMORY
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {

/// First-fit allocator over [0, size) with a coalescing free list.
class Arena {
public:
  explicit Arena(int64_t alignment) : alignment(alignment) {}

  int64_t allocate(int64_t bytes) {
    bytes = roundUp(bytes);
    for (auto it = free.begin(); it != free.end(); ++it) {
      if (it->second < bytes)
        continue;
      int64_t offset = it->first, left = it->second - bytes;
      free.erase(it);
      if (left)
        free[offset + bytes] = left;
      return offset;
    }
    // Grow the arena, reusing a free block that ends at the top.
    int64_t offset = top;
    if (!free.empty()) {
      auto last = std::prev(free.end());
      if (last->first + last->second == top) {
        offset = last->first;
        free.erase(last);
      }
    }
    top = offset + bytes;
    return offset;
  }

  void release(int64_t offset, int64_t bytes) {
    bytes = roundUp(bytes);
    auto it = free.emplace(offset, bytes).first;
    // Merge with the next block, then with the previous one.
    auto next = std::next(it);
    if (next != free.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free.erase(next);
    }
    if (it != free.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free.erase(it);
      }
    }
  }

  int64_t size() const { return top; }
  int64_t roundUp(int64_t bytes) const {
    return (bytes + alignment - 1) / alignment * alignment;
  }

private:
  int64_t alignment;
  int64_t top = 0;
  std::map<int64_t, int64_t> free; // offset -> bytes
};

struct PlanMemory : mlir::edg::impl::PlanMemoryBase<PlanMemory> {
  using Base::Base;

  /// Bytes of `type` at the compiled maxima, or failure for what has no
  /// place in the arena (not a ranked tensor of numbers).
  FailureOr<int64_t> bytesOf(Type type) {
    auto t = dyn_cast<RankedTensorType>(type);
    if (!t || !t.getElementType().isIntOrFloat())
      return failure();
    int64_t n = 1, dynamicSeen = 0;
    for (int64_t d : t.getShape())
      n *= ShapedType::isDynamic(d) ? (dynamicSeen++ ? maxSeq : maxBatch) : d;
    return n * std::max<int64_t>(1, t.getElementTypeBitWidth() / 8);
  }

  LogicalResult plan(func::FuncOp fn) {
    if (!fn.getBody().hasOneBlock())
      return fn.emitError("edg-plan-memory needs single-block functions");
    Block &block = fn.getBody().front();
    llvm::DenseMap<Operation *, int64_t> index;
    int64_t i = 0;
    for (Operation &op : block)
      index[&op] = i++;
    const int64_t end = i;

    // Last use of every value: the index of its last user in this block.
    llvm::DenseMap<Value, int64_t> lastUse;
    for (Operation &op : block)
      for (Value r : op.getResults()) {
        int64_t last = index[&op];
        for (Operation *user : r.getUsers()) {
          Operation *top = block.findAncestorOpInBlock(*user);
          last = std::max(last, isa<func::ReturnOp>(top) ? end : index[top]);
        }
        lastUse[r] = last;
      }

    Arena arena(alignment);
    llvm::DenseMap<Value, std::pair<int64_t, int64_t>> slot; // offset, bytes
    int64_t unplanned = 0;
    Builder b(fn.getContext());
    for (Operation &op : block) {
      if (isa<UseWeightOp>(op) || op.getNumResults() == 0)
        continue;
      SmallVector<int64_t> offsets;
      for (Value r : op.getResults()) {
        // Not a tensor (a token, a scalar of some other dialect): -1, and
        // whoever produces it owns its storage.
        FailureOr<int64_t> bytes = bytesOf(r.getType());
        if (failed(bytes)) {
          offsets.push_back(-1);
          continue;
        }
        int64_t offset = arena.allocate(*bytes);
        slot[r] = {offset, *bytes};
        offsets.push_back(offset);
        unplanned += arena.roundUp(*bytes);
      }
      op.setAttr("arena_offsets", b.getDenseI64ArrayAttr(offsets));
      // Free what dies here: operands last used by this op, and results no
      // one reads (they still needed their bytes while the op ran).
      int64_t here = index[&op];
      auto releaseIfDead = [&](Value v) {
        auto it = slot.find(v);
        if (it != slot.end() && lastUse.lookup(v) <= here) {
          arena.release(it->second.first, it->second.second);
          slot.erase(it);
        }
      };
      for (Value v : op.getOperands())
        releaseIfDead(v);
      for (Value r : op.getResults())
        releaseIfDead(r);
    }
    fn->setAttr("edg.arena_size", b.getI64IntegerAttr(arena.size()));
    fn->setAttr("edg.arena_unplanned_size", b.getI64IntegerAttr(unplanned));
    return success();
  }

  void runOnOperation() override {
    if (maxBatch <= 0 || maxSeq <= 0 || alignment <= 0 ||
        (alignment & (alignment - 1))) {
      getOperation().emitError("edg-plan-memory: max-batch and max-seq must be "
                               "> 0 and alignment a power of two");
      return signalPassFailure();
    }
    for (func::FuncOp fn : getOperation().getOps<func::FuncOp>())
      if (!fn.isExternal() && failed(plan(fn)))
        return signalPassFailure();
  }
};
} // namespace
