"""sinkscope-tokenize end to end: its JSON lines equal the Hugging Face `tokenizers` fixtures
(tests/fixtures/tokenizer/expected/, written by make_tokenizer_fixtures.py), for TEXT arguments
and --file, with and without special tokens; bad input exits non-zero with a message."""
import json
import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tokenize_bin(build_dir):
    path = build_dir / "sinkscope-tokenize"
    if not path.exists():
        pytest.fail(f"sinkscope-tokenize not built in {build_dir}; run scripts/test")
    return path


def run(binary, *args):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, timeout=120)


def char_offsets(text, byte_offsets):
    """HF's BytesToCharOffsetConverter: Python's encode reports offsets in characters."""
    data = text.encode("utf-8")
    char_of = []
    for i, ch in enumerate(text):
        char_of.extend([i] * len(ch.encode("utf-8")))
    out = []
    for b, e in byte_offsets:
        if b >= len(data):
            out.append([b, e])
        elif e < len(data):
            out.append([char_of[b], char_of[e]])
        else:
            out.append([char_of[b], char_of[e - 1] + 1])
    return out


def load_cases(fixtures_dir, name):
    expected = json.loads((fixtures_dir / "tokenizer" / "expected" / f"{name}.json").read_text())
    return expected["cases"]


@pytest.mark.parametrize("name", ["bpe_byte_level_roberta", "unigram_xlmr_precompiled",
                                  "wordpiece_bert_custom", "bpe_metaspace_byte_fallback"])
@pytest.mark.parametrize("special", [True, False])
def test_file_mode_matches_hf_fixtures(tokenize_bin, fixtures_dir, tmp_path, name, special):
    cases = [c for c in load_cases(fixtures_dir, name)
             if c["add_special_tokens"] == special and "\n" not in c["text"]
             and "\r" not in c["text"] and "\x85" not in c["text"]]
    assert len(cases) > 50
    texts = tmp_path / "texts.txt"
    texts.write_bytes("".join(c["text"] + "\n" for c in cases).encode("utf-8"))
    args = ["--tokenizer", fixtures_dir / "tokenizer" / "tiny" / f"{name}.json", "--file", texts]
    if not special:
        args.append("--no-special")
    res = run(tokenize_bin, *args)
    assert res.returncode == 0, res.stderr.decode()
    lines = res.stdout.decode("utf-8").split("\n")[:-1]
    assert len(lines) == len(cases)
    for case, line in zip(cases, lines):
        got = json.loads(line)
        assert set(got) == {"ids", "tokens", "offsets", "special_positions"}
        assert got["ids"] == case["ids"], case["text"]
        assert len(got["tokens"]) == len(got["ids"])
        assert char_offsets(case["text"], got["offsets"]) == case["offsets"], case["text"]
        template = [i for i, m in enumerate(case["special_tokens_mask"]) if m]
        assert set(template) <= set(got["special_positions"])


def test_text_arguments_and_model_directory(tokenize_bin, fixtures_dir, tmp_path):
    cases = [c for c in load_cases(fixtures_dir, "bpe_metaspace_byte_fallback")
             if c["add_special_tokens"]][:5]
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "tokenizer.json").write_bytes(
        (fixtures_dir / "tokenizer" / "tiny" / "bpe_metaspace_byte_fallback.json").read_bytes())
    res = run(tokenize_bin, "--tokenizer", model_dir, *[c["text"] for c in cases])
    assert res.returncode == 0, res.stderr.decode()
    lines = res.stdout.decode().split("\n")[:-1]
    assert [json.loads(l)["ids"] for l in lines] == [c["ids"] for c in cases]
    assert all(json.loads(l)["special_positions"][:1] == [0] for l in lines if json.loads(l)["ids"])

    # tokenizer_config.json of a Llama-class tokenizer adds </s> too.
    (model_dir / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": True, "add_eos_token": True,
         "bos_token": "<s>", "eos_token": "</s>"}))
    res = run(tokenize_bin, "--tokenizer", model_dir, "hello")
    assert res.returncode == 0, res.stderr.decode()
    got = json.loads(res.stdout)
    assert got["ids"][0] == 1 and got["ids"][-1] == 2
    assert got["special_positions"] == [0, len(got["ids"]) - 1]


def test_empty_text_gives_only_template_tokens(tokenize_bin, fixtures_dir):
    res = run(tokenize_bin, "--tokenizer",
              fixtures_dir / "tokenizer" / "tiny" / "wordpiece_bert_custom.json", "")
    assert res.returncode == 0, res.stderr.decode()
    got = json.loads(res.stdout)
    assert got["ids"] == [1, 2]  # [CLS] [SEP]
    assert got["offsets"] == [[0, 0], [0, 0]]
    assert got["special_positions"] == [0, 1]


def test_errors_exit_non_zero_with_a_message(tokenize_bin, fixtures_dir, tmp_path):
    tiny = fixtures_dir / "tokenizer" / "tiny" / "bpe_byte_level_roberta.json"
    res = run(tokenize_bin, "--tokenizer", tmp_path / "missing.json", "hi")
    assert res.returncode == 1 and b"NOT_FOUND" in res.stderr

    bad = tmp_path / "bad.json"
    data = json.loads(tiny.read_text())
    data["pre_tokenizer"] = {"type": "Split", "pattern": {"Regex": "(unclosed"},
                             "behavior": "Isolated", "invert": False}
    bad.write_text(json.dumps(data))
    res = run(tokenize_bin, "--tokenizer", bad, "hi")
    assert res.returncode == 1
    assert b"pre_tokenizer 'Split': bad regex" in res.stderr

    invalid = tmp_path / "invalid.txt"
    invalid.write_bytes(b"fine\nbad \xff byte\n")
    res = run(tokenize_bin, "--tokenizer", tiny, "--file", invalid)
    assert res.returncode == 1
    assert b"INVALID_ARGUMENT" in res.stderr and b"byte offset 4" in res.stderr
    assert len(res.stdout.decode().splitlines()) == 1  # the valid first line was printed

    res = run(tokenize_bin, "--tokenizer", tiny)
    assert res.returncode == 2
    res = run(tokenize_bin, "hi")
    assert res.returncode == 2
