//===- StackConfig.cpp - the knobs of one Gemma 2 stack ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Reads one transformer stack's fields (a Gemma2Config, or a T5Gemma
// `encoder`/`decoder` T5GemmaModuleConfig) into StackConfig: sizes (required,
// positive, H divisible by K, hd even for rotate-half RoPE), attention scale
// and caps, RoPE base (`rope_theta`, or `rope_parameters` plain or per layer
// type), activation, and `layer_types` with the sliding window they need.
// ModelConfig.cpp assembles stacks into whole configs.
//===----------------------------------------------------------------------===//
#include "frontend/ConfigFields.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir::edg;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

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

} // namespace

//===----------------------------------------------------------------------===//
// One stack
//===----------------------------------------------------------------------===//

Expected<StackConfig>
mlir::edg::readStackConfig(const ConfigFields &f,
                           std::optional<int64_t> vocabOverride) {
  StackConfig s;
  if (vocabOverride)
    s.vocabSize = *vocabOverride; // checked by the caller
  else if (Error e = f.requiredSize("vocab_size", s.vocabSize))
    return std::move(e);
  for (auto [key, out] :
       {std::pair<StringRef, int64_t *>{"hidden_size", &s.hiddenSize},
        {"intermediate_size", &s.intermediateSize},
        {"num_hidden_layers", &s.numLayers},
        {"num_attention_heads", &s.numHeads},
        {"num_key_value_heads", &s.numKvHeads}})
    if (Error e = f.requiredSize(key, *out))
      return std::move(e);
  // Each layer is ~30 ops; a corrupt layer count should fail, not exhaust
  // memory building the graph.
  constexpr int64_t kMaxLayers = 4096;
  if (s.numLayers > kMaxLayers)
    return configError(
        llvm::formatv("field '{0}' is implausibly large ({1} > {2})",
                      f.name("num_hidden_layers"), s.numLayers, kMaxLayers));
  if (s.numHeads % s.numKvHeads != 0)
    return configError(llvm::formatv("{0} ({1}) is not divisible by {2} ({3})",
                                     f.name("num_attention_heads"), s.numHeads,
                                     f.name("num_key_value_heads"),
                                     s.numKvHeads));

  // head_dim: H*hd need not equal d, but without the field hd = d / H.
  if (f.has("head_dim") && !f.isNull("head_dim")) {
    if (Error e = f.requiredSize("head_dim", s.headDim))
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
