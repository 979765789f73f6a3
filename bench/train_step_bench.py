#!/usr/bin/env python3
# ===- train_step_bench.py - one training step, EDG vs torch ------------=== #
# SPDX-License-Identifier: Apache-2.0
"""EDG vs PyTorch (HF transformers): time of one T5Gemma training step on CPU.

A benchmark, not a test. In one run it
  1. builds a small T5Gemma (default: d=256, 4+4 layers, 4 heads / 2 KV heads,
     head_dim 64, I=1024, V=8192, soft-caps on, sliding window 64) in HF with
     random fp32 weights and saves it with save_pretrained,
  2. compiles it for training with EDG: edg-import -> edg-opt
     --edg-train-pipeline (objective=seq2seq, AdamW, clip 1.0) -> edg-compile,
  3. times the same step in both engines, in alternating rounds so that both
     see the same machine load, with the same thread count:
       EDG:   edg-train (PrefixLM batches of B sequences, S encoder + S
              decoder tokens; one train_step = forward, backward, clip, AdamW)
       torch: zero_grad, forward with labels (eager attention), backward,
              clip_grad_norm_(1.0), AdamW.step
  4. prints the median seconds per step of each and the ratio EDG / torch.

Run it with a python that has torch and transformers, e.g.
  OMP_WAIT_POLICY=passive /work/venv-fixtures/bin/python bench/train_step_bench.py --build build
(passive OpenMP waits, for both engines, on a machine whose cores are shared;
docs/training.md has measured numbers).
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time


def make_model(args, out_dir):
    import torch
    from transformers import T5GemmaConfig, T5GemmaForConditionalGeneration
    from transformers.models.t5gemma.configuration_t5gemma import T5GemmaModuleConfig

    stack = dict(hidden_size=args.hidden, intermediate_size=4 * args.hidden,
                 num_hidden_layers=args.layers, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=64, query_pre_attn_scalar=64,
                 vocab_size=args.vocab, sliding_window=64,
                 attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                 rms_norm_eps=1e-6)
    config = T5GemmaConfig(encoder=T5GemmaModuleConfig(**stack),
                           decoder=T5GemmaModuleConfig(**stack),
                           vocab_size=args.vocab)
    torch.manual_seed(0)
    model = T5GemmaForConditionalGeneration(config)
    model.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def compile_edg(args, hf_dir, work):
    b = os.path.join(args.build, "bin")
    mlir, train, model = (os.path.join(work, n) for n in
                          ("model.mlir", "train.mlir", "train.bin"))
    subprocess.check_call([f"{b}/edg-import", f"{hf_dir}/config.json", "-o", mlir])
    subprocess.check_call([f"{b}/edg-opt", mlir, "--edg-train-pipeline=objective=seq2seq "
                           "lr=1e-4 max-grad-norm=1.0", "-o", train])
    subprocess.check_call([f"{b}/edg-compile", train, "-o", model,
                           "--max-batch", str(args.batch), "--max-seq", str(args.seq)],
                          stderr=subprocess.DEVNULL)
    return model


def edg_round(args, model, hf_dir, work, r):
    """Seconds of each step after the first (which loads BLAS and warms up)."""
    out = os.path.join(work, f"edg-{r}")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    subprocess.check_call([os.path.join(args.build, "bin", "edg-train"), model,
                           "--weights", f"{hf_dir}/model.safetensors",
                           "--objective", "prefixlm", "--steps", str(args.steps + 1),
                           "--batch", str(args.batch), "--seq", str(args.seq),
                           "--out", out], env=env, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "loss.csv")) as f:
        t = [float(row["seconds"]) for row in csv.DictReader(f)]
    return [b - a for a, b in zip(t, t[1:])]


def torch_round(args, hf_dir, state):
    import torch
    from transformers import T5GemmaForConditionalGeneration
    torch.set_num_threads(args.threads)
    if "model" not in state:
        m = T5GemmaForConditionalGeneration.from_pretrained(
            hf_dir, attn_implementation="eager", torch_dtype=torch.float32)
        m.train()
        g = torch.Generator().manual_seed(1)
        ids = torch.randint(3, args.vocab, (args.batch, 2 * args.seq), generator=g)
        state.update(model=m, opt=torch.optim.AdamW(m.parameters(), lr=1e-4),
                     enc=ids[:, :args.seq].contiguous(), labels=ids[:, args.seq:].contiguous(),
                     mask=torch.ones(args.batch, args.seq, dtype=torch.long))
    m, opt = state["model"], state["opt"]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = m(input_ids=state["enc"], attention_mask=state["mask"],
                 labels=state["labels"], use_cache=False).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    step()  # warm-up, as EDG's first step
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build", help="EDG build directory")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=128, help="encoder = decoder length")
    p.add_argument("--steps", type=int, default=5, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="edg-train-bench-") as work:
        hf_dir = make_model(args, os.path.join(work, "hf"))
        model = compile_edg(args, hf_dir, work)
        edg, torch_t, state = [], [], {}
        for r in range(args.rounds):
            edg += edg_round(args, model, hf_dir, work, r)
            torch_t += torch_round(args, hf_dir, state)
        e, t = statistics.median(edg), statistics.median(torch_t)
        print(f"T5Gemma d={args.hidden} L={args.layers}+{args.layers} V={args.vocab}, "
              f"batch {args.batch} x ({args.seq} enc + {args.seq} dec) tokens, "
              f"{args.threads} threads, {len(edg)} steps each")
        print(f"EDG   train_step median {e * 1e3:8.1f} ms  (min {min(edg) * 1e3:.1f})")
        print(f"torch train step median {t * 1e3:8.1f} ms  (min {min(torch_t) * 1e3:.1f})")
        print(f"ratio EDG / torch: {e / t:.2f}")


if __name__ == "__main__":
    sys.exit(main())
