#!/usr/bin/env bash
# test.sh - install, build and run every EDG test: the lit/FileCheck suite and
# the GoogleTest units (CTest).
# SPDX-License-Identifier: Apache-2.0
#
# The README's test command and what CI (.ci/run) calls. Ends with one
# summary line: "EDG tests: PASS|FAIL (lit ..., gtest ...)".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${EDG_BUILD_DIR:-$root/build}"

bash "$root/scripts/install-deps.sh" || exit 1
bash "$root/scripts/build.sh" || exit 1

cd "$build"
python3 /usr/lib/llvm-19/build/utils/lit/lit.py -v "$build/test" 2>&1 | tee lit.log
lit_status=${PIPESTATUS[0]}
# `lit` is also registered in CTest (so plain `ctest` runs everything); skip it here.
ctest --output-on-failure -j "$(nproc)" -E '^lit$' 2>&1 | tee ctest.log
ctest_status=${PIPESTATUS[0]}

lit_pass=$(grep -Eo "Passed *: *[0-9]+" lit.log | grep -Eo "[0-9]+" | tail -1)
lit_fail=$(grep -Eo "Failed *: *[0-9]+" lit.log | grep -Eo "[0-9]+" | tail -1)
gtest=$(grep -Eo "[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+" ctest.log | tail -1)
verdict=PASS
[ "$lit_status" -eq 0 ] && [ "$ctest_status" -eq 0 ] || verdict=FAIL
echo "EDG tests: $verdict (lit: ${lit_pass:-0} passed, ${lit_fail:-0} failed; gtest: ${gtest:-none})"
[ "$verdict" = PASS ]
