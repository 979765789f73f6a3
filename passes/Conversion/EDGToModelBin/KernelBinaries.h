//===- KernelBinaries.h - generated code in model.bin -----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Adds compiled kernels (the CPU shared object, cubins per arch, PTX, the
// CUDA source) to a model file written by exportModel as `Model.kernels`
// entries, without touching the coarse schedule exportModel wrote.
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_CONVERSION_EDGTOMODELBIN_KERNELBINARIES_H
#define EDG_PASSES_CONVERSION_EDGTOMODELBIN_KERNELBINARIES_H

#include "mlir/Support/LogicalResult.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::edg {

/// One `KernelBinary` of edg_model.fbs.
struct KernelBlob {
  std::string target; // "cpu", "cuda"
  std::string arch;   // "x86_64", "sm_80", "sm_90a", "compute_80", "source"
  std::vector<uint8_t> data;
};

/// Rewrites `model` (a verified model.bin) with `blobs` appended to its
/// kernels. On failure (not a model file) sets `error` and leaves `model`.
LogicalResult addKernelBinaries(std::vector<uint8_t> &model,
                                const std::vector<KernelBlob> &blobs,
                                std::string &error);

} // namespace mlir::edg

#endif // EDG_PASSES_CONVERSION_EDGTOMODELBIN_KERNELBINARIES_H
