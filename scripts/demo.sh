#!/usr/bin/env bash
# demo.sh - the main job: the paper's pipeline end to end on the built-in model.
# SPDX-License-Identifier: Apache-2.0
#
# Installs and builds, then, with the project's own tools and printing each
# command as it runs:
#   1. data: a tokenizer (spm_train) and a corpus from the license texts every
#      Debian machine carries, plus a small seq2seq task (word-order reversal);
#   2. edg-import of the built-in Gemma-2-style config (examples/default);
#   3. edg-train: pretrain the decoder-only model briefly (causal LM);
#   4. edg-opt --edg-adapt-encoder-decoder: the paper's adaptation;
#   5. edg-train: adapt the encoder-decoder model with PrefixLM + distillation
#      from the decoder-only teacher;
#   6. edg-train: fine-tune the decoder-only baseline and the adapted model on
#      the task with the same budget;
#   7. edg-compile + edg-run: generate and score both on held-out pairs
#      (greedy, and beam search for the encoder-decoder model);
# and ends with a table and a loss-curve image (loss-curves.svg). Deterministic for a seed.
# `--quick` is the 1-minute version the test suite runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
  esac
done

if [ "${EDG_DEMO_SKIP_BUILD:-0}" != 1 ]; then
  bash "$root/scripts/install-deps.sh"
  bash "$root/scripts/build.sh"
fi
bin="${EDG_BUILD_DIR:-$root/build}/bin"
suffix=""
if [ $quick = 1 ]; then suffix="-quick"; fi
out="${EDG_DEMO_OUT:-$root/out/demo$suffix}"
rm -rf "$out" && mkdir -p "$out/runs"
seed=7

# Budgets: steps of pretraining, adaptation, and fine-tuning (per model).
if [ $quick = 1 ]; then
  pre=30; adapt=20; ft=120; train_pairs=600; eval_pairs=40
else
  pre=150; adapt=100; ft=250; train_pairs=4000; eval_pairs=200
