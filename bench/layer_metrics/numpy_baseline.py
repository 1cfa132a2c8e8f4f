"""The baseline of bench/layer_metrics: the per-layer CORRECTED metric families of issues 4 and 5,
written the way a careful researcher would with numpy, scipy and ripser.py (what the paper used
for persistent homology) — vectorized over heads, rows and thresholds where that is obvious,
np.linalg.eigvalsh / svd on stacked matrices, scipy.stats for correlations and KL, scipy.sparse.
csgraph for components and shortest paths, ripser.py for H0/H1.

Same definitions and default options as the analyzers (shared/spec, analyzers/*/ headers): every
head and the head mean, thresholds {0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2} for the spectral
graphs, τ ∈ {0.1, 0.3} for the KL sink sets, H0 and H1 of 1 − max(A, Aᵀ) with and without the
first token, etc. The key outputs carry the same names as sinkscope-bench-layer-metrics's so that
run.py can compare them.

    python numpy_baseline.py --capture FILE.safetensors [--warmup 1] [--repeat 5]
                             [--outputs values.jsonl] [--families a,b]

Timing as the C++ side: wall clock (time.perf_counter) of each family on each layer; a pass's
family time is the sum over layers; median and minimum over --repeat passes, per layer. Thread
counts come from the environment (run.py sets OMP/OPENBLAS/MKL_NUM_THREADS).
"""

import argparse
import json
import math
import time

import numpy as np
import scipy.sparse.csgraph
import scipy.special
import scipy.stats
from ripser import ripser
from safetensors.numpy import load_file

THRESHOLDS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
BETTI_GRID = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999)
PERSISTENCE_DELTAS = (0.01, 0.05)
KL_TAUS = (0.1, 0.3)
W1_GRID_POINTS = 20001


def heads_and_mean(a):
    """[H, n, n] → [H + 1, n, n]: every head, then the head mean."""
    return np.concatenate([a, a.mean(axis=0, keepdims=True)])


def is_causal(a):
    return a.shape[-1] >= 2 and bool(np.all(np.triu(a, 1) == 0))


# ------------------------------------------------------------------------------------------ sink

def sink_family(layer):
    a = layer["attention"]
    h_count, n, _ = a.shape
    m = heads_and_mean(a)
    causal = is_causal(a)
    first_row = 1 if causal else 0
    f = m[:, first_row:, 0].mean(axis=1)
    if causal:
        others = np.tril(m[:, 1:, 1:]).sum(axis=(1, 2))
        pairs = n * (n - 1) / 2
    else:
        others = m[:, :, 1:].sum(axis=(1, 2))
        pairs = n * (n - 1)
    ratio = f / (others / pairs)
    exposure = (n - np.arange(n)) if causal else np.full(n, n)
    alpha = (np.tril(m) if causal else m).sum(axis=1) / exposure  # [K, n]
    hidden = layer["hidden_out"]
    mag = np.abs(hidden)
    median = np.median(mag, axis=1, keepdims=True)
    massive = (mag > 100.0) & (mag > 1000.0 * median)
    tokens, dims = np.nonzero(massive)
    return {
        "first_token_mass": f,
        "first_vs_others_ratio": ratio,
        "sink_key_importance": alpha[:, 0],
        "top_key": np.argmax(alpha, axis=1),
        "key_importance": alpha[-1],
        "sink_rate_percent": [100.0 * np.mean(alpha[:h_count, 0] > 0.3)],
        "massive_count": [massive.sum()],
        "massive_max_magnitude": [mag.max()],
        "massive_token_dim": tokens * hidden.shape[1] + dims,
    }


# -------------------------------------------------------------------------------------- topology

def remove_token(m, index):
    keep = np.delete(np.arange(m.shape[0]), index)
    r = m[np.ix_(keep, keep)]
    s = r.sum(axis=1, keepdims=True)
    return r / np.where(s > 0, s, 1.0)


