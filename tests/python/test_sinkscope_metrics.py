"""sinkscope-metrics ph against the ripser program, on files in every input format.

The engine's own agreement test (tests/analyzers/ripser_agreement_test.cc) covers thousands of
matrices in process; this one checks the command-line contract end to end: the readers (.npy
float32/float64, CSV, ripser's lower-distance and distance text), --dim/--threshold, the JSON
shape ({"dgms": [...]} with null for infinite deaths) and the error exits.

Values are compared the way ripser prints them: float32 rendered with "%g" (6 significant digits).
ripser is run with an explicit --format lower-distance (its code's default is `distance`, whatever
its --help says). Without ripser on PATH the comparisons skip, or fail under
SINKSCOPE_REQUIRE_REAL_MODELS=1 (scripts/test).
"""
import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]




@pytest.fixture(scope="session")
def ripser():
    path = shutil.which("ripser")
    if path is None:
        if os.environ.get("SINKSCOPE_REQUIRE_REAL_MODELS") == "1":
            pytest.fail("the ripser program is required (apt install ripser)")
        pytest.skip("ripser not installed")
    return path


def g(x):
    return "%g" % float(np.float32(x))


def write_lower(path, d):
    n = d.shape[0]
    with open(path, "w") as f:
        f.write("\n")
        for i in range(1, n):
            f.write(",".join("%.9g" % v for v in d[i, :i]) + "\n")


def write_rows(path, d, sep):
    with open(path, "w") as f:
        for row in d:
            f.write(sep.join("%.9g" % v for v in row) + "\n")


def run_ripser(ripser, lower_file, dim, threshold):
    cmd = [ripser, "--format", "lower-distance", "--dim", str(dim)]
    if threshold is not None:
        cmd += ["--threshold", "%.9g" % threshold]
    out = subprocess.run(cmd + [str(lower_file)], capture_output=True, text=True, check=True)
    dgms, dim_now = {}, None
    for line in out.stdout.splitlines():
        if line.startswith("persistence intervals in dim "):
            dim_now = int(line.split()[-1].rstrip(":"))
            dgms[dim_now] = []
        elif line.startswith(" [") and dim_now is not None:
            birth, death = line.strip()[1:-1].split(",")
            dgms[dim_now].append((birth, death.strip()))
    return {k: sorted(v) for k, v in dgms.items()}


def run_metrics(metrics, path, fmt, dim, threshold):
    cmd = [str(metrics), "ph", "--format", fmt, "--dim", str(dim)]
    if threshold is not None:
        cmd += ["--threshold", "%.9g" % threshold]
    out = subprocess.run(cmd + [str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) == {"dgms"}
    assert len(result["dgms"]) == dim + 1
    return result["dgms"]


def as_printed(dgms, n):
    # ripser prints the dimensions 0..min(dim, n - 2).
    top = max(0, min(len(dgms) - 1, n - 2))
    return {
        k: sorted((g(b), "" if d is None else g(d)) for b, d in dgms[k]) for k in range(top + 1)
    }


def matrices():
    rng = np.random.default_rng(4)
    out = []
    for k in range(24):
        n = int(rng.integers(3, 60))
        kind = k % 4
        if kind == 0:
            d = rng.random((n, n))
        elif kind == 1:
            d = rng.integers(0, 4, (n, n)).astype(np.float64)
        elif kind == 2:
            x = rng.standard_normal((n, 2))
            x[n // 2] = x[0]  # a duplicate point
            d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
        else:
            a = np.exp(rng.standard_normal((n, n)))
            a /= a.sum(1, keepdims=True)
            d = 1.0 - np.maximum(a, a.T)
        d = np.minimum(d, d.T)
        np.fill_diagonal(d, 0.0)
        threshold = None if k % 3 else float(np.float32(np.quantile(d[np.tril_indices(n, -1)], 0.3)))
        out.append((f"{k}-kind{kind}-n{n}", d, threshold))
    return out


@pytest.mark.parametrize("name,d,threshold", matrices(), ids=lambda v: v if isinstance(v, str) else "")
def test_ph_agrees_with_ripser_in_every_format(tmp_path, metrics, ripser, name, d, threshold):
    d32 = d.astype(np.float32)
    n = d.shape[0]
    lower = tmp_path / "m.ldm"
    write_lower(lower, d32)
    expected = run_ripser(ripser, lower, 1, threshold)
    assert len(expected[0]) >= 1

    files = {"lower-distance": lower}
    files["distance"] = tmp_path / "m.txt"
    write_rows(files["distance"], d32, " ")
    files["csv"] = tmp_path / "m.csv"
    write_rows(files["csv"], d32, ",")
    npy32, npy64 = tmp_path / "m32.npy", tmp_path / "m64.npy"
    np.save(npy32, d32)
    np.save(npy64, d32.astype(np.float64))  # float64 holding float32 values: exact
    for fmt, path in list(files.items()) + [("npy", npy32), ("npy", npy64)]:
        got = as_printed(run_metrics(metrics, path, fmt, 1, threshold), n)
        assert got == expected, f"{name} {fmt} {path.name}"


def test_ph_dim2_and_json_shape(tmp_path, metrics, ripser):
    # Octahedron: one H2 bar [sqrt 2, 2).
    x = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1)).astype(np.float32)
    path = tmp_path / "octahedron.npy"
    np.save(path, d)
    dgms = run_metrics(metrics, path, "npy", 2, None)
    assert dgms[2] == [[pytest.approx(np.sqrt(2), rel=1e-6), 2.0]]
    assert dgms[0].count([0, None]) == 1
    lower = tmp_path / "octahedron.ldm"
    write_lower(lower, d)
    assert as_printed(dgms, 6) == run_ripser(ripser, lower, 2, None)


