//===- ModelConfig.cpp - parse HF config.json into ModelConfig --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Reads a Gemma 2 (`Gemma2Config`) or T5Gemma (`T5GemmaConfig` with
// `encoder`/`decoder` `T5GemmaModuleConfig`s) config.json with llvm::json.
// Defaults follow HF (MODEL_SPEC §1.1, §2.2) except for the sizes that define
// the model (hidden_size, heads, layers, ...), which must be present: a
// missing one is a truncated or foreign config, not a 2B model. Every error
// names the field, prefixed by its sub-config ("decoder.sliding_window").
//===----------------------------------------------------------------------===//
#include "frontend/ModelConfig.h"
#include "frontend/ConfigFields.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir::edg;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

//===----------------------------------------------------------------------===//
// Pieces of a stack config
//===----------------------------------------------------------------------===//

/// `hidden_activation`, else the legacy `hidden_act`, else HF's default.
Error readActivation(const ConfigFields &f, StackConfig &s) {
  std::optional<std::string> act;
  StringRef key = "hidden_activation";
  if (Error e = f.optionalString(key, act))
    return e;
  if (!act) {
    key = "hidden_act";
    if (Error e = f.optionalString(key, act))
      return e;
  }
  if (!act || *act == "gelu_pytorch_tanh" || *act == "gelu_tanh") {
    s.activation = MlpActivation::GeluTanh;
    return Error::success();
  }
  return configError("unsupported " + f.name(key) + " '" + *act +
                     "' (expected gelu_pytorch_tanh or gelu_tanh)");
}

/// `layer_types` (default: sliding at even i) and the window it needs.
Error readLayerTypes(const ConfigFields &f, StackConfig &s) {
  s.layerTypes.clear();
  const json::Value *v = f.get("layer_types");
  if (!v || v->kind() == json::Value::Null) {
    for (int64_t i = 0; i < s.numLayers; ++i)
      s.layerTypes.push_back(i % 2 == 0 ? LayerKind::Sliding : LayerKind::Full);
  } else {
    const json::Array *a = v->getAsArray();
    if (!a)
      return f.typeError("layer_types", "an array of strings");
    if (static_cast<int64_t>(a->size()) != s.numLayers)
      return configError(llvm::formatv(
          "{0} has {1} entries but {2} is {3}", f.name("layer_types"),
          a->size(), f.name("num_hidden_layers"), s.numLayers));
    for (auto [i, entry] : llvm::enumerate(*a)) {
      std::optional<StringRef> str = entry.getAsString();
      if (str && *str == "sliding_attention")
        s.layerTypes.push_back(LayerKind::Sliding);
      else if (str && *str == "full_attention")
        s.layerTypes.push_back(LayerKind::Full);
      else
        return configError(llvm::formatv(
            "{0}[{1}] is {2}; expected \"sliding_attention\" or "
            "\"full_attention\"",
            f.name("layer_types"), i,
            str ? ("\"" + *str + "\"").str() : jsonKindName(entry).str()));
    }
  }

  // The window only matters (and is only checked) when some layer slides.
  auto firstSliding = llvm::find(s.layerTypes, LayerKind::Sliding);
  if (firstSliding == s.layerTypes.end())
    return Error::success();
  int64_t layer = firstSliding - s.layerTypes.begin();
  if (f.isNull("sliding_window"))
    return configError(
        llvm::formatv("{0} is null but layer {1} is sliding_attention",
                      f.name("sliding_window"), layer));
  if (Error e = f.optionalInt("sliding_window", s.slidingWindow))
    return e;
  if (s.slidingWindow <= 0)
    return configError(llvm::formatv(
        "field '{0}' must be > 0 when layers slide (layer {1}), got {2}",
        f.name("sliding_window"), layer, s.slidingWindow));
  return Error::success();
}

/// One `rope_parameters` dictionary: rope_type must be "default".
Error readRopeDict(const ConfigFields &f, StringRef key,
                   const json::Object &obj, double &theta) {
  ConfigFields rope(obj, f.name(key) + ".");
  std::optional<std::string> type;
  if (Error e = rope.optionalString("rope_type", type))
    return e;
  if (!type) // rope_scaling spells it "type" in older configs
    if (Error e = rope.optionalString("type", type))
      return e;
  if (type && *type != "default")
    return configError("unsupported " + rope.name("rope_type") + " '" + *type +
                       "' (only default RoPE is implemented)");
  if (Error e = rope.optionalDouble("rope_theta", theta))
    return e;
  return rope.positive("rope_theta", theta);
}

