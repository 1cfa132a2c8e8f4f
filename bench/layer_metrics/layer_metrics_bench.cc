// sinkscope-bench-layer-metrics: every per-layer CORRECTED metric family of issues 4 and 5, with
// default options, on each layer of one captured sentence (bench/layer_metrics/README in
// bench/README.md). The baseline is bench/layer_metrics/numpy_baseline.py, run by run.py on the
// same capture in the same script run.
//
//   sinkscope-bench-layer-metrics --capture FILE.safetensors [--warmup 1] [--repeat 5]
//                                 [--threads 1] [--outputs values.jsonl] [--families a,b]
//                                 [--breakdown]
//
// The capture is what sinkscope-run writes for one input (`layers.<l>.attention` [H, n, n],
// `layers.<l>.hidden_in` [n, d], `hidden_out`, `attn_out`, `mlp_out`, `v` [KV, n, hd]).
// Families and the calls each makes per layer (all with their default options):
//   sink           ComputeSinkMetrics(attention) + FindMassiveActivations(hidden_out)
//   topology       ComputeTopologyMetrics(attention): H0/H1, heads + mean, with and without
//                  the first token
//   spectral       ComputeSpectral(attention): 7 thresholds + the weighted graph, heads + mean
//   rmt            ComputeRmt(attention): σ spectra, MP comparison, sink concentration
//   infogeo        ComputeKlSinks(attention) (KL/JS, sink-removal reduction, −ln(1 − m) for
//                  τ = 0.1, 0.3) + ComputeAttentionFisher(attention)
//   value          ComputeAttentionValue(attention, hidden_in, hidden_out) +
//                  ComputeReferencePoint(attention, hidden_in) +
//                  ComputeReferencePoint(attention, v)  (per-head value vectors, GQA)
//   decomposition  DecomposeOutput(hidden_in, attn_out, mlp_out, hidden_out) (every token) +
//                  ComputeVectorSpread(hidden_out) (the sentence's tokens as the samples) +
//                  ComputeMlpSubspace(mlp_out, attn_out) (rank 2)
// Timing: wall clock (steady_clock) of each family's calls on each layer; --warmup untimed passes
// over all layers, then --repeat timed passes. A pass's family time is the sum over the layers;
// the reported figures are the median and the minimum over the passes, divided by the number of
// layers (ms per layer). Output on stdout: one JSON line per family and one for the total, with a
// checksum (the sum of the family's finite key outputs over all layers). --outputs writes the
// key outputs themselves (one JSON line per layer and family) for run.py's comparison.
// --breakdown then times each family's calls one by one and with parts switched off (Parts()),
// one JSON line each ("breakdown": family, "part": what ran), the same way.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "analyzers/common/small_singular_values.h"
#include "analyzers/decomposition/decomposition.h"
#include "analyzers/infogeo/kl_divergence.h"
#include "analyzers/rmt/rmt.h"
#include "analyzers/sink/massive_activations.h"
#include "analyzers/sink/sink_metrics.h"
#include "analyzers/spectral/batched_eigenvalues.h"
#include "analyzers/spectral/laplacian_eigenvalues.h"
#include "analyzers/spectral/spectral.h"
#include "analyzers/topology/topology_metrics.h"
#include "analyzers/value/attention_value.h"
#include "analyzers/value/reference_point.h"
#include "core/allocator.h"
#include "core/status.h"
#include "models/formats/checkpoint.h"

