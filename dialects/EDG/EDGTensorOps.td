//===- EDGTensorOps.td - edg tensor- and kernel-level ops --*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The ops edg-decompose produces from graph-level ops (linear, rope, sdpa,
// gelu_tanh, mul, softcap, cast, ...) and the kernel-level ops (fusion
// regions, kernels) the emitters print. Included from EDGOps.td.
//===----------------------------------------------------------------------===//
#ifndef EDG_TENSOR_OPS_TD
#define EDG_TENSOR_OPS_TD

#endif // EDG_TENSOR_OPS_TD
