//===- DeviceSchedule.h - kernel-level schedules in model.bin ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Stores what a device executor walks (runtime/cuda/cuda_executor.h): each
// entry function of the module after edg-compile-pipeline, as an ordered
// list of generated-kernel launches, library GEMMs and attention kernels
// over buffers named by arena offset (edg-plan-memory), argument or weight
// (`Model.device_functions`, edg_model.fbs). Sizes are products of the
// function's dynamic dimensions (B, T, S), each bound to an argument axis.
//===----------------------------------------------------------------------===//
#ifndef EDG_PASSES_CONVERSION_EDGTOMODELBIN_DEVICESCHEDULE_H
#define EDG_PASSES_CONVERSION_EDGTOMODELBIN_DEVICESCHEDULE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::edg {

/// Rewrites `model` (a verified model.bin written by exportModel) with a
/// DeviceFunction for every function of `lowered` (the kernel-level,
/// memory-planned module) whose body is only edg.use_weight, edg.launch,
/// edg.gemm, edg.attention_backward and the return (inference functions,
/// @loss and @grad_step). Others (an optimizer step, distillation) are left
/// to the coarse schedule. On failure sets `error` and leaves `model`.
LogicalResult addDeviceSchedules(std::vector<uint8_t> &model, ModuleOp lowered,
                                 std::string &error);

/// Prints the device schedules of a model.bin, one line per step
/// (`edg-compile --emit=schedule`). Fails if `model` does not verify.
LogicalResult printDeviceSchedules(const std::vector<uint8_t> &model,
                                   llvm::raw_ostream &os);

} // namespace mlir::edg

#endif // EDG_PASSES_CONVERSION_EDGTOMODELBIN_DEVICESCHEDULE_H
