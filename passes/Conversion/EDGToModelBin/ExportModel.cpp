//===- ExportModel.cpp - write a graph-level module as model.bin -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Every block argument and op result of an entry function becomes a numbered
// value; every graph-level op becomes one step reading values and weights
// (weights are referenced by their index in the manifest, never by value, so
// the runtime can bind them once and share them across entry points).
// Training functions (docs/training.md) export the same way: gradient ops
// become steps of the new OpKinds, edg.adamw_update names its weight in
// `weights`, and the function records its gradient order and input names.
//===----------------------------------------------------------------------===//
#include "passes/Conversion/EDGToModelBin/ExportModel.h"

#include "dialects/EDG/EDGOps.h"
#include "runtime/schema/edg_model_generated.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::edg;
namespace fb = ::edg::schema;

namespace {
constexpr uint32_t kSchemaVersion = 1;

FailureOr<fb::DType> toDType(Operation *where, Type type) {
  if (type.isF32()) return fb::DType::f32;
  if (type.isBF16()) return fb::DType::bf16;
  if (type.isF16()) return fb::DType::f16;
  if (type.isInteger(1)) return fb::DType::i1;
  if (type.isInteger(32)) return fb::DType::i32;
  if (type.isInteger(64)) return fb::DType::i64;
  return where->emitError() << "model.bin has no dtype for " << type;
}

std::vector<int64_t> shapeOf(RankedTensorType type) {
  std::vector<int64_t> shape;
  for (int64_t d : type.getShape())
    shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  return shape;
}

std::string locationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto name = dyn_cast<NameLoc>(inner))
        return name.getName().str();
  return {};
}

/// Builds one model file. Owns the FlatBuffers builder and the name -> index
/// table of the weight manifest.
class Exporter {
public:
  Exporter(ModuleOp module, const ExportOptions &options)
      : module(module), options(options) {}

  LogicalResult run(std::vector<uint8_t> &out);

private:
  LogicalResult exportWeights();
  FailureOr<flatbuffers::Offset<fb::Function>> exportFunction(func::FuncOp fn);
  LogicalResult exportStep(Operation *op);
  FailureOr<int32_t> weightIndex(Operation *user, Value operand);
  int32_t valueId(Value v);
  std::vector<int32_t> valueIdsOf(ValueRange range);

  ModuleOp module;
  const ExportOptions &options;
  flatbuffers::FlatBufferBuilder fbb;
  llvm::StringMap<int32_t> weightIndices;
  std::vector<flatbuffers::Offset<fb::Weight>> weights;

  // Per function being exported.
  llvm::DenseMap<Value, int32_t> valueIds;
  std::vector<flatbuffers::Offset<fb::Value>> values;
  std::vector<flatbuffers::Offset<fb::Step>> steps;
};

LogicalResult Exporter::exportWeights() {
  for (WeightOp w : module.getOps<WeightOp>()) {
    FailureOr<fb::DType> dtype = toDType(w, w.getTensorType().getElementType());
    if (failed(dtype))
      return failure();
    auto name = fbb.CreateString(w.getSymName().str());
    auto shape = fbb.CreateVector(shapeOf(w.getTensorType()));
    flatbuffers::Offset<flatbuffers::String> initFrom;
    if (auto from = w.getInitFrom())
      initFrom = fbb.CreateString(from->str());
    fb::InitKind init = fb::InitKind::none;
    float stddev = 0.f;
    if (auto attr = w.getInitAttr()) {
      switch (attr.getKind()) {
      case InitKind::normal: init = fb::InitKind::normal; break;
      case InitKind::zeros: init = fb::InitKind::zeros; break;
      case InitKind::ones: init = fb::InitKind::ones; break;
      }
      stddev = static_cast<float>(attr.getStddev().convertToDouble());
    }
    weightIndices[w.getSymName()] = static_cast<int32_t>(weights.size());
    weights.push_back(fb::CreateWeight(fbb, name, shape, *dtype, initFrom, init,
                                       stddev, !w.getFrozen(),
                                       w.getFrozenSteps().value_or(0)));
  }
  return success();
}

int32_t Exporter::valueId(Value v) {
  auto it = valueIds.find(v);
  if (it != valueIds.end())
    return it->second;
  auto type = cast<RankedTensorType>(v.getType());
  // Types were checked when the value was defined (arguments, results).
  fb::DType dtype = *toDType(module, type.getElementType());
  int32_t id = static_cast<int32_t>(values.size());
  values.push_back(fb::CreateValue(fbb, dtype, fbb.CreateVector(shapeOf(type))));
  valueIds[v] = id;
  return id;
}

