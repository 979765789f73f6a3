//===- Adapt.h - decoder-only to encoder-decoder adaptation -----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The C++ API behind the adaptation passes (arXiv 2504.06225 §3): the steps
// that turn a decoder-only Gemma 2 `@forward` into a T5Gemma `@encode` /
// `@decode` pair. Each pass in Passes.td is a thin wrapper over one of these
// functions, so that tools and tests can run the same rewrite without a pass
// manager. Every function reports problems as diagnostics on the IR it was
// given and returns failure; none asserts on user input.
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_ADAPT_H
#define EDG_PASSES_ADAPT_H

#include "dialects/EDG/EDGOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <string>

namespace mlir::edg {

//===----------------------------------------------------------------------===//
// Causal to bidirectional
//===----------------------------------------------------------------------===//

/// Rewrites every self-attention mask in `func` to its bidirectional
/// counterpart (causal -> bidirectional, sliding_causal W ->
/// sliding_bidirectional W). Fails, with an error on the op, on a mask that
/// has no such counterpart (prefix).
LogicalResult makeBidirectional(func::FuncOp func);

//===----------------------------------------------------------------------===//
// Cross-attention insertion
//===----------------------------------------------------------------------===//

struct CrossAttentionOptions {
  /// Width of the encoder output, D_enc. 0 takes it from the function's
  /// `%encoder` argument, else from the first result of `encoderFunction`.
  int64_t encoderHidden = 0;
  /// The function whose result is the encoder output (for D_enc only).
  std::string encoderFunction = "encode";
  /// Balanced pairs: `init_from` the layer's self-attention weights and
  /// norms. Unbalanced pairs (D_enc != d_dec) must pass false: the k/v
  /// shapes differ, and the paper initialises cross-attention from scratch.
  bool initFromSelfAttention = true;
};

/// In every decoder layer of `func` (self_attention -> rms_norm -> add),
/// inserts rms_norm(pre_cross_attn_layernorm) -> cross_attention ->
/// rms_norm(post_cross_attn_layernorm) -> add after the self-attention
/// residual, declares the new weights (HF T5Gemma names) after the layer's
/// post-self-attention norm weight, and appends the `%encoder` /
/// `%encoder_valid` arguments when the function lacks them.
LogicalResult insertCrossAttention(func::FuncOp func,
                                   const CrossAttentionOptions &options);

//===----------------------------------------------------------------------===//
// The whole adaptation
//===----------------------------------------------------------------------===//

struct AdaptOptions {
  /// Decoder-only function cloned into `@decode`.
  std::string decoderFrom = "forward";
  /// Decoder-only function cloned into `@encode`; empty: `decoderFrom`.
  std::string encoderFrom;
  /// > 0: every weight but the cross-attention ones gets `frozen_steps N`
  /// (the paper's 1000-step warm-up for unbalanced pairs).
  int64_t warmupFreeze = 0;
};

/// Replaces the decoder-only function(s) of `module` by T5Gemma's `@encode`
/// and `@decode`, renames the weights to `model.encoder.*` /
/// `model.decoder.*` with `init_from` the decoder-only keys, inserts
/// cross-attention, removes the decoder-only functions and the weights only
/// they read, and sets `edg.config`'s model_type to "t5gemma".
LogicalResult adaptEncoderDecoder(ModuleOp module, const AdaptOptions &options);

//===----------------------------------------------------------------------===//
// Naming helpers shared by the adaptation passes
//===----------------------------------------------------------------------===//

/// `loc` with every NameLoc name passed through `rename` (FusedLoc and
/// nested NameLocs included); other locations are returned unchanged.
Location renameLoc(Location loc,
                   const std::function<std::string(StringRef)> &rename);

/// Whether `loc` holds a NameLoc anywhere.
bool hasNameLoc(Location loc);

/// A dotted HF name with each segment passed through `renameSegment`
/// ("model.layers.0.input_layernorm" -> segment by segment).
std::string
renameSegments(StringRef dotted,
               const std::function<StringRef(StringRef)> &renameSegment);

} // namespace mlir::edg

#endif // EDG_PASSES_ADAPT_H
