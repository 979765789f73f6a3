//===- ModelConfig.h - typed Hugging Face model configs ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The architecture knobs of a Gemma 2 or T5Gemma `config.json`, read into a
// typed struct with one enum per knob (as gemma.cpp's configs.h does), so the
// graph builder never looks at JSON. Parsing applies Hugging Face's defaults
// where HF has a safe one, and rejects everything the graph cannot express
// (unknown model types, activations, rope types, inconsistent head counts)
// with a message that names the offending field.
//===----------------------------------------------------------------------===//
#ifndef EDG_FRONTEND_MODELCONFIG_H
#define EDG_FRONTEND_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::edg {

//===----------------------------------------------------------------------===//
// Knobs
//===----------------------------------------------------------------------===//

/// `model_type`: which entry points the module gets.
enum class ModelType {
  Gemma2,  // "gemma2": decoder-only, @forward
  T5Gemma, // "t5gemma": encoder-decoder, @encode and @decode
};

/// Element type of weights and activations (`--dtype` or `torch_dtype`).
enum class DType { BF16, F16, F32 };

/// One entry of `layer_types`.
enum class LayerKind {
  Sliding, // "sliding_attention": windowed mask of `sliding_window` keys
  Full,    // "full_attention": causal (decoder) or bidirectional (encoder)
};

/// `hidden_activation` of the gated MLP. Only the tanh GELU exists in Gemma 2.
enum class MlpActivation { GeluTanh };

/// The knobs of one transformer stack: a Gemma 2 model, or the encoder or
/// decoder of a T5Gemma model (`T5GemmaModuleConfig`). Shapes use MODEL_SPEC's
/// letters: V vocab, d hidden, I intermediate, H heads, K kv heads, hd
/// head_dim.
struct StackConfig {
  int64_t vocabSize = 0;           // V
  int64_t hiddenSize = 0;          // d
  int64_t intermediateSize = 0;    // I (each of gate and up)
  int64_t numLayers = 0;           // L
  int64_t numHeads = 0;            // H
  int64_t numKvHeads = 0;          // K, divides H
  int64_t headDim = 0;             // hd (H*hd need not equal d)
  double queryPreAttnScalar = 256; // scores scale = this ** -0.5
  double rmsNormEps = 1e-6;
  /// RoPE base per layer kind (indexed by LayerKind); equal unless the config
  /// gives per-layer-type `rope_parameters`.
  double ropeTheta[2] = {10000.0, 10000.0};
  std::optional<double> attnSoftcap = 50.0;  // absent when null
  std::optional<double> finalSoftcap = 30.0; // absent when null
  int64_t slidingWindow = 4096;      // W; only meaningful when a layer slides
  std::vector<LayerKind> layerTypes; // size L
  MlpActivation activation = MlpActivation::GeluTanh;

  double ropeThetaFor(LayerKind kind) const {
    return ropeTheta[static_cast<int>(kind)];
  }
};

/// Token ids recorded in the module's `edg.config` (absent when null).
struct TokenIds {
  std::optional<int64_t> bos = 2, eos = 1, pad = 0;
};

/// A whole `config.json`.
struct ModelConfig {
  ModelType modelType = ModelType::Gemma2;
  /// Gemma 2: the model. T5Gemma: the decoder stack.
  StackConfig decoder;
  /// T5Gemma only: the encoder stack (d_enc = encoder.hiddenSize is the input
  /// width of every cross-attention K/V projection).
  std::optional<StackConfig> encoder;
  TokenIds tokens;
  /// Whether the LM head reads the (decoder) embedding table.
  bool tieWordEmbeddings = true;
  /// `initializer_range`: std of HF's normal init of embeddings and
  /// projections (norm offsets start at 0); used by --init-fresh.
  double initializerRange = 0.02;
  /// `torch_dtype` / `dtype` of the config, when it names a known dtype.
  std::optional<DType> configDType;
  /// "torch_dtype 'float64'" when the config names a dtype EDG lacks; an
  /// error only when no --dtype overrides it.
  std::string unknownDTypeField;

  /// V of the logits.
  int64_t vocabSize() const { return decoder.vocabSize; }
};

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

/// Parses the text of a `config.json`. Errors are one line, without the file
/// name (the caller prefixes it), e.g. "missing required field 'hidden_size'"
/// or "encoder.num_attention_heads (6) is not divisible by
/// encoder.num_key_value_heads (4)".
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef jsonText);

/// Reads and parses a `config.json` file.
llvm::Expected<ModelConfig> loadModelConfig(llvm::StringRef path);

/// Parses a dtype name: "bf16"/"bfloat16", "f16"/"float16", "f32"/"float32".
std::optional<DType> parseDType(llvm::StringRef name);

/// The element type to build with: `override` (--dtype), else the config's
/// dtype, else f32.
llvm::Expected<DType> resolveDType(const ModelConfig &config,
                                   std::optional<DType> override);

/// "model_type" spelling, for `edg.config`.
llvm::StringRef modelTypeName(ModelType type);

} // namespace mlir::edg

#endif // EDG_FRONTEND_MODELCONFIG_H