def barcode_summary(bars, out, prefix):
    births, deaths = bars[:, 0], bars[:, 1]
    finite = np.isfinite(deaths)
    p = deaths[finite] - births[finite]
    total = p.sum() if p.size else 0.0
    entropy = 0.0
    if total > 0:
        q = p / total
        q = q[q > 0]
        entropy = -np.sum(q * np.log(q))
    out.setdefault(prefix + "num_pairs", []).append(len(bars))
    out.setdefault(prefix + "total_persistence", []).append(total)
    out.setdefault(prefix + "max_persistence", []).append(p.max() if p.size else 0.0)
    out.setdefault(prefix + "persistent_entropy", []).append(entropy)
    grid = np.array(BETTI_GRID, dtype=np.float32).astype(np.float64)
    betti = ((births[None, :] <= grid[:, None]) & (grid[:, None] < deaths[None, :])).sum(axis=1)
    out.setdefault(prefix + "betti_curve", []).extend(betti.tolist())
    with np.errstate(invalid="ignore"):
        persistence = deaths - births
    for delta in PERSISTENCE_DELTAS:
        out.setdefault(prefix + "num_persistent", []).append(
            int(np.sum(~finite | (persistence > delta))))


def topology_variant(m, out, prefix):
    mass = m.sum(axis=1)
    rows = mass > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(m > 0, m * np.log2(np.where(m > 0, m, 1.0)), 0.0).sum(axis=1)
    out.setdefault(prefix + "mean_row_max", []).append(m.max(axis=1)[rows].mean())
    out.setdefault(prefix + "mean_row_entropy_bits", []).append(ent[rows].mean())
    w = np.maximum(m, m.T)
    d = np.maximum(1.0 - w, 0.0)
    np.fill_diagonal(d, 0.0)
    dgms = ripser(d.astype(np.float32), distance_matrix=True, maxdim=1)["dgms"]
    for dim, bars in enumerate(dgms):
        barcode_summary(np.asarray(bars, dtype=np.float64).reshape(-1, 2), out, f"{prefix}h{dim}.")


def topology_family(layer):
    out = {}
    for m in heads_and_mean(layer["attention"]):
        out.setdefault("sink_mass", []).append(m[:, 0].mean())
        topology_variant(m, out, "with.")
        topology_variant(remove_token(m, 0), out, "without.")
    return out


# -------------------------------------------------------------------------------------- spectral

def laplacians(w):
    """Combinatorial and normalized Laplacians of symmetric weights [K, n, n] (zero diagonal)."""
    degree = w.sum(axis=-1)
    lap = -w.copy()
    idx = np.arange(w.shape[-1])
    lap[:, idx, idx] = degree
    inv = np.where(degree > 0, 1.0 / np.sqrt(np.where(degree > 0, degree, 1.0)), 0.0)
    return lap, inv[:, :, None] * lap * inv[:, None, :]


