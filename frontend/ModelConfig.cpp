//===- ModelConfig.cpp - parse HF config.json into ModelConfig --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Reads a Gemma 2 (`Gemma2Config`) or T5Gemma (`T5GemmaConfig` with
// `encoder`/`decoder` `T5GemmaModuleConfig`s) config.json with llvm::json:
// the model type, the stacks (StackConfig.cpp), and what HF keeps at the top
// level (token ids, tie_word_embeddings, torch_dtype, T5Gemma's shared
// vocab_size). Defaults follow HF (MODEL_SPEC §1.1, §2.2) except for the
// sizes that define the model (hidden_size, heads, layers, ...), which must
// be present: a missing one is a truncated or foreign config, not a 2B model.
// Every error names the field, prefixed by its sub-config
// ("decoder.sliding_window").
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

/// `initializer_range` (> 0). Absent keeps the value read so far.
Error readInitializerRange(const ConfigFields &f, ModelConfig &config) {
  if (Error e = f.optionalDouble("initializer_range", config.initializerRange))
    return e;
  return f.positive("initializer_range", config.initializerRange);
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
  Expected<StackConfig> stack = readStackConfig(top, std::nullopt);
  if (!stack)
    return stack.takeError();
  config.decoder = std::move(*stack);
  if (Error e = readTokens(top, config.tokens))
    return std::move(e);
  if (Error e =
          top.optionalBool("tie_word_embeddings", config.tieWordEmbeddings))
    return std::move(e);
  if (Error e = readInitializerRange(top, config))
    return std::move(e);
  bool found = false;
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

  // HF pushes the top-level vocab_size into both stacks.
  std::optional<int64_t> vocab;
  if (top.has("vocab_size")) {
    vocab = 0;
    if (Error e = top.requiredSize("vocab_size", *vocab))
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

  Expected<StackConfig> encStack = readStackConfig(enc, vocab);
  if (!encStack)
    return encStack.takeError();
  Expected<StackConfig> decStack = readStackConfig(dec, vocab);
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
  // HF: the top-level initializer_range, else the decoder's.
  if (Error e = readInitializerRange(dec, config))
    return std::move(e);
  if (Error e = readInitializerRange(top, config))
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
