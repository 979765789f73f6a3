//===- EDGTrainOps.td - edg training ops -------------------*- tablegen -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Gradient ops built by edg-autodiff, losses of the paper's objectives, and
// optimizer updates built by edg-optimizer. Included from EDGOps.td.
//===----------------------------------------------------------------------===//
#ifndef EDG_TRAIN_OPS_TD
#define EDG_TRAIN_OPS_TD

#endif // EDG_TRAIN_OPS_TD
