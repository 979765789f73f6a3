//===- AdaptEncoderDecoder.cpp - Gemma 2 -> T5Gemma -------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The whole adaptation of arXiv 2504.06225 §3 as one module rewrite:
//
//   @forward(ids, pos, valid) -> logits        (decoder-only, Gemma 2)
//     =>  @encode(ids, pos, valid) -> H_enc    (bidirectional, no LM head)
//         @decode(ids, pos, valid, H_enc, enc_valid) -> logits
//                                              (cross-attention inserted)
//
// Both stacks are clones of a decoder-only function: the same one for a
// balanced pair (2B-2B), two different ones for an unbalanced pair (9B-2B,
// where `edg-import --append-to` put a second model, with prefixed weight
// names, into the module; docs/design.md). Weights are renamed from
// `P model.X` to `model.encoder.X` / `model.decoder.X` and keep `init_from`
// the decoder-only key, so that binding the Gemma 2 checkpoint initialises
// the T5Gemma model (paper §3.2). The result must equal what edg-import
// builds from the matching T5Gemma config.json up to init attributes; the
// lit test test/passes/adapt-encoder-decoder-invariant.test checks that.
//
// The rewrite runs on a copy of the module and replaces the original only on
// success, so a failed adaptation leaves the input untouched.
//===----------------------------------------------------------------------===//
#include "passes/Adapt.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"

namespace mlir::edg {
#define GEN_PASS_DEF_ADAPTENCODERDECODER
#include "passes/Passes.h.inc"
} // namespace mlir::edg

using namespace mlir;
using namespace mlir::edg;

