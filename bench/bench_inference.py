#!/usr/bin/env python3
"""EDG vs Hugging Face transformers vs CTranslate2: T5Gemma S-S inference latency.

A benchmark, not a test (see bench/README.md). In one run it
  1. builds a T5Gemma S-S-sized model in HF (T5GemmaForConditionalGeneration, eager attention,
     fp32, random weights, vocab 256000) and saves it with save_pretrained to a temp folder,
  2. imports it into EDG (edg-import + edg-compile) and converts it for CTranslate2
     (ctranslate2.converters.TransformersConverter, float32),
  3. checks that EDG's greedy tokens equal HF's (and its encoder output matches HF's),
  4. times, with the same thread count for all three engines and the runs interleaved
     engine by engine so that they see the same machine load:
       (a) encode of S=512 tokens and (b) greedy generation of N=64 new tokens
       (encoder included, no stop token, KV cache on), at batch 1 and batch 8,
     and prints the median latency of each, with the ratios EDG/HF and EDG/CT2.

Python dependencies (torch, transformers, safetensors, ctranslate2) live in a virtual
environment, never in CI:
  EDG_BENCH_VENV=/path/to/venv   use that environment (nothing is installed);
  otherwise bench/.venv          is created on first use and bench/requirements.txt installed
                                 (EDG_BENCH_PIP_ARGS adds pip arguments, e.g. a CPU torch index).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ---------------------------------------------------------------------------
# Environment: re-run under the benchmark venv, pin the thread counts
# ---------------------------------------------------------------------------

def ensure_venv():
    """Re-executes this script with the benchmark venv's python unless already there."""
    if os.environ.get("EDG_BENCH_IN_VENV") == "1":
        return
    venv = os.environ.get("EDG_BENCH_VENV")
    if venv:
        if not os.path.exists(os.path.join(venv, "bin", "python")):
            sys.exit(f"EDG_BENCH_VENV={venv} has no bin/python")
    else:
        venv = os.path.join(HERE, ".venv")
        if not os.path.exists(os.path.join(venv, "bin", "python")):
            print(f"creating {venv}", file=sys.stderr)
            subprocess.check_call([sys.executable, "-m", "venv", venv])
            pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "install"]
            subprocess.check_call(pip + ["--upgrade", "pip"])
            extra = os.environ.get("EDG_BENCH_PIP_ARGS", "").split()
            subprocess.check_call(pip + extra + ["-r", os.path.join(HERE, "requirements.txt")])
    py = os.path.join(venv, "bin", "python")
    env = dict(os.environ, EDG_BENCH_IN_VENV="1")
    os.execve(py, [py, os.path.abspath(__file__)] + sys.argv[1:], env)


def pin_threads(n):
    # Before torch / ctranslate2 load their OpenMP runtimes.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

PAD_ID, EOS_ID, BOS_ID, UNK_ID = 0, 1, 2, 3
FIRST_ORDINARY_ID = 4


def s_s_config(args):
    from transformers import T5GemmaConfig, T5GemmaModuleConfig
    # MODEL_SPEC.md 2.8, stack S: L 8, d 512, I 1024, H 8, K 8, hd 64, query scale 1/8,
    # soft-caps 50/30, sliding window 4096, alternating local/global layers.
    stack = dict(
        vocab_size=args.vocab, hidden_size=512, intermediate_size=1024, num_hidden_layers=args.layers,
        num_attention_heads=8, num_key_value_heads=8, head_dim=64, query_pre_attn_scalar=64,
        sliding_window=4096, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
        max_position_embeddings=8192, hidden_activation="gelu_pytorch_tanh",
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        layer_types=["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(args.layers)],
        pad_token_id=PAD_ID, eos_token_id=EOS_ID, bos_token_id=BOS_ID,
    )
    return T5GemmaConfig(encoder=T5GemmaModuleConfig(**stack), decoder=T5GemmaModuleConfig(**stack),
                         vocab_size=args.vocab, pad_token_id=PAD_ID, eos_token_id=EOS_ID,
                         bos_token_id=BOS_ID)


def build_hf_model(args):
    import torch
    from transformers import T5GemmaForConditionalGeneration
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = T5GemmaForConditionalGeneration._from_config(
        s_s_config(args), attn_implementation="eager", dtype=torch.float32)
    model.eval()
    # Random weights with the scales of test/fixtures/make_fixtures.py, so that every part of
    # the model matters (HF's tiny init makes the decoder echo its input).
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                mean = 1.5 if ".post_" in name else (1.0 if name.endswith("norm.weight") and ".layers." not in name else 0.0)
                p.copy_(mean + torch.randn(p.shape, generator=gen) * 0.1)
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5)
            else:
                gain = 2.0 if name.endswith(("q_proj.weight", "k_proj.weight")) else 1.0
                p.copy_(torch.randn(p.shape, generator=gen) * (gain / p.shape[1] ** 0.5))
    for m in model.modules():
        cfg = getattr(m, "config", None)
        if cfg is not None and hasattr(cfg, "_attn_implementation"):
            assert cfg._attn_implementation == "eager", type(m).__name__
    return model


