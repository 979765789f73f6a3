//===- train_data.h - training data files -----------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Readers for the three training-data formats edg-train accepts:
//   - token files: one example per line, space-separated token ids;
//   - text files: one example per line, tokenized with a SentencePiece
//     model (runtime/core/tokenizer.h);
//   - jsonl pairs: one {"input": ..., "target": ...} object per line, each
//     value a string (tokenized) or an array of ids (SFT data).
// Empty lines are skipped. Errors name the file and the line.
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_TRAIN_DATA_H
#define EDG_RUNTIME_CORE_TRAIN_DATA_H

#include <cstdint>
#include <string>
#include <vector>

namespace edg {

class Tokenizer;

using Tokens = std::vector<int32_t>;

/// An (input, target) example: SFT data, or the two halves of PrefixLM.
struct TokenPair {
  Tokens input, target;
};

/// Reads a token or text file: with a tokenizer each line is text,
/// otherwise space-separated ids. Ids must lie in [0, vocab) when vocab > 0.
std::vector<Tokens> read_sequences(const std::string &path,
                                   const Tokenizer *tokenizer, int64_t vocab);

/// Reads a jsonl file of {"input", "target"} pairs. String values need a
/// tokenizer; id arrays do not.
std::vector<TokenPair> read_pairs(const std::string &path,
                                  const Tokenizer *tokenizer, int64_t vocab);

/// A deterministic synthetic corpus for smoke tests and benchmarks, when no
/// data file is given: `count` sequences of `length` ids drawn from the 32
/// ids [3, 35) (fewer for a smaller vocabulary) whose second half repeats
/// the first: a copy task whose loss falls fast from log(vocab).
std::vector<Tokens> synthetic_sequences(int64_t count, int64_t length,
                                        int64_t vocab, uint64_t seed);

} // namespace edg

#endif // EDG_RUNTIME_CORE_TRAIN_DATA_H
