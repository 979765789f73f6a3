//===- kernel_oracle.h - test cases for generated kernels --------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Reads the canonical signature of a generated kernel (the string in the CPU
// kernel table and on the CUDA edg-launch lines, passes/KernelUtils.h),
// builds random inputs of the right shapes and computes the expected outputs
// with the hand-written fp32 CPU kernels (runtime/cpu/kernels.h), the
// numerical oracle. edg-kernel-check runs every generated kernel of a
// model.bin, CPU or CUDA, against it.
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_E2E_KERNEL_ORACLE_H
#define EDG_TEST_E2E_KERNEL_ORACLE_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace edg::oracle {

/// A host tensor: fp32 values, int32 ids/positions or u8 masks.
struct HostTensor {
  enum Kind { f32, i32, u8 } kind = f32;
  std::vector<int64_t> shape;
  std::vector<float> f;
  std::vector<int32_t> i;
  std::vector<uint8_t> u;
  int64_t numel() const;
};

/// One test of one kernel: inputs in kernel order, output shapes, the ABI
/// sizes (n, rows, or B, T, S) and the oracle's outputs.
struct KernelCase {
  std::vector<HostTensor> inputs;
  std::vector<std::vector<int64_t>> output_shapes;
  std::vector<int64_t> sizes;
  std::vector<std::vector<float>> expected;
};

/// Rounds an fp32 value to the kernel's storage type (identity for f32).
using RoundFn = std::function<float(float)>;

/// Builds the case for the kernel with `signature` and row width `width`
/// (embed/rope: the output width). Float inputs are rounded with `round`
/// before the oracle sees them, so a bf16 kernel and the oracle read the
/// same numbers. Throws edg::Error for a signature it cannot read.
KernelCase make_case(const std::string &signature, int64_t width,
                     const RoundFn &round, uint32_t seed);

/// max |got - want| / max(1, max |want|) over one output.
double relative_error(const std::vector<float> &got,
                      const std::vector<float> &want);

/// The value of `key` in an attention signature ("...;H=8;..."), or "".
std::string attention_field(const std::string &signature,
                            const std::string &key);

} // namespace edg::oracle

#endif // EDG_TEST_E2E_KERNEL_ORACLE_H