namespace sinkscope {
namespace {

using namespace sinkscope::analyzers;
using Clock = std::chrono::steady_clock;

/// The captured tensors of one layer that the families read.
struct LayerInputs {
  at::Tensor attention;   ///< [H, n, n]
  at::Tensor hidden_in;   ///< [n, d]
  at::Tensor hidden_out;  ///< [n, d]
  at::Tensor attn_out;    ///< [n, d]
  at::Tensor mlp_out;     ///< [n, d]
  at::Tensor v;           ///< [KV, n, hd]
  /// For --breakdown only: the Laplacians ComputeSpectral diagonalizes (SpectralLaplacians).
  at::Tensor spectral_laplacians;
};

/// Key outputs of one family on one layer: name → values (heads, then the head mean, where a
/// metric is per matrix). The names match numpy_baseline.py.
using Values = std::map<std::string, std::vector<double>>;

void Add(Values& values, const std::string& name, double v) {
  values[name].push_back(v);
}

/// One family: runs its analyzers on one layer; fills `values` when it is not null (outside the
/// timed region: the caller times the whole call only when values is null).
using Family = std::function<Status(const LayerInputs&, Values*)>;

// ------------------------------------------------------------------------------------ families

Status RunSink(const LayerInputs& in, Values* out) {
  ASSIGN_OR_RETURN(sink::SinkResult s, sink::ComputeSinkMetrics(in.attention, {}));
  ASSIGN_OR_RETURN(sink::MassiveActivationResult m, sink::FindMassiveActivations(in.hidden_out));
  if (out == nullptr) return OkStatus();
  const sink::LayerSinkMetrics& layer = s.layers.at(0);
  for (const auto& h : layer.heads) {
    Add(*out, "first_token_mass", h.first_token_mass);
    Add(*out, "first_vs_others_ratio", h.first_vs_others_ratio);
    Add(*out, "sink_key_importance", h.sink_key_importance);
    Add(*out, "top_key", static_cast<double>(h.top_key));
  }
  (*out)["key_importance"] = layer.key_importance;
  Add(*out, "sink_rate_percent", layer.sink_rate_percent);
  Add(*out, "massive_count", static_cast<double>(m.count_per_layer.at(0)));
  Add(*out, "massive_max_magnitude", m.max_magnitude_per_layer.at(0));
  std::vector<double>& massive = (*out)["massive_token_dim"];  // present even when empty
  for (const auto& a : m.activations) {
    massive.push_back(static_cast<double>(a.token * m.hidden_size + a.dim));
  }
  return OkStatus();
}

void AddVariant(Values& out, const std::string& prefix, const topology::TopologyVariant& v) {
  Add(out, prefix + "mean_row_max", v.mean_row_max);
  Add(out, prefix + "mean_row_entropy_bits", v.mean_row_entropy_bits);
  for (const auto& d : v.dims) {
    const std::string p = fmt::format("{}h{}.", prefix, d.dim);
    Add(out, p + "num_pairs", static_cast<double>(d.num_pairs));
    Add(out, p + "total_persistence", d.total_persistence);
    Add(out, p + "max_persistence", d.max_persistence);
    Add(out, p + "persistent_entropy", d.persistent_entropy);
    for (int64_t b : d.betti_curve) Add(out, p + "betti_curve", static_cast<double>(b));
    for (int64_t c : d.num_persistent) Add(out, p + "num_persistent", static_cast<double>(c));
  }
}

Status RunTopology(const LayerInputs& in, Values* out) {
  ASSIGN_OR_RETURN(topology::TopologyMetricsResult r,
                   topology::ComputeTopologyMetrics(in.attention, {}));
  if (out == nullptr) return OkStatus();
  for (const auto& m : r.matrices) {
    Add(*out, "sink_mass", m.sink_mass);
    AddVariant(*out, "with.", m.with_sink);
    if (m.without_sink) AddVariant(*out, "without.", *m.without_sink);
  }
  return OkStatus();
}

Status RunSpectral(const LayerInputs& in, Values* out) {
  ASSIGN_OR_RETURN(spectral::SpectralResult r, spectral::ComputeSpectral(in.attention, {}));
  if (out == nullptr) return OkStatus();
  for (const auto& m : r.matrices) {
    for (const auto& t : m.thresholds) {
      Add(*out, "t.num_edges", static_cast<double>(t.num_edges));
      Add(*out, "t.hub", static_cast<double>(t.hub));
      Add(*out, "t.star_likeness", t.star_likeness);
      Add(*out, "t.gini", t.gini_coefficient);
      Add(*out, "t.centralization", t.degree_centralization);
      Add(*out, "t.degree_variance", t.degree_variance);
      Add(*out, "t.num_components", static_cast<double>(t.num_components));
      Add(*out, "t.zero_multiplicity", static_cast<double>(t.zero_eigenvalue_multiplicity));
      Add(*out, "t.fiedler", t.fiedler_value);
      Add(*out, "t.normalized_fiedler", t.normalized_fiedler_value);
      Add(*out, "t.gap", t.laplacian_gap_difference);
      Add(*out, "t.star_edge_weight", t.star_edge_weight);
      Add(*out, "t.fiedler_star_deviation", t.fiedler_star_deviation);
      Add(*out, "t.star_proximity", t.star_proximity);
      Add(*out, "t.largest_component", static_cast<double>(t.largest_component_size));
      Add(*out, "t.avg_shortest_path", t.avg_shortest_path);
      Add(*out, "t.clustering", t.clustering_coefficient);
    }
    Add(*out, "w.fiedler", m.weighted.fiedler_value);
    Add(*out, "w.normalized_fiedler", m.weighted.normalized_fiedler_value);
    Add(*out, "w.gap", m.weighted.laplacian_gap_difference);
    Add(*out, "w.hub", static_cast<double>(m.weighted.hub));
    Add(*out, "w.max_in_strength", m.weighted.max_in_strength);
    Add(*out, "w.gini", m.weighted.in_strength_gini);
    Add(*out, "w.variance", m.weighted.in_strength_variance);
  }
  return OkStatus();
}

Status RunRmt(const LayerInputs& in, Values* out) {
  ASSIGN_OR_RETURN(rmt::RmtResult r, rmt::ComputeRmt(in.attention, {}));
  if (out == nullptr) return OkStatus();
  for (const auto& m : r.matrices) {
    Add(*out, "spectral_gap_ratio", m.spectral_gap_ratio);
    Add(*out, "singular_gap_difference", m.singular_gap_difference);
    Add(*out, "participation_ratio", m.participation_ratio);
    Add(*out, "stable_rank", m.stable_rank);
    Add(*out, "sink_concentration", m.sink_concentration);
    Add(*out, "sink_top_column", static_cast<double>(m.sink_top_column));
    Add(*out, "sink_top_column_share", m.sink_top_column_share);
    Add(*out, "mean_row_entropy_bits", m.mean_row_entropy_bits);
    Add(*out, "standardize_mean", m.standardize_mean);
    Add(*out, "standardize_std", m.standardize_std);
    Add(*out, "mp.variance", m.mp.variance);
    Add(*out, "mp.num_above_upper_edge", static_cast<double>(m.mp.num_above_upper_edge));
    Add(*out, "mp.kl", m.mp.kl);
    Add(*out, "mp.ks", m.mp.ks);
    Add(*out, "mp.w1", m.mp.w1);
  }
  return OkStatus();
}

Status RunInfogeo(const LayerInputs& in, Values* out) {
  ASSIGN_OR_RETURN(infogeo::KlResult kl, infogeo::ComputeKlSinks(in.attention, {}));
  ASSIGN_OR_RETURN(infogeo::AttentionFisherResult f, infogeo::ComputeAttentionFisher(in.attention));
  if (out == nullptr) return OkStatus();
  (*out)["kl_to_head_mean"] = kl.kl_to_head_mean;
  Add(*out, "generalized_js_divergence", kl.generalized_js_divergence);
  Add(*out, "kl_to_uniform", kl.kl_to_uniform);
  for (const auto& k : kl.removals) {
    Add(*out, "removal.num_sinks", static_cast<double>(k.sinks.size()));
    Add(*out, "removal.num_rows_kept", static_cast<double>(k.num_rows_kept));
    for (double v : k.kl_without_sinks) Add(*out, "removal.kl_without_sinks", v);
    for (double v : k.kl_reduction) Add(*out, "removal.kl_reduction", v);
    Add(*out, "removal.avg_kl_reduction", k.avg_kl_reduction);
    Add(*out, "removal.information_loss", k.sink_removal_information_loss);
    Add(*out, "removal.mean_sink_mass", k.mean_sink_mass);
  }
  (*out)["fisher_trace"] = f.fisher_trace;
  return OkStatus();
}

void AddCorrelation(Values& out, const std::string& prefix, const value::CorrelationValue& c) {
  Add(out, prefix + "pearson", c.pearson);
  Add(out, prefix + "pearson_p", c.pearson_p);
  Add(out, prefix + "spearman", c.spearman);
  Add(out, prefix + "spearman_p", c.spearman_p);
  Add(out, prefix + "n", static_cast<double>(c.n));
}

void AddReference(Values& out, const std::string& prefix, const value::ReferencePointResult& r) {
  for (int64_t t : r.reference_tokens)
    Add(out, prefix + "reference_tokens", static_cast<double>(t));
  Add(out, prefix + "num_tokens_measured", static_cast<double>(r.num_tokens_measured));
  for (const auto& h : r.heads) {
    Add(out, prefix + "relative_magnitude", h.relative_magnitude_mean);
    Add(out, prefix + "directional_guidance", h.directional_guidance_mean);
    Add(out, prefix + "reference_norm", h.reference_norm_mean);
    Add(out, prefix + "structural_importance", h.structural_importance_mean);
  }
}

Status RunValue(const LayerInputs& in, Values* out) {
  ASSIGN_OR_RETURN(value::AttentionValueResult av,
                   value::ComputeAttentionValue(in.attention, in.hidden_in, in.hidden_out));
  ASSIGN_OR_RETURN(value::ReferencePointResult rx,
                   value::ComputeReferencePoint(in.attention, in.hidden_in));
  ASSIGN_OR_RETURN(value::ReferencePointResult rv,
                   value::ComputeReferencePoint(in.attention, in.v));
  if (out == nullptr) return OkStatus();
  Add(*out, "entropy_mean", av.entropy_mean);
  Add(*out, "normalized_entropy_mean", av.normalized_entropy_mean);
  (*out)["head_entropy_mean"] = av.head_entropy_mean;
  Add(*out, "magnitude_mean", av.magnitude_mean);
  Add(*out, "magnitude_mean_without_sinks", av.magnitude_mean_without_sinks);
  Add(*out, "relative_update_mean", av.relative_update_mean);
  Add(*out, "relative_update_mean_without_sinks", av.relative_update_mean_without_sinks);
  AddCorrelation(*out, "gs_allowed.", av.gs_allowed_pairs);
  AddCorrelation(*out, "gs_without_sinks.", av.gs_without_sinks);
  Add(*out, "gs_per_head_mean", av.gs_per_head_mean);
  AddCorrelation(*out, "entropy_magnitude.", av.entropy_magnitude);
  (*out)["pca_abs_correlations"] = av.pca_abs_correlations;
  AddReference(*out, "ref_residual.", rx);
  AddReference(*out, "ref_values.", rv);
  return OkStatus();
}

Status RunDecomposition(const LayerInputs& in, Values* out) {
  ASSIGN_OR_RETURN(
      decomposition::OutputDecomposition d,
      decomposition::DecomposeOutput(in.hidden_in, in.attn_out, in.mlp_out, in.hidden_out));
  ASSIGN_OR_RETURN(decomposition::VectorSpread s,
                   decomposition::ComputeVectorSpread(in.hidden_out));
  ASSIGN_OR_RETURN(decomposition::MlpSubspace m,
                   decomposition::ComputeMlpSubspace(in.mlp_out, in.attn_out, {}));
  if (out == nullptr) return OkStatus();
  for (const auto& t : d.tokens) {
    Add(*out, "output_norm", t.output_norm);
    Add(*out, "residual_norm", t.residual_norm);
    Add(*out, "attention_norm", t.attention_norm);
    Add(*out, "mlp_norm", t.mlp_norm);
    Add(*out, "residual_cosine", t.residual_cosine);
    Add(*out, "attention_cosine", t.attention_cosine);
    Add(*out, "mlp_cosine", t.mlp_cosine);
    Add(*out, "sum_relative_error", t.sum_relative_error);
  }
  Add(*out, "spread.mean_norm", s.mean_norm);
  Add(*out, "spread.norm_of_mean", s.norm_of_mean);
  Add(*out, "spread.spread", s.spread);
  Add(*out, "spread.max_abs_of_mean", s.max_abs_of_mean);
  for (int64_t k : s.top_dims) Add(*out, "spread.top_dims", static_cast<double>(k));
  (*out)["mlp.singular_values"] = m.singular_values;
  Add(*out, "mlp.top_rank_share", m.top_rank_share);
  Add(*out, "mlp.mean_other_projection_share", m.mean_other_projection_share);
  return OkStatus();
}

std::vector<std::pair<std::string, Family>> AllFamilies() {
  return {{"sink", RunSink},
          {"topology", RunTopology},
          {"spectral", RunSpectral},
          {"rmt", RunRmt},
          {"infogeo", RunInfogeo},
          {"value", RunValue},
          {"decomposition", RunDecomposition}};
}

// ---------------------------------------------------------------------------------- breakdown

/// Where a family's time goes: its calls one by one, and the same call with parts switched off.
/// Each part runs on every layer like a family and is timed the same way (--breakdown).
struct Part {
  std::string family;
  std::string name;
  std::function<Status(const LayerInputs&)> run;
};

template <typename Fn>
std::function<Status(const LayerInputs&)> Call(Fn fn) {
  return [fn](const LayerInputs& in) -> Status {
    auto r = fn(in);
    return r.ok() ? OkStatus() : r.status();
  };
}

/// The 2·(H + 1)·(thresholds + 1) Laplacians ComputeSpectral diagonalizes for one layer: L and
/// L_sym of every thresholded graph and of the weighted graph, [K, n, n] float64.
at::Tensor SpectralLaplacians(const at::Tensor& attention) {
  at::Tensor heads = attention.to(at::kDouble);
  at::Tensor m = at::cat({heads, heads.mean(0, /*keepdim=*/true)});
  const int64_t n = m.size(-1);
  m = m * (1 - at::eye(n, m.options())).unsqueeze(0);
  std::vector<at::Tensor> weights;
  for (double tau : spectral::DefaultSpectralThresholds()) {
    at::Tensor b = m.gt(tau).to(at::kDouble);
    weights.push_back((b + b.transpose(1, 2)) * 0.5);
  }
  weights.push_back((m + m.transpose(1, 2)) * 0.5);
  at::Tensor w = at::cat(weights);
  return at::cat({spectral::CombinatorialLaplacians(w), spectral::NormalizedLaplacians(w)})
      .contiguous();
}

std::vector<Part> Parts() {
  std::vector<Part> parts;
  parts.push_back({"sink", "ComputeSinkMetrics", Call([](const LayerInputs& in) {
                     return sink::ComputeSinkMetrics(in.attention, {});
                   })});
  parts.push_back({"sink", "FindMassiveActivations", Call([](const LayerInputs& in) {
                     return sink::FindMassiveActivations(in.hidden_out);
                   })});
  parts.push_back(
      {"topology", "H0 only (max_dim 0), with + without sink", Call([](const LayerInputs& in) {
         topology::TopologyMetricsOptions o;
         o.max_dim = 0;
         return topology::ComputeTopologyMetrics(in.attention, o);
       })});
  parts.push_back(
      {"topology", "H0 + H1, full matrix only (sink_rule none)", Call([](const LayerInputs& in) {
         topology::TopologyMetricsOptions o;
         o.sink_rule = std::nullopt;
         return topology::ComputeTopologyMetrics(in.attention, o);
       })});
  parts.push_back({"spectral", "compute_paths = false (no shortest paths, no clustering)",
                   Call([](const LayerInputs& in) {
                     spectral::SpectralOptions o;
                     o.compute_paths = false;
                     return spectral::ComputeSpectral(in.attention, o);
                   })});
  parts.push_back(
      {"spectral", "weighted graph only (thresholds {})", Call([](const LayerInputs& in) {
         spectral::SpectralOptions o;
         o.thresholds.clear();
         return spectral::ComputeSpectral(in.attention, o);
       })});
  parts.push_back({"spectral", "building the 160 Laplacians (48x48) alone",
                   Call([](const LayerInputs& in) -> StatusOr<at::Tensor> {
                     return SpectralLaplacians(in.attention);
                   })});
  parts.push_back({"spectral", "their λ2, λ3, λmax alone (what the analyzer computes on the CPU)",
                   [](const LayerInputs& in) -> Status {
                     return spectral::ComputeLaplacianEigenvalues(
                                in.spectral_laplacians, spectral::SymmetricEigenSolver::kEigen)
                         .status();
                   }});
  parts.push_back({"spectral", "their whole spectra alone (Eigen per matrix)",
                   [](const LayerInputs& in) -> Status {
                     return spectral::BatchedSymmetricEigenvalues(
                                in.spectral_laplacians, spectral::SymmetricEigenSolver::kEigen)
                         .status();
                   }});
  parts.push_back({"spectral", "their eigenvalues alone (one batched at::linalg_eigvalsh)",
                   [](const LayerInputs& in) -> Status {
                     return spectral::BatchedSymmetricEigenvalues(
                                in.spectral_laplacians, spectral::SymmetricEigenSolver::kLibtorch)
                         .status();
                   }});
  parts.push_back({"rmt", "at::linalg_svdvals + at::linalg_eigvalsh of [10, 48, 48] alone (LAPACK)",
                   Call([](const LayerInputs& in) -> StatusOr<double> {
                     at::Tensor h = in.attention.to(at::kDouble);
                     at::Tensor m = at::cat({h, h.mean(0, /*keepdim=*/true)});
                     at::Tensor s = at::linalg_svdvals(m);
                     at::Tensor e = at::linalg_eigvalsh(at::matmul(m, m.transpose(1, 2)));
                     return s.sum().item<double>() + e.sum().item<double>();
                   })});
  parts.push_back(
      {"rmt", "their σ alone by SquareSingularValues (what the analyzer uses on the CPU)",
       Call([](const LayerInputs& in) -> StatusOr<double> {
         at::Tensor h = in.attention.to(at::kDouble);
         const at::Tensor m = at::cat({h, h.mean(0, /*keepdim=*/true)}).contiguous();
         const int64_t k = m.size(0), n = m.size(1);
         std::vector<double> sigma(static_cast<size_t>(k * n));
         SquareSingularValues(
             std::span<const double>(m.data_ptr<double>(), static_cast<size_t>(k * n * n)), n,
             sigma);
         return std::accumulate(sigma.begin(), sigma.end(), 0.0);
       })});
  parts.push_back({"infogeo", "ComputeKlSinks", Call([](const LayerInputs& in) {
                     return infogeo::ComputeKlSinks(in.attention, {});
                   })});
  parts.push_back({"infogeo", "ComputeAttentionFisher", Call([](const LayerInputs& in) {
                     return infogeo::ComputeAttentionFisher(in.attention);
                   })});
  parts.push_back({"value", "ComputeAttentionValue", Call([](const LayerInputs& in) {
                     return value::ComputeAttentionValue(in.attention, in.hidden_in, in.hidden_out);
                   })});
  parts.push_back(
      {"value", "ComputeReferencePoint(residual stream)", Call([](const LayerInputs& in) {
         return value::ComputeReferencePoint(in.attention, in.hidden_in);
       })});
  parts.push_back({"value", "ComputeReferencePoint(v, per head)", Call([](const LayerInputs& in) {
                     return value::ComputeReferencePoint(in.attention, in.v);
                   })});
  parts.push_back({"decomposition", "DecomposeOutput", Call([](const LayerInputs& in) {
                     return decomposition::DecomposeOutput(in.hidden_in, in.attn_out, in.mlp_out,
                                                           in.hidden_out);
                   })});
  parts.push_back({"decomposition", "ComputeVectorSpread", Call([](const LayerInputs& in) {
                     return decomposition::ComputeVectorSpread(in.hidden_out);
                   })});
  parts.push_back({"decomposition", "ComputeMlpSubspace", Call([](const LayerInputs& in) {
                     return decomposition::ComputeMlpSubspace(in.mlp_out, in.attn_out, {});
                   })});
  return parts;
}

// ------------------------------------------------------------------------------------- driver

struct Args {
  std::string capture;
  std::string outputs;
  std::string families;
  int warmup = 1;
  int repeat = 5;
  int threads = 1;
  bool breakdown = false;
};

StatusOr<std::vector<LayerInputs>> ReadCapture(const std::string& path) {
  ASSIGN_OR_RETURN(formats::TensorMap tensors, formats::ReadSafetensors(path));
  std::vector<LayerInputs> layers;
  for (int64_t l = 0;; ++l) {
    const std::string prefix = fmt::format("layers.{}.", l);
    if (tensors.find(prefix + "attention") == tensors.end()) break;
    LayerInputs in;
    std::vector<std::pair<const char*, at::Tensor*>> wanted = {
        {"attention", &in.attention}, {"hidden_in", &in.hidden_in}, {"hidden_out", &in.hidden_out},
        {"attn_out", &in.attn_out},   {"mlp_out", &in.mlp_out},     {"v", &in.v}};
    for (auto& [name, slot] : wanted) {
      auto it = tensors.find(prefix + name);
      if (it == tensors.end()) {
        return InvalidArgumentError("{}: no tensor '{}{}' (capture with --capture all)", path,
                                    prefix, name);
      }
      // A private contiguous copy: the families never see the file mapping.
      *slot = it->second.clone().contiguous();
    }
    const int64_t n = in.attention.size(-1);
    if (in.attention.dim() != 3 || in.hidden_in.dim() != 2 || in.hidden_in.size(0) != n ||
        in.v.dim() != 3 || in.v.size(1) != n) {
      return InvalidArgumentError("{}: layer {} has inconsistent shapes (attention {}, hidden {})",
                                  path, l, c10::str(in.attention.sizes()),
                                  c10::str(in.hidden_in.sizes()));
    }
    layers.push_back(std::move(in));
  }
  if (layers.empty()) return InvalidArgumentError("{}: no layers.<l>.attention tensors", path);
  return layers;
}

/// Finite values only (NaN and ±∞ are compared by run.py, not summed).
double Checksum(const Values& values) {
  double sum = 0;
  for (const auto& [name, v] : values) {
    for (double x : v) {
      if (std::isfinite(x)) sum += x;
    }
  }
  return sum;
}

nlohmann::json ToJson(const Values& values) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, v] : values) {
    nlohmann::json list = nlohmann::json::array();
    for (double x : v) {
      if (std::isnan(x)) {
        list.push_back("nan");
      } else if (std::isinf(x)) {
        list.push_back(x > 0 ? "inf" : "-inf");
      } else {
        list.push_back(x);
      }
    }
    j[name] = std::move(list);
  }
  return j;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

