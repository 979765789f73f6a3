//===- InsertCrossAttention.cpp - decoder cross-attention -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The second step of the paper's adaptation (arXiv 2504.06225 §3.1, Fig. 1):
// a T5Gemma decoder layer is a Gemma 2 layer with a cross-attention sub-layer
// between self-attention and the MLP (MODEL_SPEC §2.4):
//
//   y = y + PostSA(SelfAttn(PreSA(y)))          <- matched here
//   y = y + PostCA(CrossAttn(PreCA(y), H_enc))  <- inserted
//   y = y + PostFF(MLP(PreFF(y)))
//
// Cross-attention copies the layer's head counts, head_dim, scale and
// soft-cap (MODEL_SPEC §2.5); its K/V read the encoder output
// [B, S, D_enc]. The new weights get T5Gemma's checkpoint names and are
// initialised as in paper §3.2: from the self-attention weights and norms on
// a balanced pair, fresh on an unbalanced one (D_enc != d_dec).
//===----------------------------------------------------------------------===//
#include "passes/Adapt.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"

#include <array>
#include <cstring>

namespace mlir::edg {
#define GEN_PASS_DEF_INSERTCROSSATTENTION
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {
/// The suffix of a self-attention query weight; what precedes it is the
/// layer's prefix ("model.decoder.layers.3.").
constexpr StringLiteral kSelfQuery = "self_attn.q_proj.weight";

/// Standard deviation of fresh projections (the usual Gemma initialiser).
constexpr double kFreshStddev = 0.02;

/// One decoder layer's self-attention block:
/// `residual = add(x, postNorm(attention(preNorm(x))))`.
struct Layer {
  SelfAttentionOp attention;
  RmsNormOp preNorm; // may be null: only needed to initialise from it
  RmsNormOp postNorm;
  AddOp residual;
  std::string prefix; // "model.decoder.layers.3."
};

/// The weight a value reads, or null when it is not an edg.use_weight.
WeightOp weightOf(Value value, SymbolTable &symbols) {
  auto use = value.getDefiningOp<UseWeightOp>();
  return use ? symbols.lookup<WeightOp>(use.getName()) : WeightOp();
}

/// What a copy of `weight` initialises from: the checkpoint key `weight`
/// itself initialises from, if any (a weight renamed by the adaptation),
/// else `weight`.
FlatSymbolRefAttr initSource(WeightOp weight) {
  if (FlatSymbolRefAttr from = weight.getInitFromAttr())
    return from;
  return FlatSymbolRefAttr::get(weight.getSymNameAttr());
}

/// Self-attention module names -> the cross-attention ones, segment-wise.
/// Covers both Gemma 2 and T5Gemma norm names so the pass works on a
/// function before or after edg-adapt-encoder-decoder's renames.
StringRef selfToCross(StringRef segment) {
  return llvm::StringSwitch<StringRef>(segment)
      .Case("self_attn", "cross_attn")
      .Cases("input_layernorm", "pre_self_attn_layernorm",
             "pre_cross_attn_layernorm")
      .Cases("post_attention_layernorm", "post_self_attn_layernorm",
             "post_cross_attn_layernorm")
      .Default(segment);
}

/// The location of a new op: the location of its self-attention analogue
/// with module names mapped by selfToCross, or `fallback` (an HF module
/// name) when the analogue names no module (hand-written IR).
Location crossLoc(Operation *analogue, StringRef fallback, MLIRContext *ctx) {
  if (!analogue || !hasNameLoc(analogue->getLoc()))
    return NameLoc::get(StringAttr::get(ctx, fallback));
  return renameLoc(analogue->getLoc(), [](StringRef name) {
    return renameSegments(name, selfToCross);
  });
}

/// Matches the self-attention block around `op`.
FailureOr<Layer> matchLayer(SelfAttentionOp op) {
  Layer layer;
  layer.attention = op;
  layer.preNorm = op.getInput().getDefiningOp<RmsNormOp>();
  auto fail = [&](StringRef why) {
    return op.emitOpError() << "is not a Gemma 2 decoder layer "
                               "(self_attention -> rms_norm -> add): "
                            << why;
  };
  if (!op->hasOneUse())
    return fail("its result has more than one use");
  layer.postNorm = dyn_cast<RmsNormOp>(*op->user_begin());
  if (!layer.postNorm || layer.postNorm.getInput() != op.getResult())
    return fail("its result does not feed an edg.rms_norm");
  if (!layer.postNorm->hasOneUse())
    return fail("the post-attention norm has more than one use");
  layer.residual = dyn_cast<AddOp>(*layer.postNorm->user_begin());
  if (!layer.residual)
    return fail("the post-attention norm does not feed an edg.add");

  // The layer prefix comes from the query weight's checkpoint key.
  auto query = op.getQProj().getDefiningOp<UseWeightOp>();
  if (!query || !query.getName().ends_with(kSelfQuery))
    return op.emitOpError()
           << "q_proj must be an edg.use_weight of a weight named '<prefix>"
           << kSelfQuery << "' to name the cross-attention weights";
  layer.prefix = query.getName().drop_back(kSelfQuery.size()).str();
  return layer;
}

/// `type` as the IR prints it (a Type streamed into a diagnostic is quoted).
std::string str(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

/// D_enc from the first result of `name` ([B, S, D_enc]), or 0.
int64_t encoderWidthFrom(ModuleOp module, StringRef name) {
  auto encode = module.lookupSymbol<func::FuncOp>(name);
  if (!encode || encode.getNumResults() == 0)
    return 0;
  auto type = dyn_cast<RankedTensorType>(encode.getResultTypes()[0]);
  if (!type || type.getRank() != 3 || type.isDynamicDim(2))
    return 0;
  return type.getDimSize(2);
}

/// D_enc for `func`: from its `%encoder` argument when it has one
/// (arguments 3 and 4, docs/design.md), else from the option, else from the
/// encoder function's result. Checks the argument list; changes nothing.
FailureOr<int64_t> resolveEncoderWidth(func::FuncOp func, Type elementType,
                                       const CrossAttentionOptions &options) {
  int64_t width = options.encoderHidden;
  if (func.getNumArguments() == 5) {
    auto enc = dyn_cast<RankedTensorType>(func.getArgumentTypes()[3]);
    auto valid = dyn_cast<RankedTensorType>(func.getArgumentTypes()[4]);
    if (!enc || enc.getRank() != 3 || enc.getElementType() != elementType ||
        !valid || valid.getRank() != 2 || !valid.getElementType().isInteger(1))
      return func.emitError()
             << "@" << func.getSymName()
             << ": arguments 3 and 4 must be %encoder tensor<?x?xD_encx"
             << str(elementType) << "> and %encoder_valid tensor<?x?xi1>";
    if (!enc.isDynamicDim(2)) {
      if (width != 0 && width != enc.getDimSize(2))
        return func.emitError()
               << "encoder-hidden=" << width << " disagrees with @"
               << func.getSymName() << "'s %encoder argument " << enc;
      width = enc.getDimSize(2);
    }
    if (width <= 0)
      return func.emitError()
             << "cannot tell the encoder width from @" << func.getSymName()
             << "'s %encoder argument: pass encoder-hidden=N";
    return width;
  }

  if (func.getNumArguments() != 3)
    return func.emitError()
           << "@" << func.getSymName()
           << " must take (%ids, %positions, %valid), optionally followed by "
              "(%encoder, %encoder_valid); it has "
           << func.getNumArguments() << " arguments";
  if (width == 0)
    width = encoderWidthFrom(func->getParentOfType<ModuleOp>(),
                             options.encoderFunction);
  if (width <= 0)
    return func.emitError()
           << "cannot tell the encoder width D_enc for @" << func.getSymName()
           << ": pass encoder-hidden=N, or define @" << options.encoderFunction
           << " returning tensor<?x?xD_encx" << str(elementType) << ">";
  return width;
}

/// `%encoder` [B, S, D_enc] and `%encoder_valid` [B, S] of `func`, appended
/// when the function takes only (ids, positions, valid).
std::pair<Value, Value> encoderArguments(func::FuncOp func, Type elementType,
                                         int64_t encoderHidden) {
  if (func.getNumArguments() == 3) {
    // Dynamic batch and encoder length, like every other entry argument.
    int64_t dyn = ShapedType::kDynamic;
    auto encType =
        RankedTensorType::get({dyn, dyn, encoderHidden}, elementType);
    auto validType = RankedTensorType::get(
        {dyn, dyn}, IntegerType::get(func.getContext(), 1));
    func.insertArgument(3, encType, DictionaryAttr(), func.getLoc());
    func.insertArgument(4, validType, DictionaryAttr(), func.getLoc());
  }
  return {func.getArgument(3), func.getArgument(4)};
}

/// The six new weights of one layer, in module (execution) order.
struct CrossWeights {
  WeightOp preNorm, q, k, v, o, postNorm;
};

/// Checkpoint-key suffixes of the new weights, in CrossWeights order.
constexpr StringLiteral kCrossSuffixes[] = {
    "pre_cross_attn_layernorm.weight", "cross_attn.q_proj.weight",
    "cross_attn.k_proj.weight",        "cross_attn.v_proj.weight",
    "cross_attn.o_proj.weight",        "post_cross_attn_layernorm.weight"};

/// The self-attention weights a layer's cross-attention weights mirror, in
/// CrossWeights order (entries may be null when not read via use_weight).
std::array<WeightOp, 6> analogues(Layer layer, SymbolTable &symbols) {
  SelfAttentionOp sa = layer.attention;
  return {layer.preNorm ? weightOf(layer.preNorm.getWeight(), symbols)
                        : WeightOp(),
          weightOf(sa.getQProj(), symbols),
          weightOf(sa.getKProj(), symbols),
          weightOf(sa.getVProj(), symbols),
          weightOf(sa.getOProj(), symbols),
          weightOf(layer.postNorm.getWeight(), symbols)};
}

/// Whether the layer's weights can be declared: no name taken, and, to
/// initialise from self-attention, every analogue known.
LogicalResult checkLayer(Layer layer, SymbolTable &symbols,
                         bool fromSelfAttention) {
  for (StringRef suffix : kCrossSuffixes) {
    std::string name = layer.prefix + suffix.str();
    if (symbols.lookup(name))
      return layer.attention.emitOpError()
             << "cannot insert cross-attention: @\"" << name
             << "\" already exists";
  }
  if (fromSelfAttention &&
      llvm::is_contained(analogues(layer, symbols), WeightOp()))
    return layer.attention.emitOpError()
           << "cannot initialise cross-attention from self-attention: the "
              "layer's projections and its pre/post norms must all read "
              "edg.use_weight (pass init-from-self-attention=false for fresh "
              "weights)";
  return success();
}

/// Declares the layer's cross-attention weights right after the weight of
/// its post-self-attention norm, so that module order stays execution order.
/// checkLayer must have succeeded.
CrossWeights declareWeights(Layer layer, SymbolTable &symbols,
                            int64_t decoderHidden, int64_t encoderHidden,
                            bool fromSelfAttention) {
  SelfAttentionOp sa = layer.attention;
  MLIRContext *ctx = sa.getContext();
  Type et = getElementTypeOrSelf(sa.getInput().getType());
  int64_t heads = sa.getNumHeads(), kvHeads = sa.getNumKvHeads(),
          hd = sa.getHeadDim();

  // Shapes (MODEL_SPEC §2.7): norms [d_dec], q [H*hd, d_dec],
  // k/v [K*hd, D_enc], o [d_dec, H*hd].
  auto tensor = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, et);
  };
  RankedTensorType types[] = {tensor({decoderHidden}),
                              tensor({heads * hd, decoderHidden}),
                              tensor({kvHeads * hd, encoderHidden}),
                              tensor({kvHeads * hd, encoderHidden}),
                              tensor({decoderHidden, heads * hd}),
                              tensor({decoderHidden})};
  std::array<WeightOp, 6> from = analogues(layer, symbols);
  auto normal = InitAttr::get(ctx, InitKind::normal, APFloat(kFreshStddev));
  auto zeros = InitAttr::get(ctx, InitKind::zeros, APFloat(0.0));

  Operation *anchor = from[5] ? from[5].getOperation() : from[1].getOperation();
  OpBuilder builder(ctx);
  SmallVector<WeightOp, 6> created;
  for (auto [i, suffix] : llvm::enumerate(kCrossSuffixes)) {
    bool isNorm = i == 0 || i == 5;
    FlatSymbolRefAttr initFrom;
    InitAttr init;
    if (fromSelfAttention)
      initFrom = initSource(from[i]);
    else
      init = isNorm ? zeros : normal;
    // HF module of the weight: the norm itself, or the cross_attn block.
    std::string module =
        layer.prefix + (isNorm ? StringRef(suffix).drop_back(strlen(".weight"))
                               : StringRef("cross_attn"))
                           .str();
    auto weight = builder.create<WeightOp>(
        crossLoc(from[i], module, ctx),
        StringAttr::get(ctx, layer.prefix + suffix.str()),
        TypeAttr::get(types[i]), initFrom, init, /*frozen=*/UnitAttr(),
        /*frozen_steps=*/IntegerAttr());
    symbols.insert(weight, std::next(Block::iterator(anchor)));
    anchor = weight;
    created.push_back(weight);
  }
  return CrossWeights{created[0], created[1], created[2],
                      created[3], created[4], created[5]};
}

/// Builds pre-norm -> cross_attention -> post-norm -> add after the layer's
/// self-attention residual and reroutes the residual stream through it.
void buildSubLayer(Layer layer, const CrossWeights &weights, Value encoder,
                   Value encoderValid) {
  SelfAttentionOp sa = layer.attention;
  MLIRContext *ctx = sa.getContext();
  Value stream = layer.residual.getResult(); // [B, T, d_dec]
  Type streamType = stream.getType();
  std::string module = layer.prefix + "cross_attn";
  std::string preModule = layer.prefix + "pre_cross_attn_layernorm";
  std::string postModule = layer.prefix + "post_cross_attn_layernorm";
  std::string layerModule = StringRef(layer.prefix).drop_back().str();

  OpBuilder b(ctx);
  b.setInsertionPointAfter(layer.residual);
  auto read = [&](WeightOp weight, Value analogue,
                  StringRef fallback) -> Value {
    Operation *def = analogue ? analogue.getDefiningOp() : nullptr;
    return b.create<UseWeightOp>(
        crossLoc(def, fallback, ctx), weight.getType(),
        FlatSymbolRefAttr::get(weight.getSymNameAttr()));
  };
  FloatAttr eps = layer.postNorm.getEpsAttr();

  // PreCA(y): [B, T, d_dec].
  Value preW =
      read(weights.preNorm, layer.preNorm ? layer.preNorm.getWeight() : Value(),
           preModule);
  auto pre = b.create<RmsNormOp>(crossLoc(layer.preNorm, preModule, ctx),
                                 streamType, stream, preW, eps);

  // CrossAttn(PreCA(y), H_enc): q from the decoder, k/v from [B, S, D_enc].
  Value q = read(weights.q, sa.getQProj(), module);
  Value k = read(weights.k, sa.getKProj(), module);
  Value v = read(weights.v, sa.getVProj(), module);
  Value o = read(weights.o, sa.getOProj(), module);
  auto cross = b.create<CrossAttentionOp>(
      crossLoc(sa, module, ctx), streamType, pre.getResult(), encoder, q, k, v,
      o, encoderValid, sa.getNumHeadsAttr(), sa.getNumKvHeadsAttr(),
      sa.getHeadDimAttr(), sa.getScaleAttr(), sa.getSoftcapAttr());

  // PostCA(...), then the residual add with the operands in the order the
  // self-attention residual uses.
  Value postW = read(weights.postNorm, layer.postNorm.getWeight(), postModule);
  auto post = b.create<RmsNormOp>(crossLoc(layer.postNorm, postModule, ctx),
                                  streamType, cross.getResult(), postW, eps);
  bool branchFirst = layer.residual.getLhs() == layer.postNorm.getResult();
  Value lhs = branchFirst ? post.getResult() : stream;
  Value rhs = branchFirst ? stream : post.getResult();
  auto add = b.create<AddOp>(crossLoc(layer.residual, layerModule, ctx),
                             streamType, lhs, rhs);

  // Everything downstream (the MLP block, later layers) now reads y + CA.
  SmallPtrSet<Operation *, 2> keep{pre, add};
  stream.replaceAllUsesExcept(add.getResult(), keep);
}
} // namespace

