//===- DeviceSchedule.cpp - kernel-level schedules in model.bin -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Dynamic dimensions: the kernel-level IR types are `tensor<?x?x64xf32>`, so
// which `?` is B, T or the encoder length S is recovered by unifying the
// dimensions every op ties together (a kernel's operands and results share
// their leading axes; attention ties q's axis 1 to positions and out, k's
// axis 1 to v and key_valid, and its backward dq to q, dk/dv to k and the
// [B, H, T] row statistics to q; a GEMM keeps x's leading axes, or for the
// weight-gradient form tn ties the leading axes of its two operands) and
// naming each class by the first argument axis in it. Like
// KernelBinaries.cpp, the model is unpacked, extended and packed again.
//===----------------------------------------------------------------------===//
#include "passes/Conversion/EDGToModelBin/DeviceSchedule.h"

#include "dialects/EDG/EDGOps.h"
#include "runtime/schema/edg_model_generated.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <numeric>

using namespace mlir;
using namespace mlir::edg;
namespace fb = ::edg::schema;

namespace {

bool isDynamic(Value v, unsigned axis) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && axis < t.getRank() && t.isDynamicDim(axis);
}

unsigned rankOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t ? unsigned(t.getRank()) : 0;
}

/// Union-find over the dynamic (value, axis) pairs of one function.
class DimClasses {
public:
  int node(Value v, unsigned axis) {
    auto [it, inserted] = ids.try_emplace({v, axis}, int(parent.size()));
    if (inserted) {
      parent.push_back(it->second);
      keys.push_back({v, axis});
    }
    return it->second;
  }
  int find(int x) {
    while (parent[size_t(x)] != x)
      x = parent[size_t(x)] = parent[size_t(parent[size_t(x)])];
    return x;
  }
  /// Ties a's axis to b's axis when both are dynamic.
  void unite(Value a, unsigned ia, Value b, unsigned ib) {
    if (!isDynamic(a, ia) || !isDynamic(b, ib))
      return;
    int x = find(node(a, ia)), y = find(node(b, ib));
    if (x != y)
      parent[size_t(std::max(x, y))] = std::min(x, y);
  }
  const std::vector<std::pair<Value, unsigned>> &all() const { return keys; }

private:
  llvm::DenseMap<std::pair<Value, unsigned>, int> ids;
  std::vector<int> parent;
  std::vector<std::pair<Value, unsigned>> keys;
};

FailureOr<fb::DType> dtypeOf(Type type) {
  Type e = getElementTypeOrSelf(type);
  if (e.isF32()) return fb::DType::f32;
  if (e.isBF16()) return fb::DType::bf16;
  if (e.isF16()) return fb::DType::f16;
  if (e.isInteger(1)) return fb::DType::i1;
  if (e.isInteger(32)) return fb::DType::i32;
  if (e.isInteger(64)) return fb::DType::i64;
  return failure();
}

std::string nameOf(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (std::string n = nameOf(l); !n.empty())
        return n;
  return "";
}

/// One function's DeviceFunction.
class FunctionExporter {
public:
  FunctionExporter(func::FuncOp fn, const fb::ModelT &model,
                   const llvm::StringMap<int32_t> &weights)
      : fn(fn), module(fn->getParentOfType<ModuleOp>()), model(model),
        weights(weights) {}

  /// Null without `error` when the function has ops a device schedule does
  /// not express (it is skipped); null with `error` on a malformed module.
  std::unique_ptr<fb::DeviceFunctionT> run(std::string &error);

private:
  bool supported();
  void unify();
  void unifyGemm(GemmOp gemm);
  void unifyAttention(AttentionKernelOp attn, ValueRange operands,
                      ValueRange results);
  void unifyKernel(KernelOp kernel, LaunchOp launch);
  bool exportGemm(GemmOp gemm, fb::DeviceStepT &step, std::string &error);
  bool exportAttention(AttentionKernelOp attn, Operation *op,
                       fb::DeviceStepT &step, std::string &error);
  bool exportKernel(KernelOp kernel, LaunchOp launch, fb::DeviceStepT &step,
                    std::string &error);
  bool bindDims(std::string &error);
  int32_t buffer(Value v, std::string &error);
  std::unique_ptr<fb::SizeExprT> size(ArrayRef<std::pair<Value, unsigned>> axes);
  bool exportOp(Operation *op, std::string &error);

