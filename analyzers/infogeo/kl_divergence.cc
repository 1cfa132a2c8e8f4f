#include "analyzers/infogeo/kl_divergence.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "analyzers/common/positions.h"
#include "analyzers/stats/descriptive.h"
#include "analyzers/stats/numpy_semantics.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::infogeo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Attention [H, n, n] as float64 on the CPU, row-major: entry (h, i, j) at (h·n + i)·n + j.
struct Heads {
  std::vector<double> p;
  int64_t h = 0;
  int64_t n = 0;
  double& at(int64_t head, int64_t i, int64_t j) { return p[(head * n + i) * n + j]; }
  double at(int64_t head, int64_t i, int64_t j) const { return p[(head * n + i) * n + j]; }
};

StatusOr<Heads> ReadHeads(const at::Tensor& attention, InputHealth* health) {
  RETURN_IF_ERROR(ValidateAttention(attention));
  Heads heads;
  heads.h = attention.dim() == 3 ? attention.size(0) : 1;
  heads.n = attention.size(-1);
  ASSIGN_OR_RETURN(
      heads.p, TorchCall("infogeo: reading attention", [&] { return ToCpuDoubles(attention); }));
  *health = CountNonFinite(heads.p);
  return heads;
}

/// scipy.stats.entropy(p, q) over one row of n values.
double Kl(const double* p, const double* q, int64_t n) {
  return stats::ScipyEntropy(std::span<const double>(p, static_cast<size_t>(n)),
                             std::span<const double>(q, static_cast<size_t>(n)));
}

/// Head mean of every row: [n, n].
std::vector<double> HeadMean(const Heads& a) {
  std::vector<double> mean(static_cast<size_t>(a.n * a.n), 0.0);
  for (int64_t h = 0; h < a.h; ++h) {
    for (int64_t k = 0; k < a.n * a.n; ++k) mean[k] += a.p[h * a.n * a.n + k];
  }
  for (double& v : mean) v /= static_cast<double>(a.h);
  return mean;
}

/// D(P^h_i ‖ P̄_i) for every head h and every row i in `rows`: [H, n] row-major, 0 elsewhere.
std::vector<double> KlTable(const Heads& a, const std::vector<int64_t>& rows) {
  std::vector<double> table(static_cast<size_t>(a.h * a.n), 0.0);
  if (rows.empty()) return table;
  const std::vector<double> mean = HeadMean(a);
  for (int64_t h = 0; h < a.h; ++h) {
    for (int64_t i : rows) table[h * a.n + i] = Kl(&a.p[(h * a.n + i) * a.n], &mean[i * a.n], a.n);
  }
  return table;
}

/// KL_h = mean_{i ∈ rows} of a KlTable's entries, for every head (NaN when rows is empty).
std::vector<double> MeanOverRows(const std::vector<double>& table, int64_t num_heads, int64_t n,
                                 const std::vector<int64_t>& rows) {
  std::vector<double> kl(static_cast<size_t>(num_heads), kNaN);
  if (rows.empty()) return kl;
  for (int64_t h = 0; h < num_heads; ++h) {
    double sum = 0;
    for (int64_t i : rows) sum += table[h * n + i];
    kl[h] = sum / static_cast<double>(rows.size());
  }
  return kl;
}

/// ln of every positive entry of rows [0, n) (0 elsewhere; a zero entry never enters a sum).
/// CORRECTED computes each log once and reuses it: the KL table, the entropies and, shifted by
/// ln(1 − m), the sink-removed rows (about 3× fewer logs than one scipy-style call per row and
/// variant; the sums differ from those calls in the last bits only).
void LogPositive(const double* p, int64_t count, double* out) {
  for (int64_t k = 0; k < count; ++k) out[k] = p[k] > 0 ? std::log(p[k]) : 0.0;
}

