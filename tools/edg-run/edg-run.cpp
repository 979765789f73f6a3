//===- edg-run.cpp - generate text with a compiled model ----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-run model.bin [--weights W.safetensors] [--tokenizer tokenizer.model]
//  (--prompt TEXT | --ids 1,2,3 | --eval pairs.jsonl) [--max-new-tokens N]
//  [--temperature T] [--top-k K] [--top-p P] [--seed S] [--stop 1,107]
//  [--beams K [--length-penalty L] [--early-stopping 0|1]]`
// Loads the model, binds the weights, generates, and prints the new token
// ids (and text, with a tokenizer) on stdout; timing goes to stderr.
// `--eval` generates a target for every {"input","target"} pair (the format
// edg-train's sft objective trains on: input tokens as the prompt or encoder
// input, no BOS) and prints exact-match accuracy and generation speed.
//===----------------------------------------------------------------------===//
#include "runtime/core/tokenizer.h"
#include "runtime/core/train_data.h"
#include "runtime/include/edg/edg.h"

#include <algorithm>
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
               "         [--tokenizer tokenizer.model]\n"
               "         (--prompt TEXT | --ids 1,2,3 | --eval pairs.jsonl)\n"
               "         [--max-new-tokens N] [--temperature T] [--top-k K]\n"
               "         [--top-p P] [--seed S] [--stop ID,ID]\n"
               "         [--beams K [--length-penalty L] [--early-stopping 0|1]]\n");
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

/// Generation (greedy, sampled, or beam search) for every pair, in batches
/// that fit the compiled maximum (prompts x beams rows); a pair is correct
/// when the tokens before the first stop token equal its target.
int evaluate(const edg::Model &model, const edg::Tokenizer *tokenizer,
             const std::string &path, edg::GenerateOptions options) {
  std::vector<edg::TokenPair> pairs =
      edg::read_pairs(path, tokenizer, model.vocab_size());
  edg::check(!pairs.empty(), path, ": no {input, target} pairs");
  size_t longest = 0;
  for (const edg::TokenPair &p : pairs)
    longest = std::max(longest, p.target.size());
  options.max_new_tokens = int(longest) + 1; // the target and its eos
  std::vector<int32_t> stops = options.stop_tokens;
  if (stops.empty())
    stops.push_back(model.eos_token_id());

  // Exact match per pair, and per target token (position by position) for a
  // finer signal on a partly learned task.
  int64_t correct = 0, generated = 0, token_hits = 0, token_total = 0;
  double seconds = 0;
  size_t batch = size_t(std::max<int64_t>(1, model.max_batch() / options.num_beams));
  for (size_t first = 0; first < pairs.size(); first += batch) {
    std::vector<edg::TokenIds> prompts;
    for (size_t i = first; i < std::min(pairs.size(), first + batch); ++i)
      prompts.push_back(pairs[i].input);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<edg::TokenIds> out = model.generate(prompts, options);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (size_t j = 0; j < out.size(); ++j) {
      generated += int64_t(out[j].size());
      edg::TokenIds answer = out[j];
      auto stop = std::find_first_of(answer.begin(), answer.end(),
                                     stops.begin(), stops.end());
      answer.erase(stop, answer.end());
      const edg::TokenIds &target = pairs[first + j].target;
      bool ok = answer == target;
      correct += ok;
      token_total += int64_t(target.size());
      for (size_t t = 0; t < std::min(answer.size(), target.size()); ++t)
        token_hits += answer[t] == target[t];
      if (first + j < 3 && tokenizer)
        std::printf("  [%s] %s -> %s\n", ok ? "ok" : "xx",
                    tokenizer->decode(pairs[first + j].input).c_str(),
                    tokenizer->decode(answer).c_str());
    }
  }
  std::printf("eval: %s model, %lld parameters\n", model.model_type().c_str(),
              (long long)model.parameter_count());
  std::printf("eval: %zu examples, accuracy %.1f%% (%lld exact), token "
              "accuracy %.1f%%, %.1f generated tokens/s\n",
              pairs.size(), 100.0 * double(correct) / double(pairs.size()),
              (long long)correct,
              100.0 * double(token_hits) / double(std::max<int64_t>(1, token_total)),
              seconds > 0 ? double(generated) / seconds : 0.0);
  return 0;
}

int run(int argc, char **argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  std::string model_path = argv[1];
  std::vector<std::string> weights;
  std::optional<std::string> tokenizer_path, prompt, eval_path;
  std::optional<std::vector<int32_t>> ids;
  edg::GenerateOptions options;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    edg::check(i + 1 < argc, flag, " needs a value");
    const char *value = argv[++i];
    if (flag == "--weights") weights.push_back(value);
    else if (flag == "--tokenizer") tokenizer_path = value;
    else if (flag == "--prompt") prompt = value;
    else if (flag == "--eval") eval_path = value;
    else if (flag == "--ids") ids = parse_ids(value, "--ids");
    else if (flag == "--max-new-tokens") options.max_new_tokens = parse_number<int>("--max-new-tokens", value);
    else if (flag == "--temperature") options.temperature = parse_number<float>("--temperature", value);
    else if (flag == "--top-k") options.top_k = parse_number<int>("--top-k", value);
    else if (flag == "--top-p") options.top_p = parse_number<float>("--top-p", value);
    else if (flag == "--seed") options.seed = parse_number<uint64_t>("--seed", value);
    else if (flag == "--stop") options.stop_tokens = parse_ids(value, "--stop");
    else if (flag == "--beams") options.num_beams = parse_number<int>("--beams", value);
    else if (flag == "--length-penalty") options.length_penalty = parse_number<float>("--length-penalty", value);
    else if (flag == "--early-stopping") options.early_stopping = parse_number<int>("--early-stopping", value) != 0;
    else edg::fail("unknown option ", flag, " (see --help)");
  }
  // Without --weights every weight needs a fresh initialiser (edg-import
  // --init-fresh); binding reports each one that has none.
  edg::check(int(prompt.has_value()) + int(ids.has_value()) +
                     int(eval_path.has_value()) ==
                 1,
             "give exactly one of --prompt, --ids and --eval");

  auto t0 = std::chrono::steady_clock::now();
  edg::Model model = edg::Model::load(model_path);
  model.bind_weights(weights);
  std::optional<edg::Tokenizer> tokenizer;
  if (tokenizer_path)
    tokenizer = edg::Tokenizer::load(*tokenizer_path);
  if (eval_path)
    return evaluate(model, tokenizer ? &*tokenizer : nullptr, *eval_path,
                    options);
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
