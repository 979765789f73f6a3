//===- example.cpp - embed a compiled EDG model in an application -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The whole integration: load model.bin, bind safetensors weights, generate.
// Usage: edg-example model.bin model.safetensors 2,651,6037
//===----------------------------------------------------------------------===//
#include "runtime/include/edg/edg.h"

#include <cstdio>
#include <sstream>

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s model.bin weights.safetensors ids\n", argv[0]);
    return 2;
  }
  try {
    edg::Model model = edg::Model::load(argv[1]);
    model.bind_weights({argv[2]});
    edg::TokenIds prompt;
    std::stringstream ids(argv[3]);
    for (std::string id; std::getline(ids, id, ',');)
      prompt.push_back(std::stoi(id));
    edg::GenerateOptions options;
    options.max_new_tokens = 16;
    std::vector<edg::TokenIds> out = model.generate({prompt}, options);
    for (int32_t token : out[0])
      std::printf("%d ", token);
    std::printf("\n");
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
