//===- KernelBinaries.cpp - generated code in model.bin ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The model is unpacked into the FlatBuffers object API, the kernels are
// appended and the whole model is packed again. A model is at most a few MB
// of schedule plus the kernel binaries (weights live in safetensors), so the
// round trip costs milliseconds and keeps ExportModel.cpp unaware of
// generated code.
//===----------------------------------------------------------------------===//
#include "passes/Conversion/EDGToModelBin/KernelBinaries.h"

#include "runtime/schema/edg_model_generated.h"

using namespace mlir;
namespace fb = ::edg::schema;

LogicalResult mlir::edg::addKernelBinaries(std::vector<uint8_t> &model,
                                           const std::vector<KernelBlob> &blobs,
                                           std::string &error) {
  flatbuffers::Verifier verifier(model.data(), model.size());
  if (!fb::VerifyModelBuffer(verifier)) {
    error = "internal error: the exported model does not verify";
    return failure();
  }
  std::unique_ptr<fb::ModelT> unpacked(fb::GetModel(model.data())->UnPack());
  for (const KernelBlob &blob : blobs) {
    auto kernel = std::make_unique<fb::KernelBinaryT>();
    kernel->target = blob.target;
    kernel->arch = blob.arch;
    kernel->data = blob.data;
    unpacked->kernels.push_back(std::move(kernel));
  }
  flatbuffers::FlatBufferBuilder fbb(model.size() + 1024);
  fbb.Finish(fb::Model::Pack(fbb, unpacked.get()), fb::ModelIdentifier());
  model.assign(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  return success();
}
