//===- edg-run.cpp - generate text with a compiled model ----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-run model.bin [--weights W.safetensors] [--tokenizer tokenizer.model]
//  (--prompt TEXT | --ids 1,2,3) [--max-new-tokens N] [--temperature T]
//  [--top-k K] [--top-p P] [--seed S] [--stop 1,107]`
// Loads the model, binds the weights, generates, and prints the new token
// ids (and text, with a tokenizer) on stdout; timing goes to stderr.
//===----------------------------------------------------------------------===//
#include "runtime/core/tokenizer.h"
#include "runtime/include/edg/edg.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: edg-run model.bin [--weights W.safetensors ...]\n"
               "         [--tokenizer tokenizer.model] (--prompt TEXT | --ids 1,2,3)\n"
               "         [--max-new-tokens N] [--temperature T] [--top-k K]\n"
               "         [--top-p P] [--seed S] [--stop ID,ID]\n");
}

std::vector<int32_t> parse_ids(const std::string &text, const char *flag) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char *end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    edg::check(!item.empty() && end && *end == '\0', flag, ": '", item,
               "' is not an integer token id");
    ids.push_back(int32_t(v));
  }
  edg::check(!ids.empty(), flag, " needs at least one token id");
  return ids;
}

template <class T> T parse_number(const char *flag, const char *text) {
  std::stringstream in(text);
  T value;
  in >> value;
  edg::check(!in.fail() && in.eof(), flag, ": '", text, "' is not a number");
  return value;
}

int run(int argc, char **argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  std::string model_path = argv[1];
  std::vector<std::string> weights;
  std::optional<std::string> tokenizer_path, prompt;
  std::optional<std::vector<int32_t>> ids;
  edg::GenerateOptions options;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    edg::check(i + 1 < argc, flag, " needs a value");
    const char *value = argv[++i];
    if (flag == "--weights") weights.push_back(value);
    else if (flag == "--tokenizer") tokenizer_path = value;
    else if (flag == "--prompt") prompt = value;
    else if (flag == "--ids") ids = parse_ids(value, "--ids");
    else if (flag == "--max-new-tokens") options.max_new_tokens = parse_number<int>("--max-new-tokens", value);
    else if (flag == "--temperature") options.temperature = parse_number<float>("--temperature", value);
    else if (flag == "--top-k") options.top_k = parse_number<int>("--top-k", value);
    else if (flag == "--top-p") options.top_p = parse_number<float>("--top-p", value);
    else if (flag == "--seed") options.seed = parse_number<uint64_t>("--seed", value);
    else if (flag == "--stop") options.stop_tokens = parse_ids(value, "--stop");
    else edg::fail("unknown option ", flag, " (see --help)");
  }
  // Without --weights every weight needs a fresh initialiser (edg-import
  // --init-fresh); binding reports each one that has none.
  edg::check(prompt.has_value() != ids.has_value(),
             "give exactly one of --prompt and --ids");

  auto t0 = std::chrono::steady_clock::now();
  edg::Model model = edg::Model::load(model_path);
  model.bind_weights(weights);
  std::optional<edg::Tokenizer> tokenizer;
  if (tokenizer_path)
    tokenizer = edg::Tokenizer::load(*tokenizer_path);
  if (prompt) {
    edg::check(tokenizer.has_value(), "--prompt needs --tokenizer");
    ids = tokenizer->encode(*prompt);
    ids->insert(ids->begin(), model.bos_token_id());
  }
  auto t1 = std::chrono::steady_clock::now();
  std::vector<edg::TokenIds> out = model.generate({*ids}, options);
  auto t2 = std::chrono::steady_clock::now();

  for (size_t i = 0; i < out[0].size(); ++i)
    std::printf("%s%d", i ? "," : "", out[0][i]);
  std::printf("\n");
  if (tokenizer)
    std::printf("%s\n", tokenizer->decode(out[0]).c_str());
  double load_s = std::chrono::duration<double>(t1 - t0).count();
  double gen_s = std::chrono::duration<double>(t2 - t1).count();
  std::fprintf(stderr,
               "edg-run: %s model, %lld parameters, load %.3f s, %zu tokens in "
               "%.3f s (%.1f tokens/s)\n",
               model.model_type().c_str(), (long long)model.parameter_count(),
               load_s, out[0].size(), gen_s,
               gen_s > 0 ? double(out[0].size()) / gen_s : 0.0);
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const edg::Error &e) {
    std::fprintf(stderr, "edg-run: error: %s\n", e.what());
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "edg-run: error: %s\n", e.what());
    return 1;
  }
}