namespace {
/// The embedding key of a decoder-only model; what precedes it in the
/// embedding weight's name is that model's weight prefix ("" or "enc9b.").
constexpr StringLiteral kEmbedKey = "model.embed_tokens.weight";

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

/// Gemma 2 norm names -> T5Gemma's (MODEL_SPEC §2.3-2.4); the feed-forward
/// norms and the final `norm` keep their names.
StringRef toT5GemmaSegment(StringRef segment) {
  return llvm::StringSwitch<StringRef>(segment)
      .Case("input_layernorm", "pre_self_attn_layernorm")
      .Case("post_attention_layernorm", "post_self_attn_layernorm")
      .Default(segment);
}

/// An untied Gemma 2 head and its T5Gemma name (MODEL_SPEC §1.9, §2.7).
constexpr StringLiteral kGemma2Head = "lm_head.weight";
constexpr StringLiteral kT5GemmaHead = "lm_head.out_proj.weight";

/// `P model.X` -> `model.<stack>.X'` where X' has T5Gemma's norm names;
/// `P lm_head.weight` -> `lm_head.out_proj.weight`. The caller has checked
/// that `name` is one of these.
std::string stackWeightName(StringRef name, StringRef prefix, StringRef stack) {
  StringRef rest = name.drop_front(prefix.size());
  if (rest == kGemma2Head)
    return kT5GemmaHead.str();
  rest = rest.drop_front(strlen("model."));
  return "model." + stack.str() + "." + renameSegments(rest, toT5GemmaSegment);
}

/// The same rename for an HF module name in a NameLoc. Names outside
/// `model` (`lm_head`) are kept; a weight prefix is dropped if present.
std::string stackModuleName(StringRef name, StringRef prefix, StringRef stack) {
  if (!prefix.empty())
    name.consume_front(prefix);
  if (name == "model")
    return "model." + stack.str();
  if (!name.starts_with("model."))
    return name.str();
  return "model." + stack.str() + "." +
         renameSegments(name.drop_front(strlen("model.")), toT5GemmaSegment);
}

/// The location renamer for an op of `stack`. The untied head weight (and
/// its reads) belongs to HF module `lm_head` in Gemma 2 but
/// `lm_head.out_proj` in T5Gemma; the LM head op stays at `lm_head`.
std::function<std::string(StringRef)>
stackLocRenamer(StringRef prefix, StringRef stack, bool isHeadWeight) {
  return [prefix = prefix.str(), stack = stack.str(),
          isHeadWeight](StringRef name) {
    std::string renamed = stackModuleName(name, prefix, stack);
    if (isHeadWeight && renamed == "lm_head")
      return std::string("lm_head.out_proj");
    return renamed;
  };
}

/// Whether a weight belongs to a cross-attention sub-layer (its projections
/// or its two norms): the only weights the warm-up trains.
bool isCrossAttentionWeight(StringRef name) {
  SmallVector<StringRef> segments;
  name.split(segments, '.');
  return llvm::any_of(segments, [](StringRef s) {
    return s == "cross_attn" || s == "pre_cross_attn_layernorm" ||
           s == "post_cross_attn_layernorm";
  });
}

//===----------------------------------------------------------------------===//
// Decoder-only entry points
//===----------------------------------------------------------------------===//

/// A decoder-only function as the adaptation needs it.
struct Source {
  func::FuncOp func;
  std::string prefix; // weight prefix: "" or "enc9b."
  int64_t hidden = 0; // d
};

/// Names of the weights a stack built from `src` reads: all of `src`'s, but
/// an encoder has no LM head, so not an untied head.
llvm::StringSet<> stackWeights(const Source &src, StringRef stack);

/// Checks that `name` is a decoder-only entry point (one edg.embed of a
/// `P model.embed_tokens.weight`, logits from edg.lm_head, every weight
/// named `P model.*`) and returns what the rewrite needs.
FailureOr<Source> analyseSource(ModuleOp module, StringRef name,
                                StringRef option) {
  Source src;
  src.func = module.lookupSymbol<func::FuncOp>(name);
  if (!src.func || src.func.isExternal())
    return module.emitError()
           << "edg-adapt-encoder-decoder: no decoder-only function @" << name
           << " in the module (" << option << "=" << name << ")";
  func::FuncOp func = src.func;

  SmallVector<EmbedOp> embeds;
  func.walk([&](EmbedOp op) { embeds.push_back(op); });
  if (embeds.size() != 1)
    return func.emitError() << "@" << name
                            << " is not a decoder-only entry point: expected "
                               "one edg.embed, found "
                            << embeds.size();
  auto table = embeds.front().getTable().getDefiningOp<UseWeightOp>();
  if (!table || !table.getName().ends_with(kEmbedKey))
    return embeds.front().emitOpError()
           << "must read a weight named '<prefix>" << kEmbedKey
           << "' so the adaptation can tell the model's weight prefix";
  src.prefix = table.getName().drop_back(kEmbedKey.size()).str();

  auto ret = dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator());
  LmHeadOp head = ret && ret.getNumOperands() == 1
                      ? ret.getOperand(0).getDefiningOp<LmHeadOp>()
                      : LmHeadOp();
  if (!head)
    return func.emitError() << "@" << name
                            << " is not a decoder-only entry point: it must "
                               "return the logits of an edg.lm_head";
  auto hiddenType = cast<RankedTensorType>(head.getInput().getType());
  if (hiddenType.getRank() != 3 || hiddenType.isDynamicDim(2))
    return head.emitOpError()
           << "needs a static hidden size, got " << hiddenType;
  src.hidden = hiddenType.getDimSize(2);

  // Every weight is the model's own (`P model.*`), or its untied head.
  std::string modelPrefix = src.prefix + "model.";
  std::string headKey = src.prefix + kGemma2Head.str();
  WalkResult named = func.walk([&](UseWeightOp op) {
    if (op.getName().starts_with(modelPrefix) || op.getName() == headKey)
      return WalkResult::advance();
    op.emitOpError() << "reads @\"" << op.getName()
                     << "\", which is not named '" << modelPrefix
                     << "*': only the decoder-only model's own weights can be "
                        "renamed to model.encoder.* / model.decoder.*";
    return WalkResult::interrupt();
  });
  if (named.wasInterrupted())
    return failure();
  return src;
}

/// Names of the weights `func` reads.
llvm::StringSet<> weightsReadBy(func::FuncOp func) {
  llvm::StringSet<> names;
  func.walk([&](UseWeightOp op) { names.insert(op.getName()); });
  return names;
}

llvm::StringSet<> stackWeights(const Source &src, StringRef stack) {
  llvm::StringSet<> names = weightsReadBy(src.func);
  if (stack == "encoder")
    names.erase(src.prefix + kGemma2Head.str());
  return names;
}

//===----------------------------------------------------------------------===//
// Cloning one stack
//===----------------------------------------------------------------------===//

