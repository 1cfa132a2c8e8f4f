"""Empirical Fisher end to end: sinkscope-run --parameter-gradients on a tiny fixture model, then
sinkscope-metrics fisher. The gradient norms must equal the Hugging Face values of
tests/fixtures/fisher/parameter_gradients.json (make_fisher_fixtures.py), and the traces must be
the layer sums that this file recomputes from the gradient file by the spec's rules (§3.3)."""
import json
import math
import re
import subprocess

import pytest

REL = 1e-4


def run(binary, *args):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def reference(fixtures_dir):
    return json.loads((fixtures_dir / "fisher" / "parameter_gradients.json").read_text())


def gradients(build_dir, fixtures_dir, reference, tmp_path, case, loss_pad):
    entry = reference["cases"][case]
    out = tmp_path / f"{case}_{loss_pad}.json"
    ids = []
    for s in entry["sentences"]:
        ids += ["--ids", ",".join(map(str, s))]
    res = run(build_dir / "sinkscope-run", "--model", fixtures_dir / "tiny" / case, *ids,
              "--parameter-gradients", out, "--loss-pad", loss_pad,
              "--pad-id", reference["pad_token_id"])
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text()), entry


def num(v):
    return float(v) if not isinstance(v, str) else float(v.replace("inf", "Infinity"))


def paper_layer(name):
    for marker in ("layers.", "layer."):
        if marker in name:
            k = name.split(marker)[1].split(".")[0]
            if k.isdigit():
                return f"layer_{int(k)}"
    return "other"


@pytest.mark.parametrize("case,loss_pad,mode", [("gpt_neox", "exclude", "corrected"),
                                                ("llama", "include", "paper")])
def test_gradient_norms_match_hf_and_traces_are_layer_sums(build_dir, fixtures_dir, metrics,
                                                           reference, tmp_path, case, loss_pad,
                                                           mode):
    grads, entry = gradients(build_dir, fixtures_dir, reference, tmp_path, case, loss_pad)
    assert grads["kind"] == "parameter_gradients"
    assert grads["loss_padding"] == loss_pad
    names = [p["name"] for p in grads["parameters"]]
    assert sorted(names) == sorted(entry["parameters"])
    hf_mode = "corrected" if loss_pad == "exclude" else "paper"
    for k, sentence in enumerate(grads["sentences"]):
        want = entry[hf_mode][k]
        assert sentence["loss"] == pytest.approx(want["loss"], rel=1e-5)
        for name, got, fp16 in zip(names, sentence["squared_norms"],
                                   sentence["fp16_squared_norms"]):
            ref = want["grad_sq_norm"][name]
            assert got == pytest.approx(ref, rel=REL, abs=1e-12), name
            # fp16 emulation: the elements and the norm rounded to fp16 (rel. error ≲ 2·2^-11
            # on the norm, 4·2^-11 on its square), unless tiny elements flush to zero.
            if got > 1e-6:
                assert num(fp16) == pytest.approx(got, rel=3e-3), name

    res = run(metrics, "fisher", tmp_path / f"{case}_{loss_pad}.json", "--mode", mode)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["analyzer"] == "fisher" and out["mode"] == mode
    assert out["warnings"] == []
    assert "empirical Fisher" in out["quantity"]
    n = len(grads["sentences"])
    assert out["num_samples"] == n
    # Layer sums recomputed here: F_l = (1/N) sum_k sum_{p in l} f_kp.
    key = "squared_norms" if mode == "corrected" else "fp16_squared_norms"
    want_layers = {}
    for sentence in grads["sentences"]:
        for name, v in zip(names, sentence[key]):
            want_layers.setdefault(paper_layer(name), 0.0)
            want_layers[paper_layer(name)] += num(v) / n
    got_layers = {l["key"]: l["trace"] for l in out["layers"]}
    assert got_layers.keys() == want_layers.keys()
    for k, v in want_layers.items():
        assert got_layers[k] == pytest.approx(v, rel=1e-12), k
    assert out["total"] == pytest.approx(sum(want_layers.values()), rel=1e-12)
    numeric = [l for l in out["layers"] if l["layer"] is not None]
    assert [l["layer"] for l in numeric] == list(range(len(numeric)))
    assert out["layers"][-1]["key"] == "other"
    if mode == "corrected":
        numel = {p["name"]: p["numel"] for p in grads["parameters"]}
        for l in out["layers"]:
            count = sum(v for name, v in numel.items() if paper_layer(name) == l["key"])
            assert l["num_parameters"] == count
            assert l["per_parameter_trace"] == pytest.approx(l["trace"] / count, rel=1e-12)
        groups = {g["name"]: g for g in out["groups"]}
        assert set(groups) == {"attention", "mlp", "norm", "embedding", "lm_head"}
        lm_head = sum(num(s[key][names.index("embed_out.weight")]) for s in grads["sentences"])
        assert groups["lm_head"]["trace"] == pytest.approx(lm_head / n, rel=1e-12)
        assert out["ungrouped"] == []
        assert out["trend"]["n"] == 3 and "paper_consecutive_layer_correlation" not in out
        assert out["layer_position_correlation"]["pearson"]["n"] == 3
    else:
        groups = {g["name"]: g for g in out["groups"]}
        assert set(groups) == {"attention", "mlp", "embedding"}
        # PAPER keyword rule: post_attention_layernorm counts as attention.
        attn = sum(num(s[key][i]) for s in grads["sentences"] for i, name in enumerate(names)
                   if re.search("attention|attn|self|q_proj|k_proj|v_proj", name.lower()))
        assert groups["attention"]["trace"] == pytest.approx(attn / n, rel=1e-12)
        assert "model.norm.weight" in out["ungrouped"]
        assert out["num_fp16_overflow"] == 0
        assert out["paper_statistical_significance"]["total_tests"] == 1  # 2 layers: no window
        assert out["paper_consecutive_layer_correlation"] is None


