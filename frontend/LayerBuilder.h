//===- LayerBuilder.h - emit edg ops for one HF module ----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The op-level half of the frontend: declares `edg.weight`s (named by HF
// checkpoint key, in declaration order), reads them with `edg.use_weight`,
// and emits one graph op per HF module (embedding, norm, self- and
// cross-attention, MLP, residual add, LM head), each with a NameLoc naming
// that module. GraphBuilder.cpp strings these into layers and functions.
// Internal to EDGFrontend.
//===----------------------------------------------------------------------===//
#ifndef EDG_FRONTEND_LAYERBUILDER_H
#define EDG_FRONTEND_LAYERBUILDER_H

#include "frontend/GraphBuilder.h"
#include "frontend/ModelConfig.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::edg {

/// MLIR element type of `dtype`.
Type elementType(MLIRContext *ctx, DType dtype);

/// sqrt(hidden) rounded to `dtype` with round-to-nearest-even (MODEL_SPEC
/// §1.3: 59.75 for d = 3584 in bf16, 59.875 in f16), returned exactly as f64.
double embeddingScale(int64_t hidden, DType dtype);

class LayerBuilder {
public:
  /// Weights go into `module` (before its first function, in call order);
  /// every one is named `prefix + HF key` and recorded in `declared`. With
  /// `freshInitStd`, weights get a fresh initialiser (see ImportOptions).
  LayerBuilder(ModuleOp module, DType dtype, StringRef prefix,
               std::vector<DeclaredWeight> &declared,
               std::optional<double> freshInitStd = std::nullopt);

  OpBuilder &builder() { return b; }
  Type elemType() const { return elem; }

  /// NameLoc naming an HF module ("model.layers.3.self_attn"), prefixed.
  Location loc(const Twine &hfModule);

  /// tensor<?x?xwidth x DT>: activations of dynamic batch and length.
  RankedTensorType activationType(int64_t width);

  /// Declares `hfKey` (e.g. "model.norm.weight") with `shape` and returns
  /// an `edg.use_weight` of it at the current insertion point. The use
  /// carries the location of the module that owns the weight.
  Value weight(StringRef hfKey, ArrayRef<int64_t> shape);

  /// `stack.embed_tokens`: ids [B, T] -> [B, T, d] scaled by the rounded
  /// sqrt(d). `table` receives the [V, d] table for a tied LM head.
  Value embed(Value ids, StringRef stack, const StackConfig &cfg, Value &table);

  /// `module` ("model.layers.0.input_layernorm"): RMSNorm over d.
  Value rmsNorm(Value x, StringRef module, const StackConfig &cfg);

  /// `module` ("model.layers.0.self_attn"): q/k/v/o projections, RoPE and
  /// the mask of `layer` (causal stacks: sliding_causal/causal; encoder:
  /// sliding_bidirectional/bidirectional).
  Value selfAttention(Value x, Value positions, Value keyValid,
                      StringRef module, const StackConfig &cfg, int64_t layer,
                      bool causal);

  /// `module` ("model.decoder.layers.0.cross_attn"): q [H*hd, d_dec],
  /// k/v [K*hd, d_enc], o [d_dec, H*hd]; no RoPE, no mask but padding.
  Value crossAttention(Value x, Value encoder, Value encoderValid,
                       StringRef module, const StackConfig &dec,
                       int64_t encoderHidden);

  /// `module` ("model.layers.0.mlp"): down(gelu_tanh(gate(x)) * up(x)).
  Value mlp(Value x, StringRef module, const StackConfig &cfg);

  /// The residual add of layer `layerModule`: residual + branch.
  Value add(Value residual, Value branch, StringRef layerModule);

  /// `lm_head`: logits [B, T, V] = x . table^T, then the final soft-cap.
  Value lmHead(Value x, Value table, const StackConfig &cfg);

private:
  ModuleOp module;
  OpBuilder b;
  Operation *lastWeight = nullptr; // new weights go right after it
  DType dtype;
  Type elem;
  std::string prefix;
  std::vector<DeclaredWeight> &declared;
  std::optional<double> freshInitStd;
};

} // namespace mlir::edg

#endif // EDG_FRONTEND_LAYERBUILDER_H
