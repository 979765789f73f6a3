//===- kernel_image.h - the CUDA binaries stored in model.bin ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// edg-compile --target=cuda|all stores KernelBinary{cuda, sm_XY[a]} cubins,
// one {cuda, compute_80} PTX and the {cuda, source} text whose
// `// edg-launch:` lines give every kernel's launch shape. This picks what a
// device loads. No CUDA header: the emulator and the loaders share it.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CUDA_KERNEL_IMAGE_H
#define EDG_RUNTIME_CUDA_KERNEL_IMAGE_H

#include "runtime/schema/edg_model_generated.h"

#include <cstdint>
#include <string>
#include <vector>

namespace edg::cuda {

struct KernelImage {
  std::string arch;          // "sm_90a", "sm_80", "compute_80"
  bool ptx = false;          // PTX for the driver to JIT-compile
  std::vector<uint8_t> data; // PTX ends in a NUL, as cuModuleLoadData wants
};

/// The cubin for a device of compute capability major.minor (sm_XY, or the
/// sm_XYa variant, which runs on exactly that architecture), else the PTX.
/// Throws edg::Error naming `path` when the model has no CUDA kernels or
/// nothing that runs on the device.
KernelImage select_kernel_image(const schema::Model &model,
                                const std::string &path, int cc_major,
                                int cc_minor);

/// The generated CUDA source; throws edg::Error when it is not stored.
std::string cuda_source(const schema::Model &model, const std::string &path);

} // namespace edg::cuda

#endif // EDG_RUNTIME_CUDA_KERNEL_IMAGE_H
