"""sinkscope-metrics spectral end to end: one golden case of spec Appendix B through the CLI (the
matrix written with numpy as .npy), the CORRECTED defaults on a 3-D head stack, and error exits.

The golden values come from tests/fixtures/analyzers/golden_topology_spectral.json (the float64
reference of spec topology-spectral); tolerance 1e-6 relative, 1e-9 absolute for exact zeros.
"""
import json
import math
import pathlib
import subprocess

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "analyzers" / "golden_topology_spectral.json"




def sink_causal(n, s):
    a = np.zeros((n, n))
    for i in range(n):
        a[i, : i + 1] = 1.0 / (i + 1)
    a = a * (1 - s)
    a[:, 0] += s
    a[0, 0] = 1.0
    return a.astype(np.float32)


def near(got, want):
    if want is None:
        return got is None
    if abs(want) <= 1e-9:
        return abs(got) <= 1e-9
    return abs(got - want) <= 1e-6 * abs(want)


def run(metrics, *args):
    return subprocess.run([str(metrics), "spectral", *map(str, args)], capture_output=True,
                          text=True)


def test_paper_laplacian_golden_case(metrics, tmp_path):
    golden = json.loads(GOLDEN.read_text())["sink_causal_n12_s0.6"]["laplacian"]
    path = tmp_path / "sink_causal_n12.npy"
    np.save(path, sink_causal(12, 0.6))
    taus = list(golden)
    out = run(metrics, "--mode", "paper", "--thresholds", ",".join(taus), "--options",
              '{"paper_float16": false}', path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["files"][0]
    assert result["mode"] == "paper" and result["paper_variant"] == "laplacian"
    assert result["num_tokens"] == 12 and result["heads"] == "mean"
    (entry,) = result["matrices"]
    assert entry["head"] == "mean" and entry["valid"]
    compared = 0
    for tau, got in zip(taus, entry["thresholds"]):
        assert got["threshold"] == float(tau)
        for key, want in golden[tau].items():
            assert near(got["paper_" + key], want), (tau, key, got["paper_" + key], want)
            compared += 1
    assert compared == 7 * 13


def test_corrected_heads_and_mean_of_a_stack(metrics, tmp_path):
    # Two heads: a bidirectional star with hub 0 and the complete graph; τ = 0.05.
    n = 6
    star = np.zeros((n, n), np.float32)
    star[0, :] = 1.0 / n
    star[1:, 0] = 0.6
    star[np.arange(1, n), np.arange(1, n)] = 0.4
    complete = np.full((n, n), 1.0 / n, np.float32)
    path = tmp_path / "heads.npy"
    np.save(path, np.stack([star, complete]))
    out = run(metrics, "--thresholds", "0.05", path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["files"][0]
    assert result["mode"] == "corrected" and result["heads"] == "heads+mean"
    assert [m["head"] for m in result["matrices"]] == [0, 1, "mean"]
    s, c = result["matrices"][0]["thresholds"][0], result["matrices"][1]["thresholds"][0]
    assert math.isclose(s["fiedler_value"], 1.0, abs_tol=1e-12)
    assert s["star_proximity"] == 1.0 and s["star_edge_weight"] == 1.0
    assert math.isclose(c["fiedler_value"], n, rel_tol=1e-12)
    assert s["avg_shortest_path"] is not None
    assert "paper_fiedler_value" not in s


def test_errors_exit_1_with_a_message(metrics, tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.full((3, 3), 1 / 3, np.float32))
    out = run(metrics, "--options", '{"paper_float16": true}', path)
    assert out.returncode == 1
    assert "unknown option 'paper_float16'" in out.stderr
    out = run(metrics, "--thresholds", "0.1,abc", path)
    assert out.returncode == 1 and "'abc' is not a number" in out.stderr
    bad = tmp_path / "rect.npy"
    np.save(bad, np.zeros((2, 3), np.float32))
    out = run(metrics, bad)
    assert out.returncode == 1 and "square" in out.stderr and str(bad) in out.stderr
