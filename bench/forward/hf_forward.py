#!/usr/bin/env python3
"""Hugging Face baseline of bench/forward: eager forward with output_attentions=True.

    hf_forward.py --model DIR --ids-file FILE [--batch-size N] [--threads T] [--warmup W]
                  [--repeat R]

Same interface and the same work as sinkscope-bench-forward: every repeat runs every sentence of
FILE (one per line, comma-separated token ids) in batches of N, fp32 on the CPU, right padding for
encoders and left padding for causal models, and consumes each sentence's [H,n,n] attention block
of every layer by summing it (and its squares). Prints one JSON line to stdout.

Run it with the reference venv (scripts/setup --bench): ~/.cache/sinkscope/venv-ref/bin/python.
"""
import argparse
import json
import os
import resource
import sys
import time

# The encoders sinkscope runs (models/arch/bert.cc); every other supported type is causal.
ENCODER_TYPES = {"bert", "roberta", "xlm-roberta"}


def read_ids(path):
    sentences = []
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                sentences.append([int(x) for x in line.split(",")])
            except ValueError:
                raise SystemExit(f"hf_forward.py: --ids-file {path} line {line_no}: not integers")
    if not sentences:
        raise SystemExit(f"hf_forward.py: --ids-file {path}: no sentences")
    return sentences


def make_batch(torch, chunk, left, pad_id):
    t = max(len(s) for s in chunk)
    ids = torch.full((len(chunk), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(chunk), t), dtype=torch.long)
    offsets = []
    for i, s in enumerate(chunk):
        off = t - len(s) if left else 0
        ids[i, off:off + len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, off:off + len(s)] = 1
        offsets.append(off)
    return ids, mask, offsets


def run_pass(torch, model, sentences, batch_size, causal, pad_id):
    checksum = 0.0
    checksum_sq = 0.0
    for start in range(0, len(sentences), batch_size):
        chunk = sentences[start:start + batch_size]
        ids, mask, offsets = make_batch(torch, chunk, causal, pad_id)
        kwargs = {"input_ids": ids, "attention_mask": mask, "output_attentions": True}
        if causal:
            # Positions counted over real tokens, as generate() does for left padding and as
            # sinkscope does; the default arange would shift every left-padded sentence.
            kwargs["position_ids"] = ((mask.cumsum(1) - 1) * mask).clamp_min(0)
            kwargs["use_cache"] = False
        out = model(**kwargs)
        for probs in out.attentions:  # one [B,H,T,T] per layer
            for b, s in enumerate(chunk):
                off, n = offsets[b], len(s)
                block = probs[b, :, off:off + n, off:off + n]  # [H,n,n]
                checksum += block.sum(dtype=torch.float64).item()
                checksum_sq += block.square().sum(dtype=torch.float64).item()
    return checksum, checksum_sq


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--ids-file", required=True)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="default: all cores")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    if args.batch_size <= 0 or args.repeat <= 0 or args.warmup < 0:
        raise SystemExit("hf_forward.py: --batch-size and --repeat must be positive, --warmup >= 0")

    import torch
    from transformers import AutoModel

    threads = args.threads if args.threads > 0 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    sentences = read_ids(args.ids_file)
    tokens_per_pass = sum(len(s) for s in sentences)

    # `dtype` is transformers 4.57's name for the older `torch_dtype` (which now warns).
    model = AutoModel.from_pretrained(
        args.model, attn_implementation="eager", dtype=torch.float32
    ).eval()
    causal = model.config.model_type not in ENCODER_TYPES
    pad_id = model.config.pad_token_id
    if pad_id is None:
        pad_id = 0

    with torch.inference_mode():
        for _ in range(args.warmup):
            run_pass(torch, model, sentences, args.batch_size, causal, pad_id)
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            checksum, checksum_sq = run_pass(torch, model, sentences, args.batch_size, causal,
                                             pad_id)
        seconds = time.perf_counter() - t0

    tokens = tokens_per_pass * args.repeat
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "impl": "hf_transformers_eager",
        "model_type": model.config.model_type,
        "batch_size": args.batch_size,
        "threads": threads,
        "sentences": len(sentences),
        "repeat": args.repeat,
        "tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "peak_rss_mib": peak_kib / 1024.0,
        "checksum": checksum,
        "checksum_sq": checksum_sq,
    }), flush=True)


if __name__ == "__main__":
    sys.exit(main())
