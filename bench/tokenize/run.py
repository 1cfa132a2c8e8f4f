#!/usr/bin/env python3
"""bench/tokenize: sinkscope's tokenizer vs Hugging Face `tokenizers`, encode throughput.

    ~/.cache/sinkscope/venv-ref/bin/python bench/tokenize/run.py [--binary PATH]
        [--rounds 3] [--repeat 3] [--warmup 1] [--threads N] [--tokenizers llama3,gemma3,minilm]

Inputs: every `text` of data/stem_sentences.csv (one text per line, encoded as a batch), and a
~1 MiB document generated deterministically from those sentences (random.Random(0) shuffles,
paragraphs of 8 sentences), encoded as one text. Tokenizers: byte-level BPE (llama3),
SentencePiece BPE (gemma3; llama2 also available), WordPiece (minilm).

For each tokenizer and input, runs sinkscope-bench-tokenize and hf_tokenize.py as separate
processes with the same thread count (HF through RAYON_NUM_THREADS), alternating which goes
first, for --rounds rounds. Fails (exit 1) unless both produce the same ids (checksums) and
token counts. Prints the median tokens/s per implementation (min-max over rounds), the load
time, and the ratio speed = sinkscope tokens/s / HF tokens/s (> 1: sinkscope is faster; target
>= 1.0). The last stdout line is a JSON summary.
"""
import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HF_SCRIPT = Path(__file__).resolve().parent / "hf_tokenize.py"
CACHE = Path(os.environ.get("SINKSCOPE_CACHE", Path.home() / ".cache" / "sinkscope"))
TARGET = 1.0
MIB = 1 << 20


def fail(message):
    print(f"bench/tokenize: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(f"[bench/tokenize] {message}", file=sys.stderr, flush=True)


def tokenizer_paths():
    tok_dir = Path(os.environ.get("SINKSCOPE_TOKENIZERS_DIR", CACHE / "tokenizers"))
    models_dir = Path(os.environ.get("SINKSCOPE_MODELS_DIR", CACHE / "models"))
    return {
        "llama3": ("byte-level BPE", tok_dir / "llama3" / "tokenizer.json"),
        "llama2": ("SentencePiece BPE", tok_dir / "llama2" / "tokenizer.json"),
        "gemma3": ("SentencePiece BPE", tok_dir / "gemma3" / "tokenizer.json"),
        "minilm": ("WordPiece", models_dir / "all-MiniLM-L6-v2" / "tokenizer.json"),
    }


def make_inputs(csv_path, out_dir):
    with open(csv_path, newline="", encoding="utf-8") as f:
        sentences = [row["text"] for row in csv.DictReader(f)]
    if not sentences:
        fail(f"{csv_path}: no sentences")
    lines = out_dir / "sentences.txt"
    lines.write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    rng = random.Random(0)
    paragraphs, size = [], 0
    while size < MIB:
        chunk = rng.sample(sentences, 8)
        paragraph = " ".join(chunk)
        paragraphs.append(paragraph)
        size += len(paragraph.encode("utf-8")) + 2
    doc = out_dir / "document_1mib.txt"
    doc.write_text("\n\n".join(paragraphs), encoding="utf-8")
    return [("sentences", lines, False, len(sentences)), ("1 MiB document", doc, True, 1)]


def run_impl(impl, args, tokenizer, input_path, whole):
    common = ["--tokenizer", str(tokenizer), "--input", str(input_path),
              "--warmup", str(args.warmup), "--repeat", str(args.repeat)]
    if whole:
        common.append("--whole")
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), TOKENIZERS_PARALLELISM="true")
    if impl == "sinkscope":
        cmd = [str(args.binary), *common, "--threads", str(args.threads)]
    else:
        cmd = [sys.executable, str(HF_SCRIPT), *common]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        fail(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--binary", type=Path, default=ROOT / "build" / "sinkscope-bench-tokenize")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--tokenizers", default="llama3,gemma3,minilm")
    p.add_argument("--sentences", type=Path, default=ROOT / "data" / "stem_sentences.csv")
    args = p.parse_args()
    if not args.binary.exists():
        fail(f"{args.binary} not built (ninja -C build sinkscope-bench-tokenize)")
    paths = tokenizer_paths()
    names = [n for n in args.tokenizers.split(",") if n]
    for n in names:
        if n not in paths:
            fail(f"unknown tokenizer '{n}' (known: {', '.join(paths)})")
        if not paths[n][1].exists():
            fail(f"{paths[n][1]} missing: run scripts/setup")

    import tokenizers
    rows, summary = [], []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_inputs(args.sentences, Path(tmp))
        print(f"bench/tokenize: sinkscope vs HF tokenizers {tokenizers.__version__} "
              f"(encode_batch, add_special_tokens), {args.threads} threads, {args.rounds} rounds x "
              f"{args.repeat} timed passes (+{args.warmup} warmup), median over rounds")
        for name in names:
            kind, path = paths[name]
            for label, input_path, whole, n_texts in inputs:
                results = {"sinkscope": [], "hf_tokenizers": []}
                for r in range(args.rounds):
                    order = ["sinkscope", "hf_tokenizers"]
                    if r % 2 == 1:
                        order.reverse()
                    got = {impl: run_impl(impl, args, path, input_path, whole) for impl in order}
                    a, b = got["sinkscope"], got["hf_tokenizers"]
                    if a["checksum"] != b["checksum"] or a["tokens"] != b["tokens"]:
                        fail(f"{name} on {label}: ids differ (sinkscope {a['tokens']} tokens "
                             f"{a['checksum']}, HF {b['tokens']} tokens {b['checksum']})")
                    for impl in order:
                        results[impl].append(got[impl])
                log(f"{name} / {label}: done")
                med = {impl: statistics.median(x["tokens_per_s"] for x in v)
                       for impl, v in results.items()}
                load = {impl: statistics.median(x["load_seconds"] for x in v)
                        for impl, v in results.items()}
                ratio = med["sinkscope"] / med["hf_tokenizers"]
                rows.append((name, kind, label, results, med, load, ratio))
                summary.append({"tokenizer": name, "kind": kind, "input": label,
                                "tokens": results["sinkscope"][0]["tokens"],
                                "sinkscope_tokens_per_s": round(med["sinkscope"], 1),
                                "hf_tokens_per_s": round(med["hf_tokenizers"], 1),
                                "speed_ratio": round(ratio, 3),
                                "sinkscope_load_s": load["sinkscope"],
                                "hf_load_s": load["hf_tokenizers"]})

    print(f"{'tokenizer':<8} {'input':<15} {'impl':<14} {'tokens/s':>12} {'(min-max)':>24} "
          f"{'load s':>8}")
    print("-" * 86)
    for name, kind, label, results, med, load, ratio in rows:
        for impl in ("sinkscope", "hf_tokenizers"):
            v = [x["tokens_per_s"] for x in results[impl]]
            print(f"{name:<8} {label:<15} {impl:<14} {med[impl]:>12.0f} "
                  f"{f'({min(v):.0f}-{max(v):.0f})':>24} {load[impl]:>8.3f}")
    print(f"\nratios (speed = sinkscope / HF tokens/s; > 1 favours sinkscope; "
          f"target >= {TARGET:.1f}x)")
    for name, kind, label, results, med, load, ratio in rows:
        flag = "" if ratio >= TARGET else " (below target)"
        print(f"  {name:<8} ({kind:<17}) {label:<15}: {ratio:.2f}x{flag}")
    print(json.dumps({"bench": "tokenize", "threads": args.threads, "results": summary}))


if __name__ == "__main__":
    main()
