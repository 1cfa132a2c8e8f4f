"""sinkscope-metrics sink / massive / kl / value / reference-point on files.

Inputs are the spec's golden cases (tests/fixtures/analyzers/golden_infogeo_value.json, float64
reference), written as float32 .npy files, so values are compared at 1e-5 relative (float32
input rounding), plus the error exits.
"""
import json
import math
import pathlib
import subprocess

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests" / "fixtures" / "analyzers" / "golden_infogeo_value.json")
                    .read_text())


def causal_softmax(logits):
    n = logits.shape[-1]
    z = np.where(np.tril(np.ones((n, n), bool)), logits, -np.inf)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def run(metrics, args):
    out = subprocess.run([str(metrics), *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def close(a, b, rel=1e-5):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-7)


def save(path, array):
    np.save(path, np.asarray(array, np.float32))
    return path


def test_sink_paper_explorer_case_c(metrics, tmp_path):
    c = GOLDEN["caseC_explorer"]
    attention = causal_softmax(np.array(c["logits"]))
    files = [save(tmp_path / f"layer{l}.npy", attention[l]) for l in range(attention.shape[0])]
    r = run(metrics, ["sink", "--mode", "paper", *files])["result"]
    for key in ("avg_first_token_attention", "max_first_token_attention", "progression_increase",
                "first_vs_avg_ratio", "sink_strength"):
        assert close(r["paper_" + key], c[key]), key
    corrected = run(metrics, ["sink", *files])["result"]
    assert corrected["causal"] and corrected["num_layers"] == 4
    assert [h["head"] for h in corrected["layers"][0]["heads"]] == [0, 1, "mean"]


def test_kl_paper_and_corrected_case_a(metrics, tmp_path):
    a = GOLDEN["caseA"]
    path = save(tmp_path / "a.npy", a["attention"])
    paper = run(metrics, ["kl", "--mode", "paper", path])["files"][0]
    assert close(paper["paper_avg_kl_divergence"], a["KL_baseline"]["avg_kl_divergence"])
    assert paper["thresholds"][0]["paper_sinks"] == a["KL_t0.8"]["sinks"]
    assert close(paper["thresholds"][0]["paper_avg_kl_reduction"],
                 a["KL_t0.8"]["avg_kl_reduction"], rel=1e-4)
    corrected = run(metrics, ["kl", "--bos-sink", path])["files"][0]
    assert corrected["removals"][0]["sinks"] == [0]
    assert corrected["attention_fisher"][-1]["head"] == "mean"


def test_value_and_reference_point_case_a(metrics, tmp_path):
    a = GOLDEN["caseA"]
    att = save(tmp_path / "a.npy", a["attention"])
    x = save(tmp_path / "x.npy", a["X_pre"])
    y = save(tmp_path / "y.npy", a["Y_post"])
    paper = run(metrics, ["value", "--mode", "paper", att, x, y])["result"]
    gv = a["attention_value"]
    assert close(paper["paper_geometric_semantic_correlation"],
                 gv["geometric_semantic_correlation"], rel=1e-4)
    assert close(paper["paper_entropy_mean"], gv["entropy_mean"])
    corrected = run(metrics, ["value", att, x, y])["result"]
    assert close(corrected["gs_allowed_pairs"]["pearson"], gv["CORRECTED_r_gs_strict_lower"],
                 rel=1e-4)
    ref = run(metrics, ["reference-point", "--mode", "paper", att, x])["result"]
    assert ref["paper_reference_tokens"] == a["reference_point"]["reference_tokens"]
    assert close(ref["paper_relative_magnitude_mean"],
                 a["reference_point"]["means_incl_dummies"][0])


def test_massive_activations(metrics, tmp_path):
    h = np.ones((2, 3, 4), np.float32)
    h[1, 0, 2] = 5000.0
    r = run(metrics, ["massive", save(tmp_path / "h.npy", h)])
    assert r["count_per_layer"] == [0, 1]
    assert r["activations"][0] == {"layer": 1, "token": 0, "dim": 2, "value": 5000.0,
                                   "token_median_magnitude": 1.0}


def test_errors_name_the_file_and_what_to_fix(metrics, tmp_path):
    a = save(tmp_path / "a.npy", np.full((2, 4, 4), 0.25))
    b = save(tmp_path / "b.npy", np.full((2, 5, 5), 0.2))
    out = subprocess.run([str(metrics), "sink", str(a), str(b)], capture_output=True, text=True)
    assert out.returncode == 1 and "differs from the first layer" in out.stderr
    x = save(tmp_path / "x.npy", np.ones((3, 2)))
    out = subprocess.run([str(metrics), "value", str(a), str(x), str(x)], capture_output=True,
                         text=True)
    assert out.returncode == 1 and "n = 4" in out.stderr


def test_safetensors_captures_are_inputs(metrics, tmp_path):
    # A sinkscope-run-like capture: "<prefix>.layers.<l>.attention" for every layer.
    from safetensors.numpy import save_file
    c = GOLDEN["caseC_explorer"]
    attention = causal_softmax(np.array(c["logits"])).astype(np.float32)
    capture = tmp_path / "run.safetensors"
    save_file({f"sentences.0.layers.{l}.attention": attention[l]
               for l in range(attention.shape[0])}, str(capture))
    files = [save(tmp_path / f"layer{l}.npy", attention[l]) for l in range(attention.shape[0])]
    from_capture = run(metrics, ["sink", "--mode", "paper", f"{capture}:sentences.0"])["result"]
    from_npy = run(metrics, ["sink", "--mode", "paper", *files])["result"]
    assert from_capture == from_npy
    one = run(metrics, ["kl", f"{capture}:sentences.0.layers.2.attention"])["files"][0]
    assert one["num_heads"] == attention.shape[1]
    out = subprocess.run([str(metrics), "kl", f"{capture}:sentences.0.layers.9.attention"],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "no tensor 'sentences.0.layers.9.attention'" in out.stderr