/// RoPE base: `rope_parameters` (newer HF: one dictionary, or one per layer
/// type), else `rope_theta`, else 10000. Any `rope_scaling` must be default.
Error readRope(const ConfigFields &f, StackConfig &s) {
  if (const json::Value *scaling = f.get("rope_scaling");
      scaling && scaling->kind() != json::Value::Null) {
    const json::Object *obj = scaling->getAsObject();
    if (!obj)
      return f.typeError("rope_scaling", "an object or null");
    double unused = 1.0;
    if (Error e = readRopeDict(f, "rope_scaling", *obj, unused))
      return e;
  }

  double theta = 10000.0;
  if (Error e = f.optionalDouble("rope_theta", theta))
    return e;
  if (Error e = f.positive("rope_theta", theta))
    return e;
  s.ropeTheta[0] = s.ropeTheta[1] = theta;

  const json::Value *params = f.get("rope_parameters");
  if (!params || params->kind() == json::Value::Null)
    return Error::success();
  const json::Object *obj = params->getAsObject();
  if (!obj)
    return f.typeError("rope_parameters", "an object or null");
  if (!obj->get("sliding_attention") && !obj->get("full_attention")) {
    if (Error e = readRopeDict(f, "rope_parameters", *obj, s.ropeTheta[0]))
      return e;
    s.ropeTheta[1] = s.ropeTheta[0];
    return Error::success();
  }
  // Per layer type: {"sliding_attention": {...}, "full_attention": {...}}.
  for (auto [key, kind] : {std::pair{"sliding_attention", LayerKind::Sliding},
                           {"full_attention", LayerKind::Full}}) {
    const json::Value *sub = obj->get(key);
    if (!sub)
      continue;
    const json::Object *subObj = sub->getAsObject();
    if (!subObj)
      return configError("field '" + f.name("rope_parameters") + "." + key +
                         "' must be an object, got " + jsonKindName(*sub));
    if (Error e = readRopeDict(f, ("rope_parameters." + llvm::Twine(key)).str(),
                               *subObj, s.ropeTheta[static_cast<int>(kind)]))
      return e;
  }
  return Error::success();
}

/// Features HF has but the graph does not; refusing them beats silently
/// computing something else.
Error rejectUnsupported(const ConfigFields &f) {
  bool flag = false;
  if (Error e = f.optionalBool("attention_bias", flag))
    return e;
  if (flag)
    return configError(
        f.name("attention_bias") +
        " = true is not supported (Gemma 2 projections have no bias)");
  flag = false;
  if (f.has("use_bidirectional_attention") &&
      !f.isNull("use_bidirectional_attention")) {
    if (Error e = f.optionalBool("use_bidirectional_attention", flag))
      return e;
    if (flag)
      return configError(f.name("use_bidirectional_attention") +
                         " = true is not supported");
  }
  return Error::success();
}

