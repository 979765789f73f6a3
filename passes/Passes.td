//===- Passes.td - EDG passes ------------------------------*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Every EDG pass: adaptation of a decoder-only Gemma 2 into an
// encoder-decoder T5Gemma (arXiv 2504.06225 §3), training, and lowering.
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_TD
#define EDG_PASSES_TD

include "mlir/Pass/PassBase.td"

def CausalToBidirectional : Pass<"edg-causal-to-bidirectional", "::mlir::ModuleOp"> {
  let summary = "Rewrite causal masks to bidirectional ones in encoder functions";
  let description = [{
    In the functions named by `functions` (default: `encode`), rewrite
    `#edg.mask<causal>` to `#edg.mask<bidirectional>` and
    `#edg.mask<sliding_causal, W>` to `#edg.mask<sliding_bidirectional, W>`,
    the exact T5Gemma window |i - j| < W (MODEL_SPEC §2.3). Masks already
    bidirectional are kept; any other mask is an error.
  }];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "functions whose self-attention becomes bidirectional">
  ];
  let dependentDialects = ["::mlir::edg::EDGDialect"];
}

#endif // EDG_PASSES_TD