LogicalResult
mlir::edg::insertCrossAttention(func::FuncOp func,
                                const CrossAttentionOptions &options) {
  if (func.isExternal())
    return func.emitError() << "@" << func.getSymName() << " has no body";
  auto module = func->getParentOfType<ModuleOp>();
  if (!module)
    return func.emitError()
           << "@" << func.getSymName() << " is not in a module";

  // Running twice would stack a second cross-attention on every layer.
  CrossAttentionOp existing;
  func.walk([&](CrossAttentionOp op) {
    existing = op;
    return WalkResult::interrupt();
  });
  if (existing)
    return existing.emitOpError()
           << "@" << func.getSymName()
           << " already has cross-attention; insert it only once";

  SmallVector<Layer> layers;
  bool matched = true;
  func.walk([&](SelfAttentionOp op) {
    FailureOr<Layer> layer = matchLayer(op);
    if (failed(layer))
      matched = false;
    else
      layers.push_back(*layer);
  });
  if (!matched)
    return failure();
  if (layers.empty())
    return func.emitError() << "@" << func.getSymName()
                            << " has no self-attention layer to extend";

  // d_dec and the dtype come from the residual stream [B, T, d_dec].
  auto streamType = cast<RankedTensorType>(layers.front().residual.getType());
  if (streamType.getRank() != 3 || streamType.isDynamicDim(2))
    return layers.front().residual.emitOpError()
           << "needs a static hidden size, got " << streamType;
  int64_t decoderHidden = streamType.getDimSize(2);
  Type elementType = streamType.getElementType();

  FailureOr<int64_t> encoderHidden =
      resolveEncoderWidth(func, elementType, options);
  if (failed(encoderHidden))
    return failure();

  // Paper §3.2: balanced pairs copy self-attention; unbalanced pairs cannot
  // (k/v are [K*hd, D_enc], not [K*hd, d_dec]) and start from scratch.
  if (options.initFromSelfAttention && *encoderHidden != decoderHidden)
    return func.emitError()
           << "cannot initialise cross-attention from self-attention in @"
           << func.getSymName() << ": the encoder width " << *encoderHidden
           << " differs from the decoder width " << decoderHidden
           << " (an unbalanced pair); pass init-from-self-attention=false "
              "for fresh weights, as the paper does";

  // Check every layer before changing anything, so that a failure leaves
  // the module as it was. Two layers reading one query weight would get the
  // same new weight names.
  SymbolTable symbols(module);
  llvm::StringMap<SelfAttentionOp> byPrefix;
  for (Layer layer : layers) {
    auto [it, fresh] = byPrefix.try_emplace(layer.prefix, layer.attention);
    if (!fresh)
      return layer.attention.emitOpError()
             << "shares its layer prefix '" << layer.prefix
             << "' (from its q_proj weight) with another self-attention; "
                "each layer needs its own weights";
    if (failed(checkLayer(layer, symbols, options.initFromSelfAttention)))
      return failure();
  }

  auto [encoder, encoderValid] =
      encoderArguments(func, elementType, *encoderHidden);
  for (Layer layer : layers) {
    CrossWeights weights =
        declareWeights(layer, symbols, decoderHidden, *encoderHidden,
                       options.initFromSelfAttention);
    buildSubLayer(layer, weights, encoder, encoderValid);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct InsertCrossAttention
    : mlir::edg::impl::InsertCrossAttentionBase<InsertCrossAttention> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(function);
    if (!func) {
      module.emitError() << "edg-insert-cross-attention: no function @"
                         << function << " in the module";
      return signalPassFailure();
    }
    if (encoderHidden < 0) {
      module.emitError() << "edg-insert-cross-attention: encoder-hidden must "
                            "be >= 0, got "
                         << encoderHidden;
      return signalPassFailure();
    }
    CrossAttentionOptions options;
    options.encoderHidden = encoderHidden;
    options.initFromSelfAttention = initFromSelfAttention;
    if (failed(insertCrossAttention(func, options)))
      signalPassFailure();
  }
};
} // namespace
