//===- model.cc - the EDG runtime API -----------------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Loading, weight binding, the model's facts, and the inference entry points
// (logits, encode, decode) over the CPU executor. Generation is in
// generate.cc, batching in batching.cc.
//===----------------------------------------------------------------------===//
#include "runtime/include/edg/edg.h"

#include "runtime/api/batching.h"
#include "runtime/api/model_impl.h"
#include "runtime/core/model_file.h"
#include "runtime/core/weights.h"
#include "runtime/cpu/executor.h"
#include "runtime/cuda/cuda_device.h"

#include <algorithm>

namespace edg {


Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model &&) noexcept = default;
Model &Model::operator=(Model &&) noexcept = default;
Model::~Model() = default;

Model Model::load(const std::string &path) {
  auto impl = std::make_unique<Impl>();
  impl->file = ModelFile::load(path);
  // CUDA when a device answers, the model has kernel-level schedules and
  // EDG_DEVICE allows; else the CPU, said once on stderr.
  const schema::Model &m = impl->file.model();
  bool schedules = m.device_functions() && m.device_functions()->size() > 0;
  impl->use_cuda = cuda::select_backend(schedules) == cuda::Backend::cuda;
  impl->model_type = m.model_type() ? m.model_type()->str() : "unknown";
  impl->executor = std::make_unique<cpu::Executor>(impl->file, impl->weights);
  return Model(std::move(impl));
}

void Model::bind_weights(const std::vector<std::string> &checkpoints,
                         uint64_t seed) {
  impl_->weights.bind(impl_->file.model(), checkpoints, seed);
  impl_->train.reset(); // new weights: the optimizer starts over
  if (impl_->cuda_executor)
    impl_->cuda_executor->reset_optimizer();
}

const std::string &Model::model_type() const { return impl_->model_type; }
bool Model::is_encoder_decoder() const {
  return impl_->file.function("encode") && impl_->file.function("decode");
}
int64_t Model::vocab_size() const { return impl_->file.model().vocab_size(); }
int32_t Model::bos_token_id() const {
  return int32_t(impl_->file.model().bos_token_id());
}
int32_t Model::eos_token_id() const {
  return int32_t(impl_->file.model().eos_token_id());
}
int32_t Model::pad_token_id() const {
  return int32_t(impl_->file.model().pad_token_id());
}
int64_t Model::max_batch() const { return impl_->file.model().max_batch(); }
int64_t Model::max_seq() const { return impl_->file.model().max_seq(); }
int64_t Model::parameter_count() const {
  return impl_->weights.parameter_count();
}

cuda::CudaExecutor *Model::Impl::cuda() {
  if (!use_cuda)
    return nullptr;
  if (!cuda_executor) {
    if (!device)
      device = cuda::open_cuda_device();
    cuda_executor = std::make_unique<cuda::CudaExecutor>(file, weights, *device);
  }
  return cuda_executor.get();
}

void Model::Impl::sync_host() {
  if (cuda_executor && cuda_executor->device_ahead() && train)
    cuda_executor->download_training_state(weights, *train);
}

cpu::Executor &Model::Impl::cpu_executor() {
  sync_host();
  return *executor;
}

std::vector<Tensor> Model::run(const std::string &name,
                               const std::vector<const Tensor *> &args) const {
  if (cuda::CudaExecutor *cuda = impl_->cuda(); cuda && cuda->has_function(name))
    return cuda->run(name, args);
  return impl_->cpu_executor().run(name, args);
}


Tensor Model::logits(const std::vector<TokenIds> &batch) const {
  check_batch(*this, batch, 0, "logits");
  Batch b = make_batch(batch, pad_token_id(), /*left=*/false);
  return std::move(
      run("forward", {&b.ids, &b.positions, &b.valid}).at(0));
}

Tensor Model::encode(const std::vector<TokenIds> &batch) const {
  check_batch(*this, batch, 0, "encode");
  Batch b = make_batch(batch, pad_token_id(), /*left=*/false);
  return std::move(run("encode", {&b.ids, &b.positions, &b.valid}).at(0));
}

Tensor Model::decode(const std::vector<TokenIds> &encoder_batch,
                     const std::vector<TokenIds> &decoder_batch) const {
  check_batch(*this, encoder_batch, 0, "decode (encoder input)");
  check_batch(*this, decoder_batch, 0, "decode (decoder input)");
  check(encoder_batch.size() == decoder_batch.size(),
        "decode: encoder batch of ", encoder_batch.size(),
        " and decoder batch of ", decoder_batch.size(), " differ");
  Batch e = make_batch(encoder_batch, pad_token_id(), false);
  Batch d = make_batch(decoder_batch, pad_token_id(), false);
  Tensor enc = std::move(run("encode", {&e.ids, &e.positions, &e.valid}).at(0));
  return std::move(
      run("decode", {&d.ids, &d.positions, &d.valid, &enc, &e.valid}).at(0));
}

} // namespace edg
