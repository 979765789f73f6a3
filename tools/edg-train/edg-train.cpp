//===- edg-train.cpp - train a compiled model from the command line -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-train model.bin --weights W [--data D] [--tokenizer T]
//  --objective prefixlm|ul2|sft|lm --steps N --batch B --seq S --out DIR
//  [--lr X] [--warmup N] [--total-steps N] [--min-lr-ratio R]
//  [--weight-decay X] [--max-grad-norm X] [--resume CKPT] [--seed S]
//  [--save-every N]`
//
// Runs the model.bin's train_step (built by edg-opt --edg-train-pipeline)
// on batches from runtime/core/objectives.h, with a one-line progress bar on
// stderr, DIR/loss.csv, a checkpoint in DIR/checkpoint (every --save-every
// steps and at the end; HF names, so from_pretrained loads it) and the loss
// curve DIR/loss.png. --steps is the total step count: a run resumed from a
// step-k checkpoint takes steps k+1..N and continues bit for bit as if it
// had never stopped (the data cursor is saved with the optimizer state).
//===----------------------------------------------------------------------===//
#include "runtime/core/objectives.h"
#include "runtime/core/tokenizer.h"
#include "runtime/include/edg/edg.h"
#include "tools/edg-train/loss_plot.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace {
namespace fs = std::filesystem;

void usage() {
  std::fprintf(
      stderr,
      "usage: edg-train model.bin [--weights W.safetensors ...] [--data FILE]\n"
      "         [--tokenizer tokenizer.model] --objective prefixlm|ul2|sft|lm\n"
      "         --steps N --batch B --seq S --out DIR [--lr X] [--warmup N]\n"
      "         [--total-steps N] [--min-lr-ratio R] [--weight-decay X]\n"
      "         [--max-grad-norm X] [--resume CHECKPOINT] [--seed S]\n"
      "         [--save-every N]\n"
      "  --data: token ids per line, text per line (with --tokenizer), or\n"
      "          jsonl {\"input\",\"target\"} pairs (sft); without it, a\n"
      "          synthetic copy task\n");
}

template <class T> T number(const std::string &flag, const char *text) {
  std::stringstream in(text);
  T value;
  in >> value;
  edg::check(!in.fail() && in.eof(), flag, ": '", text, "' is not a number");
  return value;
}

struct Args {
  std::string model, out, objective;
  std::vector<std::string> weights;
  std::optional<std::string> data, tokenizer, resume;
  int64_t steps = 0, batch = 0, seq = 0, save_every = 0;
  uint64_t seed = 0;
  edg::TrainOptions train;
};

Args parse(int argc, char **argv) {
  Args a;
  a.model = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string f = argv[i];
    edg::check(i + 1 < argc, f, " needs a value (see --help)");
    const char *v = argv[++i];
    if (f == "--weights") a.weights.push_back(v);
    else if (f == "--data") a.data = v;
    else if (f == "--tokenizer") a.tokenizer = v;
    else if (f == "--objective") a.objective = v;
    else if (f == "--steps") a.steps = number<int64_t>(f, v);
    else if (f == "--batch") a.batch = number<int64_t>(f, v);
    else if (f == "--seq") a.seq = number<int64_t>(f, v);
    else if (f == "--out") a.out = v;
    else if (f == "--resume") a.resume = v;
    else if (f == "--seed") a.seed = number<uint64_t>(f, v);
    else if (f == "--save-every") a.save_every = number<int64_t>(f, v);
    else if (f == "--lr") a.train.lr = number<double>(f, v);
    else if (f == "--warmup") a.train.warmup_steps = number<int64_t>(f, v);
    else if (f == "--total-steps") a.train.total_steps = number<int64_t>(f, v);
    else if (f == "--min-lr-ratio") a.train.min_lr_ratio = number<double>(f, v);
    else if (f == "--weight-decay") a.train.weight_decay = number<double>(f, v);
    else if (f == "--max-grad-norm") a.train.max_grad_norm = number<double>(f, v);
    else edg::fail("unknown option ", f, " (see --help)");
  }
  edg::check(!a.objective.empty(), "--objective is required (prefixlm, ul2, "
                                   "sft or lm)");
  edg::check(a.steps > 0 && a.batch > 0 && a.seq >= 2,
             "--steps, --batch (> 0) and --seq (>= 2) are required");
  edg::check(!a.out.empty(), "--out DIR is required");
  return a;
}

/// Counts valid (non-padding) input tokens of a batch.
int64_t tokens_of(const edg::TrainBatch &b) {
  int64_t n = 0;
  for (const edg::Tensor *t : {&b.valid, &b.decoder_valid})
    for (int64_t i = 0; i < t->numel(); ++i)
      n += t->data<uint8_t>()[i];
  return n;
}

std::string clock(double s) {
  char buf[32];
  long t = long(s + 0.5);
  std::snprintf(buf, sizeof(buf), "%02ld:%02ld:%02ld", t / 3600, t / 60 % 60,
                t % 60);
  return buf;
}

