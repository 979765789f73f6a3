//===- generated_kernels.h - kernels edg-compile generated -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// model.bin may carry a KernelBinary {target "cpu", arch "x86_64"}: a shared
// object of fused kernels that edg-compile generated from the kernel-level
// IR (passes/EmitCpp.cpp). This file loads it (written to a memfd, or a
// private temporary file, then dlopen'ed) and finds kernels by their
// canonical signature, the dataflow string the compiler wrote into the
// object's kernel table, e.g.
//
//   ew:t0=gelu_tanh(i0);t1=mul(t0,i1)->t1
//   row64:t0=rms_norm[1e-06](i0,i1);t1=add(i2,t0);t2=rms_norm[1e-06](t1,i3)->t1,t2
//
// The executor builds the same strings from runs of coarse steps
// (match_steps) and runs the generated kernel instead of the hand-written
// ones when the object has it, so a model compiled without the kernels, or
// with a different fusion, still runs. EDG_GENERATED_KERNELS=0 disables them;
// EDG_VERBOSE=1 says which are loaded and used.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CPU_GENERATED_KERNELS_H
#define EDG_RUNTIME_CPU_GENERATED_KERNELS_H

#include "runtime/schema/edg_model_generated.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace edg::cpu {

/// The one ABI of every generated kernel (edg_kernel_abi_version() == 2):
/// inputs then outputs in `args`; `sizes` = {n} with n the element count
/// (elementwise) or row count (row, rope, embed kernels), or {B, T, S}
/// (attention). A call covers [begin, end) of sizes[0] and is serial.
using GeneratedKernelFn = void (*)(void *const *args, const int64_t *sizes,
                                   int64_t begin, int64_t end);

struct GeneratedKernel {
  std::string name, kind, signature, origin;
  int32_t num_inputs = 0, num_outputs = 0;
  int64_t row_width = 0;
  GeneratedKernelFn fn = nullptr;
  mutable std::atomic<bool> reported{false}; // EDG_VERBOSE: first use printed

  /// Runs the whole index space [0, sizes[0]) on the runtime's thread pool.
  void run(void *const *args, const int64_t *sizes) const;
};

class GeneratedKernels {
public:
  /// The CPU kernels of `model` for this host, or null when the model has
  /// none, they are for another architecture, or EDG_GENERATED_KERNELS=0.
  /// A shared object that cannot be loaded gives a one-line warning on
  /// stderr and null (the built-in kernels are used), never an error.
  static std::shared_ptr<const GeneratedKernels>
  load(const schema::Model &model, const std::string &path);

  ~GeneratedKernels();
  GeneratedKernels(const GeneratedKernels &) = delete;
  GeneratedKernels &operator=(const GeneratedKernels &) = delete;

  /// The kernel with this signature, or null.
  const GeneratedKernel *find(const std::string &signature) const;
  size_t size() const { return kernels_.size(); }
  /// Every kernel, in signature order (tests and tools).
  std::vector<const GeneratedKernel *> all() const {
    std::vector<const GeneratedKernel *> out;
    for (const auto &kv : kernels_)
      out.push_back(kv.second.get());
    return out;
  }

  /// EDG_VERBOSE=1: prints "edg: generated kernel <name> runs <what>" the
  /// first time a kernel is used.
  void note_use(const GeneratedKernel &k, const std::string &what) const;

private:
  GeneratedKernels() = default;
  void *handle_ = nullptr;
  std::map<std::string, std::unique_ptr<GeneratedKernel>> kernels_;
  bool verbose_ = false;
};

/// An operand of a run of steps: a value of the function or a weight.
struct StepOperand {
  bool weight = false;
  int32_t id = 0; // value id, or index into Model.weights
};

/// A run of coarse steps one generated kernel executes.
struct FusedSteps {
  const GeneratedKernel *kernel = nullptr;
  int steps = 0;                   // coarse steps replaced (0: no match)
  std::vector<StepOperand> inputs; // kernel inputs, in kernel order
  std::vector<int32_t> outputs;    // value ids the kernel writes, in order
};

/// How often each value of `fn` is read (step inputs and function results).
std::vector<int> value_uses(const schema::Function &fn);

/// The longest run of steps starting at `first` that a generated kernel
/// implements: rms_norm -> add -> rms_norm (post-norm, residual add, next
/// pre-norm, the add's result kept when read later), or a single rms_norm.
/// `width` is the row width (last dim) of the normed activations.
FusedSteps match_steps(const GeneratedKernels &kernels,
                       const schema::Function &fn, int first,
                       const std::vector<int> &uses, int64_t width);

/// Signature of the MLP activation, gelu_tanh(gate) * up.
inline constexpr const char *kGeluTanhMulSignature =
    "ew:t0=gelu_tanh(i0);t1=mul(t0,i1)->t1";

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_GENERATED_KERNELS_H
