#!/usr/bin/env python3
# make_safetensors.py - tiny safetensors checkpoints for edg-import --weights.
# SPDX-License-Identifier: Apache-2.0
#
# Writes the checkpoints the edg-import-weights.test lit test reads, for the
# model in tiny-gemma2.json (V=32, d=8, I=16, L=2, H=2, K=1, hd=4). Only the
# standard library: an 8-byte little-endian header length, the JSON header,
# then zero-filled tensor data. Run it from this folder to regenerate.
import json
import struct

V, D, I, L, H, K, HD = 32, 8, 16, 2, 2, 1, 4
BYTES = {"F32": 4, "BF16": 2, "F16": 2, "I32": 4}


def gemma2_weights():
    w = [("model.embed_tokens.weight", [V, D])]
    for i in range(L):
        p = f"model.layers.{i}."
        w += [(p + "input_layernorm.weight", [D]),
              (p + "self_attn.q_proj.weight", [H * HD, D]),
              (p + "self_attn.k_proj.weight", [K * HD, D]),
              (p + "self_attn.v_proj.weight", [K * HD, D]),
              (p + "self_attn.o_proj.weight", [D, H * HD]),
              (p + "post_attention_layernorm.weight", [D]),
              (p + "pre_feedforward_layernorm.weight", [D]),
              (p + "mlp.gate_proj.weight", [I, D]),
              (p + "mlp.up_proj.weight", [I, D]),
              (p + "mlp.down_proj.weight", [D, I]),
              (p + "post_feedforward_layernorm.weight", [D])]
    return w + [("model.norm.weight", [D])]


def write(path, tensors, dtype="BF16"):
    """tensors: [(name, shape)] or [(name, shape, dtype)]."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for t in tensors:
        name, shape = t[0], t[1]
        dt = t[2] if len(t) > 2 else dtype
        n = BYTES[dt]
        for s in shape:
            n *= s
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(offset))


def main():
    good = gemma2_weights()
    # A complete bf16 checkpoint (the module is f32: fine), with the tied head.
    write("tiny-gemma2.safetensors", good + [("lm_head.weight", [V, D])])

    # Two missing, one unexpected, one mis-shaped, one integer tensor.
    bad = [t for t in good if t[0] not in ("model.norm.weight", "model.layers.1.mlp.up_proj.weight")]
    bad = [(n, [D, D]) if n == "model.layers.0.self_attn.k_proj.weight" else (n, s) for n, s in bad]
    bad = [(n, s, "I32") if n == "model.layers.1.input_layernorm.weight" else (n, s) for n, s in bad]
    bad.append(("model.layers.2.input_layernorm.weight", [D]))
    write("tiny-gemma2-bad.safetensors", bad)

    # Sharded: the index names two shards; the second index maps one tensor
    # to the wrong shard.
    half = len(good) // 2
    shards = {"tiny-gemma2-00001-of-00002.safetensors": good[:half],
              "tiny-gemma2-00002-of-00002.safetensors": good[half:]}
    weight_map = {}
    for shard, tensors in shards.items():
        write(shard, tensors, "F32")
        weight_map.update({t[0]: shard for t in tensors})
    with open("tiny-gemma2.safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")
    weight_map["model.norm.weight"] = "tiny-gemma2-00001-of-00002.safetensors"
    with open("tiny-gemma2-wrong-shard.index.json", "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")

    # A plausible header length followed by text that is not JSON.
    with open("garbage.safetensors", "wb") as f:
        f.write(struct.pack("<Q", 16) + b"this is not json" + bytes(8))


if __name__ == "__main__":
    main()
