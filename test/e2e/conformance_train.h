//===- conformance_train.h - gradients and AdamW against HF -----*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The `--grads` / `--adamw` modes of edg-conformance (conformance_train.cc).
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_E2E_CONFORMANCE_TRAIN_H
#define EDG_TEST_E2E_CONFORMANCE_TRAIN_H

#include <string>

/// Runs the gradient (`mode` "--grads") or AdamW ("--adamw") comparison of
/// the training model `model_path` with fixture `dir`; prints one line per
/// check (failures only unless `verbose`) and returns the failure count.
/// With `device` "cuda" (a GPU) or "emu" (the CPU emulator of CUDA,
/// test/cuda_emu; its launch counts are printed) the entry points that have
/// device schedules run there. Throws edg::Error on unusable inputs.
int run_train_conformance(const std::string &model_path,
                          const std::string &dir, const std::string &mode,
                          double tol, bool verbose, const std::string &device);

#endif // EDG_TEST_E2E_CONFORMANCE_TRAIN_H
