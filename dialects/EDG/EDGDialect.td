//===- EDGDialect.td - the edg dialect definition ----------*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The `edg` dialect holds every level of the EDG compiler: graph-level ops
// that the frontend builds and the adaptation passes rewrite (a layer is a
// handful of ops), the tensor-level ops that decomposition produces, and the
// kernel-level ops the emitters print.
//===----------------------------------------------------------------------===//
#ifndef EDG_DIALECT_TD
#define EDG_DIALECT_TD

include "mlir/IR/OpBase.td"

def EDG_Dialect : Dialect {
  let name = "edg";
  let cppNamespace = "::mlir::edg";
  let summary = "Dataflow graphs of Gemma 2 and encoder-decoder Gemma (T5Gemma)";
  let description = [{
    Weights are module-level symbols named by their Hugging Face checkpoint
    key (`edg.weight`), read by functions through `edg.use_weight`. Attention
    masks are attributes (`#edg.mask<...>`), never computed tensors, so that
    adapting a decoder-only model into an encoder is an attribute rewrite and
    kernels can be specialised by mask kind.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

class EDG_Op<string mnemonic, list<Trait> traits = []>
    : Op<EDG_Dialect, mnemonic, traits>;

#endif // EDG_DIALECT_TD