def test_mode_that_does_not_match_the_loss_is_warned(build_dir, fixtures_dir, metrics, reference,
                                                     tmp_path):
    gradients(build_dir, fixtures_dir, reference, tmp_path, "gpt2", "exclude")
    res = run(metrics, "fisher", tmp_path / "gpt2_exclude.json", "--mode", "paper")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert any("pads" in w for w in out["warnings"])
    # GPT-2's transformer.h.<k> names are "other" under the PAPER layer rule.
    assert [l["key"] for l in out["layers"]] == ["other"]


def test_bad_inputs_fail_with_clear_errors(build_dir, fixtures_dir, metrics, tmp_path):
    missing = run(metrics, "fisher", tmp_path / "nope.json")
    assert missing.returncode == 1 and "cannot open" in missing.stderr
    other = tmp_path / "other.json"
    other.write_text('{"analyzer": "kl"}')
    wrong = run(metrics, "fisher", other)
    assert wrong.returncode == 1 and "parameter_gradients" in wrong.stderr
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"kind": "parameter_gradients",
                                 "parameters": [{"name": "a.weight", "numel": 2}],
                                 "sentences": [{"squared_norms": []}]}))
    res = run(metrics, "fisher", short)
    assert res.returncode == 1 and "one value per parameter" in res.stderr
    paper = tmp_path / "no_fp16.json"
    paper.write_text(json.dumps({"kind": "parameter_gradients",
                                 "parameters": [{"name": "a.weight", "numel": 2}],
                                 "sentences": [{"squared_norms": [1.0]}]}))
    res = run(metrics, "fisher", paper, "--mode", "paper")
    assert res.returncode == 1 and "fp16" in res.stderr
    usage = run(metrics, "fisher", paper, "--mode", "bogus")  # CLI11's usage-error status
    assert usage.returncode not in (0, 1) and "--mode" in usage.stderr
    encoder = run(build_dir / "sinkscope-run", "--model", fixtures_dir / "tiny" / "bert",
                  "--ids", "101,5,102", "--parameter-gradients", tmp_path / "bert.json")
    assert encoder.returncode == 1 and "causal" in encoder.stderr
    one = run(build_dir / "sinkscope-run", "--model", fixtures_dir / "tiny" / "gpt2",
              "--ids", "5", "--parameter-gradients", tmp_path / "one.json")
    assert one.returncode == 1 and "two tokens" in one.stderr
    nothing = run(build_dir / "sinkscope-run", "--model", fixtures_dir / "tiny" / "gpt2",
                  "--ids", "5,6")
    assert nothing.returncode == 1 and "nothing to write" in nothing.stderr
    bad_pad = run(build_dir / "sinkscope-run", "--model", fixtures_dir / "tiny" / "gpt2",
                  "--ids", "5,6", "--parameter-gradients", tmp_path / "x.json",
                  "--loss-pad", "maybe")
    assert bad_pad.returncode not in (0, 1) and "--loss-pad" in bad_pad.stderr
