//===- edg_bench_infer.cc - time EDG encode and generate ----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// A benchmark executable (edg-bench-infer), not a test. It loads a compiled
// encoder-decoder model.bin, binds its safetensors, and times the public API:
// Model::encode (the encoder over [B, S] tokens) and Model::generate (greedy,
// exactly N new tokens: no stop token). Two modes:
//
//   edg-bench-infer model.bin weights.safetensors [--ids FILE] [--len S]
//       [--batch B] [--new-tokens N] [--reps R]
//     standalone: prints the median seconds of encode and generate.
//   edg-bench-infer model.bin weights.safetensors --ids FILE --serve
//     driven by bench/bench_inference.py: reads commands from stdin,
//       encode B        -> {"seconds": s, "sum_abs": x, "numel": n}
//       generate B N    -> {"seconds": s, "tokens": [[...], ...]}
//       logits R t1 ... -> {"logits": [...]}: decoder logits after BOS t1 ...
//                          for encoder row R (Model::decode, last position)
//       quit
//     and answers each with one JSON line, so that the driver can interleave
//     EDG, HF and CTranslate2 runs under the same machine load.
//
// FILE holds one encoder sequence per line (ids separated by spaces or
// commas); a batch of B uses the first B lines. Without --ids the tokens are
// drawn uniformly from [4, vocab) with a fixed seed.
//===----------------------------------------------------------------------===//
#include "runtime/include/edg/edg.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::vector<edg::TokenIds> read_ids(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot open ids file " + path);
  std::vector<edg::TokenIds> rows;
  for (std::string line; std::getline(in, line);) {
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream ss(line);
    edg::TokenIds row;
    for (long v; ss >> v;)
      row.push_back(int32_t(v));
    if (!row.empty())
      rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<edg::TokenIds> first_rows(const std::vector<edg::TokenIds> &rows,
                                      size_t B) {
  if (B == 0 || B > rows.size())
    throw std::runtime_error("batch of " + std::to_string(B) + " needs " +
                             std::to_string(B) + " id rows, have " +
                             std::to_string(rows.size()));
  return {rows.begin(), rows.begin() + long(B)};
}

edg::GenerateOptions greedy(int new_tokens) {
  edg::GenerateOptions o;
  o.max_new_tokens = new_tokens;
  o.temperature = 0.0f;
  o.stop_tokens = {-1}; // no token id is -1: always exactly new_tokens
  return o;
}

nlohmann::json run_encode(const edg::Model &m,
                          const std::vector<edg::TokenIds> &batch) {
  auto t0 = Clock::now();
  edg::Tensor enc = m.encode(batch);
  double s = seconds_since(t0);
  double sum_abs = 0.0;
  const float *p = enc.data<float>();
  for (int64_t i = 0; i < enc.numel(); ++i)
    sum_abs += std::fabs(double(p[i]));
  return {{"seconds", s}, {"sum_abs", sum_abs}, {"numel", enc.numel()}};
}

nlohmann::json run_generate(const edg::Model &m,
                            const std::vector<edg::TokenIds> &batch,
                            int new_tokens) {
  auto t0 = Clock::now();
  std::vector<edg::TokenIds> out = m.generate(batch, greedy(new_tokens));
  double s = seconds_since(t0);
  return {{"seconds", s}, {"tokens", out}};
}

int serve(const edg::Model &m, const std::vector<edg::TokenIds> &rows) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream ss(line);
    std::string cmd;
    ss >> cmd;
    nlohmann::json reply;
    try {
      if (cmd == "quit")
        return 0;
      size_t B = 0;
      int N = 0;
      if (cmd == "encode" && (ss >> B))
        reply = run_encode(m, first_rows(rows, B));
      else if (cmd == "generate" && (ss >> B >> N))
        reply = run_generate(m, first_rows(rows, B), N);
      else if (cmd == "logits" && (ss >> B) && B < rows.size()) {
        edg::TokenIds dec = {m.bos_token_id()};
        for (int32_t t; ss >> t;)
          dec.push_back(t);
        edg::Tensor l = m.decode({rows[B]}, {dec});
        const int64_t V = l.dim(-1);
        const float *last = l.data<float>() + (l.numel() - V);
        reply = {{"logits", std::vector<float>(last, last + V)}};
      }
      else
        reply = {{"error", "unknown command: " + line}};
    } catch (const std::exception &e) {
      reply = {{"error", e.what()}};
    }
    std::cout << reply.dump() << std::endl;
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s model.bin weights.safetensors [--ids FILE] "
                 "[--serve] [--len S] [--batch B] [--new-tokens N] [--reps R]\n",
                 argv[0]);
    return 2;
  }
  std::string ids_path;
  bool serve_mode = false;
  int64_t len = 512;
  size_t batch = 1;
  int new_tokens = 64, reps = 5;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--ids")
      ids_path = value();
    else if (a == "--serve")
      serve_mode = true;
    else if (a == "--len")
      len = std::stoll(value());
    else if (a == "--batch")
      batch = size_t(std::stoul(value()));
    else if (a == "--new-tokens")
      new_tokens = std::stoi(value());
    else if (a == "--reps")
      reps = std::max(1, std::stoi(value()));
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    auto t0 = Clock::now();
    edg::Model model = edg::Model::load(argv[1]);
    model.bind_weights({argv[2]});
    if (!model.is_encoder_decoder())
      throw std::runtime_error("edg-bench-infer times encoder-decoder models");
    double load_s = seconds_since(t0);

    std::vector<edg::TokenIds> rows;
    if (!ids_path.empty()) {
      rows = read_ids(ids_path);
    } else {
      std::mt19937 rng(1234);
      std::uniform_int_distribution<int32_t> tok(4, int32_t(model.vocab_size() - 1));
      rows.assign(batch, edg::TokenIds(size_t(len)));
      for (auto &r : rows)
        for (auto &t : r)
          t = tok(rng);
    }
    if (serve_mode) {
      nlohmann::json ready = {{"ready", true},
                              {"load_seconds", load_s},
                              {"parameters", model.parameter_count()}};
      std::cout << ready.dump() << std::endl;
      return serve(model, rows);
    }

    std::vector<edg::TokenIds> b = first_rows(rows, batch);
    std::printf("edg-bench-infer: B=%zu S=%zu new_tokens=%d reps=%d (load %.2f s)\n",
                batch, b[0].size(), new_tokens, reps, load_s);
    std::vector<double> enc, gen;
    run_encode(model, b); // warm-up
    for (int r = 0; r < reps; ++r)
      enc.push_back(run_encode(model, b)["seconds"].get<double>());
    run_generate(model, b, new_tokens);
    for (int r = 0; r < reps; ++r)
      gen.push_back(run_generate(model, b, new_tokens)["seconds"].get<double>());
    std::printf("encode   median %.4f s\n", median(enc));
    std::printf("generate median %.4f s (%.2f ms/token)\n", median(gen),
                1e3 * median(gen) / std::max(1, new_tokens));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