/// Declares `model.<stack>.*` copies of the weights `src` reads, in module
/// order, before `anchor`. Each copy initialises from the decoder-only key.
void cloneWeights(ModuleOp module, SymbolTable &symbols, const Source &src,
                  StringRef stack, Operation *anchor) {
  llvm::StringSet<> read = stackWeights(src, stack);
  for (auto weight : llvm::to_vector(module.getOps<WeightOp>())) {
    if (!read.contains(weight.getSymName()))
      continue;
    auto copy = cast<WeightOp>(weight->clone());
    copy.setSymName(stackWeightName(weight.getSymName(), src.prefix, stack));
    // The decoder-only key, or what it in turn initialises from.
    copy.setInitFromAttr(weight.getInitFromAttr()
                             ? weight.getInitFromAttr()
                             : FlatSymbolRefAttr::get(weight.getSymNameAttr()));
    bool isHead = weight.getSymName() == src.prefix + kGemma2Head.str();
    copy->setLoc(
        renameLoc(weight.getLoc(), stackLocRenamer(src.prefix, stack, isHead)));
    symbols.insert(copy, Block::iterator(anchor));
  }
}

/// Clones `src` as `@name` before `anchor`, reading the `model.<stack>.*`
/// weights, with locations naming T5Gemma's modules.
func::FuncOp cloneFunction(SymbolTable &symbols, const Source &src,
                           StringRef name, StringRef stack, Operation *anchor) {
  auto func = cast<func::FuncOp>(src.func->clone());
  func.setSymName(name);
  auto rename = stackLocRenamer(src.prefix, stack, /*isHeadWeight=*/false);
  std::string headKey = src.prefix + kGemma2Head.str();
  func->walk([&](Operation *op) {
    auto use = dyn_cast<UseWeightOp>(op);
    bool readsHead = use && use.getName() == headKey;
    op->setLoc(renameLoc(op->getLoc(),
                         readsHead ? stackLocRenamer(src.prefix, stack, true)
                                   : rename));
    if (use)
      use.setNameAttr(FlatSymbolRefAttr::get(
          op->getContext(), stackWeightName(use.getName(), src.prefix, stack)));
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          arg.setLoc(renameLoc(arg.getLoc(), rename));
  });
  symbols.insert(func, Block::iterator(anchor));
  return func;
}

/// Turns the `@encode` clone into the encoder: the final-normed hidden
/// states [B, T, d_enc] are returned instead of the logits, and the masks
/// become bidirectional.
LogicalResult finishEncoder(func::FuncOp encode) {
  auto ret = cast<func::ReturnOp>(encode.getBody().front().getTerminator());
  auto head = ret.getOperand(0).getDefiningOp<LmHeadOp>();
  Value hidden = head.getInput();
  ret.setOperand(0, hidden);
  // edg-import puts the return at the module it returns (the final norm).
  if (Operation *def = hidden.getDefiningOp())
    ret->setLoc(def->getLoc());
  head.erase();
  // The head may have had its own read of the embedding table.
  SmallVector<Operation *> dead;
  encode.walk([&](UseWeightOp op) {
    if (op->use_empty())
      dead.push_back(op);
  });
  for (Operation *op : dead)
    op->erase();
  encode.setFunctionType(FunctionType::get(
      encode.getContext(), encode.getArgumentTypes(), {hidden.getType()}));
  return makeBidirectional(encode);
}

//===----------------------------------------------------------------------===//
// The rewrite, on a module the caller may throw away
//===----------------------------------------------------------------------===//