FailureOr<int32_t> Exporter::weightIndex(Operation *user, Value operand) {
  auto use = operand.getDefiningOp<UseWeightOp>();
  if (!use)
    return user->emitOpError()
           << "reads a weight operand that is not an edg.use_weight; "
              "model.bin binds weights by name only";
  return weightIndices.lookup(use.getName());
}

std::vector<int32_t> Exporter::valueIdsOf(ValueRange range) {
  std::vector<int32_t> ids;
  for (Value v : range)
    ids.push_back(valueId(v));
  return ids;
}

/// Fields shared by distill_kl and its gradient.
template <class Op>
static void distillStep(fb::StepT &step, Op op, fb::OpKind kind) {
  step.op = kind;
  step.temperature = op.getTemperature().convertToDouble();
  step.loss_weight = op.getWeight().convertToDouble();
  step.ignore_index = op.getIgnoreIndex();
}

LogicalResult Exporter::exportStep(Operation *op) {
  if (isa<UseWeightOp, func::ReturnOp>(op))
    return success();
  for (Type t : op->getResultTypes())
    if (!isa<RankedTensorType>(t) ||
        failed(toDType(op, cast<RankedTensorType>(t).getElementType())))
      return op->emitOpError("has a result model.bin cannot hold");

  std::vector<int32_t> inputs, weightIds;
  auto addWeights = [&](ValueRange ws) -> LogicalResult {
    for (Value w : ws) {
      FailureOr<int32_t> idx = weightIndex(op, w);
      if (failed(idx))
        return failure();
      weightIds.push_back(*idx);
    }
    return success();
  };

  fb::StepT step;
  step.location = locationName(op->getLoc());
  LogicalResult ok =
      llvm::TypeSwitch<Operation *, LogicalResult>(op)
          .Case([&](EmbedOp e) {
            step.op = fb::OpKind::embed;
            step.scale = e.getScale().convertToDouble();
            inputs = {valueId(e.getIds())};
            return addWeights({e.getTable()});
          })
          .Case([&](RmsNormOp n) {
            step.op = fb::OpKind::rms_norm;
            step.eps = n.getEps().convertToDouble();
            inputs = {valueId(n.getInput())};
            return addWeights({n.getWeight()});
          })
          .Case([&](SelfAttentionOp a) {
            step.op = fb::OpKind::self_attention;
            step.num_heads = a.getNumHeads();
            step.num_kv_heads = a.getNumKvHeads();
            step.head_dim = a.getHeadDim();
            step.scale = a.getScale().convertToDouble();
            step.softcap = a.getSoftcap() ? a.getSoftcap()->convertToDouble() : 0;
            step.rope_theta = a.getRopeTheta().convertToDouble();
            step.mask = static_cast<fb::MaskKind>(a.getMask().getKind());
            step.window = a.getMask().getWindow();
            inputs = {valueId(a.getInput()), valueId(a.getPositions())};
            if (a.getKeyValid()) {
              inputs.push_back(valueId(a.getKeyValid()));
              step.has_key_valid = true;
            }
            return addWeights(
                {a.getQProj(), a.getKProj(), a.getVProj(), a.getOProj()});
          })
          .Case([&](CrossAttentionOp a) {
            step.op = fb::OpKind::cross_attention;
            step.num_heads = a.getNumHeads();
            step.num_kv_heads = a.getNumKvHeads();
            step.head_dim = a.getHeadDim();
            step.scale = a.getScale().convertToDouble();
            step.softcap = a.getSoftcap() ? a.getSoftcap()->convertToDouble() : 0;
            step.mask = fb::MaskKind::bidirectional;
            inputs = {valueId(a.getInput()), valueId(a.getEncoder())};
            if (a.getEncoderValid()) {
              inputs.push_back(valueId(a.getEncoderValid()));
              step.has_key_valid = true;
            }
            return addWeights(
                {a.getQProj(), a.getKProj(), a.getVProj(), a.getOProj()});
          })
          .Case([&](MlpOp m) {
            step.op = fb::OpKind::mlp;
            inputs = {valueId(m.getInput())};
            return addWeights({m.getGateProj(), m.getUpProj(), m.getDownProj()});
          })
          .Case([&](AddOp a) {
            step.op = fb::OpKind::add;
            inputs = {valueId(a.getLhs()), valueId(a.getRhs())};
            return success();
          })
          .Case([&](LmHeadOp l) {
            step.op = fb::OpKind::lm_head;
            step.softcap =
                l.getFinalSoftcap() ? l.getFinalSoftcap()->convertToDouble() : 0;
            inputs = {valueId(l.getInput())};
            return addWeights({l.getTable()});
          })
          .Case([&](CrossEntropyOp c) {
            step.op = fb::OpKind::cross_entropy;
            step.ignore_index = c.getIgnoreIndex();
            inputs = {valueId(c.getLogits()), valueId(c.getLabels())};
            return success();
          })
          .Case([&](CrossEntropyGradOp c) {
            step.op = fb::OpKind::cross_entropy_grad;
            step.ignore_index = c.getIgnoreIndex();
            inputs = {valueId(c.getLogits()), valueId(c.getLabels())};
            return success();
          })
          .Case([&](DistillKlOp k) {
            distillStep(step, k, fb::OpKind::distill_kl);
            inputs = valueIdsOf(k->getOperands());
            return success();
          })
          .Case([&](DistillKlGradOp k) {
            distillStep(step, k, fb::OpKind::distill_kl_grad);
            inputs = valueIdsOf(k->getOperands());
            return success();
          })
          .Case([&](EmbedGradOp e) {
            step.op = fb::OpKind::embed_grad;
            step.scale = e.getScale().convertToDouble();
            inputs = {valueId(e.getIds()), valueId(e.getGrad())};
            return success();
          })
          .Case([&](RmsNormGradOp n) {
            step.op = fb::OpKind::rms_norm_grad;
            step.eps = n.getEps().convertToDouble();
            inputs = {valueId(n.getInput()), valueId(n.getGrad())};
            return addWeights({n.getWeight()});
          })
          .Case([&](SelfAttentionGradOp a) {
            step.op = fb::OpKind::self_attention_grad;
            step.num_heads = a.getNumHeads();
            step.num_kv_heads = a.getNumKvHeads();
            step.head_dim = a.getHeadDim();
            step.scale = a.getScale().convertToDouble();
            step.softcap = a.getSoftcap() ? a.getSoftcap()->convertToDouble() : 0;
            step.rope_theta = a.getRopeTheta().convertToDouble();
            step.mask = static_cast<fb::MaskKind>(a.getMask().getKind());
            step.window = a.getMask().getWindow();
            inputs = {valueId(a.getInput()), valueId(a.getPositions()),
                      valueId(a.getGrad())};
            if (a.getKeyValid()) {
              inputs.push_back(valueId(a.getKeyValid()));
              step.has_key_valid = true;
            }
            return addWeights(
                {a.getQProj(), a.getKProj(), a.getVProj(), a.getOProj()});
          })
          .Case([&](CrossAttentionGradOp a) {
            step.op = fb::OpKind::cross_attention_grad;
            step.num_heads = a.getNumHeads();
            step.num_kv_heads = a.getNumKvHeads();
            step.head_dim = a.getHeadDim();
            step.scale = a.getScale().convertToDouble();
            step.softcap = a.getSoftcap() ? a.getSoftcap()->convertToDouble() : 0;
            step.mask = fb::MaskKind::bidirectional;
            inputs = {valueId(a.getInput()), valueId(a.getEncoder()),
                      valueId(a.getGrad())};
            if (a.getEncoderValid()) {
              inputs.push_back(valueId(a.getEncoderValid()));
              step.has_key_valid = true;
            }
            return addWeights(
                {a.getQProj(), a.getKProj(), a.getVProj(), a.getOProj()});
          })
          .Case([&](MlpGradOp m) {
            step.op = fb::OpKind::mlp_grad;
            inputs = {valueId(m.getInput()), valueId(m.getGrad())};
            return addWeights({m.getGateProj(), m.getUpProj(), m.getDownProj()});
          })
          .Case([&](LmHeadGradOp l) {
            step.op = fb::OpKind::lm_head_grad;
            step.softcap =
                l.getFinalSoftcap() ? l.getFinalSoftcap()->convertToDouble() : 0;
            inputs = {valueId(l.getInput()), valueId(l.getGrad())};
            return addWeights({l.getTable()});
          })
          .Case([&](ClipGradNormOp c) {
            step.op = fb::OpKind::clip_grad_norm;
            step.max_norm = c.getMaxNorm().convertToDouble();
            inputs = valueIdsOf(c.getGrads());
            return success();
          })
          .Case([&](AdamWUpdateOp u) {
            step.op = fb::OpKind::adamw_update;
            step.lr = u.getLr().convertToDouble();
            step.beta1 = u.getBeta1().convertToDouble();
            step.beta2 = u.getBeta2().convertToDouble();
            step.eps = u.getEps().convertToDouble();
            step.weight_decay = u.getWeightDecay().convertToDouble();
            step.warmup_steps = u.getWarmupSteps();
            step.total_steps = u.getTotalSteps();
            step.min_lr_ratio = u.getMinLrRatio().convertToDouble();
            step.frozen_steps = u.getFrozenSteps();
            inputs = {valueId(u.getGrad())};
            auto it = weightIndices.find(u.getWeight());
            if (it == weightIndices.end())
              return LogicalResult(u.emitOpError()
                                   << "updates @" << u.getWeight()
                                   << ", which is not in the manifest");
            weightIds.push_back(it->second);
            return success();
          })
          .Default([&](Operation *other) {
            return other->emitOpError("has no runtime kernel; model.bin "
                                      "cannot schedule it");
          });
  if (failed(ok))
    return failure();
  step.inputs = inputs;
  step.weights = weightIds;
  for (Value r : op->getResults())
    step.outputs.push_back(valueId(r));
  steps.push_back(fb::Step::Pack(fbb, &step));
  return success();
}

