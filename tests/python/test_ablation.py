"""The MLP-output ablation experiment from the command line on a tiny fixture model:
sinkscope-run (baseline, ablated) → sinkscope-metrics ablation-effect, and
sinkscope-run (several inputs) → sinkscope-metrics mlp-subspace → .npy → ablated sinkscope-run.
Values are checked against numpy on the written captures; error paths by exit status and message."""
import json
import subprocess

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file

IDS = ["5,17,23,42,8,9,31,2", "11,3,7,19,29,4", "6,14,27,33,12,21,18,25,10"]
HIDDEN = 32  # tests/fixtures/tiny/llama: hidden_size


def run(build_dir, *args):
    return subprocess.run([str(build_dir / "sinkscope-run"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def metrics_json(metrics, *args):
    res = subprocess.run([str(metrics), *map(str, args)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def llama(fixtures_dir):
    return fixtures_dir / "tiny" / "llama"


def capture(build_dir, model, out, *extra, ids=IDS[:1], what="attention,hidden_in,mlp_out"):
    args = ["--model", model, "--capture", what, "--out", out, *extra]
    for i in ids:
        args += ["--ids", i]
    res = run(build_dir, *args)
    assert res.returncode == 0, res.stderr
    return load_file(str(out))


def direct(att, causal=True):
    """α_0 and first-token mass per head and for the head mean, from one layer [H, n, n]."""
    a = att.astype(np.float64)
    mats = list(a) + [a.mean(0)]
    first = 1 if causal else 0
    return [(m[:, 0].mean(), m[first:, 0].mean()) for m in mats]


def test_scale_zero_changes_later_layers_only_with_values_of_the_captures(
        build_dir, metrics, llama, tmp_path):
    base = capture(build_dir, llama, tmp_path / "base.safetensors")
    abl = capture(build_dir, llama, tmp_path / "abl.safetensors", "--mlp-scale", "0",
                  "--mlp-layers", "0", "--mlp-tokens", "0")
    assert np.all(abl["layers.0.mlp_out"][0] == 0)
    np.testing.assert_array_equal(abl["layers.0.mlp_out"][1:], base["layers.0.mlp_out"][1:])
    with safe_open(str(tmp_path / "abl.safetensors"), "np") as f:
        meta = json.loads(f.metadata()["interventions"])
    assert meta == {"mlp": [{"kind": "scale", "scale": 0.0, "layers": [0], "tokens": [0]}]}

    out = metrics_json(metrics, "ablation-effect", tmp_path / "base.safetensors",
                       tmp_path / "abl.safetensors", "--layer", "0", "--token", "0")
    assert out["analyzer"] == "ablation-effect"
    assert out["hidden_used"] is True
    r = out["result"]
    assert r["causal"] is True and r["num_heads"] == 4 and r["num_tokens"] == 8
    assert [layer["layer"] for layer in r["layers"]] == [0, 1]
    assert r["control_max_abs_attention_change"] == 0
    control, later = r["layers"]
    assert control["control"] is True and later["control"] is False
    for h in control["heads"]:
        assert h["alpha_change"] == 0 and h["first_token_mass_change"] == 0
    assert control["hidden"]["relative_change"] == 0
    h_base = base["layers.1.hidden_in"][0].astype(np.float64)
    h_abl = abl["layers.1.hidden_in"][0].astype(np.float64)
    assert later["hidden"]["relative_change"] == pytest.approx(
        np.linalg.norm(h_abl - h_base) / np.linalg.norm(h_base), rel=1e-9)
    assert later["hidden"]["relative_change"] > 1e-3
    want_b = direct(base["layers.1.attention"])
    want_a = direct(abl["layers.1.attention"])
    for i, h in enumerate(later["heads"]):
        assert h["head"] == (i if i < 4 else "mean")
        assert h["alpha_baseline"] == pytest.approx(want_b[i][0], abs=1e-12)
        assert h["alpha_ablated"] == pytest.approx(want_a[i][0], abs=1e-12)
        assert h["first_token_mass_baseline"] == pytest.approx(want_b[i][1], abs=1e-12)
        assert h["first_token_mass_ablated"] == pytest.approx(want_a[i][1], abs=1e-12)
        assert h["alpha_change"] == pytest.approx(want_a[i][0] - want_b[i][0], abs=1e-12)
        assert h["max_abs_attention_change"] > 1e-6
    assert r["max_abs_alpha_change_layer"] == 1


def test_scale_one_is_exactly_no_change(build_dir, metrics, llama, tmp_path):
    capture(build_dir, llama, tmp_path / "base.safetensors")
    capture(build_dir, llama, tmp_path / "same.safetensors", "--mlp-scale", "1", "--mlp-layers",
            "0,1", "--mlp-tokens", "0,3")
    r = metrics_json(metrics, "ablation-effect", tmp_path / "base.safetensors",
                     tmp_path / "same.safetensors", "--layer", "0")["result"]
    for layer in r["layers"]:
        assert layer["hidden"]["relative_change"] == 0
        for h in layer["heads"]:
            assert h["alpha_change"] == 0
            assert h["first_token_mass_change"] == 0
            assert h["max_abs_attention_change"] == 0


def test_subspace_to_npy_to_ablated_run(build_dir, metrics, llama, tmp_path):
    many = capture(build_dir, llama, tmp_path / "many.safetensors", ids=IDS)
    out = metrics_json(metrics, "mlp-subspace", tmp_path / "many.safetensors", "--layer", "0",
                       "--token", "0", "--rank", "2", "--out", tmp_path / "dirs.npy")
    assert out["num_sentences"] == 3 and out["num_samples"] == 3 and out["dim"] == HIDDEN
    assert out["rank"] == 2
    assert out["num_others"] == 7 + 5 + 8
    x = np.stack([many[f"sentences.{s}.layers.0.mlp_out"][0] for s in range(3)]).astype(np.float64)
    _, sigma, vt = np.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose(out["singular_values"], sigma, rtol=1e-5)
    dirs = np.load(tmp_path / "dirs.npy")
    assert dirs.shape == (2, HIDDEN) and dirs.dtype == np.float32
    np.testing.assert_allclose(np.abs(dirs @ vt[:2].T), np.eye(2), atol=1e-5)  # up to sign

    # Ablate that subspace in sentence 1's token 0 at layer 0: its MLP output loses the span.
    base = capture(build_dir, llama, tmp_path / "base.safetensors", ids=IDS)
    abl = capture(build_dir, llama, tmp_path / "abl.safetensors", "--mlp-ablate-directions",
                  tmp_path / "dirs.npy", "--mlp-layers", "0", "--mlp-tokens", "0", ids=IDS)
    for s in range(3):
        m = base[f"sentences.{s}.layers.0.mlp_out"][0].astype(np.float64)
        want = m - dirs.T.astype(np.float64) @ (dirs.astype(np.float64) @ m)
        np.testing.assert_allclose(abl[f"sentences.{s}.layers.0.mlp_out"][0], want, atol=1e-5)
    np.testing.assert_allclose(abl["interventions.mlp_directions"], dirs, atol=1e-6)
    with safe_open(str(tmp_path / "abl.safetensors"), "np") as f:
        meta = json.loads(f.metadata()["interventions"])
    assert meta["mlp"][0]["kind"] == "ablate_directions"
    assert meta["mlp"][0]["num_directions"] == 2

    # The effect on one sentence of the multi-sentence captures (prefix like `sink`).
    r = metrics_json(metrics, "ablation-effect", f"{tmp_path / 'base.safetensors'}:sentences.1",
                     f"{tmp_path / 'abl.safetensors'}:sentences.1", "--layer", "0")["result"]
    assert r["num_tokens"] == 6
    assert r["control_max_abs_attention_change"] == 0
    want_b = direct(base["sentences.1.layers.1.attention"])
    want_a = direct(abl["sentences.1.layers.1.attention"])
    mean = r["layers"][1]["heads"][-1]
    assert mean["alpha_change"] == pytest.approx(want_a[-1][0] - want_b[-1][0], abs=1e-12)
    assert mean["max_abs_attention_change"] > 1e-6


def test_non_orthonormal_directions_remove_their_span(build_dir, llama, tmp_path):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=HIDDEN), rng.normal(size=HIDDEN)
    np.save(tmp_path / "dirs.npy", np.stack([a, a + 0.5 * b]).astype(np.float32))
    base = capture(build_dir, llama, tmp_path / "base.safetensors")
    abl = capture(build_dir, llama, tmp_path / "abl.safetensors", "--mlp-ablate-directions",
                  tmp_path / "dirs.npy", "--mlp-layers", "1", "--mlp-tokens", "2")
    q, _ = np.linalg.qr(np.stack([a, a + 0.5 * b]).astype(np.float32).astype(np.float64).T)
    m = base["layers.1.mlp_out"][2].astype(np.float64)
    np.testing.assert_allclose(abl["layers.1.mlp_out"][2], m - q @ (q.T @ m), atol=1e-5)
    # A single [D] vector works too, and a safetensors tensor.
    np.save(tmp_path / "one.npy", a.astype(np.float32))
    one = capture(build_dir, llama, tmp_path / "one.safetensors", "--mlp-ablate-directions",
                  tmp_path / "one.npy", "--mlp-layers", "1", "--mlp-tokens", "2")
    u = a / np.linalg.norm(a)
    np.testing.assert_allclose(one["layers.1.mlp_out"][2], m - u * (u @ m), atol=1e-5)
    st = capture(build_dir, llama, tmp_path / "st.safetensors", "--mlp-ablate-directions",
                 f"{tmp_path / 'one.safetensors'}:interventions.mlp_directions",
                 "--mlp-layers", "1", "--mlp-tokens", "2")
    np.testing.assert_allclose(st["layers.1.mlp_out"][2], one["layers.1.mlp_out"][2], atol=1e-6)


def test_attention_key_removal_is_applied_and_recorded(build_dir, llama, tmp_path):
    abl = capture(build_dir, llama, tmp_path / "abl.safetensors", "--attention-key-columns", "0",
                  "--attention-key-layers", "1", "--attention-key-heads", "2", what="attention")
    att = abl["layers.1.attention"]
    assert np.all(att[2, 1:, 0] == 0)  # head 2 no longer attends to key 0 (row 0 keeps none)
    np.testing.assert_allclose(att[2, 1:].sum(-1), 1.0, atol=1e-6)
    assert np.all(att[0, 1:, 0] > 0)
    with safe_open(str(tmp_path / "abl.safetensors"), "np") as f:
        meta = json.loads(f.metadata()["interventions"])
    assert meta == {"attention": [{"columns": [0], "layers": [1], "heads": [2], "scale": 0.0}]}


@pytest.mark.parametrize("extra,code,fragment", [
    (["--mlp-scale", "0"], 2, "need --mlp-layers"),
    (["--mlp-layers", "0"], 2, "without an MLP intervention"),
    (["--attention-key-columns", "0"], 2, "needs both"),
    (["--attention-key-scale", "0.5"], 2, "needs both"),
    (["--mlp-scale", "0", "--mlp-layers", "0", "--parameter-gradients", "DIR/g.json"], 2,
     "run them separately"),
    (["--mlp-scale", "0", "--mlp-layers", "0,x"], 2, "--mlp-layers"),
    (["--mlp-scale", "0", "--mlp-layers", "5"], 1, "layer 5 does not exist"),
    (["--mlp-scale", "0", "--mlp-layers", "0", "--mlp-tokens", "8"], 1,
     "token 8 is outside the input"),
    (["--mlp-ablate-directions", "DIR/missing.npy", "--mlp-layers", "0"], 1, "no such file"),
    (["--mlp-ablate-directions", "DIR/d31.npy", "--mlp-layers", "0"], 1,
     "directions have dimension 31 but the model's hidden size is 32"),
    (["--mlp-ablate-directions", "DIR/dependent.npy", "--mlp-layers", "0"], 1,
     "linearly independent"),
    (["--mlp-ablate-directions", "DIR/nan.npy", "--mlp-layers", "0"], 1, "NaN or infinite"),
    (["--mlp-ablate-directions", "DIR/d.txt", "--mlp-layers", "0"], 1, ".npy file or"),
    (["--attention-key-columns", "0", "--attention-key-layers", "0",
      "--attention-key-heads", "9"], 1, "head 9 does not exist"),
])
def test_bad_interventions_fail_with_a_message(build_dir, llama, tmp_path, extra, code, fragment):
    np.save(tmp_path / "d31.npy", np.ones((2, 31), np.float32))
    np.save(tmp_path / "dependent.npy", np.stack([np.ones(32), 2 * np.ones(32)]).astype(np.float32))
    bad = np.ones(32, np.float32)
    bad[3] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    (tmp_path / "d.txt").write_text("1 2 3\n")
    extra = [e.replace("DIR", str(tmp_path)) for e in extra]
    res = run(build_dir, "--model", llama, "--ids", IDS[0], "--out", tmp_path / "o.safetensors",
              *extra)
    assert res.returncode == code, res.stderr
    assert fragment in res.stderr
    assert not (tmp_path / "o.safetensors").exists()


def test_ablation_effect_errors(build_dir, metrics, llama, tmp_path):
    capture(build_dir, llama, tmp_path / "a.safetensors")
    capture(build_dir, llama, tmp_path / "b.safetensors", ids=IDS[1:2])
    capture(build_dir, llama, tmp_path / "many.safetensors", ids=IDS)

    def fails(*args):
        res = subprocess.run([str(metrics), *map(str, args)], capture_output=True, text=True,
                             timeout=120)
        assert res.returncode == 1, res.stdout
        return res.stderr

    # Different inputs: the shapes are named.
    err = fails("ablation-effect", tmp_path / "a.safetensors", tmp_path / "b.safetensors",
                "--layer", "0")
    assert "[4, 8, 8]" in err and "[4, 6, 6]" in err
    err = fails("ablation-effect", tmp_path / "many.safetensors", tmp_path / "many.safetensors",
                "--layer", "0")
    assert "sentences.<i>" in err
    err = fails("ablation-effect", tmp_path / "a.safetensors", tmp_path / "a.safetensors",
                "--layer", "2")
    assert "layers.2.attention" in err
    err = fails("ablation-effect", tmp_path / "a.safetensors", tmp_path / "a.safetensors",
                "--layer", "0", "--token", "8")
    assert "token 8 is outside the input [0, 8)" in err
    err = fails("mlp-subspace", tmp_path / "a.safetensors", "--layer", "0", "--token", "9")
    assert "token 9 is outside" in err
    err = fails("mlp-subspace", tmp_path / "a.safetensors")
    assert "--layer" in err


def test_mlp_attribution_from_the_capture(build_dir, metrics, llama, tmp_path):
    """sinkscope-run --capture mlp_in,mlp_in_grad → sinkscope-metrics mlp-attribution: the top
    dimensions and sums of x·g equal numpy's on the written capture."""
    cap = capture(build_dir, llama, tmp_path / "attr.safetensors", what="mlp_in,mlp_in_grad")
    x = cap["layers.1.mlp_in"].astype(np.float64)
    g = cap["layers.1.mlp_in_grad"].astype(np.float64)
    assert x.shape == g.shape == (8, HIDDEN)
    r = metrics_json(metrics, "mlp-attribution", tmp_path / "attr.safetensors", "--layer", "1",
                     "--tokens", "0,5", "--top-k", "4")
    assert r["valid"] and r["dim"] == HIDDEN and r["num_tokens"] == 8
    for entry in r["tokens"]:
        a = x[entry["token"]] * g[entry["token"]]
        order = np.argsort(-np.abs(a), kind="stable")[:4]
        assert entry["top_dims"] == order.tolist()
        np.testing.assert_allclose(entry["top_values"], a[order], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(entry["total"], a.sum(), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(entry["total_abs"], np.abs(a).sum(), rtol=1e-6)
    res = subprocess.run([str(metrics), "mlp-attribution", str(tmp_path / "attr.safetensors"),
                          "--layer", "9"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "no tensor 'layers.9.mlp_in'" in res.stderr
