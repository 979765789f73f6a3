#!/usr/bin/env python3
# corrupt_safetensors.py - derive hostile checkpoints from a good one.
# SPDX-License-Identifier: Apache-2.0
#
# usage: corrupt_safetensors.py IN MODE OUT
# Modes: past-end (a tensor's end offset beyond the file), overlap (two
# tensors share bytes), int-dtype (a weight stored as I32), drop (one tensor
# missing), reshape (one tensor with the wrong shape), truncate (file cut in
# the data section). Standard library only.
import json
import struct
import sys

src, mode, dst = sys.argv[1:4]
blob = open(src, "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + n])
data = blob[8 + n:]
names = sorted(k for k in header if k != "__metadata__")
victim = "model.layers.0.self_attn.q_proj.weight"
assert victim in header, victim

if mode == "truncate":
    open(dst, "wb").write(blob[: 8 + n + len(data) // 2])
    sys.exit(0)
if mode == "past-end":
    b, e = header[victim]["data_offsets"]
    header[victim]["data_offsets"] = [b, len(data) + 64]
elif mode == "overlap":
    other = next(k for k in names if k != victim and header[k]["dtype"] == header[victim]["dtype"]
                 and header[k]["shape"] == header[victim]["shape"])
    header[victim]["data_offsets"] = list(header[other]["data_offsets"])
elif mode == "int-dtype":
    header[victim]["dtype"] = "I32"
elif mode == "drop":
    del header[victim]
elif mode == "reshape":
    shape = header[victim]["shape"]
    header[victim]["shape"] = [shape[1], shape[0]] if shape[0] != shape[1] else [shape[0] * 2, shape[1] // 2]
else:
    sys.exit("unknown mode " + mode)

text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(dst, "wb").write(struct.pack("<Q", len(text)) + text + data)