FailureOr<flatbuffers::Offset<fb::Function>>
Exporter::exportFunction(func::FuncOp fn) {
  valueIds.clear();
  values.clear();
  steps.clear();
  std::vector<int32_t> args, results;
  for (BlockArgument arg : fn.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || failed(toDType(fn, type.getElementType())))
      return fn.emitError() << "argument " << arg.getArgNumber()
                            << " is not a tensor model.bin can hold";
    args.push_back(valueId(arg));
  }
  for (Operation &op : fn.getBody().front())
    if (failed(exportStep(&op)))
      return failure();
  auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  for (Value v : ret.getOperands())
    results.push_back(valueId(v));
  // Training functions: the weight of each gradient result (edg-autodiff's
  // edg.grad_weights) and the names of the inputs (edg-build-objective's
  // edg.arg_name), so the runtime can map a batch onto the arguments.
  std::vector<int32_t> gradWeights;
  if (auto order = fn->getAttrOfType<ArrayAttr>("edg.grad_weights"))
    for (Attribute a : order) {
      auto ref = dyn_cast<FlatSymbolRefAttr>(a);
      auto it = ref ? weightIndices.find(ref.getValue()) : weightIndices.end();
      if (it == weightIndices.end())
        return fn.emitError() << "edg.grad_weights names " << a
                              << ", which is not in the weight manifest";
      gradWeights.push_back(it->second);
    }
  std::vector<flatbuffers::Offset<flatbuffers::String>> argNames;
  bool named = false;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto name = fn.getArgAttrOfType<StringAttr>(i, "edg.arg_name");
    named |= bool(name);
    argNames.push_back(fbb.CreateString(name ? name.str() : std::string()));
  }
  return fb::CreateFunctionDirect(
      fbb, fn.getSymName().str().c_str(), &values, &args, &results, &steps,
      gradWeights.empty() ? nullptr : &gradWeights,
      named ? &argNames : nullptr);
}

