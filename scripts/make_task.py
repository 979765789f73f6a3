#!/usr/bin/env python3
# make_task.py - data for the main job: a pretraining corpus and a seq2seq task.
# SPDX-License-Identifier: Apache-2.0
#
# usage: make_task.py CORPUS OUT_DIR [--seed S] [--train N] [--eval N]
# Writes OUT_DIR/pretrain.txt (one text line per example, from CORPUS),
# OUT_DIR/task-train.jsonl and OUT_DIR/task-eval.jsonl. The task is word-order
# reversal: "w1 w2 w3 w4" -> "w4 w3 w2 w1" over frequent corpus words; the
# eval pairs are word sequences never seen in training. Standard library
# only, deterministic for a seed.
import argparse
import collections
import json
import random
import re

ap = argparse.ArgumentParser()
ap.add_argument("corpus")
ap.add_argument("out")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--train", type=int, default=4000)
ap.add_argument("--eval", type=int, default=200)
ap.add_argument("--words", type=int, default=4)
args = ap.parse_args()
rng = random.Random(args.seed)

text = open(args.corpus, encoding="utf-8", errors="replace").read()
lines = [" ".join(l.split()) for l in text.splitlines()]
lines = [l for l in lines if len(l.split()) >= 6]
with open(f"{args.out}/pretrain.txt", "w") as f:
    for l in lines:
        f.write(l.lower() + "\n")

counts = collections.Counter(re.findall(r"[a-z]{3,9}", text.lower()))
vocab = [w for w, _ in counts.most_common(60)]

seen = set()
def sample(n):
    out = []
    while len(out) < n:
        words = tuple(rng.sample(vocab, args.words))
        if words in seen:
            continue
        seen.add(words)
        out.append({"input": " ".join(words), "target": " ".join(reversed(words))})
    return out

eval_pairs = sample(args.eval)
train_pairs = sample(args.train)
for name, pairs in (("task-train", train_pairs), ("task-eval", eval_pairs)):
    with open(f"{args.out}/{name}.jsonl", "w") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")
print(f"make_task: {len(lines)} pretraining lines, {len(train_pairs)} train / "
      f"{len(eval_pairs)} eval pairs over {len(vocab)} words")
