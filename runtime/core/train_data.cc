//===- train_data.cc - training data files ----------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See train_data.h.
//===----------------------------------------------------------------------===//
#include "runtime/core/train_data.h"

#include "runtime/core/status.h"
#include "runtime/core/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

namespace edg {

namespace {
std::ifstream open(const std::string &path) {
  std::ifstream in(path);
  check(bool(in), "cannot open training data ", path);
  return in;
}

void check_ids(const Tokens &ids, int64_t vocab, const std::string &path,
               size_t line) {
  if (vocab <= 0)
    return;
  for (int32_t id : ids)
    check(id >= 0 && id < vocab, path, ":", line, ": token id ", id,
          " is outside the model's vocabulary [0, ", vocab, ")");
}

Tokens parse_ids(const std::string &text, const std::string &path,
                 size_t line) {
  Tokens ids;
  std::istringstream ss(text);
  std::string word;
  while (ss >> word) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception &) {
      used = 0;
    }
    check(used == word.size() && v >= INT32_MIN && v <= INT32_MAX, path, ":",
          line, ": '", word,
          "' is not a token id (token files hold space-separated integers; "
          "pass --tokenizer for raw text)");
    ids.push_back(int32_t(v));
  }
  return ids;
}

Tokens json_tokens(const nlohmann::json &v, const char *key,
                   const Tokenizer *tokenizer, const std::string &path,
                   size_t line) {
  if (v.is_string()) {
    check(tokenizer != nullptr, path, ":", line, ": \"", key,
          "\" is text; pass --tokenizer (or give token id arrays)");
    return tokenizer->encode(v.get<std::string>());
  }
  check(v.is_array(), path, ":", line, ": \"", key,
        "\" must be a string or an array of token ids");
  Tokens ids;
  for (const auto &x : v) {
    check(x.is_number_integer(), path, ":", line, ": \"", key,
          "\" holds a non-integer token id");
    ids.push_back(x.get<int32_t>());
  }
  return ids;
}
} // namespace

std::vector<Tokens> read_sequences(const std::string &path,
                                   const Tokenizer *tokenizer, int64_t vocab) {
  std::ifstream in = open(path);
  std::vector<Tokens> out;
  std::string text;
  for (size_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    Tokens ids = tokenizer ? tokenizer->encode(text) : parse_ids(text, path, line);
    check_ids(ids, vocab, path, line);
    out.push_back(std::move(ids));
  }
  check(!out.empty(), path, ": no examples (the file is empty)");
  return out;
}

std::vector<TokenPair> read_pairs(const std::string &path,
                                  const Tokenizer *tokenizer, int64_t vocab) {
  std::ifstream in = open(path);
  std::vector<TokenPair> out;
  std::string text;
  for (size_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const std::exception &e) {
      fail(path, ":", line, ": not a JSON object: ", e.what());
    }
    check(j.is_object() && j.contains("input") && j.contains("target"), path,
          ":", line, ": each line must be {\"input\": ..., \"target\": ...}");
    TokenPair p{json_tokens(j["input"], "input", tokenizer, path, line),
                json_tokens(j["target"], "target", tokenizer, path, line)};
    check_ids(p.input, vocab, path, line);
    check_ids(p.target, vocab, path, line);
    check(!p.target.empty(), path, ":", line, ": the target is empty");
    out.push_back(std::move(p));
  }
  check(!out.empty(), path, ": no examples (the file is empty)");
  return out;
}

std::vector<Tokens> synthetic_sequences(int64_t count, int64_t length,
                                        int64_t vocab, uint64_t seed) {
  check(vocab > 3 && length >= 2 && count > 0,
        "synthetic data needs vocab > 3, length >= 2, count > 0");
  std::mt19937_64 rng(seed);
  std::vector<Tokens> out(static_cast<size_t>(count));
  const uint64_t symbols = uint64_t(std::min<int64_t>(32, vocab - 3));
  for (Tokens &seq : out) {
    int64_t half = length / 2;
    for (int64_t i = 0; i < half; ++i)
      seq.push_back(int32_t(3 + rng() % symbols));
    for (int64_t i = half; i < length; ++i)
      seq.push_back(seq[size_t(i - half)]);
  }
  return out;
}

} // namespace edg
