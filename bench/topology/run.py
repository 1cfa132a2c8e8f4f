#!/usr/bin/env python3
"""bench/topology: sinkscope's persistent homology vs the ripser program, same matrices, one run.

    ~/.cache/sinkscope/venv-test/bin/python bench/topology/run.py [--binary PATH] [--ripser PATH]
        [--sizes 128,256,512] [--kinds pointcloud,attention] [--repeat 3] [--budget 60]
        [--small-count 2000] [--small-max-n 64] [--seed 0]
        [--real-model DIR --sinkscope-run PATH [--sentences CSV] [--real-count 100]]
        [--real-file CAPTURES.safetensors]

Writes seeded matrices (numpy) as ripser lower-distance files in a temporary directory, then:

1. Large matrices (dim 1, n in --sizes, each --kinds): for every file, runs
   `ripser --format lower-distance --dim 1 FILE` --repeat times as a process (wall clock; fewer
   runs once --budget seconds are spent), and sinkscope-bench-topology on the same file as many
   times, each a fresh process reading the same text: its wall clock (like ripser's) and the
   compute time it prints (file reading excluded); medians. Prints two ratios, > 1 favouring
   sinkscope:
     process = ripser process time / sinkscope process time    (both: start, parse text, compute)
     compute = (ripser process time - ripser start-up) / sinkscope in-process compute time
   where ripser's start-up is its median time on a 3-point file; ripser's text parsing stays in
   its side of the compute ratio (it has no in-process mode), which favours sinkscope slightly
   (parsing 512 points is ~1 ms of text).
2. Small matrices (n uniform in [8, --small-max-n], dim 1, half attention-derived, half point
   clouds): sinkscope's matrices per second on one thread, in process (all matrices read first,
   then computed back to back), and, for reference, ripser processes per second on the same files
   (dominated by process start-up: ripser has no batch mode). Then the same in-process rate at
   fixed n = 16, 32, 48, 64 for each kind (200 matrices each).

3. Real attention (with --real-model or --real-file): the attention maps of a real model on real
   sentences, every layer and head, as distances 1 - max(A, A^T) with a zero diagonal, n = the
   sentence's token count (sentences with more than --small-max-n tokens are skipped). With
   --real-model, `sinkscope-run --model DIR --capture attention --text ...` is run here on the
   first --real-count sentences of --sentences (the `text` column); --real-file reuses such a
   capture file. In-process matrices/s per n bucket (8-16, 17-32, 33-48, 49-64) and overall.

Correctness is checked on every file: bar counts per dimension must equal ripser's, and the sum of
finite persistences must agree to 1e-4 relative (ripser prints 6 digits). A mismatch exits 1.
The last stdout line is a JSON summary. Build the binary first:
`ninja -C build sinkscope-bench-topology`.
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATIO = 1.0
TARGET_SMALL_RATE = 20000.0


def fail(message):
    print(f"bench/topology: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(f"[bench/topology] {message}", file=sys.stderr, flush=True)


def write_lower(path, d):
    n = d.shape[0]
    with open(path, "w") as f:
        f.write("\n")
        for i in range(1, n):
            f.write(",".join("%.9g" % v for v in d[i, :i]) + "\n")


def make_matrix(rng, kind, n):
    if kind == "pointcloud":  # points in R^3, Euclidean
        x = rng.standard_normal((n, 3))
        d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    elif kind == "attention":  # 1 - max(A, A^T), A a row softmax with a sink column
        logits = rng.standard_normal((n, n)) * 1.5
        logits[:, 0] += 2.0
        a = np.exp(logits)
        a /= a.sum(1, keepdims=True)
        d = 1.0 - np.maximum(a, a.T)
    elif kind == "uniform":  # i.i.d. uniform distances (hard for both: many H1 bars)
        d = rng.random((n, n))
        d = np.minimum(d, d.T)
    else:
        fail(f"unknown kind {kind}")
    d = d.astype(np.float32)
    np.fill_diagonal(d, 0.0)
    return d


def read_safetensors(path):
    """{name: float32 array} of a safetensors file (8-byte little-endian header length, JSON
    header, data); F32/F16/BF16 tensors only (what sinkscope-run writes for attention)."""
    blob = Path(path).read_bytes()
    header_len = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + header_len])
    data = blob[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue
        tensors[name] = a.reshape(info["shape"])
    return tensors


def real_attention_matrices(captures, max_n):
    """Distance matrices 1 - max(A, A^T) (zero diagonal) of every `*.attention` tensor
    ([heads, n, n]) with 3 <= n <= max_n, in name order."""
    out = []
    for name in sorted(captures):
        if not name.endswith(".attention"):
            continue
        a = captures[name]
        if a.ndim == 4:  # [B, H, T, S]
            a = a.reshape(-1, a.shape[-2], a.shape[-1])
        n = a.shape[-1]
        if n < 3 or n > max_n:
            continue
        for head in a:
            d = (1.0 - np.maximum(head, head.T)).astype(np.float32)
            np.fill_diagonal(d, 0.0)
            out.append(d)
    return out


def make_real_captures(args, tmp):
    if args.real_file:
        return read_safetensors(args.real_file)
    with open(args.sentences, newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)][:args.real_count]
    out = tmp / "real.safetensors"
    cmd = [args.sinkscope_run, "--model", args.real_model, "--capture", "attention",
           "--threads", "1", "--out", str(out)]
    for text in texts:
        cmd += ["--text", text]
    log(f"running {args.sinkscope_run} on {len(texts)} sentences")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return read_safetensors(out)


def ripser_output(ripser, path):
    out = subprocess.run([ripser, "--format", "lower-distance", "--dim", "1", str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"ripser failed on {path}: {out.stderr}")
    counts, checksum, dim = {}, 0.0, None
    for line in out.stdout.splitlines():
        if line.startswith("persistence intervals in dim "):
            dim = int(line.split()[-1].rstrip(":"))
            counts[dim] = 0
        elif line.startswith(" [") and dim is not None:
            counts[dim] += 1
            birth, death = line.strip()[1:-1].split(",")
            if death.strip():
                checksum += float(death) - float(birth)
    return [counts.get(d, 0) for d in (0, 1)], checksum


def time_process(cmd, repeat, budget_s=float("inf")):
    """Median wall time of `repeat` runs (fewer once `budget_s` is spent; at least one), and the
    last run's stdout."""
    times, stdout = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        stdout = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
        times.append(time.perf_counter() - t0)
        if sum(times) > budget_s:
            break
    return statistics.median(times), stdout, len(times)