  func::FuncOp fn;
  ModuleOp module;
  const fb::ModelT &model;
  const llvm::StringMap<int32_t> &weights;
  DimClasses classes;
  llvm::DenseMap<int, int32_t> dimOfClass; // class root -> DeviceDim index
  llvm::DenseMap<Value, int32_t> buffers;
  std::unique_ptr<fb::DeviceFunctionT> out;
};

bool FunctionExporter::supported() {
  for (Operation &op : fn.getBody().front()) {
    if (isa<UseWeightOp, GemmOp, func::ReturnOp>(op))
      continue;
    if (auto bwd = dyn_cast<AttentionBackwardOp>(op)) {
      if (!module.lookupSymbol<AttentionKernelOp>(bwd.getKernel()))
        return false;
      continue;
    }
    auto launch = dyn_cast<LaunchOp>(op);
    if (!launch)
      return false;
    Operation *k = module.lookupSymbol(launch.getKernel());
    if (!isa_and_nonnull<KernelOp, AttentionKernelOp>(k))
      return false;
  }
  return true;
}

void FunctionExporter::unifyGemm(GemmOp gemm) {
  Value a = gemm.getA(), b = gemm.getB(), y = gemm.getResult();
  if (gemm.getForm() == GemmForm::tn) {
    // dW [M, N] = a [.., M]^T b [.., N]: the rows (K) are both operands'
    // leading axes; the result is static.
    for (unsigned i = 0; i + 1 < rankOf(a); ++i)
      classes.unite(a, i, b, i);
    return;
  }
  // nt and nn: y [.., N] keeps a's leading axes.
  for (unsigned i = 0; i + 1 < rankOf(a); ++i)
    classes.unite(a, i, y, i);
}

void FunctionExporter::unifyAttention(AttentionKernelOp attn,
                                      ValueRange operands, ValueRange results) {
  // Forward: (q [B,T,..], k [B,S,..], v [B,S,..][, pos [B,T]][, key_valid
  // [B,S]]) -> out [B,T,..]. Backward: the same, then out, dout [B,T,..]
  // -> dq [B,T,..], dk, dv [B,S,..], lse, delta [B,H,T].
  Value q = operands[0], k = operands[1];
  for (Value v : operands)
    classes.unite(v, 0, q, 0);
  for (Value v : results)
    classes.unite(v, 0, q, 0);
  classes.unite(operands[2], 1, k, 1);
  unsigned next = 3;
  if (attn.getHasPositions())
    classes.unite(operands[next++], 1, q, 1);
  if (attn.getHasKeyValid())
    classes.unite(operands[next++], 1, k, 1);
  for (Value v : operands.drop_front(next)) // out, dout
    classes.unite(v, 1, q, 1);
  if (results.size() == 1) {
    classes.unite(results[0], 1, q, 1);
    return;
  }
  classes.unite(results[0], 1, q, 1);
  classes.unite(results[1], 1, k, 1);
  classes.unite(results[2], 1, k, 1);
  for (Value stats : results.drop_front(3))
    classes.unite(stats, 2, q, 1);
}

void FunctionExporter::unifyKernel(KernelOp kernel, LaunchOp launch) {
  // Generated kernels: operands and results share their leading axes
  // (ids [B,T] -> embeddings [B,T,D]; a norm gain [D] has none dynamic).
  // The reference is the first result, except for kernels whose result is
  // not row-shaped: column_sum [d], label_mean (a scalar) and embed_grad
  // [V, d] tie their operands to the first operand instead.
  // The distillation kernels' teacher logits [B, Tt, V] share only the
  // batch with the student's rows (Tt is the teacher's own length).
  StringRef kind = kernel.getKind();
  bool byInput = kind == "column_sum" || kind == "label_mean" ||
                 kind == "embed_grad";
  bool distill = kind == "distill_kl_rows" || kind == "distill_kl_grad";
  Value ref = byInput ? launch.getOperand(0) : launch.getResult(0);
  auto tie = [&](Value v) {
    unsigned n = distill && v == launch.getOperand(1) ? 1 : rankOf(v);
    for (unsigned i = 0; i < std::min(n, rankOf(ref)); ++i)
      classes.unite(v, i, ref, i);
  };
  llvm::for_each(launch.getOperands(), tie);
  llvm::for_each(launch.getResults(), tie);
}

