//===- device_schedule.h - reading a model.bin DeviceFunction ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Helpers of the CUDA executor over the kernel-level schedule edg-compile
// stores (edg_model.fbs DeviceFunction, written by passes/Conversion/
// EDGToModelBin/DeviceSchedule.cpp): validation of every index before the
// first run, and the evaluation of shapes and sizes for the run's B, T, S.
// No CUDA header.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_DEVICE_SCHEDULE_H
#define EDG_RUNTIME_CUDA_DEVICE_SCHEDULE_H

#include "runtime/core/tensor.h"
#include "runtime/schema/edg_model_generated.h"

#include <cstdint>
#include <string>
#include <vector>

namespace edg::cuda {

/// Throws edg::Error naming `path` and the function when a buffer, dim,
/// weight or argument index is out of range, a step has the wrong number of
/// operands or sizes, or a GEMM's operands are not one floating type.
void validate_device_function(const schema::Model &model,
                              const schema::DeviceFunction &fn,
                              const std::string &path);

/// Bytes per element as the device stores it (i1: one byte).
size_t device_dtype_size(schema::DType dtype);

/// The suffix of a fixed-ABI kernel instance for float storage `dtype`
/// ("f32", "bf16", "f16": edg_opt_adamw_<t>, edg_argmax_rows_<t>); throws,
/// naming `what`, for any other type.
std::string float_kernel_suffix(schema::DType dtype, const char *what);

/// fp32 host values in the device's storage type `dtype` (bf16/f16: round
/// to nearest even, as the model's rounding points do).
std::vector<uint8_t> to_device_bytes(const float *x, int64_t n,
                                     schema::DType dtype);

/// Device bytes of `dtype` as a host tensor of `shape` (floats as f32).
Tensor host_tensor(const std::vector<uint8_t> &bytes, schema::DType dtype,
                   const std::vector<int64_t> &shape);

/// The kernel-level schedule of entry point `name`, or null.
const schema::DeviceFunction *find_function(const schema::Model &model,
                                            const std::string &name);

/// factor * product of the dims' run-time values.
int64_t eval_size(const schema::SizeExpr &e, const std::vector<int64_t> &dims);

/// The buffer's shape with each dynamic dim replaced by its value in `dims`.
std::vector<int64_t> buffer_shape(const schema::DeviceBuffer &b,
                                  const std::vector<int64_t> &dims);

/// Bytes of the buffer for `dims`.
size_t buffer_bytes(const schema::DeviceBuffer &b, const std::vector<int64_t> &dims);

/// Every DeviceDim at its compiled maximum.
std::vector<int64_t> max_dims(const schema::DeviceFunction &fn);

} // namespace edg::cuda

#endif // EDG_RUNTIME_CUDA_DEVICE_SCHEDULE_H