def check(path, bars, checksum, ripser_bars, ripser_checksum):
    if bars != ripser_bars:
        fail(f"{path}: bar counts {bars} differ from ripser's {ripser_bars}")
    if abs(checksum - ripser_checksum) > 1e-4 * max(1.0, abs(ripser_checksum)):
        fail(f"{path}: persistence sum {checksum} differs from ripser's {ripser_checksum}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=str(ROOT / "build" / "sinkscope-bench-topology"))
    parser.add_argument("--ripser", default=shutil.which("ripser"))
    parser.add_argument("--sizes", default="128,256,512")
    parser.add_argument("--kinds", default="pointcloud,attention")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0,
                        help="stop repeating a large file once ripser has spent this many seconds "
                             "on it (both programs then get the same number of runs)")
    parser.add_argument("--small-count", type=int, default=2000)
    parser.add_argument("--small-max-n", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-large", action="store_true",
                        help="skip the large matrices (part 1)")
    parser.add_argument("--real-model", help="model directory for the real attention kind")
    parser.add_argument("--sinkscope-run", default=str(ROOT / "build" / "sinkscope-run"))
    parser.add_argument("--sentences", default="/work/shared/data/wiki_dataset_sink.csv")
    parser.add_argument("--real-count", type=int, default=100)
    parser.add_argument("--real-file", help="capture file of sinkscope-run to reuse")
    args = parser.parse_args()
    if args.small_count < 1:
        # The small-matrix section always runs (its rate is a target); an empty list would only
        # make the benchmark binary fail later with a less helpful message.
        parser.error("--small-count must be >= 1")
    if not args.ripser or not Path(args.ripser).exists():
        fail("the ripser program is needed (apt install ripser)")
    if not Path(args.binary).exists():
        fail(f"{args.binary} not built (ninja -C build sinkscope-bench-topology)")
    rng = np.random.default_rng(args.seed)
    summary = {"large": [], "small": {}}

    with tempfile.TemporaryDirectory(prefix="sinkscope-bench-topology-") as tmp:
        tmp = Path(tmp)
        tiny = tmp / "tiny.ldm"
        write_lower(tiny, make_matrix(rng, "pointcloud", 3))
        startup, _, _ = time_process([args.ripser, "--format", "lower-distance", "--dim", "1",
                                      str(tiny)], 20)
        log(f"ripser start-up (3 points): {startup * 1e3:.2f} ms")

        # 1. Large matrices.
        if args.skip_large:
            args.sizes = ""
        print(f"{'kind':<11} {'n':>4} {'ripser s':>9} {'ours proc s':>11} {'ours s':>9} "
              f"{'process':>8} {'compute':>8}  bars")
        for kind in args.kinds.split(","):
            for n in (map(int, args.sizes.split(",")) if args.sizes else []):
                path = tmp / f"{kind}-{n}.ldm"
                write_lower(path, make_matrix(rng, kind, n))
                ripser_bars, ripser_checksum = ripser_output(args.ripser, path)
                t_ripser, _, runs = time_process([args.ripser, "--format", "lower-distance",
                                                  "--dim", "1", str(path)], args.repeat,
                                                 args.budget)
                # One process per run: its wall time is the process figure, the compute time it
                # prints (file reading excluded) the in-process figure; medians over the runs.
                computes = []

                def ours_once():
                    t, stdout, _ = time_process([args.binary, "--warmup", "0", "--repeat", "1",
                                                 str(path)], 1)
                    computes.append(json.loads(stdout.splitlines()[-1]))
                    return t

                t_ours_process = statistics.median(ours_once() for _ in range(runs))
                ours = dict(computes[-1])
                ours["seconds"] = statistics.median(c["seconds"] for c in computes)
                check(path, ours["bars"], ours["checksum"], ripser_bars, ripser_checksum)
                row = {
                    "kind": kind, "n": n, "runs": runs, "ripser_s": t_ripser,
                    "sinkscope_process_s": t_ours_process, "sinkscope_compute_s": ours["seconds"],
                    "process_ratio": t_ripser / t_ours_process,
                    "compute_ratio": max(t_ripser - startup, 1e-9) / ours["seconds"],
                    "bars": ours["bars"],
                }
                summary["large"].append(row)
                print(f"{kind:<11} {n:>4} {t_ripser:>9.4f} {t_ours_process:>11.4f} "
                      f"{ours['seconds']:>9.4f} {row['process_ratio']:>7.2f}x "
                      f"{row['compute_ratio']:>7.2f}x  {ours['bars']}", flush=True)

        # 2. Small matrices.
        listing = tmp / "small.txt"
        paths = []
        for k in range(args.small_count):
            n = int(rng.integers(8, args.small_max_n + 1))
            path = tmp / f"small-{k}.ldm"
            write_lower(path, make_matrix(rng, "attention" if k % 2 else "pointcloud", n))
            paths.append(path)
        listing.write_text("".join(f"{p}\n" for p in paths))
        for path in paths[:200]:  # correctness on a sample (each costs a ripser process)
            out = subprocess.run([args.binary, "--warmup", "0", "--repeat", "1", str(path)],
                                 capture_output=True, text=True, check=True)
            ours = json.loads(out.stdout)
            check(path, ours["bars"], ours["checksum"], *ripser_output(args.ripser, path))
        out = subprocess.run([args.binary, "--list", str(listing), "--warmup", "1", "--repeat",
                              str(max(args.repeat, 3))], capture_output=True, text=True, check=True)
        ours = json.loads(out.stdout.splitlines()[-1])
        t0 = time.perf_counter()
        for path in paths:
            subprocess.run([args.ripser, "--format", "lower-distance", "--dim", "1", str(path)],
                           stdout=subprocess.DEVNULL, check=True)
        ripser_rate = len(paths) / (time.perf_counter() - t0)
        # The same rate at fixed n, per kind (200 matrices each), to show how it scales.
        by_n = []
        for kind in ("pointcloud", "attention"):
            for n in (16, 32, 48, 64):
                if n > args.small_max_n:
                    continue
                fixed = tmp / f"fixed-{kind}-{n}.txt"
                fixed_paths = []
                for k in range(200):
                    path = tmp / f"fixed-{kind}-{n}-{k}.ldm"
                    write_lower(path, make_matrix(rng, kind, n))
                    fixed_paths.append(path)
                fixed.write_text("".join(f"{p}\n" for p in fixed_paths))
                out = subprocess.run([args.binary, "--list", str(fixed), "--warmup", "1",
                                      "--repeat", "3"], capture_output=True, text=True, check=True)
                rate = json.loads(out.stdout.splitlines()[-1])["matrices_per_s"]
                by_n.append({"kind": kind, "n": n, "matrices_per_s": rate})
        summary["small"] = {
            "by_n": by_n,
            "matrices": len(paths), "n_range": [8, args.small_max_n],
            "sinkscope_matrices_per_s_one_thread": ours["matrices_per_s"],
            "ripser_processes_per_s": ripser_rate,
        }
        print(f"\nsmall matrices (n in [8, {args.small_max_n}], dim 1, {len(paths)} of them): "
              f"sinkscope {ours['matrices_per_s']:.0f} matrices/s on one thread "
              f"(target {TARGET_SMALL_RATE:.0f}); ripser {ripser_rate:.0f} processes/s")
        for row in by_n:
            print(f"  {row['kind']:<11} n = {row['n']:>3}: {row['matrices_per_s']:>8.0f} matrices/s")

        # 3. Real attention maps, by n bucket.
        if args.real_model or args.real_file:
            real = real_attention_matrices(make_real_captures(args, tmp), args.small_max_n)
            if not real:
                fail("no attention captures with 3 <= n <= --small-max-n")
            buckets = [(8, 16), (17, 32), (33, 48), (49, 64), (3, args.small_max_n)]
            rows = []
            paths_by_n = {}
            for k, d in enumerate(real):
                path = tmp / f"real-{k}.ldm"
                write_lower(path, d)
                paths_by_n.setdefault(d.shape[0], []).append(path)
            sample = [p for ps in paths_by_n.values() for p in ps][::max(1, len(real) // 200)]
            for path in sample:  # correctness on a sample (each costs a ripser process)
                out = subprocess.run([args.binary, "--warmup", "0", "--repeat", "1", str(path)],
                                     capture_output=True, text=True, check=True)
                one = json.loads(out.stdout)
                check(path, one["bars"], one["checksum"], *ripser_output(args.ripser, path))
            for lo, hi in buckets:
                chosen = [p for n, ps in sorted(paths_by_n.items()) if lo <= n <= hi for p in ps]
                if not chosen:
                    continue
                listing = tmp / f"real-{lo}-{hi}.txt"
                listing.write_text("".join(f"{p}\n" for p in chosen))
                out = subprocess.run([args.binary, "--list", str(listing), "--warmup", "1",
                                      "--repeat", "3"], capture_output=True, text=True,
                                     check=True)
                rate = json.loads(out.stdout.splitlines()[-1])["matrices_per_s"]
                rows.append({"n_range": [lo, hi], "matrices": len(chosen),
                             "matrices_per_s": rate})
            summary["real"] = {"matrices": len(real), "checked_against_ripser": len(sample),
                               "model": args.real_model or args.real_file, "by_n": rows}
            print(f"\nreal attention ({len(real)} matrices, {len(sample)} checked against "
                  f"ripser):")
            for row in rows:
                lo, hi = row["n_range"]
                label = "all" if (lo, hi) == buckets[-1] else f"n = {lo}-{hi}"
                print(f"  {label:<11} {row['matrices']:>6} matrices: "
                      f"{row['matrices_per_s']:>8.0f} matrices/s")

    worst = min((r["compute_ratio"] for r in summary["large"]), default=float("nan"))
    worst_process = min((r["process_ratio"] for r in summary["large"]), default=float("nan"))
    summary["worst_compute_ratio"] = worst
    summary["worst_process_ratio"] = worst_process
    summary["targets_met"] = {
        "ratio": worst >= TARGET_RATIO,
        "small_rate": ours["matrices_per_s"] >= TARGET_SMALL_RATE,
    }
    print(f"\nworst ratio: compute {worst:.2f}x, process {worst_process:.2f}x "
          f"(target {TARGET_RATIO:.1f}x)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
