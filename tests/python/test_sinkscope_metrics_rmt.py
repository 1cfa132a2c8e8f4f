"""sinkscope-metrics rmt end to end: a golden case of spec Appendix B through .npy files and the
JSON output (PAPER mode, 1e-6 relative like the C++ tests), the CORRECTED output shape with
per-head entries and null/"inf" encoding, and the error exits.

The matrices are built with numpy exactly as spec/reference/ref_impl_topology_spectral.py does
(float64, then float32); the expected values are read from tests/fixtures/analyzers/
golden_topology_spectral.json.
"""
import json
import math
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "analyzers" / "golden_topology_spectral.json"




def local_bidir(n, s, beta):
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    k = np.exp(-beta * np.abs(i - j))
    k /= k.sum(axis=1, keepdims=True)
    a = (1 - s) * k
    a[:, 0] += s
    return a


def sink_causal(n, s):
    a = np.zeros((n, n))
    for i in range(n):
        a[i, : i + 1] = 1.0 / (i + 1)
    a *= 1 - s
    a[:, 0] += s
    a[0, 0] = 1.0
    return a


def run(metrics, *args):
    return subprocess.run([str(metrics), "rmt", *map(str, args)], capture_output=True, text=True)


def close(got, want):
    if isinstance(want, float) and math.isinf(want):
        return got == "inf"
    return abs(got - want) <= 1e-6 * abs(want)


@pytest.mark.parametrize("name,matrix", [
    ("local_bidir_n12_s0.3", local_bidir(12, 0.3, 1.0)),
    ("sink_causal_n12_s0.6", sink_causal(12, 0.6)),
])
def test_paper_mode_reproduces_the_golden_values(tmp_path, metrics, name, matrix):
    golden = json.loads(GOLDEN.read_text())[name]["rmt"]
    path = tmp_path / "a.npy"
    np.save(path, matrix.astype(np.float32))
    out = run(metrics, "--mode", "paper", path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["mode"] == "paper"
    [entry] = doc["files"][0]["matrices"]
    assert entry["head"] == "mean" and entry["valid"]
    for key in ("sink_concentration", "entropy", "spectral_gap", "participation_ratio",
                "stable_rank", "marchenko_pastur_kl"):
        assert close(entry["paper_" + key], golden[key]), (key, entry["paper_" + key], golden[key])


def test_corrected_mode_reports_heads_mean_nan_and_inf(tmp_path, metrics):
    # Head 0: diag(1, 0) (σ2 = 0 → gap ratio "inf"); head 1 carries a NaN (invalid, nulls); the
    # mean inherits the NaN.
    heads = np.zeros((2, 2, 2), np.float32)
    heads[0, 0, 0] = 1.0
    heads[1] = [[1.0, 0.0], [0.5, 0.5]]
    heads[1, 1, 0] = np.nan
    path = tmp_path / "h.npy"
    np.save(path, heads)
    out = run(metrics, "--aspect-ratio", "0.5", path)
    assert out.returncode == 0, out.stderr
    f = json.loads(out.stdout)["files"][0]
    assert f["n"] == 2 and f["num_heads"] == 2 and f["heads"] == "heads+mean"
    h0, h1, mean = f["matrices"]
    assert (h0["head"], h1["head"], mean["head"]) == (0, 1, "mean")
    assert h0["valid"] and h0["spectral_gap_ratio"] == "inf"
    assert h0["stable_rank"] == 1.0 and h0["marchenko_pastur"]["gamma"] == 0.5
    assert not h1["valid"] and h1["health"]["nan"] == 1 and h1["stable_rank"] is None
    assert not mean["valid"]


def test_errors_exit_1_with_the_reason(tmp_path, metrics):
    path = tmp_path / "bad.npy"
    np.save(path, np.zeros((3, 4), np.float32))
    out = run(metrics, path)
    assert out.returncode == 1
    assert "must be square, got 3x4" in out.stderr
    good = tmp_path / "good.npy"
    np.save(good, np.eye(3, dtype=np.float32))
    out = run(metrics, "--options", '{"mp_bins": 0}', good)
    assert out.returncode == 1 and "mp_bins must be >= 1" in out.stderr
    out = run(metrics, "--mode", "paper", "--aspect-ratio", "2", good)
    assert out.returncode == 1 and "paper mode fixes gamma" in out.stderr
