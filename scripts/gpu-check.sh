#!/usr/bin/env bash
# gpu-check.sh - the checks that need a GPU, in one run of a few minutes.
# SPDX-License-Identifier: Apache-2.0
#
# On a machine with an NVIDIA GPU (sm_80 or newer) and the CUDA toolkit:
#   1. builds what it needs with EDG_ENABLE_CUDA=ON (reusing $EDG_BUILD_DIR);
#   2. runs the CUDA runtime tests (device detection, the driver-API device
#      and the CUDA executor must find the GPU);
#   3. conformance on CUDA: every generated CUDA kernel of every fixture
#      model, fp32 and bf16, against the fp32 CPU oracle (edg-kernel-check):
#      tolerances fp32 1e-4, bf16 3e-2 relative to max(1, max|ref|); the
#      model-level run of the CUDA executor against HF (edg-cuda-check:
#      fp32 logits/encoder states 1e-4 and greedy generation; bf16 within
#      1e-1 of the fp32 reference); plus the end-to-end CPU conformance;
#      training on CUDA: the gradients (and 5 AdamW steps) of three
#      fixtures against HF, fp32;
#   4. benchmarks: cuBLASLt bf16 GEMM TFLOP/s (vs ~790), the generated
#      attention forward at T = S = 4096, head_dim 256 (Gemma 2 2B heads),
#      decode tokens/s at batch 1 with the device KV cache (T5Gemma
#      2B-2B dims, DECODE_LAYERS decoder layers) against its 4.8 TB/s bound,
#      and a training step's TFLOP/s and MFU (T5Gemma 2B-2B dims,
#      TRAIN_LAYERS layers per stack);
# and prints a summary. Exit status 0 only when every check passed.
# docs/gpu.md says what each line means and what is not measured yet.
#
# Environment: EDG_BUILD_DIR (default build-gpu), CUDA_ARCH (default: the
# device's, e.g. sm_90a on H100/H200), JOBS (default nproc), DECODE_LAYERS
# (default 8), TRAIN_LAYERS (default 4).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${EDG_BUILD_DIR:-$root/build-gpu}"
jobs="${JOBS:-$(nproc)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
declare -a summary
failed=0
note() { summary+=("$1"); echo "== $1"; }
bad() { failed=1; note "FAIL: $1"; }

#--- 0. the device ---------------------------------------------------------#
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU answers (nvidia-smi); run this on a GPU machine." >&2
  echo "gpu-check: the CPU test suite is scripts/test.sh." >&2
  exit 2
fi
gpu="$(nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv,noheader | head -1)"
cc="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')"
arch="${CUDA_ARCH:-sm_${cc}}"
[ "$cc" = "90" ] && arch="${CUDA_ARCH:-sm_90a}"
note "GPU: $gpu (kernels for $arch)"

#--- 1. build -------------------------------------------------------------#
mkdir -p "$build"
if ! (cd "$build" && cmake -G Ninja "$root" -DCMAKE_BUILD_TYPE=Release \
        -DEDG_ENABLE_CUDA=ON -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir \
        -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-19/build/utils/lit/lit.py \
        > "$work/cmake.log" 2>&1 &&
      timeout 300 ninja -j "$jobs" edg-import edg-opt edg-compile edg-kernel-check \
        edg-conformance edg-cuda-check edg-runtime-tests edg-cuda-runtime-tests \
        > "$work/build.log" 2>&1); then
  tail -30 "$work/cmake.log" "$work/build.log"
  echo "gpu-check: build failed (are the packages of scripts/install-deps.sh installed?)" >&2
  exit 1
fi
bin="$build/bin"
note "build: ok ($(( $(date +%s) - start )) s)"

#--- 2. CUDA runtime tests ------------------------------------------------#
if "$build/test/runtime/edg-runtime-tests" --gtest_filter='CudaDevice*' > "$work/gtest.log" 2>&1 &&
   ! grep -q "SKIPPED \]" "$work/gtest.log"; then
  note "CUDA runtime tests: $(grep -Eo '[0-9]+ tests? from [0-9]+ test suite' "$work/gtest.log" | head -1) passed"
else
  cat "$work/gtest.log"
  bad "CUDA runtime tests (a skip means the runtime did not see the GPU)"
fi
# The CUDA executor: driver-API device, cuBLASLt GEMM, Gemma 2 forward; and
# the same executor on the CPU emulator (test/cuda_runtime).
if "$build/test/cuda_runtime/edg-cuda-runtime-tests" > "$work/gtest-cuda.log" 2>&1 &&
   ! grep -q "SKIPPED \]" "$work/gtest-cuda.log"; then
  note "CUDA executor tests: $(grep -Eo '[0-9]+ tests? from [0-9]+ test suite' "$work/gtest-cuda.log" | tail -1) passed"
else
  grep -E "FAILED|Skipped|error|no CUDA device" "$work/gtest-cuda.log" | head -20
  bad "CUDA executor tests (a skip means the driver API did not see the GPU)"
fi