/// `[#####.....] step 12/100 loss 3.2101 1234 tok/s ETA 00:01:23`
void progress(int64_t step, int64_t first, int64_t last, double loss,
              double tok_s, double elapsed) {
  const int width = 24;
  int filled = int(width * double(step) / double(last));
  std::string bar(size_t(filled), '#');
  bar.resize(size_t(width), '.');
  double per_step = elapsed / double(step - first + 1);
  std::fprintf(stderr, "\r[%s] step %lld/%lld loss %.4f %.0f tok/s ETA %s ",
               bar.c_str(), (long long)step, (long long)last, loss, tok_s,
               clock(per_step * double(last - step)).c_str());
  std::fflush(stderr);
}

int run(int argc, char **argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  Args a = parse(argc, argv);
  std::optional<edg::BatchObjective> objective =
      edg::parse_batch_objective(a.objective);
  edg::check(objective.has_value(), "--objective '", a.objective,
             "' is not one of prefixlm, ul2, sft, lm");

  edg::Model model = edg::Model::load(a.model);
  edg::check(model.is_trainable(), a.model,
             ": no train_step entry point; build the model with "
             "edg-opt --edg-train-pipeline before edg-compile");
  std::map<std::string, std::string> meta;
  if (a.resume)
    meta = model.load_checkpoint(*a.resume);
  else
    model.bind_weights(a.weights, a.seed);
  model.set_train_options(a.train);

  std::optional<edg::Tokenizer> tokenizer;
  if (a.tokenizer)
    tokenizer = edg::Tokenizer::load(*a.tokenizer);
  edg::BatchOptions bo;
  bo.objective = *objective;
  bo.encoder_decoder = model.train_is_encoder_decoder();
  bo.teacher = model.train_uses_teacher();
  bo.batch = a.batch, bo.seq = a.seq, bo.seed = a.seed;
  bo.bos = model.bos_token_id(), bo.eos = model.eos_token_id();
  bo.pad = model.pad_token_id(), bo.vocab = model.vocab_size();
  std::vector<edg::Tokens> sequences;
  std::vector<edg::TokenPair> pairs;
  const edg::Tokenizer *tok = tokenizer ? &*tokenizer : nullptr;
  if (a.data && fs::path(*a.data).extension() == ".jsonl")
    pairs = edg::read_pairs(*a.data, tok, bo.vocab);
  else if (a.data)
    sequences = edg::read_sequences(*a.data, tok, bo.vocab);
  else
    sequences = edg::synthetic_sequences(
        256, bo.encoder_decoder ? 2 * a.seq : a.seq, bo.vocab, a.seed);
  edg::BatchBuilder batches(bo, std::move(sequences), std::move(pairs));
  if (a.resume) {
    edg::check(meta.count("edg-train.cursor") != 0, *a.resume,
               ": not written by edg-train (no data cursor)");
    batches.set_cursor(std::stoll(meta["edg-train.cursor"]));
  }

  // Loss log: a resumed run keeps the rows up to its starting step.
  fs::create_directories(a.out);
  const int64_t first = model.train_steps_done() + 1;
  std::string csv_path = (fs::path(a.out) / "loss.csv").string();
  std::vector<std::string> rows;
  std::vector<double> losses;
  if (std::ifstream old{csv_path}; old && a.resume) {
    std::string line;
    std::getline(old, line); // header
    while (std::getline(old, line) && std::stoll(line) < first) {
      rows.push_back(line);
      losses.push_back(std::stod(line.substr(line.find(',') + 1)));
    }
  }
  std::ofstream csv(csv_path, std::ios::trunc);
  csv << "step,loss,grad_norm,tokens,seconds\n";
  for (const std::string &r : rows)
    csv << r << "\n";

  std::vector<std::string> copy;
  for (const std::string &w : a.weights)
    if (fs::path cfg = fs::path(w).parent_path() / "config.json"; fs::exists(cfg))
      copy = {cfg.string()};
  if (a.resume && fs::exists(fs::path(*a.resume) / "config.json"))
    copy = {(fs::path(*a.resume) / "config.json").string()};
  std::string ckpt = (fs::path(a.out) / "checkpoint").string();
  auto save = [&] {
    model.save_checkpoint(ckpt,
                          {{"edg-train.cursor", std::to_string(batches.cursor())},
                           {"edg-train.objective", a.objective},
                           {"edg-train.seed", std::to_string(a.seed)}},
                          copy);
  };

  auto t0 = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  for (int64_t step = first; step <= a.steps; ++step) {
    edg::TrainBatch batch = batches.next();
    float loss = model.train_step(batch);
    tokens += tokens_of(batch);
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    csv << step << "," << loss << "," << model.last_grad_norm() << ","
        << tokens << "," << elapsed << "\n";
    csv.flush();
    losses.push_back(loss);
    progress(step, first, a.steps, loss, double(tokens) / elapsed, elapsed);
    if (a.save_every > 0 && step % a.save_every == 0 && step < a.steps)
      save();
  }
  std::fprintf(stderr, "\n");
  save();
  edg::train::write_loss_plot((fs::path(a.out) / "loss.png").string(), losses);
  std::fprintf(stderr, "edg-train: %lld steps, checkpoint %s, log %s\n",
               (long long)model.train_steps_done(), ckpt.c_str(),
               csv_path.c_str());
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const edg::Error &e) {
    std::fprintf(stderr, "\nedg-train: error: %s\n", e.what());
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "\nedg-train: error: %s\n", e.what());
    return 1;
  }
}
