"""One deterministic, decoder-like capture with the SmolLM2-135M shape, written in the layout of
`sinkscope-run` (models/cli/sinkscope_run.cc: `layers.<l>.<capture>`, `input_ids`,
`final_hidden`, float32) for bench/layer_metrics.

SmolLM2 weights cannot be read here yet (no GGUF reader), so this builds a small random
Llama-style forward pass instead of loading one. Shape (HF config of SmolLM2-135M): 30 layers,
9 query heads, 3 KV heads, head_dim 64, hidden 576, intermediate 1536; one sentence of n = 48
tokens, causal.

What makes it look like a real decoder rather than uniform noise:
  * attention is the causal softmax of 1.5·q·kᵀ/√64 computed from the layer's own (RMS-normed)
    residual stream through random projections, plus a per-head structural bias: most heads of
    layers ≥ 2 put a strong logit bonus on key 0 (the first-token sink: with seed 0, 69 % of
    those heads have first-token mass f > 0.3, up to 0.99, median f 0.6), some heads are local
    (the diagonal and the previous token), a few are diffuse; layers 0–1 have weak sinks
    (f ≤ 0.15), as real models do;
  * GQA: query head h reads KV head ⌊h·3/9⌋;
  * the residual stream is consistent: hidden_out = hidden_in + attn_out + mlp_out exactly (in
    float64 before the cast), attn_out = concat(attn_heads) · W_o, attn_heads = A · v,
    mlp_in = RMSNorm(hidden_in + attn_out), mlp_out = SiLU-gated MLP of mlp_in;
  * from layer 2 on, token 0 carries a massive activation in two dimensions (Sun et al. 2024):
    the MLP of layer 2 writes ≈ +3000 and ≈ −2400 there (over 1000× the token's median |h|,
    as in Sun et al.'s models), and the residual keeps it.

    python bench/layer_metrics/make_capture.py --out /tmp/capture.safetensors [--seed 0]
"""

import argparse
import json

import numpy as np
from safetensors.numpy import save_file

LAYERS, HEADS, KV_HEADS, HEAD_DIM, HIDDEN, INTERMEDIATE = 30, 9, 3, 64, 576, 1536
MASSIVE_DIMS = (138, 378)
MASSIVE_LAYER = 2


def rms_norm(x):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-5)


def head_biases(rng, layer, n):
    """[H, n, n] additive logit biases: sink, local or diffuse heads."""
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    bias = np.zeros((HEADS, n, n))
    for h in range(HEADS):
        kind = rng.choice(["sink", "local", "diffuse"],
                          p=[0.3, 0.4, 0.3] if layer < 2 else [0.7, 0.2, 0.1])
        if kind == "sink":
            strength = rng.uniform(1.5, 3.0) if layer < 2 else rng.uniform(3.5, 7.0)
            bias[h, :, 0] += strength
            bias[h] += rng.uniform(0.0, 1.5) * (j == i)
        elif kind == "local":
            bias[h] += rng.uniform(2.0, 4.0) * (j == i) + rng.uniform(1.0, 3.0) * (j == i - 1)
            bias[h, :, 0] += rng.uniform(0.5, 2.0)
        else:
            bias[h, :, 0] += rng.uniform(0.0, 1.0)
    return bias


