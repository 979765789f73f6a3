//===- LayerBuilder.cpp - emit edg ops for one HF module --------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// One method per HF module kind. Each declares the module's weights with the
// shapes of MODEL_SPEC §1.9 / §2.7 ([out, in] for every projection), reads
// them, and emits the graph op with the attributes docs/design.md fixes:
// attention scale query_pre_attn_scalar ** -0.5, soft-caps only when the
// config has them, masks from layer_types, the dtype-rounded embedding scale.
//===----------------------------------------------------------------------===//
#include "frontend/LayerBuilder.h"

#include "dialects/EDG/EDGOps.h"

#include "llvm/ADT/APFloat.h"

#include <cmath>

using namespace mlir;
using namespace mlir::edg;

//===----------------------------------------------------------------------===//
// Dtypes
//===----------------------------------------------------------------------===//

Type mlir::edg::elementType(MLIRContext *ctx, DType dtype) {
  switch (dtype) {
  case DType::BF16:
    return BFloat16Type::get(ctx);
  case DType::F16:
    return Float16Type::get(ctx);
  case DType::F32:
    return Float32Type::get(ctx);
  }
  llvm_unreachable("unknown DType");
}

double mlir::edg::embeddingScale(int64_t hidden, DType dtype) {
  // HF builds the normalizer as torch.tensor(hidden ** 0.5, dtype): a double
  // sqrt, then one round-to-nearest-even conversion to the activation dtype.
  // APFloat implements IEEE conversion (ties to even) for bf16 as for f16.
  llvm::APFloat value(std::sqrt(static_cast<double>(hidden)));
  const llvm::fltSemantics *sem = &llvm::APFloat::IEEEsingle();
  if (dtype == DType::BF16)
    sem = &llvm::APFloat::BFloat();
  else if (dtype == DType::F16)
    sem = &llvm::APFloat::IEEEhalf();
  bool losesInfo = false;
  value.convert(*sem, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  // Widening back to double is exact.
  value.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                &losesInfo);
  return value.convertToDouble();
}

//===----------------------------------------------------------------------===//
// Weights and locations
//===----------------------------------------------------------------------===//

LayerBuilder::LayerBuilder(ModuleOp module, DType dtype, StringRef prefix,
                           std::vector<DeclaredWeight> &declared,
                           std::optional<double> freshInitStd)
    : module(module), b(module.getContext()), dtype(dtype),
      elem(elementType(module.getContext(), dtype)), prefix(prefix.str()),
      declared(declared), freshInitStd(freshInitStd) {
  // New weights go after the module's last weight (or first, if none), so
  // that weights stay together ahead of the functions.
  for (Operation &op : *module.getBody())
    if (isa<WeightOp>(op))
      lastWeight = &op;
}

Location LayerBuilder::loc(const Twine &hfModule) {
  return NameLoc::get(b.getStringAttr(prefix + hfModule));
}

RankedTensorType LayerBuilder::activationType(int64_t width) {
  return RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic, width}, elem);
}

Value LayerBuilder::weight(StringRef hfKey, ArrayRef<int64_t> shape) {
  // The weight belongs to the module that owns the parameter:
  // "model.norm.weight" -> "model.norm".
  StringRef owner = hfKey;
  owner.consume_back(".weight");
  Location where = loc(owner);
  auto type = RankedTensorType::get(shape, elem);
  std::string name = prefix + hfKey.str();

  // HF's _init_weights: Linear and Embedding ~ N(0, initializer_range),
  // RMSNorm offsets zero. Only norms are 1-D.
  InitAttr init;
  if (freshInitStd)
    init = shape.size() == 1 ? InitAttr::get(b.getContext(), InitKind::zeros,
                                             llvm::APFloat(0.0))
                             : InitAttr::get(b.getContext(), InitKind::normal,
                                             llvm::APFloat(*freshInitStd));

  OpBuilder weightBuilder(module.getContext());
  if (lastWeight)
    weightBuilder.setInsertionPointAfter(lastWeight);
  else
    weightBuilder.setInsertionPointToStart(module.getBody());
  auto decl = weightBuilder.create<WeightOp>(
      where, name, type, /*init_from=*/FlatSymbolRefAttr(), init,
      /*frozen=*/false, /*frozen_steps=*/IntegerAttr());
  lastWeight = decl;
  declared.push_back({name, hfKey.str(), llvm::to_vector<2>(shape)});

  return b.create<UseWeightOp>(where, type, name);
}

//===----------------------------------------------------------------------===//
// Graph ops
//===----------------------------------------------------------------------===//

Value LayerBuilder::embed(Value ids, StringRef stack, const StackConfig &cfg,
                          Value &table) {
  // table [V, d]; result [B, T, d].
  std::string module = (stack + ".embed_tokens").str();
  table = weight(module + ".weight", {cfg.vocabSize, cfg.hiddenSize});
  return b.create<EmbedOp>(
      loc(module), activationType(cfg.hiddenSize), ids, table,
      b.getF64FloatAttr(embeddingScale(cfg.hiddenSize, dtype)));
}

