//===- EDGAttrs.td - edg attributes and enums --------------*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Mask kinds, weight initialisers and activations. Enums are generated here
// so that the compiler, the passes and the model.bin writer share one list.
//===----------------------------------------------------------------------===//
#ifndef EDG_ATTRS_TD
#define EDG_ATTRS_TD

include "dialects/EDG/EDGDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def EDG_MaskKind : I32EnumAttr<"MaskKind", "attention mask kind", [
    I32EnumAttrCase<"causal", 0>,
    I32EnumAttrCase<"bidirectional", 1>,
    I32EnumAttrCase<"sliding_causal", 2>,
    I32EnumAttrCase<"sliding_bidirectional", 3>,
    I32EnumAttrCase<"prefix", 4>]> {
  let cppNamespace = "::mlir::edg";
  let genSpecializedAttr = 0;
}

def EDG_InitKind : I32EnumAttr<"InitKind", "fresh-parameter initialiser", [
    I32EnumAttrCase<"normal", 0>,
    I32EnumAttrCase<"zeros", 1>,
    I32EnumAttrCase<"ones", 2>]> {
  let cppNamespace = "::mlir::edg";
  let genSpecializedAttr = 0;
}

def EDG_Activation : I32EnumAttr<"Activation", "MLP activation", [
    I32EnumAttrCase<"gelu_tanh", 0>]> {
  let cppNamespace = "::mlir::edg";
  let genSpecializedAttr = 0;
}

// Which operand of a library GEMM is transposed (cuBLAS spelling, row-major
// operands): nt y[M,N] = a[M,K] b[N,K]^T (edg.linear), nn y = a[M,K] b[K,N]
// (input gradients), tn y = a[K,M]^T b[K,N] (weight gradients, K = rows).
def EDG_GemmForm : I32EnumAttr<"GemmForm", "library GEMM operand layout", [
    I32EnumAttrCase<"nt", 0>,
    I32EnumAttrCase<"nn", 1>,
    I32EnumAttrCase<"tn", 2>]> {
  let cppNamespace = "::mlir::edg";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class EDG_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<EDG_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def EDG_MaskAttr : EDG_Attr<"Mask", "mask"> {
  let summary = "which keys a query may see";
  let description = [{
    With query position i and key position j (MODEL_SPEC §1.6, §2.6):
    - `causal`: j <= i
    - `bidirectional`: every key
    - `sliding_causal, W`: j <= i and i - j < W (W keys including i)
    - `sliding_bidirectional, W`: |i - j| < W (2W - 1 keys; T5Gemma's
      exclusive window, not the inclusive overlay)
    - `prefix`: bidirectional inside the prefix, causal after it
    Key padding is a separate operand of the attention op and is ANDed in.

    ```mlir
    #edg.mask<causal>
    #edg.mask<sliding_causal, 4096>
    ```
  }];
  let parameters = (ins
    EnumParameter<EDG_MaskKind>:$kind,
    DefaultValuedParameter<"int64_t", "0">:$window);
  let assemblyFormat = "`<` $kind (`,` $window^)? `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isSliding() const {
      return getKind() == MaskKind::sliding_causal ||
             getKind() == MaskKind::sliding_bidirectional;
    }
  }];
}

def EDG_InitAttr : EDG_Attr<"Init", "init"> {
  let summary = "how a fresh (not checkpoint-bound) parameter is initialised";
  let description = [{
    `#edg.init<normal, 0.02>` draws from N(0, 0.02^2); `#edg.init<zeros>` and
    `#edg.init<ones>` are constants. The runtime applies it at bind time when
    the checkpoint has no tensor for the weight.
  }];
  let parameters = (ins
    EnumParameter<EDG_InitKind>:$kind,
    APFloatParameter<"standard deviation (0 unless normal)">:$stddev);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // EDG_ATTRS_TD
