//===- cuda_driver_device_stub.cc - open_cuda_device without CUDA -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Built instead of cuda_driver_device.cc when EDG_ENABLE_CUDA is off (no
// toolkit headers): the runtime still links, and asking for a GPU says why
// there is none.
//===----------------------------------------------------------------------===//
#include "runtime/cuda/device_api.h"

#include "runtime/core/status.h"

namespace edg::cuda {

std::unique_ptr<DeviceApi> open_cuda_device(int) {
  fail("this EDG runtime was built without CUDA (EDG_ENABLE_CUDA=OFF): "
       "no GPU device API");
}

} // namespace edg::cuda