Status Run(const Args& args) {
  at::set_num_threads(args.threads);
  ASSIGN_OR_RETURN(std::vector<LayerInputs> layers, ReadCapture(args.capture));
  std::vector<std::pair<std::string, Family>> families;
  for (const auto& f : AllFamilies()) {
    if (args.families.empty() ||
        ("," + args.families + ",").find("," + f.first + ",") != std::string::npos) {
      families.push_back(f);
    }
  }
  if (families.empty()) return InvalidArgumentError("--families selects none");
  const auto num_layers = static_cast<int64_t>(layers.size());

  // Untimed pass with outputs: the values, their checksums, and a first warmup.
  std::vector<double> checksums(families.size(), 0.0);
  std::ofstream values_file;
  if (!args.outputs.empty()) {
    values_file.open(args.outputs);
    if (!values_file) return InvalidArgumentError("cannot write {}", args.outputs);
  }
  for (int64_t l = 0; l < num_layers; ++l) {
    for (size_t f = 0; f < families.size(); ++f) {
      Values values;
      Status s = families[f].second(layers[l], &values);
      if (!s.ok()) return s.WithContext(fmt::format("{} on layer {}", families[f].first, l));
      checksums[f] += Checksum(values);
      if (values_file.is_open()) {
        nlohmann::json line = {{"impl", "sinkscope"},
                               {"layer", l},
                               {"family", families[f].first},
                               {"values", ToJson(values)}};
        values_file << line.dump() << "\n";
      }
    }
  }
  for (int w = 0; w < args.warmup; ++w) {
    for (const auto& layer : layers) {
      for (const auto& [name, fn] : families) RETURN_IF_ERROR(fn(layer, nullptr));
    }
  }
  // seconds[f][r]: family f's time over all layers in timed pass r.
  std::vector<std::vector<double>> seconds(families.size());
  std::vector<double> totals;
  for (int r = 0; r < args.repeat; ++r) {
    double total = 0;
    std::vector<double> pass(families.size(), 0.0);
    for (const auto& layer : layers) {
      for (size_t f = 0; f < families.size(); ++f) {
        const auto t0 = Clock::now();
        RETURN_IF_ERROR(families[f].second(layer, nullptr));
        pass[f] += std::chrono::duration<double>(Clock::now() - t0).count();
      }
    }
    for (size_t f = 0; f < families.size(); ++f) {
      seconds[f].push_back(pass[f]);
      total += pass[f];
    }
    totals.push_back(total);
  }
  const int64_t n = layers[0].attention.size(-1);
  const int64_t heads = layers[0].attention.size(0);
  const auto per_layer_ms = [&](double s) { return 1e3 * s / static_cast<double>(num_layers); };
  for (size_t f = 0; f < families.size(); ++f) {
    nlohmann::json line = {
        {"impl", "sinkscope"},
        {"family", families[f].first},
        {"layers", num_layers},
        {"heads", heads},
        {"tokens", n},
        {"threads", args.threads},
        {"repeat", args.repeat},
        {"ms_per_layer_median", per_layer_ms(Median(seconds[f]))},
        {"ms_per_layer_min", per_layer_ms(*std::min_element(seconds[f].begin(), seconds[f].end()))},
        {"checksum", checksums[f]}};
    std::printf("%s\n", line.dump().c_str());
  }
  nlohmann::json total = {
      {"impl", "sinkscope"},
      {"family", "total"},
      {"layers", num_layers},
      {"threads", args.threads},
      {"repeat", args.repeat},
      {"ms_per_layer_median", per_layer_ms(Median(totals))},
      {"ms_per_layer_min", per_layer_ms(*std::min_element(totals.begin(), totals.end()))}};
  std::printf("%s\n", total.dump().c_str());
  if (!args.breakdown) return OkStatus();

  for (auto& layer : layers) layer.spectral_laplacians = SpectralLaplacians(layer.attention);
  for (const Part& part : Parts()) {
    bool selected = false;
    for (const auto& f : families) selected |= f.first == part.family;
    if (!selected) continue;
    for (int w = 0; w < std::max(1, args.warmup); ++w) {
      for (const auto& layer : layers) RETURN_IF_ERROR(part.run(layer));
    }
    std::vector<double> pass_seconds;
    for (int r = 0; r < args.repeat; ++r) {
      double pass = 0;
      for (const auto& layer : layers) {
        const auto t0 = Clock::now();
        RETURN_IF_ERROR(part.run(layer));
        pass += std::chrono::duration<double>(Clock::now() - t0).count();
      }
      pass_seconds.push_back(pass);
    }
    nlohmann::json line = {{"impl", "sinkscope"},
                           {"breakdown", part.family},
                           {"part", part.name},
                           {"ms_per_layer_median", per_layer_ms(Median(pass_seconds))},
                           {"ms_per_layer_min", per_layer_ms(*std::min_element(
                                                    pass_seconds.begin(), pass_seconds.end()))}};
    std::printf("%s\n", line.dump().c_str());
  }
  return OkStatus();
}

}  // namespace
}  // namespace sinkscope