#--- 3. conformance on CUDA (kernel level) and on CPU (model level) --------#
check_model() { # name config dtype
  local name=$1 config=$2 dtype=$3 m="$work/$1-$3"
  if ! "$bin/edg-import" "$config" --dtype "$dtype" -o "$m.mlir" 2> "$m.log" ||
     ! timeout 120 "$bin/edg-compile" "$m.mlir" --target=all --cuda-arch="$arch" \
         -o "$m.bin" 2>> "$m.log"; then
    cat "$m.log"; bad "$name $dtype: compile"; return
  fi
  if timeout 120 "$bin/edg-kernel-check" "$m.bin" --device=cuda > "$m.check" 2>&1; then
    note "CUDA kernels $name $dtype: $(grep -c '^PASS' "$m.check") pass, worst rel_err $(
      grep -Eo 'rel_err [0-9.e+-]+' "$m.check" | sort -g -k2 | tail -1 | cut -d' ' -f2)"
  else
    grep -E '^FAIL|error' "$m.check"; bad "CUDA kernels $name $dtype"
  fi
  # Model level: the CUDA executor against HF's fp32 reference. bf16 is
  # bounded loosely (no bf16 reference; weight rounding alone costs ~2e-2).
  local opts=(--tol 1e-4)
  [ "$dtype" = bf16 ] && opts=(--tol 1e-1 --no-generate)
  if timeout 120 "$bin/edg-cuda-check" "$m.bin" "$root/test/fixtures/$name" \
       --device=cuda "${opts[@]}" > "$m.model" 2>&1; then
    note "CUDA executor $name $dtype: $(grep -c '^PASS' "$m.model") checks pass ($(
      grep -Eo 'rel [0-9.e+-]+' "$m.model" | tr '\n' ' '))"
  else
    cat "$m.model"; bad "CUDA executor $name $dtype"
  fi
}
for fixture in gemma2_gqa_sliding gemma2_mha_nocap t5gemma_balanced t5gemma_unbalanced; do
  cfg="$root/test/fixtures/$fixture/config.json"
  check_model "$fixture" "$cfg" f32
  check_model "$fixture" "$cfg" bf16
  if EDG_DEVICE=cpu "$bin/edg-conformance" "$work/$fixture-f32.bin" \
       "$root/test/fixtures/$fixture" > "$work/$fixture.conf" 2>&1; then
    note "CPU conformance $fixture: $(grep -c '^PASS' "$work/$fixture.conf") checks pass"
  else
    cat "$work/$fixture.conf"; bad "CPU conformance $fixture"
  fi
done
# Training on CUDA: grad_step (forward, loss, backward) on the GPU against
# HF's gradients, fp32; t5gemma_balanced at its fp32 noise floor (2e-4, as
# test/e2e/train-conformance-cuda-emu.test), and 5 AdamW steps (the
# optimizer kernels on the GPU too).
check_training() { # fixture objective tol mode
  local m="$work/train-$1"
  if "$bin/edg-import" "$root/test/fixtures/$1/config.json" -o "$m.mlir" 2> "$m.log" &&
     "$bin/edg-opt" "$m.mlir" --edg-train-pipeline="objective=$2 max-grad-norm=0" \
       -o "$m.train.mlir" 2>> "$m.log" &&
     timeout 120 "$bin/edg-compile" "$m.train.mlir" --target=all --cuda-arch="$arch" \
       -o "$m.bin" 2>> "$m.log" &&
     timeout 120 "$bin/edg-conformance" "$m.bin" "$root/test/fixtures/$1" "$4" \
       --device=cuda --tol "$3" > "$m.out" 2>&1; then
    note "CUDA training $1 $4: $(grep -E '^PASS (gradients|parameters)' "$m.out" | head -1)"
  else
    cat "$m.log" "$m.out" 2>/dev/null | tail -20; bad "CUDA training $1 $4"
  fi
}
check_training gemma2_gqa_sliding lm 1e-4 --grads
check_training t5gemma_balanced seq2seq 2e-4 --grads
check_training gemma2_mha_nocap lm 1e-4 --adamw

#--- 4. benchmarks ----------------------------------------------------------#
if out=$(timeout 120 "$bin/edg-kernel-check" --bench-gemm=8192 2>&1); then
  note "$(echo "$out" | grep BENCH | sed 's/^BENCH //') (target ~790)"
else
  echo "$out"; bad "GEMM benchmark"
fi
# Gemma 2 2B attention heads (H 8, KV 4, head_dim 256, soft-cap 50), bf16.
sed -e 's/"num_hidden_layers": *[0-9]*/"num_hidden_layers": 2/' \
    -e 's/"vocab_size": *[0-9]*/"vocab_size": 512/' \
    "$root/test/frontend/Inputs/gemma2-2b.json" > "$work/attn.json"
# The training module carries the backward kernels too (edg-emit-cuda emits
# them for modules with a grad_step/train_step), so both directions are timed.
if "$bin/edg-import" "$work/attn.json" --dtype bf16 -o "$work/attn.mlir" &&
   "$bin/edg-opt" "$work/attn.mlir" --edg-train-pipeline="objective=lm lr=1e-3" \
     -o "$work/attn-train.mlir" &&
   timeout 120 "$bin/edg-compile" "$work/attn-train.mlir" --target=cuda --cuda-arch="$arch" \
     -o "$work/attn.bin" 2> "$work/attn.log" &&
   out=$(timeout 120 "$bin/edg-kernel-check" "$work/attn.bin" --bench-attention=4096 2>&1); then
  while read -r line; do note "${line#BENCH }"; done < <(echo "$out" | grep BENCH)