/// One Gemma 2 stack (the whole Gemma 2 config, or a T5Gemma sub-config).
/// `vocabOverride` is T5Gemma's top-level vocab_size, which HF pushes into
/// both sub-configs.
Expected<StackConfig> readStack(const ConfigFields &f,
                                std::optional<int64_t> vocabOverride) {
  StackConfig s;
  if (vocabOverride)
    s.vocabSize = *vocabOverride;
  else if (Error e = f.requiredInt("vocab_size", s.vocabSize))
    return std::move(e);
  for (auto [key, out] :
       {std::pair<StringRef, int64_t *>{"hidden_size", &s.hiddenSize},
        {"intermediate_size", &s.intermediateSize},
        {"num_hidden_layers", &s.numLayers},
        {"num_attention_heads", &s.numHeads},
        {"num_key_value_heads", &s.numKvHeads}}) {
    if (Error e = f.requiredInt(key, *out))
      return std::move(e);
    if (Error e = f.positive(key, *out))
      return std::move(e);
  }
  if (!vocabOverride)
    if (Error e = f.positive("vocab_size", s.vocabSize))
      return std::move(e);
  if (s.numHeads % s.numKvHeads != 0)
    return configError(llvm::formatv("{0} ({1}) is not divisible by {2} ({3})",
                                     f.name("num_attention_heads"), s.numHeads,
                                     f.name("num_key_value_heads"),
                                     s.numKvHeads));

  // head_dim: H*hd need not equal d, but without the field hd = d / H.
  if (f.has("head_dim") && !f.isNull("head_dim")) {
    if (Error e = f.optionalInt("head_dim", s.headDim))
      return std::move(e);
    if (Error e = f.positive("head_dim", s.headDim))
      return std::move(e);
  } else if (s.hiddenSize % s.numHeads != 0) {
    return configError(llvm::formatv(
        "{0} is absent and {1} ({2}) is not divisible by {3} ({4})",
        f.name("head_dim"), f.name("hidden_size"), s.hiddenSize,
        f.name("num_attention_heads"), s.numHeads));
  } else {
    s.headDim = s.hiddenSize / s.numHeads;
  }
  if (s.headDim % 2 != 0)
    return configError(
        llvm::formatv("{0} ({1}) must be even for rotate-half RoPE",
                      f.name("head_dim"), s.headDim));

  if (Error e = f.optionalDouble("query_pre_attn_scalar", s.queryPreAttnScalar))
    return std::move(e);
  if (Error e = f.positive("query_pre_attn_scalar", s.queryPreAttnScalar))
    return std::move(e);
  if (Error e = f.optionalDouble("rms_norm_eps", s.rmsNormEps))
    return std::move(e);
  if (Error e = f.positive("rms_norm_eps", s.rmsNormEps))
    return std::move(e);
  for (auto [key, cap] : {std::pair<StringRef, std::optional<double> *>{
                              "attn_logit_softcapping", &s.attnSoftcap},
                          {"final_logit_softcapping", &s.finalSoftcap}}) {
    if (Error e = f.nullableDouble(key, *cap))
      return std::move(e);
    if (*cap)
      if (Error e = f.positive(key, **cap))
        return std::move(e);
  }
  if (Error e = readRope(f, s))
    return std::move(e);
  if (Error e = readActivation(f, s))
    return std::move(e);
  if (Error e = readLayerTypes(f, s))
    return std::move(e);
  if (Error e = rejectUnsupported(f))
    return std::move(e);
  return s;
}

/// `torch_dtype` (older HF) or `dtype` (newer); unknown names are an error
/// only if nothing on the command line overrides them (see main).
Error readDType(const ConfigFields &f, ModelConfig &config, bool &found) {
  for (StringRef key : {"torch_dtype", "dtype"}) {
    std::optional<std::string> name;
    if (Error e = f.optionalString(key, name))
      return e;
    if (!name)
      continue;
    found = true;
    config.configDType = parseDType(*name);
    if (!config.configDType)
      config.unknownDTypeField = f.name(key) + " '" + *name + "'";
    return Error::success();
  }
  return Error::success();
}

Error readTokens(const ConfigFields &f, TokenIds &tokens) {
  if (Error e = f.tokenId("bos_token_id", tokens.bos))
    return e;
  if (Error e = f.tokenId("eos_token_id", tokens.eos))
    return e;
  return f.tokenId("pad_token_id", tokens.pad);
}

//===----------------------------------------------------------------------===//
// Whole configs
//===----------------------------------------------------------------------===//

Expected<ModelConfig> readGemma2(const ConfigFields &top) {
  ModelConfig config;
  config.modelType = ModelType::Gemma2;
  Expected<StackConfig> stack = readStack(top, std::nullopt);
  if (!stack)
    return stack.takeError();
  config.decoder = std::move(*stack);
  bool found = false;
  if (Error e = readTokens(top, config.tokens))
    return std::move(e);
  if (Error e =
          top.optionalBool("tie_word_embeddings", config.tieWordEmbeddings))
    return std::move(e);
  if (Error e = readDType(top, config, found))
    return std::move(e);
  return config;
}

/// A T5Gemma sub-config object (`encoder` / `decoder`).
Expected<const json::Object *> subConfig(const ConfigFields &top,
                                         StringRef key) {
  const json::Value *v = top.get(key);
  if (!v)
    return configError("missing required field '" + key + "'");
  const json::Object *obj = v->getAsObject();
  if (!obj)
    return top.typeError(key, "an object");
  return obj;
}

