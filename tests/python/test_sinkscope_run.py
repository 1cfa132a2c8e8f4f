"""sinkscope-run end to end: its .safetensors output, read with the Python `safetensors` package
as a notebook would, equals the Hugging Face reference tensors of the tiny fixtures."""
import json
import subprocess

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file


def run(build_dir, *args):
    return subprocess.run([str(build_dir / "sinkscope-run"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def ids_arg(reference, key):
    return ",".join(str(int(i)) for i in reference[key])


def test_single_input_writes_every_capture_under_layer_names(build_dir, fixtures_dir, tmp_path):
    model = fixtures_dir / "tiny" / "llama"
    ref = load_file(str(model / "reference.safetensors"))
    out = tmp_path / "run.safetensors"
    res = run(build_dir, "--model", model, "--ids", ids_arg(ref, "s0.input_ids"),
              "--capture", "attention,scores,qkv,attn,hidden,mlp", "--out", out)
    assert res.returncode == 0, res.stderr
    got = load_file(str(out))
    np.testing.assert_array_equal(got["input_ids"], ref["s0.input_ids"])
    for layer in range(2):
        p = f"layers.{layer}."
        assert got[p + "attention"].shape == (4, 7, 7)  # heads × n × n
        assert got[p + "attention"].dtype == np.float32
        np.testing.assert_allclose(got[p + "attention"], ref[f"s0.{p}attention"], atol=1e-5, rtol=0)
        for name in ["q", "k", "v", "attn_heads", "attn_out", "hidden_in", "hidden_out",
                     "mlp_in", "mlp_out"]:
            np.testing.assert_allclose(got[p + name], ref[f"s0.{p}{name}"], atol=1e-4, rtol=0,
                                       err_msg=p + name)
    np.testing.assert_allclose(got["final_hidden"], ref["s0.final_hidden"], atol=1e-4, rtol=0)
    with safe_open(str(out), "np") as f:
        meta = f.metadata()
    assert meta["model_type"] == "llama"
    assert meta["producer"] == "sinkscope-run"


def test_several_inputs_are_unpadded_under_sentence_prefixes(build_dir, fixtures_dir, tmp_path):
    model = fixtures_dir / "tiny" / "bert"
    ref = load_file(str(model / "reference.safetensors"))
    out = tmp_path / "run.safetensors"
    args = ["--model", model, "--out", out, "--capture", "attention", "--layers", "1"]
    for s in range(3):
        args += ["--ids", ids_arg(ref, f"s{s}.input_ids")]
    res = run(build_dir, *args)
    assert res.returncode == 0, res.stderr
    got = load_file(str(out))
    for s in range(3):
        n = len(ref[f"s{s}.input_ids"])
        att = got[f"sentences.{s}.layers.1.attention"]
        assert att.shape == (4, n, n)
        np.testing.assert_allclose(att, ref[f"s{s}.layers.1.attention"], atol=1e-5, rtol=0)
        assert f"sentences.{s}.layers.0.attention" not in got  # only the requested layer


def test_hub_id_with_revision_resolves_offline(build_dir, fixtures_dir, tmp_path):
    cache = fixtures_dir / "hf_cache"
    expected = load_file(str(cache / "expected.safetensors"))
    for revision in ["step1000", "main"]:
        out = tmp_path / f"{revision}.safetensors"
        res = run(build_dir, "--model", f"sinkscope-test/tiny-llama@{revision}",
                  "--hub-cache", cache / "hub", "--ids", ids_arg(expected, "input_ids"),
                  "--out", out)
        assert res.returncode == 0, res.stderr
        np.testing.assert_allclose(load_file(str(out))["final_hidden"],
                                   expected[f"{revision}.final_hidden"], atol=1e-4, rtol=0)
        with safe_open(str(out), "np") as f:
            commit = f.metadata()["model_revision"]
        ref = (cache / "hub" / "models--sinkscope-test--tiny-llama" / "refs" / revision).read_text()
        assert commit == ref.strip()


@pytest.mark.parametrize("args, fragment", [
    (["--ids", "1,2,500"], "id 500 is outside the vocabulary [0, 128)"),
    (["--ids", "1,x,3"], "'x' is not an integer"),
    (["--ids", "1,2", "--capture", "attention,everything"], "unknown capture 'everything'"),
    (["--ids", "1,2", "--dtype", "fp8"], "--dtype 'fp8'"),
    (["--ids", ",".join(["3"] * 65)], "at most 64 positions"),
])
def test_bad_input_exits_nonzero_with_a_message(build_dir, fixtures_dir, tmp_path, args, fragment):
    out = tmp_path / "never.safetensors"
    res = run(build_dir, "--model", fixtures_dir / "tiny" / "llama", "--out", out, *args)
    assert res.returncode == 1
    assert fragment in res.stderr
    assert "INVALID_ARGUMENT" in res.stderr
    assert not out.exists()


def test_missing_model_says_where_it_looked(build_dir, tmp_path):
    res = run(build_dir, "--model", "nobody/nothing@main", "--hub-cache", tmp_path,
              "--ids", "1", "--out", tmp_path / "x.safetensors")
    assert res.returncode == 1
    assert "NOT_FOUND" in res.stderr
    assert str(tmp_path) in res.stderr


def test_usage_errors_exit_nonzero(build_dir):
    res = run(build_dir, "--ids", "1,2")
    assert res.returncode != 0
    assert "--model" in res.stderr + res.stdout