def hf_generation_config(args):
    from transformers import GenerationConfig
    # Greedy, KV cache on, exactly N new tokens: no eos stop (EDG and CTranslate2 are run the same way).
    return GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=args.new_tokens,
                            min_new_tokens=args.new_tokens, use_cache=True, eos_token_id=None,
                            pad_token_id=PAD_ID, bos_token_id=BOS_ID, decoder_start_token_id=BOS_ID)


# ---------------------------------------------------------------------------
# Engines: each exposes encode(B) -> seconds and generate(B) -> (seconds, tokens)
# ---------------------------------------------------------------------------

class HF:
    name = "HF"

    def __init__(self, model, ids, args):
        import torch
        self.torch = torch
        self.model = model
        self.model.generation_config.eos_token_id = None
        self.ids = torch.tensor(ids, dtype=torch.long)
        self.args = args
        self.gc = hf_generation_config(args)

    def encode(self, B):
        torch = self.torch
        ids = self.ids[:B]
        mask = torch.ones_like(ids)
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = self.model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
            s = time.perf_counter() - t0
        return s, float(out.double().abs().sum())

    def next_logits(self, row, prefix):
        """HF's logits for the token after decoder input [BOS] + prefix, encoder input ids[row]."""
        torch = self.torch
        ids = self.ids[row:row + 1]
        dec = torch.tensor([[BOS_ID] + list(prefix)], dtype=torch.long)
        with torch.inference_mode():
            out = self.model(input_ids=ids, attention_mask=torch.ones_like(ids), decoder_input_ids=dec,
                             use_cache=False)
        return out.logits[0, -1].double()

    def generate(self, B):
        torch = self.torch
        ids = self.ids[:B]
        mask = torch.ones_like(ids)
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=self.gc)
            s = time.perf_counter() - t0
        out = out[:, 1:].tolist()  # drop the decoder start token
        assert all(len(r) == self.args.new_tokens for r in out), "HF did not generate exactly N tokens"
        return s, out