else
  cat "$work/attn.log"; echo "${out:-}"; bad "attention benchmark"
fi
# Decode at batch 1: greedy one-token steps with the device KV cache
# (edg-cuda-check --bench-decode, synthetic bf16 weights) on T5Gemma 2B-2B
# dims with DECODE_LAYERS decoder layers (default 8, ~4 GB of synthetic weights;
# the full 26 need ~7 GB) and one encoder layer (the encoder runs once);
# the bound reads every decoder weight once per token at 4.8 TB/s.
dl="${DECODE_LAYERS:-8}"
bound=$(python3 - "$root/test/frontend/Inputs/t5gemma-2b-2b.json" "$work/dec.json" "$dl" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
layers = int(sys.argv[3])
for side, n in (("encoder", 1), ("decoder", layers)):
    c[side]["num_hidden_layers"] = n
    if c[side].get("layer_types"):
        c[side]["layer_types"] = c[side]["layer_types"][:n]
json.dump(c, open(sys.argv[2], "w"), indent=1)
d = c["decoder"]
h, i, L = d["hidden_size"], d["intermediate_size"], d["num_hidden_layers"]
H, K, hd = d["num_attention_heads"], d["num_key_value_heads"], d["head_dim"]
attn = h * (H + 2 * K) * hd + H * hd * h
layer = 2 * attn + 3 * h * i          # self- and cross-attention, MLP
params = L * layer + d["vocab_size"] * h  # + the tied embedding / LM head
print(f"{params / 1e9:.2f}B decoder params, {4.8e12 / (2 * params):.0f} tokens/s")
EOF
)
if "$bin/edg-import" "$work/dec.json" --dtype bf16 -o "$work/dec.mlir" 2> "$work/dec.log" &&
   timeout 120 "$bin/edg-compile" "$work/dec.mlir" --target=cuda --cuda-arch="$arch" \
     --max-batch 1 --max-seq 128 -o "$work/dec.bin" 2>> "$work/dec.log" &&
   out=$(timeout 240 "$bin/edg-cuda-check" "$work/dec.bin" --bench-decode=64 --prompt=16 \
     --device=cuda 2>&1); then
  note "decode batch 1 (2B-2B dims, $dl decoder layers, bf16): CUDA graphs $(echo "$out" |
    grep BENCH | grep -Eo '[0-9.]+ ms/token, [0-9.]+ tokens/s' | head -1), without $(echo "$out" |
    grep BENCH | grep -Eo '[0-9.]+ ms/token, [0-9.]+ tokens/s' | tail -1); bound ${bound:-?}"
else
  cat "$work/dec.log"; echo "${out:-}"; bad "decode benchmark"
fi
# A training step (grad_step: forward, loss, backward; then AdamW, all on
# the device) on T5Gemma 2B-2B dims with TRAIN_LAYERS encoder and decoder
# layers (default 4 + 4), bf16, batch 8 x 512 + 512 tokens, synthetic
# weights; MFU against ~790 TFLOP/s.
tl="${TRAIN_LAYERS:-4}"
python3 - "$root/test/frontend/Inputs/t5gemma-2b-2b.json" "$work/train.json" "$tl" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
n = int(sys.argv[3])
for side in ("encoder", "decoder"):
    c[side]["num_hidden_layers"] = n
    if c[side].get("layer_types"):
        c[side]["layer_types"] = c[side]["layer_types"][:n]
json.dump(c, open(sys.argv[2], "w"), indent=1)
EOF
if "$bin/edg-import" "$work/train.json" --dtype bf16 -o "$work/train.mlir" 2> "$work/train.log" &&
   "$bin/edg-opt" "$work/train.mlir" --edg-train-pipeline="objective=seq2seq" \
     -o "$work/train-step.mlir" 2>> "$work/train.log" &&
   timeout 180 "$bin/edg-compile" "$work/train-step.mlir" --target=cuda --cuda-arch="$arch" \
     --max-batch 8 --max-seq 512 -o "$work/train.bin" 2>> "$work/train.log" &&
   out=$(timeout 240 "$bin/edg-cuda-check" "$work/train.bin" --bench-train=3 --batch=8 \
     --seq=512 --peak=790 --device=cuda 2>&1); then
  note "training step (2B-2B dims, $tl+$tl layers, bf16): $(echo "$out" | grep BENCH | sed 's/^BENCH //')"
else
  cat "$work/train.log"; echo "${out:-}"; bad "training benchmark"
fi

#--- summary ----------------------------------------------------------------#
echo
echo "================ EDG GPU check summary ($(( $(date +%s) - start )) s) ================"
printf '%s\n' "${summary[@]}"
if [ "$failed" -eq 0 ]; then echo "EDG GPU check: PASS"; else echo "EDG GPU check: FAIL"; fi
exit "$failed"