/// scipy.stats.entropy(p, q) of one row from precomputed logs: both rows are normalized by their
/// sums first, so D = (1/s_p) Σ p (ln p − ln q) − ln s_p + ln s_q over the entries with p > 0
/// (+∞ if such an entry has q = 0). `len` entries; inputs finite and non-negative.
double KlFromLogs(const double* p, const double* log_p, const double* q, const double* log_q,
                  int64_t len) {
  double sp = 0, sq = 0, cross = 0;
  bool infinite = false;
  for (int64_t j = 0; j < len; ++j) {
    sp += p[j];
    sq += q[j];
    if (p[j] > 0) {
      infinite = infinite || !(q[j] > 0);
      cross += p[j] * (log_p[j] - log_q[j]);
    }
  }
  if (!(sp > 0) || !(sq > 0)) return kNaN;  // scipy divides by the zero sum
  if (infinite) return std::numeric_limits<double>::infinity();
  return cross / sp - std::log(sp) + std::log(sq);
}

/// KL_h = mean_{i ∈ rows} D(P^h_i ‖ P̄_i) for every head.
std::vector<double> KlToMean(const Heads& a, const std::vector<int64_t>& rows) {
  return MeanOverRows(KlTable(a, rows), a.h, a.n, rows);
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

Status CheckLevels(const std::vector<double>& levels, const char* name) {
  for (double t : levels) {
    if (!(t >= 0 && t <= 1)) return InvalidArgumentError("{} {} is not in [0, 1]", name, t);
  }
  return OkStatus();
}

}  // namespace

// ------------------------------------------------------------------------------------- PAPER

StatusOr<PaperKlResult> ComputePaperKlSinks(const at::Tensor& attention,
                                            const PaperKlOptions& options) {
  RETURN_IF_ERROR(CheckLevels(options.thresholds, "threshold"));
  PaperKlResult r;
  ASSIGN_OR_RETURN(Heads raw, ReadHeads(attention, &r.health));
  r.valid = r.health.valid();
  r.num_heads = raw.h;
  r.num_tokens = raw.n;
  const int64_t H = raw.h, n = raw.n;
  if (!r.valid) {
    r.paper_avg_kl_divergence = r.paper_max_kl_divergence = r.paper_min_kl_divergence = kNaN;
    for (double t : options.thresholds) {
      PaperKlThreshold pt;
      pt.threshold = t;
      pt.paper_sink_attention_percentage = pt.paper_avg_sink_concentration = kNaN;
      pt.paper_avg_kl_reduction = kNaN;
      r.thresholds.push_back(pt);
    }
    return r;
  }
  // attn_probs: each row divided by its sum; a zero row becomes uniform over all n keys (§2.4).
  Heads p = raw;
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += p.at(h, i, j);
      for (int64_t j = 0; j < n; ++j) {
        p.at(h, i, j) = s > 0 ? p.at(h, i, j) / s : 1.0 / static_cast<double>(n);
      }
    }
  }
  // 𝓘: np.linspace(0, n − 1, 20, dtype=int) = ⌊k(n − 1)/19⌋ when n > 20 (§2.5).
  if (options.optimize_calcs && n > 20) {
    for (int64_t k = 0; k < 20; ++k) r.paper_rows.push_back(k * (n - 1) / 19);
  } else {
    for (int64_t i = 0; i < n; ++i) r.paper_rows.push_back(i);
  }
  r.paper_kl_to_avg = KlToMean(p, r.paper_rows);
  r.paper_avg_kl_divergence = Mean(r.paper_kl_to_avg);
  if (options.optimize_calcs) {
    r.paper_max_kl_divergence = r.paper_min_kl_divergence = 0.0;
  } else {
    r.paper_max_kl_divergence =
        *std::max_element(r.paper_kl_to_avg.begin(), r.paper_kl_to_avg.end());
    r.paper_min_kl_divergence =
        *std::min_element(r.paper_kl_to_avg.begin(), r.paper_kl_to_avg.end());
  }

  // c_j = Σ_h Σ_i A^h_ij on the raw attention (§2.3.1).
  std::vector<double> c(static_cast<size_t>(n), 0.0);
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) c[j] += raw.at(h, i, j);
    }
  }
  double c_total = 0;
  for (double v : c) c_total += v;
  for (double t : options.thresholds) {
    PaperKlThreshold pt;
    pt.threshold = t;
    const double theta = stats::Quantile(c, t);
    std::vector<bool> is_sink(static_cast<size_t>(n), false);
    double sink_mass = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (c[j] >= theta) {
        pt.paper_sinks.push_back(j);
        is_sink[j] = true;
        sink_mass += c[j];
      }
    }
    pt.paper_sink_attention_percentage = 100 * sink_mass / c_total;
    // Concentration on the raw attention; the first min(H, 4) heads with optimize_calcs, a head
    // with zero total skipped in the sum but counted in the divisor.
    const int64_t conc_heads = options.optimize_calcs ? std::min<int64_t>(H, 4) : H;
    double conc = 0;
    for (int64_t h = 0; h < conc_heads; ++h) {
      double total = 0, on_sinks = 0;
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          total += raw.at(h, i, j);
          if (is_sink[j]) on_sinks += raw.at(h, i, j);
        }
      }
      if (total > 0) conc += on_sinks / total;
    }
    pt.paper_avg_sink_concentration = conc / static_cast<double>(conc_heads);
    // Removal: sink columns zeroed, rows renormalized; an emptied row becomes uniform over every
    // non-sink key, the causal future included (§2.6.1).
    Heads m = p;
    const int64_t non_sinks = n - static_cast<int64_t>(pt.paper_sinks.size());
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t j = 0; j < n; ++j) {
          if (is_sink[j]) m.at(h, i, j) = 0;
          s += m.at(h, i, j);
        }
        for (int64_t j = 0; j < n; ++j) {
          if (s > 0) {
            m.at(h, i, j) /= s;
          } else if (non_sinks > 0 && !is_sink[j]) {
            m.at(h, i, j) = 1.0 / static_cast<double>(non_sinks);
          }
        }
      }
    }
    pt.paper_kl_without_sinks = KlToMean(m, r.paper_rows);
    for (int64_t h = 0; h < H; ++h) {
      pt.paper_kl_reduction.push_back(r.paper_kl_to_avg[h] - pt.paper_kl_without_sinks[h]);
    }
    pt.paper_avg_kl_reduction = Mean(pt.paper_kl_reduction);
    r.thresholds.push_back(std::move(pt));
  }
  return r;
}

