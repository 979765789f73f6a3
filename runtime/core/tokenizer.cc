//===- tokenizer.cc - SentencePiece tokenizer ---------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Thin layer over libsentencepiece (Debian's libsentencepiece-dev).
//===----------------------------------------------------------------------===//
#include "runtime/core/tokenizer.h"

#include "runtime/core/status.h"

#include <sentencepiece_processor.h>

namespace edg {

struct Tokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
  std::string path;
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::string &path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  auto status = impl->sp.Load(path);
  check(status.ok(), path, ": cannot load the SentencePiece tokenizer: ",
        status.ToString());
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(const std::string &text) const {
  std::vector<int> ids;
  auto status = impl_->sp.Encode(text, &ids);
  check(status.ok(), impl_->path, ": cannot encode text: ", status.ToString());
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::string Tokenizer::decode(const std::vector<int32_t> &ids) const {
  std::vector<int> in(ids.begin(), ids.end());
  for (int id : in)
    check(id >= 0 && id < impl_->sp.GetPieceSize(), impl_->path, ": token id ",
          id, " is outside the tokenizer's vocabulary of ",
          impl_->sp.GetPieceSize());
  std::string text;
  auto status = impl_->sp.Decode(in, &text);
  check(status.ok(), impl_->path, ": cannot decode: ", status.ToString());
  return text;
}

int64_t Tokenizer::vocab_size() const { return impl_->sp.GetPieceSize(); }

} // namespace edg