void FunctionExporter::unify() {
  for (BlockArgument a : fn.getArguments())
    for (unsigned i = 0; i < rankOf(a); ++i)
      if (isDynamic(a, i))
        classes.node(a, i);
  for (Operation &op : fn.getBody().front()) {
    if (auto gemm = dyn_cast<GemmOp>(op)) {
      unifyGemm(gemm);
    } else if (auto bwd = dyn_cast<AttentionBackwardOp>(op)) {
      unifyAttention(module.lookupSymbol<AttentionKernelOp>(bwd.getKernel()),
                     bwd.getOperands(), bwd.getResults());
    } else if (auto launch = dyn_cast<LaunchOp>(op)) {
      Operation *k = module.lookupSymbol(launch.getKernel());
      if (auto attn = dyn_cast<AttentionKernelOp>(k))
        unifyAttention(attn, launch.getOperands(), launch.getResults());
      else
        unifyKernel(cast<KernelOp>(k), launch);
    }
  }
}

bool FunctionExporter::bindDims(std::string &error) {
  // The arena was planned with the first dynamic dim of each tensor at
  // max_batch and the others at max_seq: a class is safe up to the smallest.
  llvm::DenseMap<int, int64_t> maxOf;
  for (auto [v, axis] : classes.all()) {
    auto t = cast<RankedTensorType>(v.getType());
    bool first = true;
    for (unsigned i = 0; i < axis; ++i)
      first &= !t.isDynamicDim(i);
    int64_t planned = first ? model.max_batch : model.max_seq;
    int root = classes.find(classes.node(v, axis));
    auto [it, inserted] = maxOf.try_emplace(root, planned);
    if (!inserted)
      it->second = std::min(it->second, planned);
  }
  static const char *names[] = {"B", "T", "S"};
  for (BlockArgument a : fn.getArguments())
    for (unsigned i = 0; i < rankOf(a); ++i) {
      if (!isDynamic(a, i))
        continue;
      int root = classes.find(classes.node(a, i));
      if (dimOfClass.count(root))
        continue;
      auto dim = std::make_unique<fb::DeviceDimT>();
      size_t index = out->dims.size();
      dim->name = index < 3 ? names[index] : "S" + std::to_string(index - 1);
      dim->argument = int32_t(a.getArgNumber());
      dim->axis = int32_t(i);
      dim->max = maxOf.lookup(root);
      dimOfClass[root] = int32_t(index);
      out->dims.push_back(std::move(dim));
    }
  for (auto [v, axis] : classes.all())
    if (!dimOfClass.count(classes.find(classes.node(v, axis)))) {
      error = "@" + fn.getName().str() +
              ": a dynamic dimension is not tied to any argument";
      return false;
    }
  return true;
}

int32_t FunctionExporter::buffer(Value v, std::string &error) {
  auto it = buffers.find(v);
  if (it != buffers.end())
    return it->second;
  auto b = std::make_unique<fb::DeviceBufferT>();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  FailureOr<fb::DType> dtype =
      type ? dtypeOf(type) : FailureOr<fb::DType>(failure());
  if (failed(dtype)) {
    error = "@" + fn.getName().str() + ": a value has no device type";
    return -1;
  }
  b->dtype = *dtype;
  for (unsigned i = 0; i < rankOf(v); ++i)
    b->shape.push_back(isDynamic(v, i)
                           ? -1 - dimOfClass.lookup(classes.find(classes.node(v, i)))
                           : type.getDimSize(i));
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    b->kind = fb::BufferKind::argument;
    b->index = arg.getArgNumber();
  } else if (auto use = v.getDefiningOp<UseWeightOp>()) {
    auto w = weights.find(use.getName());
    if (w == weights.end()) {
      error = "@" + fn.getName().str() + ": weight " + use.getName().str() +
              " is not in the manifest";
      return -1;
    }
    b->kind = fb::BufferKind::weight;
    b->index = w->second;
  } else {
    Operation *def = v.getDefiningOp();
    auto offsets = def->getAttrOfType<DenseI64ArrayAttr>("arena_offsets");
    unsigned r = cast<OpResult>(v).getResultNumber();
    if (!offsets || offsets.size() <= r || offsets[r] < 0) {
      error = "@" + fn.getName().str() + ": " +
              def->getName().getStringRef().str() +
              " has no arena offset (run edg-plan-memory)";
      return -1;
    }
    b->kind = fb::BufferKind::arena;
    b->index = offsets[r];
  }
  int32_t id = int32_t(out->buffers.size());
  out->buffers.push_back(std::move(b));
  buffers[v] = id;
  return id;
}