def degree_stats(deg):
    """deg [K, n] → hub, max, gini, centralization, variance (per row)."""
    n = deg.shape[1]
    hub = np.argmax(deg, axis=1)
    top = deg.max(axis=1)
    srt = np.sort(deg, axis=1)
    total = srt.sum(axis=1)
    ranks = np.arange(1, n + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        gini = np.where(total > 0, 2 * (srt * ranks).sum(axis=1) / (n * total) - (n + 1) / n, 0.0)
    central = np.where(top > 0, (top[:, None] - deg).sum(axis=1) / (n - 1) ** 2, 0.0)
    return hub, top, gini, central, deg.var(axis=1)


def graph_walks(u):
    """Components, largest component, average shortest path and clustering of one 0/1 graph."""
    n = u.shape[0]
    u = u.astype(np.float64)
    ncomp, labels = scipy.sparse.csgraph.connected_components(u, directed=False)
    sizes = np.bincount(labels)
    largest = int(np.argmax(sizes))
    nodes = np.flatnonzero(labels == largest)
    if nodes.size >= 2:
        dist = scipy.sparse.csgraph.shortest_path(u[np.ix_(nodes, nodes)], unweighted=True,
                                                  directed=False)
        path = dist.sum() / (nodes.size * (nodes.size - 1))
    else:
        path = math.nan
    deg = u.sum(axis=1)
    links = ((u @ u) * u).sum(axis=1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        local = np.where(deg >= 2, 2 * links / (deg * (deg - 1)), 0.0)
    return ncomp, int(sizes[largest]), path, local.sum() / n


def spectral_family(layer):
    m = heads_and_mean(layer["attention"])
    k, n, _ = m.shape
    eye = np.eye(n, dtype=bool)
    a = np.where(eye, 0.0, np.nan_to_num(m, nan=0.0, posinf=0.0, neginf=0.0))
    per_matrix = [dict() for _ in range(k)]
    for tau in THRESHOLDS:
        b = (a > tau) & ~eye
        s = (b + b.transpose(0, 2, 1).astype(np.float64)) * 0.5
        lap, lap_sym = laplacians(s)
        ev = np.linalg.eigvalsh(lap)
        ev_sym = np.linalg.eigvalsh(lap_sym)
        in_deg = b.sum(axis=1).astype(np.float64)
        hub, top, gini, central, var = degree_stats(in_deg)
        for i in range(k):
            r = per_matrix[i]
            c = hub[i]
            others = np.delete(s[i, c], c)
            w = 0.5 if np.sum(others == 0.5) > np.sum(others == 1.0) else 1.0
            star = np.zeros((n, n))
            star[c, :] = star[:, c] = w
            star[c, c] = 0.0
            lap_star, _ = laplacians(star[None])
            lf, sf = np.linalg.norm(lap[i]), np.linalg.norm(lap_star[0])
            tol = 64 * n * np.finfo(np.float64).eps * max(1.0, ev[i, -1])
            ncomp, largest, path, clustering = graph_walks(b[i] | b[i].T)
            values = {
                "t.num_edges": b[i].sum(), "t.hub": c, "t.star_likeness": top[i] / (n - 1),
                "t.gini": gini[i], "t.centralization": central[i], "t.degree_variance": var[i],
                "t.num_components": ncomp, "t.zero_multiplicity": np.sum(ev[i] <= tol),
                "t.fiedler": ev[i, 1], "t.normalized_fiedler": ev_sym[i, 1],
                "t.gap": ev[i, 2] - ev[i, 1], "t.star_edge_weight": w,
                "t.fiedler_star_deviation": abs(ev[i, 1] - w),
                "t.star_proximity": 1 - np.linalg.norm(lap[i] - lap_star[0]) / (lf + sf),
                "t.largest_component": largest, "t.avg_shortest_path": path,
                "t.clustering": clustering,
            }
            for name, v in values.items():
                r.setdefault(name, []).append(v)
    wsym = (a + a.transpose(0, 2, 1)) * 0.5
    lap, lap_sym = laplacians(wsym)
    ev = np.linalg.eigvalsh(lap)
    ev_sym = np.linalg.eigvalsh(lap_sym)
    hub, top, gini, _, var = degree_stats(a.sum(axis=1))
    out = {}
    for i in range(k):
        for name, v in per_matrix[i].items():
            out.setdefault(name, []).extend(v)
        for name, v in (("w.fiedler", ev[i, 1]), ("w.normalized_fiedler", ev_sym[i, 1]),
                        ("w.gap", ev[i, 2] - ev[i, 1]), ("w.hub", hub[i]),
                        ("w.max_in_strength", top[i]), ("w.gini", gini[i]),
                        ("w.variance", var[i])):
            out.setdefault(name, []).append(v)
    return out


# ------------------------------------------------------------------------------------------- rmt

class MarchenkoPastur:
    """The MP law of aspect ratio γ and variance σ² (closed-form CDF, shared/spec §8.7)."""

    def __init__(self, gamma, variance):
        self.gamma, self.variance = gamma, variance
        self.a = variance * (1 - math.sqrt(gamma)) ** 2
        self.b = variance * (1 + math.sqrt(gamma)) ** 2

    def cdf(self, x):
        x = np.asarray(x, dtype=np.float64)
        a, b = self.a, self.b
        c, r = 0.5 * (a + b), 0.5 * (b - a)
        t = np.arccos(np.clip((c - np.clip(x, a, b)) / r, -1.0, 1.0))
        arc = np.arctan2(math.sqrt(b) * np.sin(0.5 * t), math.sqrt(a) * np.cos(0.5 * t))
        total = 1.0 / self.gamma if self.gamma > 1 else 1.0
        integral = (c * t + r * np.sin(t) - 2 * math.sqrt(a * b) * arc) / (
            2 * math.pi * self.variance * self.gamma)
        cont = np.where(x >= b, total, np.where(x > a, np.clip(integral, 0.0, total), 0.0))
        atom = 1.0 - 1.0 / self.gamma if self.gamma > 1 else 0.0
        return np.where(x < 0, 0.0, np.minimum(1.0, atom + cont))


def mp_compare(eigenvalues, gamma=1.0, bins=20, eps=1e-10):
    lam = np.array(eigenvalues, dtype=np.float64)
    tol = lam.size * np.finfo(np.float64).eps * np.abs(lam).max()
    lam[lam <= tol] = 0.0
    lam.sort()
    n = lam.size
    variance = lam.mean()
    mp = MarchenkoPastur(gamma, variance)
    upper = max(mp.b, lam[-1])
    idx = np.minimum(np.floor(lam / upper * bins).astype(np.int64), bins - 1)
    p = np.bincount(idx, minlength=bins) / n
    edges = upper * np.arange(1, bins + 1) / bins
    edges[-1] = upper
    q = np.maximum(np.diff(mp.cdf(edges), prepend=0.0), 0.0)
    kl = scipy.stats.entropy(p + eps, q + eps)
    values, first, counts = np.unique(lam, return_index=True, return_counts=True)
    f = mp.cdf(values)
    f_left = np.where(values == 0, 0.0, f)
    ks = max(np.max(np.abs((first + counts) / n - f)), np.max(np.abs(first / n - f_left)))

    # W1 = ∫ |F_emp − F_MP| over [0, max(b, λ_max)] by the midpoint rule on a fine grid that
    # contains every eigenvalue and both edges, so F_emp is constant on each cell.
    cuts = np.concatenate([lam, [mp.a, mp.b]])
    grid = np.union1d(np.linspace(0.0, upper, W1_GRID_POINTS), cuts[cuts <= upper])
    mids = 0.5 * (grid[1:] + grid[:-1])
    empirical = np.searchsorted(lam, mids, side="right") / n
    w1 = np.sum(np.abs(empirical - mp.cdf(mids)) * np.diff(grid))
    return {"mp.variance": variance, "mp.num_above_upper_edge": np.sum(lam > mp.b),
            "mp.kl": kl, "mp.ks": ks, "mp.w1": w1}


def rmt_family(layer):
    m = heads_and_mean(layer["attention"])
    k, n, _ = m.shape
    sigma = np.linalg.svd(m, compute_uv=False)  # [K, n], descending
    s2, s4 = (sigma ** 2).sum(axis=1), (sigma ** 4).sum(axis=1)
    top_k = max(1, math.ceil(0.1 * n - 1e-9))
    out = {
        "spectral_gap_ratio": sigma[:, 0] / sigma[:, 1],
        "singular_gap_difference": sigma[:, 0] - sigma[:, 1],
        "participation_ratio": s2 ** 2 / s4,
        "stable_rank": s2 / sigma[:, 0] ** 2,
    }
    for i in range(k):
        mi = m[i]
        col = mi.sum(axis=0)
        order = np.argsort(-col, kind="stable")
        total = col.sum()
        entropy = -np.sum(scipy.special.xlogy(mi, mi), axis=1) / math.log(2)
        mask = np.tril(np.ones((n, n), dtype=bool)) if is_causal(mi) else np.ones((n, n), bool)
        entries = mi[mask]
        mu, sd = entries.mean(), entries.std()
        z = np.where(mask, (mi - mu) / sd, 0.0)
        ev = np.linalg.eigvalsh(z @ z.T / n)
        values = {"sink_concentration": col[order[:top_k]].sum() / total,
                  "sink_top_column": order[0], "sink_top_column_share": col[order[0]] / total,
                  "mean_row_entropy_bits": entropy.mean(), "standardize_mean": mu,
                  "standardize_std": sd}
        values.update(mp_compare(ev))
        for name, v in values.items():
            out.setdefault(name, []).append(v)
    return out


# --------------------------------------------------------------------------------------- infogeo

def kl_to_mean(p, rows):
    mean = p.mean(axis=0)
    return scipy.stats.entropy(p[:, rows, :], mean[None, rows, :], axis=-1).mean(axis=1)


def infogeo_family(layer):
    a = layer["attention"]
    h_count, n, _ = a.shape
    causal = is_causal(a)
    allowed = np.tril(np.ones((n, n), dtype=bool)) if causal else np.ones((n, n), dtype=bool)
    s = np.where(allowed, a, 0.0).sum(axis=2, keepdims=True)
    p = np.where(allowed & (s > 0), a / np.where(s > 0, s, 1.0), 0.0)
    rows = np.arange(1 if causal else 0, n)
    kl = kl_to_mean(p, rows)
    entropy = scipy.stats.entropy(p[:, rows, :], axis=-1)
    uniform = (np.log(allowed[rows].sum(axis=1))[None, :] - entropy).mean()
    mean = p.mean(axis=0)
    if causal:  # queries that can see key j, other than key 0 itself: i ≥ max(j, 1)
        received = np.tril(mean)[1:].sum(axis=0) / (n - np.maximum(np.arange(n), 1))
    else:
        received = mean.mean(axis=0)
    out = {"kl_to_head_mean": kl, "generalized_js_divergence": [kl.mean()],
           "kl_to_uniform": [uniform]}
    for tau in KL_TAUS:
        sinks = received >= tau
        sink_mass = np.where(allowed[None] & sinks[None, None, :], p, 0.0).sum(axis=2)  # [H, n]
        rest = np.where(allowed[None] & ~sinks[None, None, :], p, 0.0).sum(axis=2)
        kept = rows[np.all((rest[:, rows] >= 1e-6) & (rest[:, rows] > 0), axis=0)]
        q = p.copy()
        q[:, kept, :] = np.where(sinks[None, None, :], 0.0,
                                 p[:, kept, :] / (1.0 - sink_mass[:, kept, None]))
        m_kept = sink_mass[:, kept]
        with_sinks, without = kl_to_mean(p, kept), kl_to_mean(q, kept)
        reduction = with_sinks - without
        for name, v in (("removal.num_sinks", [sinks.sum()]),
                        ("removal.num_rows_kept", [kept.size]),
                        ("removal.kl_without_sinks", without.tolist()),
                        ("removal.kl_reduction", reduction.tolist()),
                        ("removal.avg_kl_reduction", [reduction.mean()]),
                        ("removal.information_loss", [(-np.log1p(-m_kept)).mean()]),
                        ("removal.mean_sink_mass", [m_kept.mean()])):
            out.setdefault(name, []).extend(v)
    m = heads_and_mean(a)
    out["fisher_trace"] = (1.0 - (m[:, rows, :] ** 2).sum(axis=2)).mean(axis=1)
    return out


# ----------------------------------------------------------------------------------------- value

def correlate(x, y, out, prefix):
    pr = scipy.stats.pearsonr(x, y)
    sr = scipy.stats.spearmanr(x, y)
    values = (pr.statistic, pr.pvalue, sr.statistic, sr.pvalue)
    if np.isnan(pr.statistic):
        values = (math.nan,) * 4
    for name, v in zip(("pearson", "pearson_p", "spearman", "spearman_p"), values):
        out[prefix + name] = [v]
    out[prefix + "n"] = [len(x)]


def pca_scores(z, k):
    centred = z - z.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :k] * s[:k]


def reference_point(a, vectors, out, prefix, tau=0.1, fallback=0.1, cap=0.3):
    h_count, n, _ = a.shape
    causal = is_causal(a)
    mean = a.mean(axis=0)
    received = (np.tril(mean) if causal else mean).sum(axis=0) / (
        (n - np.arange(n)) if causal else n)
    order = np.argsort(-received, kind="stable")
    ref = [j for j in order if received[j] > tau]
    if not ref:
        ref = list(order[:max(1, int(fallback * n))])
    ref = np.sort(np.array(ref[:max(1, int(cap * n))]))
    in_r = np.zeros(n, dtype=bool)
    in_r[ref] = True

    def measure(weights, v):
        s = weights.sum(axis=1)
        rows = np.flatnonzero(~in_r & (s > 0))
        w = weights[rows] / s[rows, None]
        o = w @ v
        r = w[:, in_r] @ v[in_r]
        on, rn = np.linalg.norm(o, axis=1), np.linalg.norm(r, axis=1)
        dot = (o * r).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rm = np.where(on < 1e-10, np.where(rn < 1e-10, 0.0, 1.0), np.clip(rn / on, 0, 1))
            di = np.where((rn < 1e-10) | (on < 1e-10), 0.5,
                          (np.clip(dot / (rn * on), -1, 1) + 1) / 2)
        on_r = weights[rows][:, in_r].sum(axis=1) / s[rows]
        si = -np.log1p(-np.minimum(on_r, 1.0))
        return [rm.mean(), di.mean(), np.minimum(rn, 1e6).mean(), si.mean()], rows.size

    if vectors.ndim == 2:
        per_head = [measure(mean, vectors)]
    else:
        kv = vectors.shape[0]
        per_head = [measure(a[h], vectors[h * kv // h_count]) for h in range(h_count)]
        per_head.append((list(np.mean([m for m, _ in per_head], axis=0)), per_head[-1][1]))
    out[prefix + "reference_tokens"] = ref
    out[prefix + "num_tokens_measured"] = [per_head[-1][1]]
    for i, name in enumerate(("relative_magnitude", "directional_guidance", "reference_norm",
                              "structural_importance")):
        out[prefix + name] = [m[i] for m, _ in per_head]


def value_family(layer):
    a, x, y = layer["attention"], layer["hidden_in"], layer["hidden_out"]
    h_count, n, _ = a.shape
    causal = is_causal(a)
    rows = np.arange(1 if causal else 0, n)
    allowed = np.tril(np.ones((n, n), dtype=bool)) if causal else np.ones((n, n), dtype=bool)
    mean = a.mean(axis=0)

    def entropies(m):  # [.., n, n] → entropy of each used row over its allowed keys
        masked = np.where(allowed, m, 0.0)[..., rows, :]
        return scipy.stats.entropy(masked, axis=-1)

    entropy = entropies(mean)
    out = {"entropy_mean": [entropy.mean()],
           "normalized_entropy_mean": [(entropy / np.log(allowed[rows].sum(axis=1))).mean()],
           "head_entropy_mean": entropies(a).mean(axis=1)}
    magnitude = np.linalg.norm(y - x, axis=1)
    x_norm = np.linalg.norm(x, axis=1)
    relative = magnitude / x_norm
    not_sink = np.arange(n) != 0
    out.update({"magnitude_mean": [magnitude.mean()],
                "magnitude_mean_without_sinks": [magnitude[not_sink].mean()],
                "relative_update_mean": [relative.mean()],
                "relative_update_mean_without_sinks": [relative[not_sink].mean()]})
    cosine = (x @ x.T) / np.outer(x_norm, x_norm)
    pairs = np.tril(np.ones((n, n), dtype=bool), -1) if causal else ~np.eye(n, dtype=bool)
    ii, jj = np.nonzero(pairs)
    s_all = cosine[ii, jj]
    correlate(mean[ii, jj], s_all, out, "gs_allowed.")
    rest = jj != 0
    correlate(mean[ii, jj][rest], s_all[rest], out, "gs_without_sinks.")
    per_head = [scipy.stats.pearsonr(a[h, ii, jj], s_all).statistic for h in range(h_count)]
    out["gs_per_head_mean"] = [np.nanmean(per_head)]
    correlate(entropy, magnitude[rows], out, "entropy_magnitude.")
    k = min(3, n - 1, x.shape[1] - 1)
    ta, tx = pca_scores(mean, k), pca_scores(x, k)
    out["pca_abs_correlations"] = [
        abs(scipy.stats.pearsonr(ta[:, c], tx[:, c]).statistic)
        if ta[:, c].std() > 1e-8 and tx[:, c].std() > 1e-8 else math.nan for c in range(k)]
    reference_point(a, x, out, "ref_residual.")
    reference_point(a, layer["v"], out, "ref_values.")
    return out


# --------------------------------------------------------------------------------- decomposition

def decomposition_family(layer):
    r, a, m, y = layer["hidden_in"], layer["attn_out"], layer["mlp_out"], layer["hidden_out"]
    norms = {name: np.linalg.norm(t, axis=1) for name, t in
             (("residual", r), ("attention", a), ("mlp", m), ("output", y))}
    out = {f"{name}_norm": v for name, v in norms.items()}
    for name, t in (("residual", r), ("attention", a), ("mlp", m)):
        out[f"{name}_cosine"] = (t * y).sum(axis=1) / (norms[name] * norms["output"])
    out["sum_relative_error"] = np.linalg.norm(y - (r + a + m), axis=1) / norms["output"]
    mean = y.mean(axis=0)
    norm_of_mean = np.linalg.norm(mean)
    top = np.argsort(-np.abs(mean), kind="stable")[:3]
    out.update({"spread.mean_norm": [norms["output"].mean()],
                "spread.norm_of_mean": [norm_of_mean],
                "spread.spread": [np.linalg.norm(y - mean, axis=1).mean() / norm_of_mean],
                "spread.max_abs_of_mean": [abs(mean[top[0]])], "spread.top_dims": top})
    _, sigma, vt = np.linalg.svd(m, full_matrices=False)
    share = sigma ** 2 / (sigma ** 2).sum()
    projected = np.linalg.norm(a @ vt[:2].T, axis=1) / np.linalg.norm(a, axis=1)
    out.update({"mlp.singular_values": sigma, "mlp.top_rank_share": [share[:2].sum()],
                "mlp.mean_other_projection_share": [np.nanmean(projected)]})
    return out


FAMILIES = {"sink": sink_family, "topology": topology_family, "spectral": spectral_family,
            "rmt": rmt_family, "infogeo": infogeo_family, "value": value_family,
            "decomposition": decomposition_family}


# ---------------------------------------------------------------------------------------- driver

def read_capture(path):
    tensors = load_file(path)
    layers = []
    while f"layers.{len(layers)}.attention" in tensors:
        prefix = f"layers.{len(layers)}."
        layers.append({name: tensors[prefix + name].astype(np.float64) for name in
                       ("attention", "hidden_in", "hidden_out", "attn_out", "mlp_out", "v")})
    return layers


def to_json(values):
    def one(v):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    return {name: [one(v) for v in np.ravel(np.asarray(vs, dtype=np.float64))]
            for name, vs in values.items()}


def checksum(values):
    total = 0.0
    for vs in values.values():
        arr = np.ravel(np.asarray(vs, dtype=np.float64))
        total += float(arr[np.isfinite(arr)].sum())
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capture", required=True)
    parser.add_argument("--outputs")
    parser.add_argument("--families", default="")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="recorded only (set the env)")
    args = parser.parse_args()
    wanted = [f for f in args.families.split(",") if f] or list(FAMILIES)
    families = [(name, FAMILIES[name]) for name in wanted]
    layers = read_capture(args.capture)
    checksums = {name: 0.0 for name, _ in families}
    sink = open(args.outputs, "w") if args.outputs else None
    for l, layer in enumerate(layers):
        for name, fn in families:
            values = fn(layer)
            checksums[name] += checksum(values)
            if sink:
                sink.write(json.dumps({"impl": "numpy", "layer": l, "family": name,
                                       "values": to_json(values)}) + "\n")
    if sink:
        sink.close()
    for _ in range(args.warmup):
        for layer in layers:
            for _, fn in families:
                fn(layer)
    seconds = {name: [] for name, _ in families}
    totals = []
    for _ in range(args.repeat):
        passes = {name: 0.0 for name, _ in families}
        for layer in layers:
            for name, fn in families:
                t0 = time.perf_counter()
                fn(layer)
                passes[name] += time.perf_counter() - t0
        for name in passes:
            seconds[name].append(passes[name])
        totals.append(sum(passes.values()))
    num_layers = len(layers)
    heads, n = layers[0]["attention"].shape[:2]
    for name, _ in families:
        print(json.dumps({"impl": "numpy", "family": name, "layers": num_layers, "heads": heads,
                          "tokens": n, "threads": args.threads, "repeat": args.repeat,
                          "ms_per_layer_median": 1e3 * float(np.median(seconds[name])) / num_layers,
                          "ms_per_layer_min": 1e3 * min(seconds[name]) / num_layers,
                          "checksum": checksums[name]}))
    print(json.dumps({"impl": "numpy", "family": "total", "layers": num_layers,
                      "threads": args.threads, "repeat": args.repeat,
                      "ms_per_layer_median": 1e3 * float(np.median(totals)) / num_layers,
                      "ms_per_layer_min": 1e3 * min(totals) / num_layers}))


if __name__ == "__main__":
    main()
