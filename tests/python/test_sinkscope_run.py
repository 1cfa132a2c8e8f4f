"""sinkscope-run end to end: its .safetensors output, read with the Python `safetensors` package
as a notebook would, equals the Hugging Face reference tensors of the tiny fixtures."""
import json
import os
import pathlib
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


def minilm_dir():
    models = pathlib.Path(os.environ.get("SINKSCOPE_MODELS_DIR",
                                         pathlib.Path.home() / ".cache/sinkscope/models"))
    path = models / "all-MiniLM-L6-v2"
    if not (path / "tokenizer.json").exists():
        if os.environ.get("SINKSCOPE_REQUIRE_REAL_MODELS") == "1":
            pytest.fail(f"{path} is missing; run scripts/setup")
        pytest.skip(f"{path} is missing; run scripts/setup")
    return path


def test_text_inputs_are_tokenized_like_hugging_face(build_dir, fixtures_dir, tmp_path):
    # The HF tokenizer's ids for these texts are in the MiniLM fixture (make_fixtures.py).
    listing = json.loads((fixtures_dir / "minilm" / "sentences.json").read_text())
    chosen = listing["sentences"][:3]
    out = tmp_path / "text.safetensors"
    args = []
    for s in chosen:
        args += ["--text", s["text"]]
    res = run(build_dir, "--model", minilm_dir(), "--capture", "attention", "--layers", "0",
              "--out", out, *args)
    assert res.returncode == 0, res.stderr
    tensors = load_file(str(out))
    for i, s in enumerate(chosen):
        ids = tensors[f"sentences.{i}.input_ids"]
        assert ids.tolist() == s["input_ids"]
        n = len(s["input_ids"])
        assert tensors[f"sentences.{i}.layers.0.attention"].shape == (12, n, n)
        offsets = tensors[f"sentences.{i}.offsets"]
        assert offsets.shape == (n, 2)
        # [CLS] and [SEP] are added special tokens: (0, 0) offsets, listed as special.
        assert offsets[0].tolist() == [0, 0] and offsets[-1].tolist() == [0, 0]
        assert tensors[f"sentences.{i}.special_positions"].tolist() == [0, n - 1]
        # Every other token's offsets point into the text at what it spells.
        text = s["text"].encode()
        first_word = text[offsets[1][0]:offsets[1][1]].decode().lower()
        assert s["text"].lower().startswith(first_word)
    with safe_open(str(out), framework="numpy") as f:
        assert json.loads(f.metadata()["texts"]) == [s["text"] for s in chosen]


def test_text_without_special_tokens_and_mixed_with_ids(build_dir, tmp_path):
    out = tmp_path / "mixed.safetensors"
    res = run(build_dir, "--model", minilm_dir(), "--ids", "101,102", "--text", "atoms",
              "--no-special", "--out", out)
    assert res.returncode == 0, res.stderr
    tensors = load_file(str(out))
    assert tensors["sentences.0.input_ids"].tolist() == [101, 102]
    assert "sentences.0.offsets" not in tensors  # an --ids input has no text
    assert tensors["sentences.1.input_ids"].tolist() == [13353]  # "atoms", no [CLS]/[SEP]
    assert tensors["sentences.1.offsets"].tolist() == [[0, 5]]


def test_invalid_utf8_text_exits_nonzero(build_dir, tmp_path):
    out = tmp_path / "never.safetensors"
    res = subprocess.run([str(build_dir / "sinkscope-run").encode(), b"--model",
                          str(minilm_dir()).encode(), b"--text", b"bad \xff utf8", b"--out",
                          str(out).encode()], capture_output=True, timeout=120)
    stderr = res.stderr.decode(errors="replace")
    assert res.returncode == 1
    assert "INVALID_ARGUMENT" in stderr and "UTF-8" in stderr
    assert not out.exists()


def test_text_needs_a_tokenizer(build_dir, fixtures_dir, tmp_path):
    out = tmp_path / "never.safetensors"
    res = run(build_dir, "--model", fixtures_dir / "tiny" / "llama", "--text", "hello",
              "--out", out)
    assert res.returncode == 1
    assert "--text needs the model's tokenizer" in res.stderr
    assert not out.exists()
