#!/usr/bin/env python3
"""The baseline of bench/tokenize: Hugging Face `tokenizers` (Rust core) on the same input.

    python hf_tokenize.py --tokenizer tokenizer.json --input FILE [--whole]
        [--warmup 1] [--repeat 3]

Lines mode encodes all lines with Tokenizer.encode_batch (add_special_tokens=True; Rayon threads,
RAYON_NUM_THREADS set by run.py); --whole encodes the file as one text with Tokenizer.encode.
Truncation and padding stored in the file are switched off (sinkscope does neither). Prints one
JSON line like sinkscope-bench-tokenize: impl, texts, tokens, seconds, tokens_per_s,
load_seconds, checksum (FNV-1a over all ids of one pass).
"""
import argparse
import json
import time

from tokenizers import Tokenizer


def fnv1a(ids_lists):
    h = 1469598103934665603
    for ids in ids_lists:
        for i in ids:
            for k in range(4):
                h ^= (i >> (8 * k)) & 0xFF
                h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--whole", action="store_true")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    with open(args.input, encoding="utf-8", newline="") as f:
        data = f.read()
    texts = [data] if args.whole else data.split("\n")
    if not args.whole and texts and texts[-1] == "":
        texts.pop()  # like std::getline: no empty text after the final newline

    t0 = time.perf_counter()
    tok = Tokenizer.from_file(args.tokenizer)
    load_seconds = time.perf_counter() - t0
    tok.no_truncation()
    tok.no_padding()

    def one_pass():
        if args.whole:
            return [tok.encode(texts[0], add_special_tokens=True).ids]
        return [e.ids for e in tok.encode_batch(texts, add_special_tokens=True)]

    for _ in range(args.warmup):
        one_pass()
    t1 = time.perf_counter()
    for _ in range(args.repeat):
        ids = one_pass()
    seconds = time.perf_counter() - t1
    tokens = sum(len(x) for x in ids)
    print(json.dumps({"impl": "hf_tokenizers", "texts": len(texts), "tokens": tokens,
                      "seconds": round(seconds, 6),
                      "tokens_per_s": round(tokens * args.repeat / seconds, 1),
                      "load_seconds": round(load_seconds, 4), "checksum": fnv1a(ids)}))


if __name__ == "__main__":
    main()
