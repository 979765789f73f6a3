//===- kernel_image.cc - the CUDA binaries stored in model.bin --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "runtime/cuda/kernel_image.h"

#include "runtime/core/status.h"

namespace edg::cuda {

namespace fb = ::edg::schema;

namespace {
const fb::KernelBinary *find_binary(
    const fb::Model &model,
    bool (*want)(const std::string &, const std::string &),
    const std::string &sm) {
  if (model.kernels())
    for (const fb::KernelBinary *k : *model.kernels())
      if (k->target() && k->target()->str() == "cuda" && k->arch() &&
          k->data() && want(k->arch()->str(), sm))
        return k;
  return nullptr;
}
} // namespace

KernelImage select_kernel_image(const fb::Model &model, const std::string &path,
                                int cc_major, int cc_minor) {
  const std::string sm =
      "sm_" + std::to_string(cc_major) + std::to_string(cc_minor);
  check(find_binary(model, [](const std::string &a, const std::string &) {
          return a == "source";
        }, sm) != nullptr,
        path, ": model.bin has no CUDA kernels (compile with edg-compile "
              "--target=cuda or --target=all)");
  const fb::KernelBinary *cubin =
      find_binary(model, [](const std::string &a, const std::string &s) {
        return a == s || a == s + "a";
      }, sm);
  const fb::KernelBinary *ptx =
      find_binary(model, [](const std::string &a, const std::string &) {
        return a.rfind("compute_", 0) == 0;
      }, sm);
  const fb::KernelBinary *binary = cubin ? cubin : ptx;
  check(binary != nullptr, path, ": no cubin for ", sm,
        " and no PTX; recompile with --cuda-arch=", sm);
  KernelImage image;
  image.arch = binary->arch()->str();
  image.ptx = cubin == nullptr;
  image.data.assign(binary->data()->begin(), binary->data()->end());
  if (image.ptx && (image.data.empty() || image.data.back() != 0))
    image.data.push_back(0);
  return image;
}

std::string cuda_source(const fb::Model &model, const std::string &path) {
  if (model.kernels())
    for (const fb::KernelBinary *k : *model.kernels())
      if (k->target() && k->target()->str() == "cuda" && k->arch() &&
          k->arch()->str() == "source" && k->data())
        return std::string(k->data()->begin(), k->data()->end());
  fail(path, ": model.bin has no CUDA kernels (compile with edg-compile "
             "--target=cuda or --target=all)");
}

} // namespace edg::cuda