std::unique_ptr<fb::SizeExprT>
FunctionExporter::size(ArrayRef<std::pair<Value, unsigned>> axes) {
  auto s = std::make_unique<fb::SizeExprT>();
  for (auto [v, axis] : axes) {
    if (isDynamic(v, axis))
      s->dims.push_back(dimOfClass.lookup(classes.find(classes.node(v, axis))));
    else
      s->factor *= cast<RankedTensorType>(v.getType()).getDimSize(axis);
  }
  return s;
}

/// (v, 0) .. (v, count - 1): the axes whose product is a size.
std::vector<std::pair<Value, unsigned>> leading(Value v, unsigned count) {
  std::vector<std::pair<Value, unsigned>> axes;
  for (unsigned i = 0; i < count; ++i)
    axes.push_back({v, i});
  return axes;
}

bool FunctionExporter::exportGemm(GemmOp gemm, fb::DeviceStepT &step,
                                  std::string &error) {
  step.kind = fb::DeviceStepKind::gemm;
  for (Value v : gemm->getOperands())
    step.inputs.push_back(buffer(v, error));
  step.outputs.push_back(buffer(gemm.getResult(), error));
  if (!error.empty())
    return false;
  Value a = gemm.getA(), b = gemm.getB();
  unsigned ra = rankOf(a);
  switch (gemm.getForm()) {
  case GemmForm::nt: // y [M, N] = a [M, K] * b [N, K]^T; M: a's leading axes
    step.sizes.push_back(size(leading(a, ra - 1)));
    step.sizes.push_back(size({{b, 0}}));
    step.sizes.push_back(size({{b, 1}}));
    break;
  case GemmForm::nn: // y [M, N] = a [M, K] * b [K, N]
    step.sizes.push_back(size(leading(a, ra - 1)));
    step.sizes.push_back(size({{b, 1}}));
    step.sizes.push_back(size({{b, 0}}));
    step.transpose_w = false;
    break;
  case GemmForm::tn: // y [M, N] = a [K, M]^T * b [K, N]; K: the rows
    step.sizes.push_back(size({{a, ra - 1}}));
    step.sizes.push_back(size({{b, rankOf(b) - 1}}));
    step.sizes.push_back(size(leading(a, ra - 1)));
    step.transpose_x = true;
    step.transpose_w = false;
    break;
  }
  step.epilogue = gemm.getEpilogue().value_or("").str();
  step.location = nameOf(gemm.getLoc());
  return true;
}

bool FunctionExporter::exportAttention(AttentionKernelOp attn, Operation *op,
                                       fb::DeviceStepT &step,
                                       std::string &error) {
  // inputs q, k, v, positions|-1, key_valid|-1[, out, dout]
  bool backward = isa<AttentionBackwardOp>(op);
  step.kind = backward ? fb::DeviceStepKind::attention_backward
                       : fb::DeviceStepKind::attention;
  step.kernel = attn.getSymName().str();
  OperandRange operands = op->getOperands();
  for (Value v : operands.take_front(3))
    step.inputs.push_back(buffer(v, error));
  unsigned next = 3;
  step.inputs.push_back(attn.getHasPositions() ? buffer(operands[next++], error)
                                               : -1);
  step.inputs.push_back(attn.getHasKeyValid() ? buffer(operands[next++], error)
                                              : -1);
  for (Value v : operands.drop_front(next))
    step.inputs.push_back(buffer(v, error));
  for (Value v : op->getResults())
    step.outputs.push_back(buffer(v, error));
  if (!error.empty())
    return false;
  step.sizes.push_back(size({{operands[0], 0}}));
  step.sizes.push_back(size({{operands[0], 1}}));
  step.sizes.push_back(size({{operands[1], 1}}));
  step.location = attn.getOrigin().str();
  return true;
}