fi

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
# Like step, but keeps the output in a log as well (for the report).
logged() { local log=$1; shift; printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" 2>&1 | tee "$log"; }

echo "== EDG main job: adapt a decoder-only Gemma 2 into an encoder-decoder T5Gemma =="
echo "   output: $out   (quick=$quick, seed=$seed)"

# 1. Data and tokenizer.
cat /usr/share/common-licenses/* > "$out/corpus.txt"
step python3 "$root/scripts/make_task.py" "$out/corpus.txt" "$out" --seed $seed \
  --train $train_pairs --eval $eval_pairs
step spm_train --input="$out/pretrain.txt" --model_prefix="$out/tokenizer" \
  --vocab_size=512 --model_type=bpe --pad_id=0 --eos_id=1 --bos_id=2 \
  --unk_id=3 --num_threads=1 --random_seed=$seed --minloglevel=2 >/dev/null
tok="$out/tokenizer.model"

# 2. Import the built-in decoder-only model (fresh initialisers for pretraining).
step "$bin/edg-import" "$root/examples/default/config.json" --init-fresh -o "$out/gemma2.mlir"

# 3. Pretrain it briefly.
step "$bin/edg-opt" "$out/gemma2.mlir" --edg-train-pipeline="objective=lm lr=3e-3" \
  -o "$out/gemma2-train.mlir"
step "$bin/edg-compile" "$out/gemma2-train.mlir" -o "$out/gemma2-train.bin" \
  --max-batch 32 --max-seq 64
step "$bin/edg-train" "$out/gemma2-train.bin" --data "$out/pretrain.txt" --tokenizer "$tok" \
  --objective lm --steps $pre --batch 16 --seq 64 --lr 3e-3 --seed $seed \
  --out "$out/runs/pretrain"
pretrained="$out/runs/pretrain/checkpoint/model.safetensors"

# 4. The paper's adaptation as a graph rewrite; the decoder-only model stays in
#    the module as the distillation teacher.
step "$bin/edg-opt" "$out/gemma2.mlir" --edg-adapt-encoder-decoder -o "$out/t5gemma.mlir"
cp "$out/t5gemma.mlir" "$out/t5gemma-kd.mlir"
step "$bin/edg-import" "$root/examples/default/config.json" --entry teacher \
  --weight-prefix teacher. --append-to "$out/t5gemma-kd.mlir" -o "$out/t5gemma-kd.mlir"

# 5. Adaptation training: PrefixLM with knowledge distillation.
step "$bin/edg-opt" "$out/t5gemma-kd.mlir" \
  --edg-train-pipeline="objective=prefixlm-kd lr=1e-3" -o "$out/t5gemma-kd-train.mlir"
step "$bin/edg-compile" "$out/t5gemma-kd-train.mlir" -o "$out/t5gemma-kd-train.bin" \
  --max-batch 32 --max-seq 64
step "$bin/edg-train" "$out/t5gemma-kd-train.bin" --weights "$pretrained" \
  --data "$out/pretrain.txt" --tokenizer "$tok" --objective prefixlm --steps $adapt \
  --batch 16 --seq 32 --lr 1e-3 --seed $seed --out "$out/runs/adapt"
adapted="$out/runs/adapt/checkpoint/model.safetensors"

# 6. Fine-tune both on the task, same steps, batch and learning rate.
step "$bin/edg-opt" "$out/t5gemma.mlir" --edg-train-pipeline="objective=seq2seq lr=1e-3" \
  -o "$out/t5gemma-train.mlir"
step "$bin/edg-compile" "$out/t5gemma-train.mlir" -o "$out/t5gemma-train.bin" \
  --max-batch 32 --max-seq 64
step "$bin/edg-train" "$out/gemma2-train.bin" --weights "$pretrained" \
  --data "$out/task-train.jsonl" --tokenizer "$tok" --objective sft --steps $ft \
  --batch 32 --seq 32 --lr 1e-3 --seed $seed --out "$out/runs/finetune-decoder-only"
step "$bin/edg-train" "$out/t5gemma-train.bin" --weights "$adapted" \
  --data "$out/task-train.jsonl" --tokenizer "$tok" --objective sft --steps $ft \
  --batch 32 --seq 32 --lr 1e-3 --seed $seed --out "$out/runs/finetune-encoder-decoder"

# 7. Compile for inference and score generations on held-out pairs.
for m in gemma2 t5gemma; do
  start=$(date +%s%N)
  step "$bin/edg-compile" "$out/$m.mlir" -o "$out/$m.bin" --max-batch 16 --max-seq 64
  echo $(( ($(date +%s%N) - start) / 1000000 )) > "$out/$m.compile-ms"
done
logged "$out/eval-untrained.log" "$bin/edg-run" "$out/gemma2.bin" --tokenizer "$tok" \
  --eval "$out/task-eval.jsonl"
logged "$out/eval-decoder-only.log" "$bin/edg-run" "$out/gemma2.bin" \
  --weights "$out/runs/finetune-decoder-only/checkpoint/model.safetensors" \
  --tokenizer "$tok" --eval "$out/task-eval.jsonl"
logged "$out/eval-encoder-decoder.log" "$bin/edg-run" "$out/t5gemma.bin" \
  --weights "$out/runs/finetune-encoder-decoder/checkpoint/model.safetensors" \
  --tokenizer "$tok" --eval "$out/task-eval.jsonl"
logged "$out/eval-encoder-decoder-beam4.log" "$bin/edg-run" "$out/t5gemma.bin" \
  --weights "$out/runs/finetune-encoder-decoder/checkpoint/model.safetensors" \
  --tokenizer "$tok" --eval "$out/task-eval.jsonl" --beams 4

report_args=()
if [ $quick = 1 ]; then report_args+=(--check-learned); fi
python3 "$root/scripts/demo_report.py" "$out" "${report_args[@]}"
