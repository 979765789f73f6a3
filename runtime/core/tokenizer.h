//===- tokenizer.h - SentencePiece tokenizer ----------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Wraps a SentencePiece `tokenizer.model` (the format Gemma ships) for
// encode/decode; errors name the file.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_TOKENIZER_H
#define EDG_RUNTIME_CORE_TOKENIZER_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edg {

class Tokenizer {
public:
  /// Loads `path`; throws edg::Error when it is missing or not a
  /// SentencePiece model.
  static Tokenizer load(const std::string &path);
  Tokenizer(Tokenizer &&) noexcept;
  Tokenizer &operator=(Tokenizer &&) noexcept;
  ~Tokenizer();

  std::vector<int32_t> encode(const std::string &text) const;
  std::string decode(const std::vector<int32_t> &ids) const;
  int64_t vocab_size() const;

private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace edg

#endif // EDG_RUNTIME_CORE_TOKENIZER_H