int main(int argc, char** argv) {
  // As sinkscope-metrics (and the server) do; run.py gives the numpy process the same glibc
  // settings through GLIBC_TUNABLES.
  sinkscope::RetainFreedMemoryForReuse();
  sinkscope::Args args;
  CLI::App app{"Per-layer metric families of one captured sentence (bench/layer_metrics)"};
  app.add_option("--capture", args.capture, "sinkscope-run capture (.safetensors)")->required();
  app.add_option("--outputs", args.outputs, "Write the key outputs here (JSON lines)");
  app.add_option("--families", args.families,
                 "Comma-separated subset of sink,topology,spectral,rmt,infogeo,value,"
                 "decomposition (default: all)");
  app.add_option("--warmup", args.warmup, "Untimed passes over all layers")->capture_default_str();
  app.add_option("--repeat", args.repeat, "Timed passes over all layers")->capture_default_str();
  app.add_option("--threads", args.threads, "libtorch intra-op threads")->capture_default_str();
  app.add_flag("--breakdown", args.breakdown,
               "Then time each family's calls and variants separately (where the time goes)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (args.repeat < 1 || args.warmup < 0 || args.threads < 1) {
    std::fprintf(stderr, "--repeat and --threads must be >= 1, --warmup >= 0\n");
    return 2;
  }
  sinkscope::Status status = sinkscope::Run(args);
  if (!status.ok()) {
    std::fprintf(stderr, "sinkscope-bench-layer-metrics: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
