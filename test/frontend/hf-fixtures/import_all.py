#!/usr/bin/env python3
# import_all.py - run edg-import --weights on every fixture in fixtures.json.
# SPDX-License-Identifier: Apache-2.0
#
# Usage: import_all.py FIXTURES_DIR EDG_IMPORT OUT_DIR
# The per-fixture lit tests check attributes; this one makes sure a fixture
# added to fixtures.json later is imported and weight-checked too.
import json
import os
import subprocess
import sys


def main():
    fixtures, edg_import, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(fixtures, "fixtures.json")) as f:
        index = json.load(f)
    failed = 0
    for fixture in index["fixtures"]:
        name = fixture["name"]
        folder = os.path.join(fixtures, name)
        cmd = [edg_import, os.path.join(folder, "config.json"),
               "--weights", os.path.join(folder, "model.safetensors"),
               "-o", os.path.join(out, name + ".mlir")]
        result = subprocess.run(cmd, capture_output=True, text=True)
        status = "ok" if result.returncode == 0 else "FAILED"
        print(f"{name} ({fixture['kind']}): {status}")
        if result.returncode != 0:
            sys.stdout.write(result.stderr)
            failed += 1
    print(f"{len(index['fixtures'])} fixtures, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