def run_error(metrics, args):
    out = subprocess.run([str(metrics), "ph", *map(str, args)], capture_output=True, text=True)
    assert out.returncode != 0
    assert out.stdout == ""
    return out.stderr


def test_ph_errors(tmp_path, metrics):
    missing = tmp_path / "missing.csv"
    assert "missing.csv: no such file" in run_error(metrics, [missing])

    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("0,1\n1,x\n")
    assert "bad.csv:2: cannot parse 'x'" in run_error(metrics, ["--format", "csv", bad_csv])

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("0,1,2\n1,0\n")
    assert "ragged.csv:2: row has 2 values" in run_error(metrics, [ragged])

    not_square = tmp_path / "wide.csv"
    not_square.write_text("0,1,2\n1,0,3\n")
    assert "must be square" in run_error(metrics, [not_square])

    lower = tmp_path / "four.ldm"
    lower.write_text("1\n2 3\n4\n")
    assert "4 values is not the size" in run_error(metrics, ["--format", "lower-distance", lower])

    nan = tmp_path / "nan.csv"
    nan.write_text("0,nan,1\nnan,0,inf\n1,inf,0\n")
    assert "2 NaN, 2 infinite" in run_error(metrics, [nan])

    ints = tmp_path / "ints.npy"
    np.save(ints, np.zeros((3, 3), np.int64))
    assert "dtype" in run_error(metrics, [ints])

    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((2, 2, 2), np.float32))
    assert "holds a stack of 2 matrices" in run_error(metrics, [cube])

    fortran = tmp_path / "fortran.npy"
    np.save(fortran, np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    assert "Fortran-order" in run_error(metrics, [fortran])

    truncated = tmp_path / "truncated.npy"
    np.save(truncated, np.zeros((4, 4), np.float32))
    truncated.write_bytes(truncated.read_bytes()[:-5])
    assert "payload has" in run_error(metrics, [truncated])

    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not a numpy file at all")
    assert "not a .npy file" in run_error(metrics, [garbage])

    ok = tmp_path / "ok.csv"
    ok.write_text("0,1\n1,0\n")
    assert "threshold 'abc'" in run_error(metrics, ["--threshold", "abc", ok])
    assert "limit of 1" in run_error(metrics, ["--max-points", "1", ok])
    run_error(metrics, ["--format", "xml", ok])
    run_error(metrics, ["--dim", "3", ok])
