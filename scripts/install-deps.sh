#!/usr/bin/env bash
# install-deps.sh - install what EDG needs to build and test (Debian 12).
# SPDX-License-Identifier: Apache-2.0
#
# Everything comes from Debian's packages; the CUDA toolkit, when present,
# is already in /usr/local/cuda. Skips apt when every package is installed.
set -euo pipefail

PACKAGES=(
  libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
  libflatbuffers-dev flatbuffers-compiler ninja-build cmake g++
  libopenblas-dev libsentencepiece-dev sentencepiece nlohmann-json3-dev
  libgtest-dev python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[deps] all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "[deps] installing: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