LogicalResult adaptInPlace(ModuleOp module, const AdaptOptions &options) {
  StringRef decName = options.decoderFrom;
  StringRef encName =
      options.encoderFrom.empty() ? decName : StringRef(options.encoderFrom);
  FailureOr<Source> dec = analyseSource(module, decName, "decoder-from");
  if (failed(dec))
    return failure();
  FailureOr<Source> enc = analyseSource(module, encName, "encoder-from");
  if (failed(enc))
    return failure();

  for (StringRef taken : {"encode", "decode"})
    if (Operation *op = module.lookupSymbol(taken))
      return op->emitError() << "edg-adapt-encoder-decoder: the module already "
                                "has @"
                             << taken;
  SymbolTable symbols(module);
  for (auto [src, stack] :
       {std::pair{&*enc, StringRef("encoder")}, {&*dec, StringRef("decoder")}})
    for (const auto &entry : stackWeights(*src, stack)) {
      std::string name = stackWeightName(entry.getKey(), src->prefix, stack);
      if (Operation *op = symbols.lookup(name))
        return op->emitError() << "edg-adapt-encoder-decoder: @\"" << name
                               << "\" already exists";
    }

  // New weights go where the first decoder-only weight was, encoder first
  // (module order is execution order); the functions where the first
  // decoder-only function was.
  llvm::StringSet<> readBySources = weightsReadBy(enc->func);
  for (const auto &entry : weightsReadBy(dec->func))
    readBySources.insert(entry.getKey());
  Operation *weightAnchor = nullptr;
  for (WeightOp weight : module.getOps<WeightOp>())
    if (readBySources.contains(weight.getSymName())) {
      weightAnchor = weight;
      break;
    }
  Operation *funcAnchor = enc->func->isBeforeInBlock(dec->func)
                              ? enc->func.getOperation()
                              : dec->func.getOperation();

  cloneWeights(module, symbols, *enc, "encoder", weightAnchor);
  cloneWeights(module, symbols, *dec, "decoder", weightAnchor);
  func::FuncOp encode =
      cloneFunction(symbols, *enc, "encode", "encoder", funcAnchor);
  func::FuncOp decode =
      cloneFunction(symbols, *dec, "decode", "decoder", funcAnchor);

  if (failed(finishEncoder(encode)))
    return failure();

  // Paper §3.2: cross-attention starts from self-attention on a balanced
  // pair and from scratch on an unbalanced one.
  CrossAttentionOptions cross;
  cross.encoderHidden = enc->hidden;
  cross.initFromSelfAttention = enc->hidden == dec->hidden;
  if (failed(insertCrossAttention(decode, cross)))
    return failure();

  // Drop the decoder-only functions and the weights nothing reads any more.
  llvm::StringSet<> oldWeights = std::move(readBySources);
  enc->func.erase();
  if (dec->func != enc->func)
    dec->func.erase();
  llvm::StringSet<> stillRead;
  module.walk([&](UseWeightOp op) { stillRead.insert(op.getName()); });
  for (auto weight : llvm::to_vector(module.getOps<WeightOp>()))
    if (oldWeights.contains(weight.getSymName()) &&
        !stillRead.contains(weight.getSymName()))
      weight.erase();

  // Warm-up: only cross-attention trains for the first N steps. Weights of
  // other functions in the module (a second, unused model) are not ours.
  if (options.warmupFreeze > 0) {
    auto steps = IntegerAttr::get(IntegerType::get(module.getContext(), 64),
                                  options.warmupFreeze);
    llvm::StringSet<> adapted = weightsReadBy(encode);
    for (const auto &entry : weightsReadBy(decode))
      adapted.insert(entry.getKey());
    for (WeightOp weight : module.getOps<WeightOp>())
      if (adapted.contains(weight.getSymName()) &&
          !isCrossAttentionWeight(weight.getSymName()) && !weight.getFrozen())
        weight.setFrozenStepsAttr(steps);
  }

  if (auto config = module->getAttrOfType<DictionaryAttr>("edg.config")) {
    NamedAttrList entries(config);
    entries.set("model_type", StringAttr::get(module.getContext(), "t5gemma"));
    module->setAttr("edg.config", entries.getDictionary(module.getContext()));
  }
  return success();
}
} // namespace

LogicalResult mlir::edg::adaptEncoderDecoder(ModuleOp module,
                                             const AdaptOptions &options) {
  if (options.warmupFreeze < 0)
    return module.emitError() << "edg-adapt-encoder-decoder: warmup-freeze "
                                 "must be >= 0, got "
                              << options.warmupFreeze;
  OwningOpRef<ModuleOp> work = cast<ModuleOp>(module->clone());
  if (failed(adaptInPlace(*work, options)))
    return failure();
  // Success: move the result into `module`, keeping its identity.
  Block *body = module.getBody();
  body->clear();
  body->getOperations().splice(body->end(), work->getBody()->getOperations());
  module->setAttrs(work->getOperation()->getAttrDictionary());
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct AdaptEncoderDecoder
    : mlir::edg::impl::AdaptEncoderDecoderBase<AdaptEncoderDecoder> {
  using Base::Base;

  void runOnOperation() override {
    AdaptOptions options;
    options.decoderFrom = decoderFrom;
    options.encoderFrom = encoderFrom;
    options.warmupFreeze = warmupFreeze;
    if (failed(adaptEncoderDecoder(getOperation(), options)))
      signalPassFailure();
  }
};
} // namespace
