//===- DeviceSchedulePrinter.cpp - model.bin device schedules as text -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-compile --emit=schedule`: prints the stored (packed and verified)
// form, so a test of this text also tests the round trip through model.bin.
//   device @forward arena 29360128 dims B=arg0.0<=8 T=arg0.1<=2048
//     launch embed_0(arg0:i32[B,T], @model.embed_tokens.weight:f32[256,64])
//         -> (arena+0:f32[B,T,64]) sizes(B*T)
//     gemm(x, w) -> (y) M=B*T N=64 K=64 [epilogue softcap_7]
//     attention <kernel>(q, k, v, pos|-, key_valid|-) -> (out) B=B T=T S=T
//     return arena+12582912:f32[B,T,256]
// Training steps add the GEMM forms of the gradients (`form=nn`: w not
// transposed; `form=tn`: x transposed, M = x's last dim, K = the rows),
// `attention_backward <kernel>(q, k, v, pos|-, key_valid|-, out, dout) ->
// (dq, dk, dv, lse, delta) B= T= S=` and `zero_outputs` on scatter-add
// launches (embed_grad).
//===----------------------------------------------------------------------===//
#include "passes/Conversion/EDGToModelBin/DeviceSchedule.h"

#include "runtime/schema/edg_model_generated.h"

using namespace mlir;
namespace fb = ::edg::schema;

namespace {

class Printer {
public:
  Printer(const fb::Model &model, const fb::DeviceFunction &fn,
          llvm::raw_ostream &os)
      : model(model), fn(fn), os(os) {}

  void print() {
    os << "device @" << fn.name()->str() << " arena " << fn.arena_size()
       << " dims";
    if (fn.dims())
      for (const fb::DeviceDim *d : *fn.dims())
        os << " " << dimName(d) << "=arg" << d->argument() << "." << d->axis()
           << "<=" << d->max();
    os << "\n";
    if (fn.steps())
      for (const fb::DeviceStep *s : *fn.steps())
        step(*s);
    os << "  return";
    if (fn.results())
      for (int32_t r : *fn.results())
        os << " " << buffer(r);
    os << "\n";
  }

private:
  std::string dimName(const fb::DeviceDim *d) {
    return d->name() ? d->name()->str() : "?";
  }

  std::string buffer(int32_t id) {
    if (id < 0)
      return "-";
    if (!fn.buffers() || uint32_t(id) >= fn.buffers()->size())
      return "<bad buffer " + std::to_string(id) + ">";
    const fb::DeviceBuffer *b = fn.buffers()->Get(uint32_t(id));
    std::string s;
    switch (b->kind()) {
    case fb::BufferKind::arena: s = "arena+" + std::to_string(b->index()); break;
    case fb::BufferKind::argument: s = "arg" + std::to_string(b->index()); break;
    case fb::BufferKind::weight:
      s = "@" + (model.weights() && b->index() < model.weights()->size()
                     ? model.weights()->Get(uint32_t(b->index()))->name()->str()
                     : "<bad weight>");
      break;
    }
    s += std::string(":") + fb::EnumNameDType(b->dtype()) + "[";
    if (b->shape())
      for (uint32_t i = 0; i < b->shape()->size(); ++i) {
        int64_t d = b->shape()->Get(i);
        s += (i ? "," : "") + (d >= 0 ? std::to_string(d) : dim(int32_t(-1 - d)));
      }
    return s + "]";
  }

  std::string dim(int32_t index) {
    if (!fn.dims() || index < 0 || uint32_t(index) >= fn.dims()->size())
      return "<bad dim>";
    return dimName(fn.dims()->Get(uint32_t(index)));
  }

  std::string size(const fb::SizeExpr *e) {
    std::string s;
    if (e->dims())
      for (int32_t d : *e->dims())
        s += (s.empty() ? "" : "*") + dim(d);
    if (e->factor() != 1 || s.empty())
      s += (s.empty() ? "" : "*") + std::to_string(e->factor());
    return s;
  }

  void list(const flatbuffers::Vector<int32_t> *ids) {
    os << "(";
    if (ids)
      for (uint32_t i = 0; i < ids->size(); ++i)
        os << (i ? ", " : "") << buffer(ids->Get(i));
    os << ")";
  }

  void step(const fb::DeviceStep &s) {
    os << "  " << fb::EnumNameDeviceStepKind(s.kind());
    if (s.kernel())
      os << " " << s.kernel()->str();
    list(s.inputs());
    os << " -> ";
    list(s.outputs());
    auto sizes = s.sizes();
    auto at = [&](uint32_t i) {
      return sizes && i < sizes->size() ? size(sizes->Get(i)) : "?";
    };
    switch (s.kind()) {
    case fb::DeviceStepKind::gemm:
      os << " M=" << at(0) << " N=" << at(1) << " K=" << at(2);
      if (s.transpose_x())
        os << " form=" << (s.transpose_w() ? "tt" : "tn");
      else if (!s.transpose_w())
        os << " form=nn";
      if (s.epilogue() && s.epilogue()->size())
        os << " epilogue " << s.epilogue()->str();
      break;
    case fb::DeviceStepKind::attention:
    case fb::DeviceStepKind::attention_backward:
      os << " B=" << at(0) << " T=" << at(1) << " S=" << at(2);
      break;
    case fb::DeviceStepKind::launch:
      os << " sizes(" << at(0);
      for (uint32_t i = 1; sizes && i < sizes->size(); ++i)
        os << ", " << at(i);
      os << ")";
      if (s.zero_outputs())
        os << " zero_outputs";
      break;
    }
    os << "\n";
  }

  const fb::Model &model;
  const fb::DeviceFunction &fn;
  llvm::raw_ostream &os;
};

} // namespace

LogicalResult mlir::edg::printDeviceSchedules(const std::vector<uint8_t> &model,
                                              llvm::raw_ostream &os) {
  flatbuffers::Verifier verifier(model.data(), model.size());
  if (!fb::VerifyModelBuffer(verifier))
    return failure();
  const fb::Model *m = fb::GetModel(model.data());
  if (m->device_functions())
    for (const fb::DeviceFunction *fn : *m->device_functions())
      Printer(*m, *fn, os).print();
  return success();
}
