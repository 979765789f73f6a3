//===- emu_kernels.cc - generated CUDA built for the CPU emulator -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The source and shared object live in a private temporary directory that
// is removed as soon as the object is loaded.
//===----------------------------------------------------------------------===//
#include "test/cuda_emu/emu_kernels.h"

#include "runtime/core/status.h"

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <map>
#include <mutex>
#include <unistd.h>

namespace edg::cuda_emu {

namespace {
using LaunchFn = int (*)(void *, unsigned, unsigned, unsigned, unsigned,
                         const uint64_t *, int);
} // namespace

std::shared_ptr<const EmuKernels> EmuKernels::get(const std::string &source) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const EmuKernels>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(source);
  if (it != cache.end())
    return it->second;

  char dir[] = "/tmp/edg-emu-XXXXXX";
  check(::mkdtemp(dir) != nullptr, "cannot create a temporary directory");
  std::string src = std::string(dir) + "/kernels.cu",
              so = std::string(dir) + "/kernels.so";
  {
    std::ofstream out(src);
    out << source;
  }
  const char *cxx = std::getenv("CXX");
  std::string cmd = std::string(cxx && *cxx ? cxx : "c++") +
                    " -std=c++20 -O1 -fPIC -shared -pthread -w -x c++ -include " +
                    EDG_CUDA_EMU_DIR "/cuda_emu.h -I " EDG_CUDA_EMU_DIR
                    "/include " + src + " -o " + so;
  int rc = std::system(cmd.c_str());
  void *handle = rc == 0 ? ::dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL) : nullptr;
  std::remove(src.c_str());
  std::remove(so.c_str());
  ::rmdir(dir);
  check(rc == 0, "the generated CUDA does not build for the emulator: ", cmd);
  check(handle != nullptr, "cannot load the emulated kernels: ", ::dlerror());
  std::shared_ptr<EmuKernels> k(new EmuKernels());
  k->handle_ = handle;
  k->launcher_ = ::dlsym(handle, "edg_emu_launch");
  check(k->launcher_ != nullptr, "the emulated kernels have no edg_emu_launch");
  cache[source] = k;
  return k;
}

EmuKernels::~EmuKernels() {
  if (handle_)
    ::dlclose(handle_);
}

void EmuKernels::launch(const std::string &kernel, cuda::GridShape grid,
                        unsigned block, const std::vector<uint64_t> &args) const {
  void *fn = ::dlsym(handle_, kernel.c_str());
  check(fn != nullptr, "no emulated kernel ", kernel);
  check(args.size() >= 2 && args.size() <= 14, kernel, ": the emulator takes 2 "
        "to 14 kernel parameters, got ", args.size());
  if (grid.x == 0 || grid.y == 0 || grid.z == 0)
    return; // empty tensors
  reinterpret_cast<LaunchFn>(launcher_)(fn, grid.x, grid.y, grid.z, block,
                                        args.data(), int(args.size()));
}

} // namespace edg::cuda_emu