// --------------------------------------------------------------------------------- CORRECTED

StatusOr<KlResult> ComputeKlSinks(const at::Tensor& attention, const KlOptions& options) {
  RETURN_IF_ERROR(CheckLevels(options.taus, "tau"));
  if (!(options.min_remaining_mass >= 0 && options.min_remaining_mass < 1)) {
    return InvalidArgumentError("min_remaining_mass must be in [0, 1), got {}",
                                options.min_remaining_mass);
  }
  KlResult r;
  ASSIGN_OR_RETURN(Heads a, ReadHeads(attention, &r.health));
  r.valid = r.health.valid();
  r.num_heads = a.h;
  r.num_tokens = a.n;
  const int64_t H = a.h, n = a.n;
  r.causal = options.detect_causal ? IsCausal(a.p, a.n) : options.causal;
  auto allowed_last = [&](int64_t i) { return r.causal ? i : n - 1; };
  const int64_t first_row = r.causal ? 1 : 0;
  r.num_rows = n - first_row;
  std::vector<int64_t> rows;
  for (int64_t i = first_row; i < n; ++i) rows.push_back(i);

  const std::vector<double> taus =
      options.sink_rule == SinkSetRule::kFirstToken ? std::vector<double>{kNaN} : options.taus;
  if (!r.valid || rows.empty()) {
    r.kl_to_head_mean.assign(static_cast<size_t>(H), kNaN);
    r.generalized_js_divergence = r.kl_to_uniform = kNaN;
    for (double tau : taus) {
      KlSinkRemoval k;
      k.tau = tau;
      k.avg_kl_reduction = k.sink_removal_information_loss = k.mean_sink_mass = kNaN;
      r.removals.push_back(k);
    }
    return r;
  }
  // Rows renormalized over the keys they may see (softmax rows already are; this absorbs
  // rounding and keeps the definitions exact).
  Heads p = a;
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i = 0; i < n; ++i) {
      double* row = &p.at(h, i, 0);
      const int64_t len = allowed_last(i) + 1;
      double s = 0;
      for (int64_t j = 0; j < len; ++j) s += row[j];
      const double inv = s > 0 ? 1.0 / s : 0.0;
      for (int64_t j = 0; j < len; ++j) row[j] *= inv;
      std::fill(row + len, row + n, 0.0);
    }
  }
  // ln of every attention entry and of the head mean, once.
  const int64_t nn = n * n;
  std::vector<double> log_p(p.p.size());
  LogPositive(p.p.data(), H * nn, log_p.data());
  const std::vector<double> mean = HeadMean(p);
  std::vector<double> log_mean(static_cast<size_t>(nn));
  LogPositive(mean.data(), nn, log_mean.data());
  auto row = [&](const std::vector<double>& v, int64_t h, int64_t i) {
    return &v[(h * n + i) * n];
  };

  // Every row's KL with sinks, once: each τ's kept rows are a subset of these.
  std::vector<double> kl_p(static_cast<size_t>(H * n), 0.0);
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i : rows) {
      kl_p[h * n + i] = KlFromLogs(row(p.p, h, i), row(log_p, h, i), &mean[i * n], &log_mean[i * n],
                                   allowed_last(i) + 1);
    }
  }
  r.kl_to_head_mean = MeanOverRows(kl_p, H, n, rows);
  r.generalized_js_divergence = Mean(r.kl_to_head_mean);
  double to_uniform = 0;
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i : rows) {
      const double* ph = row(p.p, h, i);
      const double* lph = row(log_p, h, i);
      double entropy = 0;
      for (int64_t j = 0; j <= allowed_last(i); ++j) entropy -= ph[j] * lph[j];
      to_uniform += std::log(static_cast<double>(allowed_last(i) + 1)) - entropy;
    }
  }
  r.kl_to_uniform = to_uniform / static_cast<double>(H * static_cast<int64_t>(rows.size()));

  // Mean attention each key receives from the queries that can see it (other than itself for
  // key 0 of a causal model, whose row 0 is one-hot): ā_j = mean_{i ≥ max(j, 1)} Ā_ij.
  std::vector<double> received(static_cast<size_t>(n), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t from = r.causal ? std::max<int64_t>(j, 1) : 0;
    double s = 0;
    for (int64_t i = from; i < n; ++i) s += mean[i * n + j];
    received[j] = from < n ? s / static_cast<double>(n - from) : 0.0;
  }

  // One row of every head with the sinks removed (Q^h_i = P^h_i / (1 − m_h) off the sinks, so
  // ln Q = ln P − ln(1 − m)), their head mean and its logs: reused across the heads of the row.
  std::vector<double> q(static_cast<size_t>(H * n)), log_q(q.size());
  std::vector<double> q_mean(static_cast<size_t>(n)), log_q_mean(q_mean.size());
  for (double tau : taus) {
    KlSinkRemoval k;
    k.tau = tau;
    std::vector<char> is_sink(static_cast<size_t>(n), 0);  // bytes: read in the inner loops
    for (int64_t j = 0; j < n; ++j) {
      is_sink[j] = options.sink_rule == SinkSetRule::kFirstToken ? j == 0 : received[j] >= tau;
      if (is_sink[j]) k.sinks.push_back(j);
    }
    // Keep a row only if every head leaves enough non-sink mass to renormalize.
    std::vector<int64_t> kept;
    for (int64_t i : rows) {
      bool ok = true;
      for (int64_t h = 0; h < H && ok; ++h) {
        double rest = 0;
        for (int64_t j = 0; j <= allowed_last(i); ++j) rest += is_sink[j] ? 0 : p.at(h, i, j);
        ok = rest >= options.min_remaining_mass && rest > 0;
      }
      if (ok) kept.push_back(i);
    }
    k.num_rows_kept = static_cast<int64_t>(kept.size());
    k.num_rows_dropped = static_cast<int64_t>(rows.size()) - k.num_rows_kept;
    std::vector<double> kl_q(static_cast<size_t>(H * n), 0.0);
    double loss = 0, sink_mass = 0;
    for (int64_t i : kept) {
      const int64_t len = allowed_last(i) + 1;
      std::fill(q_mean.begin(), q_mean.begin() + len, 0.0);
      for (int64_t h = 0; h < H; ++h) {
        const double* ph = row(p.p, h, i);
        const double* lph = row(log_p, h, i);
        double m = 0;
        for (int64_t j = 0; j < len; ++j) m += is_sink[j] ? ph[j] : 0;
        const double log_rest = std::log1p(-m);
        double* qh = &q[h * n];
        double* lqh = &log_q[h * n];
        const double scale = 1.0 / (1.0 - m);
        for (int64_t j = 0; j < len; ++j) {
          qh[j] = is_sink[j] ? 0.0 : ph[j] * scale;
          lqh[j] = is_sink[j] ? 0.0 : lph[j] - log_rest;
          q_mean[j] += qh[j];
        }
        loss += -log_rest;
        sink_mass += m;
      }
      for (int64_t j = 0; j < len; ++j) q_mean[j] /= static_cast<double>(H);
      LogPositive(q_mean.data(), len, log_q_mean.data());
      for (int64_t h = 0; h < H; ++h) {
        kl_q[h * n + i] =
            KlFromLogs(&q[h * n], &log_q[h * n], q_mean.data(), log_q_mean.data(), len);
      }
    }
    const double cells = static_cast<double>(H) * static_cast<double>(kept.size());
    k.sink_removal_information_loss = kept.empty() ? kNaN : loss / cells;
    k.mean_sink_mass = kept.empty() ? kNaN : sink_mass / cells;
    k.kl_with_sinks = MeanOverRows(kl_p, H, n, kept);
    k.kl_without_sinks = MeanOverRows(kl_q, H, n, kept);
    for (int64_t h = 0; h < H; ++h) {
      k.kl_reduction.push_back(k.kl_with_sinks[h] - k.kl_without_sinks[h]);
    }
    k.avg_kl_reduction = Mean(k.kl_reduction);
    r.removals.push_back(std::move(k));
  }
  return r;
}