Expected<ModelConfig> readT5Gemma(const ConfigFields &top) {
  ModelConfig config;
  config.modelType = ModelType::T5Gemma;
  bool encDec = true;
  if (Error e = top.optionalBool("is_encoder_decoder", encDec))
    return std::move(e);
  if (!encDec)
    return configError(
        "is_encoder_decoder = false (encoder-only T5Gemma) is not "
        "supported");

  std::optional<int64_t> vocab;
  if (top.has("vocab_size")) {
    vocab = 0;
    if (Error e = top.optionalInt("vocab_size", *vocab))
      return std::move(e);
    if (Error e = top.positive("vocab_size", *vocab))
      return std::move(e);
  }

  Expected<const json::Object *> encObj = subConfig(top, "encoder");
  if (!encObj)
    return encObj.takeError();
  // HF: a missing (or null) decoder is a copy of the encoder config.
  const json::Object *decObj = *encObj;
  std::string decPrefix = "encoder.";
  if (top.has("decoder") && !top.isNull("decoder")) {
    Expected<const json::Object *> d = subConfig(top, "decoder");
    if (!d)
      return d.takeError();
    decObj = *d;
    decPrefix = "decoder.";
  }
  ConfigFields enc(**encObj, "encoder."), dec(*decObj, decPrefix);

  Expected<StackConfig> encStack = readStack(enc, vocab);
  if (!encStack)
    return encStack.takeError();
  Expected<StackConfig> decStack = readStack(dec, vocab);
  if (!decStack)
    return decStack.takeError();
  config.encoder = std::move(*encStack);
  config.decoder = std::move(*decStack);

  // HF sets cross_attention_hidden_size = encoder.hidden_size; a stored value
  // that disagrees means the file was edited inconsistently.
  int64_t crossWidth = config.encoder->hiddenSize;
  if (Error e = dec.optionalInt("cross_attention_hidden_size", crossWidth))
    return std::move(e);
  if (crossWidth != config.encoder->hiddenSize)
    return configError(
        llvm::formatv("{0} ({1}) differs from encoder.hidden_size ({2})",
                      dec.name("cross_attention_hidden_size"), crossWidth,
                      config.encoder->hiddenSize));

  // Token ids: top level, else the decoder's (HF copies them up), else 2/1/0.
  if (Error e = readTokens(dec, config.tokens))
    return std::move(e);
  if (Error e = readTokens(top, config.tokens))
    return std::move(e);
  if (Error e =
          top.optionalBool("tie_word_embeddings", config.tieWordEmbeddings))
    return std::move(e);
  bool found = false;
  for (const ConfigFields *f :
       std::initializer_list<const ConfigFields *>{&top, &dec, &enc})
    if (!found)
      if (Error e = readDType(*f, config, found))
        return std::move(e);
  return config;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

std::optional<DType> mlir::edg::parseDType(StringRef name) {
  return llvm::StringSwitch<std::optional<DType>>(name)
      .Cases("bf16", "bfloat16", "torch.bfloat16", DType::BF16)
      .Cases("f16", "float16", "half", "torch.float16", DType::F16)
      .Cases("f32", "float32", "float", "torch.float32", DType::F32)
      .Default(std::nullopt);
}

StringRef mlir::edg::modelTypeName(ModelType type) {
  return type == ModelType::Gemma2 ? "gemma2" : "t5gemma";
}

Expected<DType> mlir::edg::resolveDType(const ModelConfig &config,
                                        std::optional<DType> override) {
  if (override)
    return *override;
  if (config.configDType)
    return *config.configDType;
  if (!config.unknownDTypeField.empty())
    return configError(
        "unsupported " + config.unknownDTypeField +
        " (expected bfloat16, float16 or float32; or pass --dtype)");
  return DType::F32;
}

Expected<ModelConfig> mlir::edg::parseModelConfig(StringRef jsonText) {
  Expected<json::Value> root = json::parse(jsonText);
  if (!root)
    return configError(describeJsonError(root.takeError()));
  const json::Object *obj = root->getAsObject();
  if (!obj)
    return configError("the top level must be a JSON object, got " +
                       jsonKindName(*root));
  ConfigFields top(*obj, "");
  std::optional<std::string> type;
  if (!top.has("model_type"))
    return configError("missing required field 'model_type'");
  if (Error e = top.optionalString("model_type", type))
    return std::move(e);
  if (!type)
    return top.typeError("model_type", "a string");
  if (*type == "gemma2")
    return readGemma2(top);
  if (*type == "t5gemma")
    return readT5Gemma(top);
  return configError("unknown model_type '" + *type +
                     "' (expected gemma2 or t5gemma)");
}

Expected<ModelConfig> mlir::edg::loadModelConfig(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return configError("cannot read the file: " + buffer.getError().message());
  return parseModelConfig((*buffer)->getBuffer());
}