class EDG:
    name = "EDG"

    def __init__(self, exe, model_bin, weights, ids_file, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
        self.p = subprocess.Popen([exe, model_bin, weights, "--ids", ids_file, "--serve"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        ready = self._read()
        self.load_seconds = ready["load_seconds"]

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"edg-bench-infer exited (code {self.p.poll()})")
        r = json.loads(line)
        if "error" in r:
            raise RuntimeError("edg-bench-infer: " + r["error"])
        return r

    def _ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return self._read()

    def encode(self, B):
        r = self._ask(f"encode {B}")
        return r["seconds"], r["sum_abs"]

    def generate(self, B, N):
        r = self._ask(f"generate {B} {N}")
        return r["seconds"], r["tokens"]

    def next_logits(self, row, prefix):
        return self._ask(f"logits {row} " + " ".join(map(str, prefix)))["logits"]

    def close(self):
        try:
            self._ask("quit")
        except Exception:
            pass
        self.p.wait(timeout=30)


class CT2:
    name = "CT2"

    def __init__(self, path, ids, args):
        import ctranslate2
        self.tr = ctranslate2.Translator(path, device="cpu", compute_type="float32",
                                         inter_threads=1, intra_threads=args.threads)
        self.src = [[tok_name(i) for i in row] for row in ids]
        self.args = args
        self.step1 = None  # seconds of encode(1 token) + 1 decoding step, per batch size

    def _translate(self, src, n):
        return self.tr.translate_batch(src, beam_size=1, max_decoding_length=n, min_decoding_length=n,
                                       max_input_length=0)

    def encode(self, B):
        # CTranslate2 has no encoder-only call for a seq2seq model: encode + 1 decoding step, from
        # which the driver subtracts the cost of the same call on a 1-token input (see step_cost).
        t0 = time.perf_counter()
        self._translate(self.src[:B], 1)
        return time.perf_counter() - t0, None

    def step_cost(self, B, reps):
        src = [row[:1] for row in self.src[:B]]
        self._translate(src, 1)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            self._translate(src, 1)
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    def generate(self, B):
        t0 = time.perf_counter()
        res = self._translate(self.src[:B], self.args.new_tokens)
        s = time.perf_counter() - t0
        return s, [[tok_id(t) for t in r.hypotheses[0]] for r in res]


def tok_name(i):
    return {PAD_ID: "<pad>", EOS_ID: "<eos>", BOS_ID: "<bos>", UNK_ID: "<unk>"}.get(i, f"t{i}")


def tok_id(t):
    return {"<pad>": PAD_ID, "<eos>": EOS_ID, "<bos>": BOS_ID, "<unk>": UNK_ID}.get(t) or int(t[1:])


def convert_ct2(hf_dir, out_dir, vocab):
    """TransformersConverter on the saved HF folder; the random model has no tokenizer, so a
    stand-in gives the vocabulary (t<id>) and the special tokens of T5Gemma's ids."""
    from ctranslate2.converters import TransformersConverter

    class Tok:
        bos_token, eos_token, unk_token, pad_token = "<bos>", "<eos>", "<unk>", "<pad>"

        def get_vocab(self):
            return {tok_name(i): i for i in range(vocab)}

    class Converter(TransformersConverter):
        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            return Tok()

    Converter(hf_dir).convert(out_dir, quantization="float32", force=True)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def run(cmd):
    print("+ " + " ".join(cmd), file=sys.stderr)
    subprocess.check_call(cmd)


def fmt_ms(s):
    return f"{1e3 * s:9.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"),
                    help="EDG build folder with bin/edg-import, bin/edg-compile, bin/edg-bench-infer")
    ap.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    ap.add_argument("--reps", type=int, default=5, help="timed runs per engine and case (median reported)")
    ap.add_argument("--len", type=int, default=512, dest="enc_len", help="encoder tokens (default 512)")
    ap.add_argument("--new-tokens", type=int, default=64, help="generated tokens (default 64)")
    ap.add_argument("--batches", default="1,8", help="batch sizes (default 1,8)")
    ap.add_argument("--cases", default="encode,generate", help="encode, generate or both")
    ap.add_argument("--engines", default="edg,hf,ct2", help="subset of edg,hf,ct2")
    ap.add_argument("--layers", type=int, default=8, help="layers per stack (default 8: S-S)")
    ap.add_argument("--vocab", type=int, default=256000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--workdir", help="keep the models here (default: a temp folder, removed)")
    ap.add_argument("--pause", type=float, default=0.25,
                    help="seconds of idle before each timed run (default 0.25)")
    ap.add_argument("--reuse", action="store_true",
                    help="with --workdir: reuse the models already there (same --seed/--layers/--vocab)")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args()

    pin_threads(args.threads)
    import numpy as np
    import torch
    import transformers
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    batches = [int(b) for b in args.batches.split(",")]
    cases = [c.strip() for c in args.cases.split(",")]
    maxb = max(batches)
    bindir = os.path.join(os.path.abspath(args.build_dir), "bin")
    for tool in ("edg-import", "edg-compile", "edg-bench-infer"):
        if "edg" in engines and not os.path.exists(os.path.join(bindir, tool)):
            sys.exit(f"{bindir}/{tool} is missing: build with `cd build && cmake . && ninja`")

    work = args.workdir or tempfile.mkdtemp(prefix="edg-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        t0 = time.time()
        hf_dir = os.path.join(work, "hf")
        weights = os.path.join(hf_dir, "model.safetensors")
        if args.reuse and os.path.exists(weights):
            from transformers import T5GemmaForConditionalGeneration
            model = T5GemmaForConditionalGeneration.from_pretrained(
                hf_dir, attn_implementation="eager", dtype=torch.float32).eval()
        else:
            model = build_hf_model(args)
            model.save_pretrained(hf_dir, safe_serialization=True)
        print(f"HF model: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, "
              f"in {hf_dir} ({time.time() - t0:.0f} s)", file=sys.stderr)

        rng = np.random.default_rng(args.seed)
        ids = rng.integers(FIRST_ORDINARY_ID, args.vocab, size=(maxb, args.enc_len)).tolist()
        ids_file = os.path.join(work, "ids.txt")
        with open(ids_file, "w") as f:
            for row in ids:
                f.write(" ".join(map(str, row)) + "\n")

        eng = {}
        if "edg" in engines:
            mlir, mbin = os.path.join(work, "model.mlir"), os.path.join(work, "model.bin")
            if not (args.reuse and os.path.exists(mbin)):
                run([os.path.join(bindir, "edg-import"), os.path.join(hf_dir, "config.json"), "-o", mlir,
                     "--weights", weights])
                run([os.path.join(bindir, "edg-compile"), mlir, "-o", mbin, "--max-batch", str(maxb),
                     "--max-seq", str(max(args.enc_len, args.new_tokens + 1))])
            eng["edg"] = EDG(os.path.join(bindir, "edg-bench-infer"), mbin, weights, ids_file, args.threads)
        if "hf" in engines:
            eng["hf"] = HF(model, ids, args)
        if "ct2" in engines:
            import ctranslate2
            ct2_dir = os.path.join(work, "ct2")
            t1 = time.time()
            if not (args.reuse and os.path.exists(os.path.join(ct2_dir, "model.bin"))):
                convert_ct2(hf_dir, ct2_dir, args.vocab)
            print(f"CTranslate2 {ctranslate2.__version__}: converted in {time.time() - t1:.0f} s",
                  file=sys.stderr)
            eng["ct2"] = CT2(ct2_dir, ids, args)

        def gen(e, B):
            return eng[e].generate(B, args.new_tokens) if e == "edg" else eng[e].generate(B)

        # ---- sanity: EDG == HF before timing (also the warm-up runs) ----
        checks = {}
        if "edg" in eng and "hf" in eng:
            _, edg_enc = eng["edg"].encode(maxb)
            _, hf_enc = eng["hf"].encode(maxb)
            rel = abs(edg_enc - hf_enc) / max(abs(hf_enc), 1e-30)
            checks["encoder_sum_abs_rel_diff"] = rel
            print(f"sanity: encoder output sum|x| EDG {edg_enc:.6g} HF {hf_enc:.6g} (rel diff {rel:.2e})",
                  file=sys.stderr)
            _, edg_tok = gen("edg", maxb)
            _, hf_tok = gen("hf", maxb)
            same = sum(a == b for ra, rb in zip(edg_tok, hf_tok) for a, b in zip(ra, rb))
            total = sum(len(r) for r in hf_tok)
            checks["edg_hf_greedy_tokens_equal"] = f"{same}/{total}"
            print(f"sanity: EDG and HF greedy tokens agree on {same}/{total}", file=sys.stderr)
            # fp32 agreement of the decoder logits (first step, row 0). This random model
            # amplifies rounding (both engines are ~1e-3 of the largest logit away from a
            # float64 reference), so the bound is 2e-3 of the largest logit; a real bug
            # gives differences of order 1.
            le = np.asarray(eng["edg"].next_logits(0, []), dtype=np.float64)
            lh = eng["hf"].next_logits(0, []).numpy()
            d0 = float(np.abs(le - lh).max()) / float(np.abs(lh).max())
            checks["first_step_logits_max_rel_diff"] = d0
            print(f"sanity: first-step logits max|EDG-HF| / max|logit| = {d0:.2e}", file=sys.stderr)
            ok = rel <= 1e-4 and d0 <= 2e-3
            # A row may part ways at a near-tie: accepted when HF's gap between the two
            # tokens is within twice the measured EDG-HF logit difference at that step.
            for r, (ra, rb) in enumerate(zip(edg_tok, hf_tok)):
                if ra == rb:
                    continue
                k = next(i for i, (a, b) in enumerate(zip(ra, rb)) if a != b)
                lh = eng["hf"].next_logits(r, rb[:k]).numpy()
                le = np.asarray(eng["edg"].next_logits(r, rb[:k]), dtype=np.float64)
                diff = float(np.abs(le - lh).max())
                gap = float(lh[rb[k]] - lh[ra[k]])
                tie = 0 <= gap <= 2 * diff and diff <= 2e-3 * float(np.abs(lh).max())
                ok = ok and tie
                note = (f"near-tie: HF gap {gap:.2e} <= 2 x max|EDG-HF| {diff:.2e}" if tie
                        else f"NOT a near-tie: HF gap {gap:.2e}, max|EDG-HF| {diff:.2e}")
                checks[f"edg_hf_row{r}"] = f"diverge at token {k} ({note})"
                print(f"  row {r}: first difference at token {k}: EDG {ra[k]} HF {rb[k]} ({note})",
                      file=sys.stderr)
            if not ok:
                sys.exit("sanity check failed: EDG does not reproduce HF")
            if "ct2" in eng:
                _, ct_tok = gen("ct2", maxb)
                same = sum(a == b for ra, rb in zip(ct_tok, hf_tok) for a, b in zip(ra, rb))
                checks["ct2_hf_greedy_tokens_equal"] = f"{same}/{total}"
                print(f"info: CTranslate2 and HF greedy tokens agree on {same}/{total}", file=sys.stderr)

        # ---- timing ----
        results = {}
        order = [e for e in ("edg", "hf", "ct2") if e in eng]
        for case in cases:
            for B in batches:
                key = f"{case} B={B}"
                print(f"timing {key} ...", file=sys.stderr)
                for e in order:  # warm-up
                    eng[e].encode(B) if case == "encode" else gen(e, B)
                times = {e: [] for e in order}
                for _ in range(args.reps):
                    for e in order:
                        # Let the previous engine's idle threads stop spinning (libgomp
                        # spins for a while after each parallel region).
                        time.sleep(args.pause)
                        s = eng[e].encode(B)[0] if case == "encode" else gen(e, B)[0]
                        times[e].append(s)
                res = {e: statistics.median(v) for e, v in times.items()}
                res["all"] = times
                if case == "encode" and "ct2" in eng:
                    step = eng["ct2"].step_cost(B, args.reps)
                    res["ct2_raw"] = res["ct2"]
                    res["ct2_step1"] = step
                    res["ct2"] = res["ct2"] - step
                results[key] = res

        # ---- report ----
        print()
        print(f"T5Gemma S-S-sized ({args.layers}+{args.layers} layers, d 512, I 1024, H 8, hd 64, vocab "
              f"{args.vocab}), fp32, {args.threads} threads, encoder length {args.enc_len}, "
              f"{args.new_tokens} new tokens (greedy, KV cache), median of {args.reps} runs")
        print(f"torch {torch.__version__}, transformers {transformers.__version__}"
              + (f", ctranslate2 {__import__('ctranslate2').__version__}" if "ct2" in eng else ""))
        hdr = "| case | " + " | ".join(f"{e.upper()} ms" for e in order)
        if "edg" in eng:
            hdr += "".join(f" | EDG/{e.upper()}" for e in order if e != "edg")
        print(hdr + " |")
        print("|" + "---|" * (hdr.count("|")))
        for key, res in results.items():
            row = f"| {key} | " + " | ".join(fmt_ms(res[e]).strip() for e in order)
            if "edg" in eng:
                row += "".join(f" | {res['edg'] / res[e]:.2f}" for e in order if e != "edg")
            print(row + " |")
        if any("ct2_raw" in r for r in results.values()):
            print("CT2 encode = translate_batch(max_decoding_length=1) minus the same call on a 1-token "
                  "input (CTranslate2 has no encoder-only call): " + ", ".join(
                      f"{k}: raw {fmt_ms(r['ct2_raw']).strip()} - {fmt_ms(r['ct2_step1']).strip()} ms"
                      for k, r in results.items() if "ct2_raw" in r))
        for k, v in checks.items():
            print(f"check {k}: {v}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(dict(results=results, checks=checks, args=vars(args)), f, indent=1)
    finally:
        for e in list(locals().get("eng", {}).values()):
            if isinstance(e, EDG):
                e.close()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    ensure_venv()
    main()
