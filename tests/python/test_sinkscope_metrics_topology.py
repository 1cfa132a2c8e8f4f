"""sinkscope-metrics topology end to end: a golden case of spec/reference through the CLI.

The matrices are the closed forms of spec topology-spectral Appendix B, built in float64 and
written as float32 .npy (the reference casts to float32 before any metric). PAPER values are
compared with tests/fixtures/analyzers/golden_topology_spectral.json at the spec's tolerance
(1e-6 relative, exact zeros 1e-9 absolute). CORRECTED mode is checked on the ring case, whose H1
bar has a closed form (birth 1 - nb, death 1 - rest, as float32).
"""
import json
import pathlib
import subprocess

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "analyzers" / "golden_topology_spectral.json"




def golden():
    # Python's json reads the Infinity literals of the rmt entries.
    with open(GOLDEN) as f:
        return json.load(f)


def sink_causal(n, s):
    a = np.zeros((n, n))
    for i in range(n):
        a[i, : i + 1] = (1 - s) / (i + 1)
    a[:, 0] += s
    a[0, 0] = 1.0
    return a


def ring(n, self_w, nb_w):
    a = np.full((n, n), (1 - self_w - 2 * nb_w) / (n - 3))
    for i in range(n):
        a[i, i] = self_w
        a[i, (i + 1) % n] = nb_w
        a[i, (i - 1) % n] = nb_w
    return a


def run(metrics, *args):
    return subprocess.run([str(metrics), "topology", *map(str, args)], capture_output=True,
                          text=True, check=False)


def close(actual, expected):
    if expected == 0:
        return abs(actual) <= 1e-9
    return abs(actual - expected) <= 1e-6 * abs(expected)


def test_paper_mode_matches_golden_sink_causal(metrics, tmp_path):
    path = tmp_path / "sink_causal.npy"
    np.save(path, sink_causal(40, 0.9).astype(np.float32))
    proc = run(metrics, "--mode", "paper", path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["mode"] == "paper" and out["heads"] == "mean"
    (entry,) = out["files"][0]["matrices"]
    want = golden()["sink_causal_n40_s0.9"]["topology"]
    assert entry["head"] == "mean" and entry["valid"]
    assert entry["paper_betti0"] == want["betti0"] == 30
    assert entry["paper_betti1"] == want["betti1"]
    for key, value in want.items():
        if key.startswith("betti"):
            continue
        assert key in entry, key
        assert close(entry[key], value), (key, entry[key], value)
    # Keys absent from the golden entry (no finite H1 pairs) are absent here too.
    assert "dim1_avg_persistence" not in entry and "dim1_avg_persistence" not in want
    assert len(entry["paper_dgm0"]) == 30 and entry["paper_dgm0"][0] == [0.0, None]
    assert entry["paper_kept_tokens"][-1] == 39


def test_corrected_mode_ring_has_one_h1_bar(metrics, tmp_path):
    path = tmp_path / "ring.npy"
    a = ring(8, 0.1, 0.35)
    np.save(path, np.stack([a, a]).astype(np.float32))  # two heads → 2 heads + mean
    proc = run(metrics, "--sink", "none", path)
    assert proc.returncode == 0, proc.stderr
    matrices = json.loads(proc.stdout)["files"][0]["matrices"]
    assert [m["head"] for m in matrices] == [0, 1, "mean"]
    for m in matrices:
        assert m["without_sink"] is None and m["sink_index"] is None
        h1 = m["with_sink"]["dims"][1]
        # float32 inputs: distances 1 - float32(0.35) and 1 - float32(0.04), rounded to float32.
        birth = np.float32(1.0 - np.float64(np.float32(0.35)))
        death = np.float32(1.0 - np.float64(np.float32((1 - 0.1 - 0.7) / 5)))
        assert len(h1["bars"]) == 1
        assert np.float32(h1["bars"][0][0]) == birth
        assert np.float32(h1["bars"][0][1]) == death


def test_non_square_matrix_is_an_error(metrics, tmp_path):
    path = tmp_path / "bad.npy"
    np.save(path, np.zeros((3, 4), np.float32))
    proc = run(metrics, path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "must be square, got 3x4" in proc.stderr
    proc = run(metrics, "--mode", "paper", "--symmetrize", "mean", path)
    assert proc.returncode == 1
    assert "apply to --mode corrected" in proc.stderr