LogicalResult Exporter::run(std::vector<uint8_t> &out) {
  if (failed(exportWeights()))
    return failure();
  std::vector<flatbuffers::Offset<fb::Function>> functions;
  for (func::FuncOp fn : module.getOps<func::FuncOp>()) {
    if (fn.isExternal())
      continue;
    if (!fn.getBody().hasOneBlock())
      return fn.emitError("entry functions must have a single block");
    FailureOr<flatbuffers::Offset<fb::Function>> f = exportFunction(fn);
    if (failed(f))
      return failure();
    functions.push_back(*f);
  }
  if (functions.empty())
    return module.emitError("no entry function to compile");

  auto config = module->getAttrOfType<DictionaryAttr>("edg.config");
  auto intField = [&](StringRef key, int64_t fallback) -> int64_t {
    if (config)
      if (auto v = config.getAs<IntegerAttr>(key))
        return v.getInt();
    return fallback;
  };
  std::string modelType = "unknown";
  if (config)
    if (auto t = config.getAs<StringAttr>("model_type"))
      modelType = t.str();

  auto model = fb::CreateModelDirect(
      fbb, kSchemaVersion, "edg-compile", modelType.c_str(),
      intField("vocab_size", 0), intField("bos_token_id", 2),
      intField("eos_token_id", 1), intField("pad_token_id", 0),
      static_cast<int32_t>(options.maxBatch),
      static_cast<int32_t>(options.maxSeq), &weights, &functions);
  fbb.Finish(model, fb::ModelIdentifier());
  out.assign(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  return success();
}
} // namespace

LogicalResult mlir::edg::exportModel(ModuleOp module,
                                     const ExportOptions &options,
                                     std::vector<uint8_t> &out) {
  return Exporter(module, options).run(out);
}
