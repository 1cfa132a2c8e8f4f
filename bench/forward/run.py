#!/usr/bin/env python3
"""bench/forward: sinkscope vs Hugging Face transformers, forward + full attention capture.

    ~/.cache/sinkscope/venv-ref/bin/python bench/forward/run.py [--model DIR] [--binary PATH]
        [--rounds 3] [--repeat 2] [--warmup 1] [--threads N] [--batch-sizes 1,16]

Tokenizes every sentence of data/stem_sentences.csv with the model's tokenizer (special tokens
on), checks once that the implementations see the same attention (checksums agree to 1e-4
relative), then for each batch size runs sinkscope-bench-forward (twice: stopping after the last
attention capture as the server does, and --full-forward) and hf_forward.py as separate processes
(so peak RSS is per process), rotating which goes first, for several rounds.
Reports the median tokens/s and peak RSS per implementation and the ratios:
  speed  = sinkscope tokens/s / HF tokens/s          (> 1: sinkscope is faster)
  memory = HF peak RSS / sinkscope peak RSS           (> 1: sinkscope uses less memory)
and, as a roofline, this machine's float32 matrix-product rate measured in the same run (torch.mm
of 1024x1024 matrices) next to the rate of linear-layer work each implementation sustains.
The last stdout line is a JSON summary. Build the binary first (scripts/bench does both).
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HF_SCRIPT = Path(__file__).resolve().parent / "hf_forward.py"
TARGET_SPEEDUP = 2.0  # the goal for MiniLM
CHECK_RTOL = 1e-4


def fail(message):
    print(f"bench/forward: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(f"[bench/forward] {message}", file=sys.stderr, flush=True)


def tokenize(model_dir, csv_path, out_path):
    from transformers import AutoTokenizer

    with open(csv_path, newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    if not texts:
        fail(f"{csv_path}: no sentences")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokens = 0
    with open(out_path, "w") as f:
        for text in texts:
            ids = tokenizer(text, add_special_tokens=True)["input_ids"]
            tokens += len(ids)
            f.write(",".join(str(i) for i in ids) + "\n")
    return len(texts), tokens


IMPLS = ("sinkscope", "sinkscope_full", "hf")
NAMES = {"sinkscope": "sinkscope", "sinkscope_full": "sinkscope --full-forward",
         "hf": "hf_transformers_eager"}


def read_lengths(ids_file):
    with open(ids_file) as f:
        return [len(line.split(",")) for line in f if line.strip()]


def padded_tokens(lengths, batch_size):
    """Tokens a padded batch computes on (what HF's linear layers see)."""
    return sum(max(lengths[i:i + batch_size]) * len(lengths[i:i + batch_size])
               for i in range(0, len(lengths), batch_size))


def linear_flops_per_token(model_dir):
    """2 x the weights of the layers' matrix products (embeddings, pooler and heads excluded)."""
    from safetensors import safe_open
    total = 0
    for path in sorted(model_dir.glob("*.safetensors")):
        with safe_open(str(path), framework="np") as f:
            for name in f.keys():
                if not any(tag in name for tag in (".layer.", "layers.", ".h.")):
                    continue
                shape = f.get_slice(name).get_shape()
                if len(shape) == 2:
                    total += shape[0] * shape[1]
    return 2 * total


def measure_gemm_peak(threads, n=1024, reps=20):
    """float32 GFLOP/s of torch.mm (MKL in the reference venv) on this machine, best of 3."""
    import torch
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        torch.mm(a, b)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        best = max(best, 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9)
    return best


def run_impl(impl, args, ids_file, batch_size, warmup, repeat):
    common = ["--model", str(args.model), "--ids-file", str(ids_file),
              "--batch-size", str(batch_size), "--threads", str(args.threads),
              "--warmup", str(warmup), "--repeat", str(repeat)]
    if impl == "sinkscope":
        cmd = [str(args.binary)] + common
    elif impl == "sinkscope_full":
        cmd = [str(args.binary)] + common + ["--full-forward"]
    else:
        cmd = [sys.executable, str(HF_SCRIPT)] + common
    env = dict(os.environ)
    # Both processes get the same thread budget, for every pool they may use (libtorch's own
    # pool is set by --threads; OpenBLAS / MKL / OpenMP pools by these).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        fail(f"{impl} exited with {proc.returncode}: {' '.join(cmd)}\n{proc.stderr.strip()}")
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        fail(f"{impl} printed no JSON result: {' '.join(cmd)}\nstdout: {proc.stdout!r}\n"
             f"stderr: {proc.stderr.strip()}")
    return result


def check_agree(a, b, what):
    for key in ("checksum", "checksum_sq"):
        x, y = a[key], b[key]
        rel = abs(x - y) / max(abs(x), abs(y), 1e-30)
        if rel > CHECK_RTOL:
            fail(f"{what}: {key} differs: sinkscope {x!r} vs HF {y!r} (relative {rel:.3g} > "
                 f"{CHECK_RTOL:g}); the implementations do not compute the same attention")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path,
                   default=Path.home() / ".cache/sinkscope/models/all-MiniLM-L6-v2")
    p.add_argument("--binary", type=Path, default=ROOT / "build/sinkscope-bench-forward")
    p.add_argument("--sentences", type=Path, default=ROOT / "data/stem_sentences.csv",
                   help="CSV with a 'text' column (default: data/stem_sentences.csv)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (median is taken)")
    p.add_argument("--repeat", type=int, default=2, help="timed passes over all sentences per run")
    p.add_argument("--warmup", type=int, default=1, help="untimed passes per run")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for both implementations (default: all cores)")
    p.add_argument("--batch-sizes", default="1,16", help="comma-separated (default: 1,16)")
    args = p.parse_args()
    if args.rounds <= 0 or args.repeat <= 0 or args.warmup < 0 or args.threads <= 0:
        fail("--rounds, --repeat and --threads must be positive, --warmup >= 0")
    try:
        batch_sizes = [int(x) for x in args.batch_sizes.split(",")]
    except ValueError:
        fail(f"--batch-sizes '{args.batch_sizes}': not a list of integers")
    if not batch_sizes or min(batch_sizes) <= 0:
        fail("--batch-sizes must be positive")
    args.model = args.model.expanduser()
    if not (args.model / "config.json").is_file():
        fail(f"--model {args.model}: no config.json (run scripts/setup)")
    if not args.binary.is_file():
        fail(f"--binary {args.binary} does not exist (build it: ninja -C build "
             "sinkscope-bench-forward, or use scripts/bench)")

    with tempfile.TemporaryDirectory(prefix="sinkscope-bench-") as tmp:
        ids_file = Path(tmp) / "ids.txt"
        n_sentences, n_tokens = tokenize(args.model, args.sentences, ids_file)
        log(f"{n_sentences} sentences, {n_tokens} tokens per pass; model {args.model}; "
            f"threads {args.threads}")

        lengths = read_lengths(ids_file)

        # Correctness, once, before any timing: the padded batch exercises masking too.
        check_bs = max(batch_sizes)
        ours = run_impl("sinkscope", args, ids_file, check_bs, 0, 1)
        ours_full = run_impl("sinkscope_full", args, ids_file, check_bs, 0, 1)
        theirs = run_impl("hf", args, ids_file, check_bs, 0, 1)
        check_agree(ours, theirs, f"correctness check (batch {check_bs})")
        check_agree(ours_full, theirs, f"correctness check (batch {check_bs}, full forward)")
        log(f"correctness: checksums agree (sum {ours['checksum']:.6f} vs "
            f"{theirs['checksum']:.6f}, sum of squares {ours['checksum_sq']:.6f} vs "
            f"{theirs['checksum_sq']:.6f})")

        runs = {(bs, impl): [] for bs in batch_sizes for impl in IMPLS}
        peaks = []
        for r in range(args.rounds):
            peaks.append(measure_gemm_peak(args.threads))
            log(f"round {r + 1}/{args.rounds} float32 GEMM peak {peaks[-1]:.1f} GFLOP/s")
            for bs in batch_sizes:
                order = IMPLS[r % 3:] + IMPLS[:r % 3]
                for impl in order:
                    res = run_impl(impl, args, ids_file, bs, args.warmup, args.repeat)
                    runs[(bs, impl)].append(res)
                    log(f"round {r + 1}/{args.rounds} batch {bs:>2} {impl:<14} "
                        f"{res['tokens_per_s']:8.1f} tok/s  peak RSS {res['peak_rss_mib']:7.1f} MiB")
                for impl in ("sinkscope", "sinkscope_full"):
                    check_agree(runs[(bs, impl)][-1], runs[(bs, "hf")][-1],
                                f"round {r + 1} batch {bs} ({impl})")

    model_type = ours.get("model_type", "?")
    print(f"bench/forward: {args.model.name} ({model_type}), fp32 CPU, {args.threads} threads, "
          f"{n_sentences} sentences / {n_tokens} tokens per pass, {args.rounds} rounds x "
          f"{args.repeat} timed passes (+{args.warmup} warmup), median over rounds")
    header = (f"{'batch':>5}  {'impl':<24} {'tokens/s':>9} {'(min-max)':>17} "
              f"{'peak RSS MiB':>13}")
    print(header)
    print("-" * len(header))
    summary = {}
    for bs in batch_sizes:
        med = {}
        for impl in IMPLS:
            tps = [x["tokens_per_s"] for x in runs[(bs, impl)]]
            rss = [x["peak_rss_mib"] for x in runs[(bs, impl)]]
            med[impl] = (statistics.median(tps), statistics.median(rss))
            print(f"{bs:>5}  {NAMES[impl]:<24} {med[impl][0]:9.1f} "
                  f"{f'({min(tps):.1f}-{max(tps):.1f})':>17} {med[impl][1]:13.1f}")
        entry = {"hf_tokens_per_s": round(med["hf"][0], 2),
                 "hf_peak_rss_mib": round(med["hf"][1], 1)}
        for impl in ("sinkscope", "sinkscope_full"):
            entry[f"{impl}_tokens_per_s"] = round(med[impl][0], 2)
            entry[f"{impl}_peak_rss_mib"] = round(med[impl][1], 1)
            entry[f"{impl}_speed_ratio"] = round(med[impl][0] / med["hf"][0], 3)
            entry[f"{impl}_rss_ratio"] = round(med["hf"][1] / med[impl][1], 3)
        summary[str(bs)] = entry
    print()
    print("ratios (speed = sinkscope/HF tokens/s; memory = HF/sinkscope peak RSS; >1 favours "
          f"sinkscope; target speed >= {TARGET_SPEEDUP:g}x)")
    for bs in batch_sizes:
        e = summary[str(bs)]
        for impl in ("sinkscope", "sinkscope_full"):
            speed = e[f"{impl}_speed_ratio"]
            verdict = "meets" if speed >= TARGET_SPEEDUP else "below"
            print(f"  batch {bs:>2} {NAMES[impl]:<24}: speed {speed:.2f}x ({verdict} target), "
                  f"memory {e[f'{impl}_rss_ratio']:.2f}x")

    # Roofline: the linear layers are nearly all the arithmetic. HF computes them on padded
    # tokens, sinkscope on real tokens only.
    flops = linear_flops_per_token(args.model)
    peak = statistics.median(peaks)
    print()
    print(f"roofline: linear layers {flops / 1e6:.1f} MFLOP per token; float32 GEMM peak "
          f"(torch.mm 1024^3, {args.threads} threads, median of rounds) {peak:.1f} GFLOP/s")
    for bs in batch_sizes:
        e = summary[str(bs)]
        pad_ratio = padded_tokens(lengths, bs) / n_tokens
        hf_rate = e["hf_tokens_per_s"] * pad_ratio * flops / 1e9
        ours_rate = e["sinkscope_full_tokens_per_s"] * flops / 1e9
        need = TARGET_SPEEDUP * e["hf_tokens_per_s"] * flops / 1e9
        e.update({"padded_over_real_tokens": round(pad_ratio, 3),
                  "hf_linear_gflops": round(hf_rate, 1),
                  "sinkscope_full_linear_gflops": round(ours_rate, 1),
                  "target_needs_linear_gflops": round(need, 1)})
        print(f"  batch {bs:>2}: HF sustains {hf_rate:6.1f} GFLOP/s ({100 * hf_rate / peak:3.0f}% "
              f"of peak; {pad_ratio:.2f}x tokens incl. padding); sinkscope --full-forward "
              f"{ours_rate:6.1f} ({100 * ours_rate / peak:3.0f}%); {TARGET_SPEEDUP:g}x HF needs "
              f"{need:6.1f} ({100 * need / peak:3.0f}%)")
    print(json.dumps({
        "benchmark": "forward",
        "model": args.model.name,
        "model_type": model_type,
        "threads": args.threads,
        "rounds": args.rounds,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "sentences": n_sentences,
        "tokens_per_pass": n_tokens,
        "target_speed_ratio": TARGET_SPEEDUP,
        "gemm_peak_gflops": round(peak, 1),
        "linear_mflop_per_token": round(flops / 1e6, 2),
        "batch_sizes": summary,
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