Value LayerBuilder::rmsNorm(Value x, StringRef module, const StackConfig &cfg) {
  // w [d] is the offset of the gain (1 + w).
  Value w = weight((module + ".weight").str(), {cfg.hiddenSize});
  return b.create<RmsNormOp>(loc(module), x.getType(), x, w,
                             b.getF64FloatAttr(cfg.rmsNormEps));
}

/// `softcap` attribute: present only when the config caps.
static FloatAttr optionalF64(OpBuilder &b, std::optional<double> value) {
  return value ? b.getF64FloatAttr(*value) : FloatAttr();
}

Value LayerBuilder::selfAttention(Value x, Value positions, Value keyValid,
                                  StringRef module, const StackConfig &cfg,
                                  int64_t layer, bool causal) {
  int64_t d = cfg.hiddenSize, qWidth = cfg.numHeads * cfg.headDim,
          kvWidth = cfg.numKvHeads * cfg.headDim;
  Value q = weight((module + ".q_proj.weight").str(), {qWidth, d});
  Value k = weight((module + ".k_proj.weight").str(), {kvWidth, d});
  Value v = weight((module + ".v_proj.weight").str(), {kvWidth, d});
  Value o = weight((module + ".o_proj.weight").str(), {d, qWidth});

  LayerKind kind = cfg.layerTypes[layer];
  MaskAttr mask;
  if (kind == LayerKind::Sliding)
    mask = MaskAttr::get(b.getContext(),
                         causal ? MaskKind::sliding_causal
                                : MaskKind::sliding_bidirectional,
                         cfg.slidingWindow);
  else
    mask = MaskAttr::get(
        b.getContext(), causal ? MaskKind::causal : MaskKind::bidirectional, 0);

  return b.create<SelfAttentionOp>(
      loc(module), x.getType(), x, positions, q, k, v, o, keyValid,
      b.getI64IntegerAttr(cfg.numHeads), b.getI64IntegerAttr(cfg.numKvHeads),
      b.getI64IntegerAttr(cfg.headDim),
      b.getF64FloatAttr(std::pow(cfg.queryPreAttnScalar, -0.5)),
      optionalF64(b, cfg.attnSoftcap),
      b.getF64FloatAttr(cfg.ropeThetaFor(kind)), mask);
}

Value LayerBuilder::crossAttention(Value x, Value encoder, Value encoderValid,
                                   StringRef module, const StackConfig &dec,
                                   int64_t encoderHidden) {
  // Heads, head_dim, scale and soft-cap come from the decoder config; K/V
  // project from the encoder's width (cross_attention_hidden_size).
  int64_t d = dec.hiddenSize, qWidth = dec.numHeads * dec.headDim,
          kvWidth = dec.numKvHeads * dec.headDim;
  Value q = weight((module + ".q_proj.weight").str(), {qWidth, d});
  Value k = weight((module + ".k_proj.weight").str(), {kvWidth, encoderHidden});
  Value v = weight((module + ".v_proj.weight").str(), {kvWidth, encoderHidden});
  Value o = weight((module + ".o_proj.weight").str(), {d, qWidth});
  return b.create<CrossAttentionOp>(
      loc(module), x.getType(), x, encoder, q, k, v, o, encoderValid,
      b.getI64IntegerAttr(dec.numHeads), b.getI64IntegerAttr(dec.numKvHeads),
      b.getI64IntegerAttr(dec.headDim),
      b.getF64FloatAttr(std::pow(dec.queryPreAttnScalar, -0.5)),
      optionalF64(b, dec.attnSoftcap));
}

Value LayerBuilder::mlp(Value x, StringRef module, const StackConfig &cfg) {
  // gate, up [I, d]; down [d, I]. GeluTanh is the only MlpActivation.
  int64_t d = cfg.hiddenSize, inter = cfg.intermediateSize;
  Value gate = weight((module + ".gate_proj.weight").str(), {inter, d});
  Value up = weight((module + ".up_proj.weight").str(), {inter, d});
  Value down = weight((module + ".down_proj.weight").str(), {d, inter});
  return b.create<MlpOp>(loc(module), x.getType(), x, gate, up, down,
                         Activation::gelu_tanh);
}

Value LayerBuilder::add(Value residual, Value branch, StringRef layerModule) {
  return b.create<AddOp>(loc(layerModule), residual.getType(), residual,
                         branch);
}

Value LayerBuilder::lmHead(Value x, Value table, const StackConfig &cfg) {
  // table [V, d] -> logits [B, T, V].
  int64_t vocab = cast<RankedTensorType>(table.getType()).getDimSize(0);
  return b.create<LmHeadOp>(loc("lm_head"), activationType(vocab), x, table,
                            optionalF64(b, cfg.finalSoftcap));
}