def causal_softmax(logits):
    n = logits.shape[-1]
    mask = np.tril(np.ones((n, n), dtype=bool))
    z = np.where(mask, logits, -np.inf)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.where(mask, np.exp(z), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def make(seed, n):
    rng = np.random.default_rng(seed)
    tensors = {}
    ids = rng.integers(1, 49152, size=n)
    ids[0] = 1  # a BOS-like first token
    tensors["input_ids"] = ids.astype(np.int64)
    x = rng.normal(0.0, 0.6, size=(n, HIDDEN))
    scale = 1.0 / np.sqrt(HIDDEN)
    for layer in range(LAYERS):
        hidden_in = x
        xn = rms_norm(hidden_in)
        wq = rng.normal(0.0, scale, size=(HIDDEN, HEADS * HEAD_DIM))
        wk = rng.normal(0.0, scale, size=(HIDDEN, KV_HEADS * HEAD_DIM))
        wv = rng.normal(0.0, scale, size=(HIDDEN, KV_HEADS * HEAD_DIM))
        wo = rng.normal(0.0, 0.5 * scale, size=(HEADS * HEAD_DIM, HIDDEN))
        q = (xn @ wq).reshape(n, HEADS, HEAD_DIM).transpose(1, 0, 2)  # [H, n, hd]
        k = (xn @ wk).reshape(n, KV_HEADS, HEAD_DIM).transpose(1, 0, 2)  # [KV, n, hd]
        v = (xn @ wv).reshape(n, KV_HEADS, HEAD_DIM).transpose(1, 0, 2)  # [KV, n, hd]
        kv_of = np.arange(HEADS) * KV_HEADS // HEADS
        logits = 1.5 * np.einsum("hid,hjd->hij", q, k[kv_of]) / np.sqrt(HEAD_DIM)
        attention = causal_softmax(logits + head_biases(rng, layer, n))  # [H, n, n]
        attention = attention.astype(np.float32).astype(np.float64)  # what is captured
        attn_heads = np.einsum("hij,hjd->hid", attention, v[kv_of])  # [H, n, hd]
        attn_out = attn_heads.transpose(1, 0, 2).reshape(n, HEADS * HEAD_DIM) @ wo
        mlp_in = rms_norm(hidden_in + attn_out)
        w_gate = rng.normal(0.0, scale, size=(HIDDEN, INTERMEDIATE))
        w_up = rng.normal(0.0, scale, size=(HIDDEN, INTERMEDIATE))
        w_down = rng.normal(0.0, 0.5 / np.sqrt(INTERMEDIATE), size=(INTERMEDIATE, HIDDEN))
        gate = mlp_in @ w_gate
        mlp_out = ((gate / (1.0 + np.exp(-gate))) * (mlp_in @ w_up)) @ w_down
        if layer == MASSIVE_LAYER:
            mlp_out[0, MASSIVE_DIMS[0]] += 3000.0 + rng.normal(0.0, 20.0)
            mlp_out[0, MASSIVE_DIMS[1]] += -2400.0 + rng.normal(0.0, 20.0)
        # Cast every part first so the float32 captures add up as the float64 stream did.
        parts = [p.astype(np.float32) for p in (hidden_in, attn_out, mlp_out)]
        hidden_out = (parts[0].astype(np.float64) + parts[1] + parts[2])
        prefix = f"layers.{layer}."
        tensors[prefix + "attention"] = attention.astype(np.float32)
        tensors[prefix + "q"] = q.astype(np.float32)
        tensors[prefix + "k"] = k.astype(np.float32)
        tensors[prefix + "v"] = v.astype(np.float32)
        tensors[prefix + "attn_heads"] = attn_heads.astype(np.float32)
        tensors[prefix + "attn_out"] = parts[1]
        tensors[prefix + "hidden_in"] = parts[0]
        tensors[prefix + "mlp_in"] = mlp_in.astype(np.float32)
        tensors[prefix + "mlp_out"] = parts[2]
        tensors[prefix + "hidden_out"] = hidden_out.astype(np.float32)
        x = hidden_out
    tensors["final_hidden"] = rms_norm(x).astype(np.float32)
    metadata = {
        "producer": "bench/layer_metrics/make_capture.py",
        "model": "synthetic SmolLM2-135M shape",
        "model_type": "llama",
        "capture": "all",
        "dtype": "fp32",
        "num_inputs": "1",
        "config": json.dumps({"num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
                              "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM,
                              "hidden_size": HIDDEN, "intermediate_size": INTERMEDIATE,
                              "seed": seed, "tokens": n}),
    }
    return tensors, metadata


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()
    tensors, metadata = make(args.seed, args.tokens)
    save_file(tensors, args.out, metadata=metadata)


if __name__ == "__main__":
    main()
