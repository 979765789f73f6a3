//===- GraphBuilder.cpp - build the edg module of a model -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Strings LayerBuilder's per-module ops into layers in the op order of
// docs/design.md, and layers into the entry points:
//   Gemma 2  @forward(ids, positions, valid) -> logits [B, T, V]
//   T5Gemma  @encode(ids, positions, valid) -> encoder output [B, S, d_enc]
//            @decode(ids, positions, valid, encoder, encoder_valid) -> logits
// and merges a built module into an existing one for `--append-to`.
//===----------------------------------------------------------------------===//
#include "frontend/GraphBuilder.h"

#include "dialects/EDG/EDGOps.h"
#include "frontend/LayerBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::edg;

namespace {

llvm::Error fail(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Which stack a layer is in: decides the norm names (Gemma 2's
/// input_layernorm / post_attention_layernorm versus T5Gemma's
/// pre_/post_self_attn_layernorm), causality, and cross-attention.
enum class StackRole { Gemma2, Encoder, Decoder };

/// The graph inputs every layer of a stack reads.
struct StackInputs {
  Value positions;    // [B, T] i32, RoPE and mask positions
  Value valid;        // [B, T] i1, key padding of self-attention
  Value encoder;      // Decoder only: [B, S, d_enc]
  Value encoderValid; // Decoder only: [B, S] i1
  int64_t encoderHidden = 0;
};

/// One transformer layer; x [B, T, d] -> [B, T, d].
Value buildLayer(LayerBuilder &lb, Value x, StackRole role, StringRef stack,
                 int64_t i, const StackConfig &cfg, const StackInputs &in) {
  std::string layer = (stack + ".layers." + Twine(i)).str();
  auto sub = [&](StringRef name) { return layer + "." + name.str(); };
  bool gemma2 = role == StackRole::Gemma2;

  // Self-attention block; the post-norm acts on the attention output.
  Value a = lb.rmsNorm(
      x, sub(gemma2 ? "input_layernorm" : "pre_self_attn_layernorm"), cfg);
  a = lb.selfAttention(a, in.positions, in.valid, sub("self_attn"), cfg, i,
                       /*causal=*/role != StackRole::Encoder);
  a = lb.rmsNorm(
      a, sub(gemma2 ? "post_attention_layernorm" : "post_self_attn_layernorm"),
      cfg);
  x = lb.add(x, a, layer);

  // T5Gemma decoder: cross-attention block between self-attention and MLP.
  if (role == StackRole::Decoder) {
    Value c = lb.rmsNorm(x, sub("pre_cross_attn_layernorm"), cfg);
    c = lb.crossAttention(c, in.encoder, in.encoderValid, sub("cross_attn"),
                          cfg, in.encoderHidden);
    c = lb.rmsNorm(c, sub("post_cross_attn_layernorm"), cfg);
    x = lb.add(x, c, layer);
  }

  Value m = lb.rmsNorm(x, sub("pre_feedforward_layernorm"), cfg);
  m = lb.mlp(m, sub("mlp"), cfg);
  m = lb.rmsNorm(m, sub("post_feedforward_layernorm"), cfg);
  return lb.add(x, m, layer);
}

/// Embedding, every layer, final norm: ids [B, T] -> [B, T, d].
/// `table` receives the embedding table [V, d].
Value buildStack(LayerBuilder &lb, Value ids, StackRole role, StringRef stack,
                 const StackConfig &cfg, const StackInputs &in, Value &table) {
  Value x = lb.embed(ids, stack, cfg, table);
  for (int64_t i = 0; i < cfg.numLayers; ++i)
    x = buildLayer(lb, x, role, stack, i, cfg, in);
  return lb.rmsNorm(x, (stack + ".norm").str(), cfg);
}

/// A function `name` at the end of the module, builder inside its body.
/// `hfModule` names the stack the function computes (its location).
func::FuncOp beginFunction(LayerBuilder &lb, ModuleOp module, StringRef name,
                           ArrayRef<Type> inputs, Type result,
                           StringRef hfModule) {
  OpBuilder &b = lb.builder();
  b.setInsertionPointToEnd(module.getBody());
  auto fn = b.create<func::FuncOp>(lb.loc(hfModule), name,
                                   b.getFunctionType(inputs, result));
  b.setInsertionPointToStart(fn.addEntryBlock());
  return fn;
}

/// The LM head's table: the (decoder) embedding when tied, else a declared
/// `headKey` weight. A tied head is still a legal checkpoint tensor.
Value headTable(LayerBuilder &lb, const ModelConfig &config, StringRef headKey,
                Value embedding, StringRef prefix, ImportedModel &out) {
  SmallVector<int64_t, 2> shape = {config.decoder.vocabSize,
                                   config.decoder.hiddenSize};
  if (!config.tieWordEmbeddings)
    return lb.weight(headKey, shape);
  out.tiedAliases.push_back({(prefix + headKey).str(), headKey.str(), shape});
  return embedding;
}

/// Module attribute `edg.config`: model_type, vocab_size and token ids (i64;
/// a token id the config sets to null is left out).
DictionaryAttr configAttr(MLIRContext &ctx, const ModelConfig &config) {
  Builder b(&ctx);
  SmallVector<NamedAttribute> entries = {
      b.getNamedAttr("model_type",
                     b.getStringAttr(modelTypeName(config.modelType))),
      b.getNamedAttr("vocab_size", b.getI64IntegerAttr(config.vocabSize()))};
  for (auto [name, id] : {std::pair{"bos_token_id", config.tokens.bos},
                          {"eos_token_id", config.tokens.eos},
                          {"pad_token_id", config.tokens.pad}})
    if (id)
      entries.push_back(b.getNamedAttr(name, b.getI64IntegerAttr(*id)));
  return b.getDictionaryAttr(entries);
}

} // namespace

//===----------------------------------------------------------------------===//
// importModel
//===----------------------------------------------------------------------===//

llvm::Expected<ImportedModel>
mlir::edg::importModel(MLIRContext &ctx, const ModelConfig &config,
                       const ImportOptions &options) {
  ctx.loadDialect<EDGDialect, func::FuncDialect>();
  bool t5 = config.modelType == ModelType::T5Gemma;
  if (t5 && !options.entry.empty())
    return fail("a custom entry name applies to Gemma 2 only (T5Gemma's entry "
                "points are @encode and @decode)");
  StringRef prefix = options.weightPrefix;

  ImportedModel out;
  out.module = ModuleOp::create(UnknownLoc::get(&ctx));
  ModuleOp module = *out.module;
  module->setAttr("edg.config", configAttr(ctx, config));
  std::optional<double> freshInitStd;
  if (options.initFresh)
    freshInitStd = config.initializerRange;
  LayerBuilder lb(module, options.dtype, prefix, out.weights, freshInitStd);

  auto i32 = IntegerType::get(&ctx, 32), i1 = IntegerType::get(&ctx, 1);
  auto dyn2 = [](Type elem) {
    return RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                                 elem);
  };
  Type ids = dyn2(i32), valid = dyn2(i1);
  Type logits = lb.activationType(config.vocabSize());
  OpBuilder &b = lb.builder();

  if (!t5) {
    // @forward(ids [B,T], positions [B,T], valid [B,T]) -> logits [B,T,V].
    StringRef name =
        options.entry.empty() ? StringRef("forward") : StringRef(options.entry);
    func::FuncOp fn =
        beginFunction(lb, module, name, {ids, ids, valid}, logits, "model");
    StackInputs in{fn.getArgument(1), fn.getArgument(2), {}, {}, 0};
    Value table;
    Value h = buildStack(lb, fn.getArgument(0), StackRole::Gemma2, "model",
                         config.decoder, in, table);
    table = headTable(lb, config, "lm_head.weight", table, prefix, out);
    Value y = lb.lmHead(h, table, config.decoder);
    b.create<func::ReturnOp>(lb.loc("lm_head"), y);
  } else {
    const StackConfig &enc = *config.encoder, &dec = config.decoder;
    Type encOut = lb.activationType(enc.hiddenSize);

    // @encode(ids [B,S], positions [B,S], valid [B,S]) -> [B,S,d_enc].
    func::FuncOp encode = beginFunction(lb, module, "encode", {ids, ids, valid},
                                        encOut, "model.encoder");
    StackInputs encIn{encode.getArgument(1), encode.getArgument(2), {}, {}, 0};
    Value encTable;
    Value h = buildStack(lb, encode.getArgument(0), StackRole::Encoder,
                         "model.encoder", enc, encIn, encTable);
    b.create<func::ReturnOp>(lb.loc("model.encoder.norm"), h);

    // @decode(ids [B,T], positions [B,T], valid [B,T], encoder [B,S,d_enc],
    //         encoder_valid [B,S]) -> logits [B,T,V].
    func::FuncOp decode =
        beginFunction(lb, module, "decode", {ids, ids, valid, encOut, valid},
                      logits, "model.decoder");
    StackInputs decIn{decode.getArgument(1), decode.getArgument(2),
                      decode.getArgument(3), decode.getArgument(4),
                      enc.hiddenSize};
    Value decTable;
    Value y = buildStack(lb, decode.getArgument(0), StackRole::Decoder,
                         "model.decoder", dec, decIn, decTable);
    decTable =
        headTable(lb, config, "lm_head.out_proj.weight", decTable, prefix, out);
    y = lb.lmHead(y, decTable, dec);
    b.create<func::ReturnOp>(lb.loc("lm_head"), y);
  }

  // An entry named like one of its own weights would clash in the module.
  if (!t5)
    for (const DeclaredWeight &w : out.weights)
      if (w.name == options.entry)
        return fail("entry name '" + options.entry +
                    "' is also the name of a weight");
  return std::move(out);
}

//===----------------------------------------------------------------------===//
// appendModule
//===----------------------------------------------------------------------===//

llvm::Error mlir::edg::appendModule(ModuleOp target, ModuleOp source) {
  // Functions first in the report: a clashing entry name is the usual
  // mistake, and its weights follow from it.
  SymbolTable targetSymbols(target);
  SmallVector<std::string> clashes;
  for (bool functions : {true, false})
    for (Operation &op : *source.getBody())
      if (auto sym = dyn_cast<SymbolOpInterface>(op))
        if (isa<func::FuncOp>(op) == functions &&
            targetSymbols.lookup(sym.getNameAttr()))
          clashes.push_back("@" + sym.getName().str());
  if (!clashes.empty()) {
    // A clash usually repeats the whole model: name a few, count the rest.
    std::string list;
    for (auto [i, name] : llvm::enumerate(clashes)) {
      if (i == 4) {
        list += llvm::formatv(" and {0} more", clashes.size() - 4).str();
        break;
      }
      list += (i ? ", " : "") + name;
    }
    return fail(llvm::formatv("{0} symbol(s) already defined in the module: "
                              "{1} (use --entry / --weight-prefix)",
                              clashes.size(), list)
                    .str());
  }

  // Weights go after the target's last weight; functions at the end.
  Operation *lastWeight = nullptr;
  for (Operation &op : *target.getBody())
    if (isa<WeightOp>(op))
      lastWeight = &op;
  for (Operation &op : llvm::make_early_inc_range(*source.getBody())) {
    if (isa<WeightOp>(op)) {
      if (lastWeight)
        op.moveAfter(lastWeight);
      else
        op.moveBefore(target.getBody(), target.getBody()->begin());
      lastWeight = &op;
    } else {
      op.moveBefore(target.getBody(), target.getBody()->end());
    }
  }
  if (!target->hasAttr("edg.config"))
    if (Attribute config = source->getAttr("edg.config"))
      target->setAttr("edg.config", config);
  return llvm::Error::success();
}