// ------------------------------------------------------------------ attention-logit Fisher

StatusOr<AttentionFisherResult> ComputeAttentionFisher(const at::Tensor& attention) {
  InputHealth all;
  ASSIGN_OR_RETURN(Heads a, ReadHeads(attention, &all));
  AttentionFisherResult r;
  r.causal = IsCausal(a.p, a.n);
  const int64_t n = a.n;
  const int64_t first_row = r.causal ? 1 : 0;
  const std::vector<double> mean = HeadMean(a);
  auto trace = [&](const double* m, InputHealth* health) {
    double sum = 0;
    *health = CountNonFinite(std::span<const double>(m, static_cast<size_t>(n * n)));
    if (!health->valid() || first_row >= n) return kNaN;
    for (int64_t i = first_row; i < n; ++i) {
      double norm2 = 0;
      for (int64_t j = 0; j < n; ++j) norm2 += m[i * n + j] * m[i * n + j];
      sum += 1.0 - norm2;
    }
    return sum / static_cast<double>(n - first_row);
  };
  for (int64_t h = 0; h < a.h; ++h) {
    InputHealth health;
    r.fisher_trace.push_back(trace(&a.p[h * n * n], &health));
    r.heads.push_back(static_cast<int>(h));
    r.health.push_back(health);
  }
  InputHealth health;
  r.fisher_trace.push_back(trace(mean.data(), &health));
  r.heads.push_back(kHeadMean);
  r.health.push_back(health);
  return r;
}

}  // namespace sinkscope::analyzers::infogeo