bool FunctionExporter::exportKernel(KernelOp kernel, LaunchOp launch,
                                    fb::DeviceStepT &step, std::string &error) {
  step.kind = fb::DeviceStepKind::launch;
  step.kernel = kernel.getSymName().str();
  for (Value v : launch.getOperands())
    step.inputs.push_back(buffer(v, error));
  for (Value v : launch.getResults())
    step.outputs.push_back(buffer(v, error));
  if (!error.empty())
    return false;
  // sizes[0] per kind (docs/codegen.md): elementwise n = numel(out0); the
  // row kinds rows = numel(out0) / row; column_sum rows = numel(in0) / d;
  // embed_grad rows = numel(ids); cross_entropy_rows rows = numel(out0);
  // label_mean n = numel(in0); distill_kl_rows / distill_kl_grad rows =
  // B*T, then T and the teacher's Tt (row r's teacher row is
  // (r / T) * Tt + teacher_index[r]).
  StringRef kind = kernel.getKind();
  Value in0 = launch.getNumOperands() ? launch.getOperand(0) : Value();
  Value out0 = launch.getResult(0);
  unsigned rIn = in0 ? rankOf(in0) : 0, rOut = rankOf(out0);
  if (kind == "elementwise" || kind == "cross_entropy_rows")
    step.sizes.push_back(size(leading(out0, rOut)));
  else if (kind == "column_sum")
    step.sizes.push_back(size(leading(in0, rIn - 1)));
  else if (kind == "embed_grad" || kind == "label_mean")
    step.sizes.push_back(size(leading(in0, rIn)));
  else if (kind == "distill_kl_rows" || kind == "distill_kl_grad") {
    step.sizes.push_back(size(leading(in0, rIn - 1)));
    step.sizes.push_back(size({{in0, 1}}));
    step.sizes.push_back(size({{launch.getOperand(1), 1}}));
  } else // row, rope, embed, rms_norm_grad, cross_entropy_grad
    step.sizes.push_back(size(leading(out0, rOut - 1)));
  // embed_grad scatter-adds into its table: the executor zeroes it first.
  step.zero_outputs = kind == "embed_grad";
  step.location = kernel.getOrigin().str();
  return true;
}

bool FunctionExporter::exportOp(Operation *op, std::string &error) {
  auto step = std::make_unique<fb::DeviceStepT>();
  bool ok = true;
  if (auto gemm = dyn_cast<GemmOp>(op)) {
    ok = exportGemm(gemm, *step, error);
  } else if (auto bwd = dyn_cast<AttentionBackwardOp>(op)) {
    ok = exportAttention(
        module.lookupSymbol<AttentionKernelOp>(bwd.getKernel()), op, *step,
        error);
  } else if (auto launch = dyn_cast<LaunchOp>(op)) {
    Operation *k = module.lookupSymbol(launch.getKernel());
    if (auto attn = dyn_cast<AttentionKernelOp>(k))
      ok = exportAttention(attn, op, *step, error);
    else
      ok = exportKernel(cast<KernelOp>(k), launch, *step, error);
  } else {
    return true; // use_weight, return
  }
  if (!ok)
    return false;
  out->steps.push_back(std::move(step));
  return true;
}

std::unique_ptr<fb::DeviceFunctionT> FunctionExporter::run(std::string &error) {
  if (fn.isDeclaration() || !supported())
    return nullptr;
  out = std::make_unique<fb::DeviceFunctionT>();
  out->name = fn.getName().str();
  if (auto size = fn->getAttrOfType<IntegerAttr>("edg.arena_size"))
    out->arena_size = size.getInt();
  else {
    error = "@" + out->name + " has no edg.arena_size (run edg-plan-memory)";
    return nullptr;
  }
  unify();
  if (!bindDims(error))
    return nullptr;
  for (BlockArgument a : fn.getArguments())
    out->arguments.push_back(buffer(a, error));
  for (Operation &op : fn.getBody().front()) {
    if (!exportOp(&op, error))
      return nullptr;
    if (auto ret = dyn_cast<func::ReturnOp>(op))
      for (Value v : ret.getOperands())
        out->results.push_back(buffer(v, error));
  }
  if (!error.empty())
    return nullptr;
  return std::move(out);
}

} // namespace

LogicalResult mlir::edg::addDeviceSchedules(std::vector<uint8_t> &model,
                                            ModuleOp lowered,
                                            std::string &error) {
  flatbuffers::Verifier verifier(model.data(), model.size());
  if (!fb::VerifyModelBuffer(verifier)) {
    error = "internal error: the exported model does not verify";
    return failure();
  }
  std::unique_ptr<fb::ModelT> unpacked(fb::GetModel(model.data())->UnPack());
  llvm::StringMap<int32_t> weights;
  for (size_t i = 0; i < unpacked->weights.size(); ++i)
    weights[unpacked->weights[i]->name] = int32_t(i);
  for (auto fn : lowered.getOps<func::FuncOp>()) {
    FunctionExporter exporter(fn, *unpacked, weights);
    auto device = exporter.run(error);
    if (!error.empty())
      return failure();
    if (device)
      unpacked->device_functions.push_back(std::move(device));
  }
  flatbuffers::FlatBufferBuilder fbb(model.size() + 4096);
  fbb.Finish(fb::Model::Pack(fbb, unpacked.get()), fb::ModelIdentifier());
  model.assign(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  return success();
}
