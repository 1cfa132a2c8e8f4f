"""Driver of bench/layer_metrics: every per-layer CORRECTED metric family of issues 4 and 5 on one
48-token sentence of a 30-layer × 9-head model (the SmolLM2-135M shape), sinkscope against a
numpy/scipy/ripser.py implementation of the same metrics, in the same run (bench/README.md).

    python bench/layer_metrics/run.py [--binary build/sinkscope-bench-layer-metrics]
        [--rounds 3] [--warmup 1] [--repeat 3] [--threads 1] [--cpu N | --cpu none]
        [--capture FILE] [--seed 0] [--tokens 48] [--families a,b]

1. writes the capture with make_capture.py (seeded; a temporary file unless --capture names one
   that exists, which is then reused);
2. runs both implementations once with --outputs and compares every key output (per family:
   names, lengths, NaN/±∞ positions, values within the family's tolerances); any mismatch prints
   the worst offenders and exits 1;
3. for --rounds rounds runs both as separate processes, alternating which goes first, each with
   --warmup untimed and --repeat timed passes over all layers, the same thread count (--threads,
   passed on the command line and as OMP/OPENBLAS/MKL_NUM_THREADS) and pinned to the same CPU
   (--cpu, default the last one; taskset);
4. prints per family the median over rounds of each process's median ms per layer (min–max over
   rounds), the ratio numpy ÷ sinkscope (> 1 favours sinkscope), the total, and a final JSON line.
Run it under `chrt -f 10` on a shared machine (bench/README.md).
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAMILIES = ["sink", "topology", "spectral", "rmt", "infogeo", "value", "decomposition"]
TARGET_RATIO = 20.0

# (rtol, atol) per family; per-name overrides below. Everything is float64 on both sides except
# the persistence bars (float32 filtration values on both sides, summed in float64).
TOLERANCE = {family: (1e-6, 1e-9) for family in FAMILIES}
NAME_TOLERANCE = {
    # The baseline integrates |F_emp − F_MP| by the midpoint rule (20,001-point grid plus every
    # eigenvalue); sinkscope integrates the closed form exactly.
    "mp.w1": (1e-4, 1e-7),
}


# sinkscope-bench-layer-metrics keeps freed heap memory for reuse (core/allocator.h: mallopt,
# mmap threshold 32 MiB, trim threshold 256 MiB), as sinkscope-metrics does; the numpy process
# gets the same glibc settings so both sides run under one allocator policy.
GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456"


def env_for(threads):
    env = dict(os.environ)
    env["GLIBC_TUNABLES"] = GLIBC_TUNABLES
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def pinned(cmd, cpu):
    if cpu is None:
        return cmd
    return ["taskset", "-c", str(cpu)] + cmd


def run_json_lines(cmd, env):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def parse_value(v):
    if isinstance(v, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[v]
    return float(v)


def read_values(path):
    out = {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            out[(rec["layer"], rec["family"])] = {
                name: [parse_value(v) for v in vs] for name, vs in rec["values"].items()}
    return out


def compare(ours, theirs):
    """Mismatch messages (empty when everything agrees) and per-family counts / worst deviation."""
    problems = []
    stats = {}
    if set(ours) != set(theirs):
        problems.append(f"layer/family sets differ: {sorted(set(ours) ^ set(theirs))[:5]}")
    for key in sorted(set(ours) & set(theirs)):
        layer, family = key
        a, b = ours[key], theirs[key]
        st = stats.setdefault(family, {"values": 0, "max_rel": 0.0, "max_rel_name": ""})
        if set(a) != set(b):
            problems.append(f"layer {layer} {family}: names differ: {sorted(set(a) ^ set(b))}")
        for name in sorted(set(a) & set(b)):
            x, y = a[name], b[name]
            if len(x) != len(y):
                problems.append(f"layer {layer} {family}.{name}: {len(x)} vs {len(y)} values")
                continue
            rtol, atol = NAME_TOLERANCE.get(name, TOLERANCE[family])
            for i, (u, v) in enumerate(zip(x, y)):
                st["values"] += 1
                if math.isnan(u) or math.isnan(v) or math.isinf(u) or math.isinf(v):
                    same = (math.isnan(u) and math.isnan(v)) or u == v
                    if not same:
                        problems.append(f"layer {layer} {family}.{name}[{i}]: {u} vs {v}")
                    continue
                diff = abs(u - v)
                rel = diff / max(abs(u), abs(v), 1e-300)
                if max(abs(u), abs(v)) > 1e-6 and rel > st["max_rel"]:
                    st["max_rel"], st["max_rel_name"] = rel, name
                if diff > atol + rtol * max(abs(u), abs(v)):
                    problems.append(
                        f"layer {layer} {family}.{name}[{i}]: sinkscope {u!r} vs numpy {v!r} "
                        f"(rel {rel:.2e}, rtol {rtol:g})")
    return problems, stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "build",
                                                         "sinkscope-bench-layer-metrics"))
    parser.add_argument("--capture", help="capture file (written here if it does not exist)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpu", default=str((os.cpu_count() or 1) - 1),
                        help="CPU to pin both sides to (taskset), or 'none'")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--no-breakdown", action="store_true",
                        help="skip sinkscope's per-call breakdown (where each family's time goes)")
    args = parser.parse_args()
    cpu = None if args.cpu == "none" or not shutil.which("taskset") else int(args.cpu)
    families = [f for f in args.families.split(",") if f]
    env = env_for(args.threads)
    python = sys.executable

    tmp = tempfile.mkdtemp(prefix="sinkscope-layerbench-")
    try:
        capture = args.capture or os.path.join(tmp, "capture.safetensors")
        if not os.path.exists(capture):
            subprocess.run([python, os.path.join(HERE, "make_capture.py"), "--out", capture,
                            "--seed", str(args.seed), "--tokens", str(args.tokens)], check=True,
                           env=env)
        common = ["--capture", capture, "--families", ",".join(families),
                  "--threads", str(args.threads)]
        ours_cmd = [args.binary] + common
        theirs_cmd = [python, os.path.join(HERE, "numpy_baseline.py")] + common

        # Correctness: one pass each with the key outputs.
        ours_values = os.path.join(tmp, "sinkscope.jsonl")
        theirs_values = os.path.join(tmp, "numpy.jsonl")
        run_json_lines(pinned(ours_cmd + ["--warmup", "0", "--repeat", "1", "--outputs",
                                          ours_values], cpu), env)
        run_json_lines(pinned(theirs_cmd + ["--warmup", "0", "--repeat", "1", "--outputs",
                                            theirs_values], cpu), env)
        problems, stats = compare(read_values(ours_values), read_values(theirs_values))
        if problems:
            print(f"bench/layer_metrics: {len(problems)} MISMATCHES between sinkscope and numpy:")
            for p in problems[:40]:
                print("  " + p)
            raise SystemExit(1)

        timing = {impl: {f: [] for f in families + ["total"]} for impl in ("sinkscope", "numpy")}
        breakdown = {}  # (family, part) → ms per layer, one per round
        checks = {}
        for r in range(args.rounds):
            order = [("sinkscope", ours_cmd), ("numpy", theirs_cmd)]
            if r % 2:
                order.reverse()
            for impl, cmd in order:
                extra = ["--breakdown"] if impl == "sinkscope" and not args.no_breakdown else []
                lines = run_json_lines(pinned(cmd + ["--warmup", str(args.warmup), "--repeat",
                                                     str(args.repeat)] + extra, cpu), env)
                for line in lines:
                    if "breakdown" in line:
                        breakdown.setdefault((line["breakdown"], line["part"]), []).append(
                            line["ms_per_layer_median"])
                        continue
                    timing[impl][line["family"]].append(line["ms_per_layer_median"])
                    if "checksum" in line:
                        checks.setdefault((impl, line["family"]), line["checksum"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(impl, family):
        return statistics.median(timing[impl][family])

    print(f"bench/layer_metrics: one sentence of {args.tokens} tokens, 30 layers x 9 heads "
          f"(SmolLM2-135M shape, synthetic capture seed {args.seed}), CPU, {args.threads} "
          f"thread(s), pinned to CPU {cpu}; {args.rounds} rounds x {args.repeat} timed passes "
          f"(+{args.warmup} warmup) per process; ms per layer = median over rounds of the "
          f"median pass / 30")
    print(f"correctness: {sum(s['values'] for s in stats.values())} key outputs compared, "
          "all within tolerance")
    for family in families:
        s = stats.get(family, {"values": 0, "max_rel": 0.0, "max_rel_name": ""})
        print(f"  {family:14s} {s['values']:7d} values, largest relative deviation "
              f"{s['max_rel']:.1e} ({s['max_rel_name'] or '-'}); checksum "
              f"{checks.get(('sinkscope', family), math.nan):.10g} / "
              f"{checks.get(('numpy', family), math.nan):.10g}")
    header = (f"{'family':14s} {'sinkscope ms/layer':>19s} {'(min-max)':>17s} "
              f"{'numpy ms/layer':>15s} {'(min-max)':>19s} {'ratio':>8s} {'share':>6s}")
    print(header)
    print("-" * len(header))
    total_ours = med("sinkscope", "total")
    summary = {"families": {}}
    for family in families + ["total"]:
        ours, theirs = med("sinkscope", family), med("numpy", family)
        ratio = theirs / ours if ours > 0 else math.inf
        lo_o, hi_o = min(timing["sinkscope"][family]), max(timing["sinkscope"][family])
        lo_t, hi_t = min(timing["numpy"][family]), max(timing["numpy"][family])
        share = 100 * ours / total_ours if total_ours > 0 else math.nan
        if family == "total":
            print("-" * len(header))
        print(f"{family:14s} {ours:19.3f} {f'({lo_o:.3f}-{hi_o:.3f})':>17s} {theirs:15.2f} "
              f"{f'({lo_t:.2f}-{hi_t:.2f})':>19s} {ratio:7.1f}x {share:5.1f}%")
        summary["families"][family] = {"sinkscope_ms_per_layer": ours,
                                       "numpy_ms_per_layer": theirs, "ratio": ratio,
                                       "sinkscope_share_percent": share}
    if breakdown:
        print("where sinkscope's time goes (--breakdown: each call alone, or the family with a "
              "part switched off; ms per layer, median over rounds):")
        for family in families:
            print(f"  {family:14s} whole family {med('sinkscope', family):9.3f}")
            for (fam, part), ms in breakdown.items():
                if fam == family:
                    print(f"  {'':14s}   {part:66s} {statistics.median(ms):9.3f}")
        summary["breakdown"] = {f"{fam}: {part}": statistics.median(ms)
                                for (fam, part), ms in breakdown.items()}
    total_ratio = summary["families"]["total"]["ratio"]
    verdict = "meets" if total_ratio >= TARGET_RATIO else "below"
    print(f"total ratio {total_ratio:.1f}x ({verdict} the >= {TARGET_RATIO:.0f}x target); share = "
          "the family's part of sinkscope's time per layer")
    summary.update({"ratio": total_ratio, "target": TARGET_RATIO, "threads": args.threads,
                    "cpu": cpu, "rounds": args.rounds, "repeat": args.repeat})
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
