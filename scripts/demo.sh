#!/usr/bin/env bash
# demo.sh - the main job: EDG's pipeline end to end on the embedded default model.
# SPDX-License-Identifier: Apache-2.0
#
# Installs and builds, then runs the paper's pipeline with the project's own
# tools, printing each command as it runs: a tokenizer trained with spm_train
# on a corpus every Debian machine carries, edg-import of the built-in
# Gemma-2-style config, edg-opt --edg-adapt-encoder-decoder (decoder-only ->
# encoder-decoder), edg-compile of both models, and edg-run generations.
# `--quick` is the short version the test suite runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

if [ "${EDG_DEMO_SKIP_BUILD:-0}" != 1 ]; then
  bash "$root/scripts/install-deps.sh"
  bash "$root/scripts/build.sh"
fi
bin="${EDG_BUILD_DIR:-$root/build}/bin"
out="${EDG_DEMO_OUT:-$root/out/demo}"
mkdir -p "$out"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "== EDG main job: adapt a decoder-only Gemma 2 into an encoder-decoder T5Gemma =="
echo "   output folder: $out"

# 1. Tokenizer: SentencePiece BPE over the license texts shipped by base-files.
corpus="$out/corpus.txt"
cat /usr/share/common-licenses/* > "$corpus"
step spm_train --input="$corpus" --model_prefix="$out/tokenizer" \
  --vocab_size=512 --model_type=bpe --pad_id=0 --eos_id=1 --bos_id=2 \
  --unk_id=3 --num_threads=1 --minloglevel=2 >/dev/null

# 2. Import the embedded default config (GQA, sliding + global layers, soft-caps).
step "$bin/edg-import" "$root/examples/default/config.json" --init-fresh \
  -o "$out/gemma2.mlir"
# 3. The paper's adaptation as a graph rewrite.
step "$bin/edg-opt" "$out/gemma2.mlir" --edg-adapt-encoder-decoder \
  -o "$out/t5gemma.mlir"
# 4. Compile both.
step "$bin/edg-compile" "$out/gemma2.mlir" -o "$out/gemma2.bin" --max-seq 256
step "$bin/edg-compile" "$out/t5gemma.mlir" -o "$out/t5gemma.bin" --max-seq 256
# 5. Generate from the decoder-only model (fresh weights: training joins the
#    pipeline with edg-train; the adapted model binds its checkpoint).
step "$bin/edg-run" "$out/gemma2.bin" --tokenizer "$out/tokenizer.model" \
  --prompt "the licensor grants you" --max-new-tokens 8
echo
echo "== done: models, tokenizer and logs are in $out =="
