#include "models/cli/run_interventions.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "analyzers/io/matrix_file.h"
#include "core/int_list.h"
#include "core/torch_call.h"
#include "models/formats/checkpoint.h"

namespace sinkscope::run_cli {
namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StatusOr<std::vector<int64_t>> ParseList(const std::string& text, const char* flag) {
  auto parsed = ParseIntList(text);
  if (!parsed.ok()) return parsed.status().WithContext(flag);
  return std::move(parsed).value();
}

std::vector<int> ToInts(const std::vector<int64_t>& values) {
  std::vector<int> out;
  for (int64_t v : values) {
    // Clamped, not wrapped: the runtime's range check then reports a value outside int.
    out.push_back(static_cast<int>(
        std::clamp<int64_t>(v, std::numeric_limits<int>::min(), std::numeric_limits<int>::max())));
  }
  return out;
}

}  // namespace

void AddInterventionOptions(CLI::App& app, InterventionArgs& args) {
  const std::string group = "Interventions (ablation experiments)";
  app.add_option("--mlp-ablate-directions", args.mlp_directions,
                 "Project these directions out of the MLP output at --mlp-layers/--mlp-tokens: "
                 ".npy [r, D] or [D], or FILE.safetensors:NAME (rows are orthonormalized by QR "
                 "first, so their span is removed)")
      ->group(group);
  app.add_option("--mlp-scale", args.mlp_scale,
                 "Multiply the MLP output at --mlp-layers/--mlp-tokens by this factor (after any "
                 "direction ablation; 0 removes it)")
      ->group(group);
  app.add_option("--mlp-layers", args.mlp_layers, "Comma-separated layers of the MLP intervention")
      ->group(group);
  app.add_option("--mlp-tokens", args.mlp_tokens,
                 "Comma-separated token positions (within each input) of the MLP intervention")
      ->capture_default_str()
      ->group(group);
  app.add_option("--attention-key-columns", args.attention_columns,
                 "Comma-separated key positions whose attention is scaled (rows renormalized)")
      ->group(group);
  app.add_option("--attention-key-layers", args.attention_layers,
                 "Comma-separated layers of the attention-key intervention")
      ->group(group);
  app.add_option("--attention-key-heads", args.attention_heads,
                 "Comma-separated query heads of the attention-key intervention (default: all)")
      ->group(group);
  app.add_option("--attention-key-scale", args.attention_scale,
                 "Factor on the chosen key columns (default 0: remove them)")
      ->group(group);
}

bool AnyIntervention(const InterventionArgs& args) {
  return !args.mlp_directions.empty() || args.mlp_scale.has_value() || !args.mlp_layers.empty() ||
         !args.attention_columns.empty() || !args.attention_layers.empty() ||
         !args.attention_heads.empty() || args.attention_scale.has_value();
}

Status CheckInterventionUsage(const InterventionArgs& args) {
  const bool mlp = !args.mlp_directions.empty() || args.mlp_scale.has_value();
  if (mlp && args.mlp_layers.empty()) {
    return InvalidArgumentError(
        "--mlp-ablate-directions/--mlp-scale need --mlp-layers (the layers whose MLP output is "
        "changed)");
  }
  if (!mlp && !args.mlp_layers.empty()) {
    return InvalidArgumentError(
        "--mlp-layers given without an MLP intervention: add --mlp-ablate-directions or "
        "--mlp-scale");
  }
  if (mlp) {
    RETURN_IF_ERROR(ParseList(args.mlp_layers, "--mlp-layers").status());
    RETURN_IF_ERROR(ParseList(args.mlp_tokens, "--mlp-tokens").status());
  }
  const bool attention = !args.attention_columns.empty() || !args.attention_layers.empty() ||
                         !args.attention_heads.empty() || args.attention_scale.has_value();
  if (attention && (args.attention_columns.empty() || args.attention_layers.empty())) {
    return InvalidArgumentError(
        "the attention-key intervention needs both --attention-key-columns and "
        "--attention-key-layers");
  }
  if (attention) {
    RETURN_IF_ERROR(ParseList(args.attention_columns, "--attention-key-columns").status());
    RETURN_IF_ERROR(ParseList(args.attention_layers, "--attention-key-layers").status());
    if (!args.attention_heads.empty()) {
      RETURN_IF_ERROR(ParseList(args.attention_heads, "--attention-key-heads").status());
    }
  }
  return OkStatus();
}

StatusOr<at::Tensor> ReadDirectionRows(const std::string& spec) {
  at::Tensor rows;
  const std::string marker = ".safetensors:";
  const size_t split = spec.rfind(marker);
  if (split != std::string::npos) {
    const std::string file = spec.substr(0, split + marker.size() - 1);
    const std::string name = spec.substr(split + marker.size());
    ASSIGN_OR_RETURN(formats::TensorMap tensors, formats::ReadSafetensors(file));
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      return NotFoundError("{}: no tensor '{}' ({} tensors in the file)", file, name,
                           tensors.size());
    }
    if (!at::isFloatingType(it->second.scalar_type())) {
      return InvalidArgumentError("{}: tensor '{}' is not floating point", file, name);
    }
    rows = it->second.to(at::kDouble).contiguous();
  } else if (EndsWith(spec, ".npy")) {
    analyzers::io::MatrixFileLimits limits;
    limits.npy_vector_as_row = true;
    ASSIGN_OR_RETURN(analyzers::io::Matrix m, analyzers::io::ReadMatrixFile(
                                                  spec, analyzers::io::MatrixFormat::kNpy, limits));
    if (m.depth != 1) {
      return InvalidArgumentError("{}: directions must be [r, D] or [D], got a stack of {} arrays",
                                  spec, m.depth);
    }
    rows = at::from_blob(m.values.data(), {m.rows, m.cols}, at::kFloat).to(at::kDouble).clone();
  } else {
    return InvalidArgumentError("{}: give directions as a .npy file or FILE.safetensors:NAME",
                                spec);
  }
  if (rows.dim() == 1) rows = rows.unsqueeze(0);
  if (rows.dim() != 2 || rows.size(0) < 1 || rows.size(1) < 1) {
    return InvalidArgumentError("{}: directions must be [r, D] or [D], got shape {}", spec,
                                c10::str(rows.sizes()));
  }
  if (!at::isfinite(rows).all().item<bool>()) {
    return InvalidArgumentError("{}: directions hold NaN or infinite values", spec);
  }
  return rows;
}

StatusOr<at::Tensor> OrthonormalizeRows(const at::Tensor& rows) {
  const int64_t r = rows.size(0), d = rows.size(1);
  if (r > d) {
    return InvalidArgumentError("{} directions of dimension {}: at most {} can be independent", r,
                                d, d);
  }
  ASSIGN_OR_RETURN(auto qr, TorchCall("orthonormalizing directions", [&] {
                     auto [q, rr] = at::linalg_qr(rows.to(at::kDouble).t(), "reduced");
                     // Signs chosen so that R has a non-negative diagonal: each basis row points
                     // like its input row, and orthonormal input comes back unchanged.
                     at::Tensor diag = rr.diagonal();
                     at::Tensor sign =
                         at::where(diag < 0, -at::ones_like(diag), at::ones_like(diag));
                     return std::make_pair((q * sign).t().contiguous(), diag.abs().contiguous());
                   }));
  // |R_ii| is the part of row i outside the span of rows 0..i−1; relative to the row norms it
  // says whether the row adds a direction.
  const at::Tensor norms = rows.to(at::kDouble).norm(2, {1});
  const double largest = norms.max().item<double>();
  for (int64_t i = 0; i < r; ++i) {
    const double residual = qr.second[i].item<double>();
    if (!(residual > 1e-8 * largest)) {
      return InvalidArgumentError(
          "direction {} is zero or lies in the span of the directions before it (residual norm "
          "{:.3g}); give linearly independent directions",
          i, residual);
    }
  }
  return qr.first;
}

StatusOr<ResolvedInterventions> BuildInterventions(const InterventionArgs& args,
                                                   int64_t hidden_size) {
  RETURN_IF_ERROR(CheckInterventionUsage(args));
  ResolvedInterventions out;
  out.description = nlohmann::json::object();
  const bool mlp = !args.mlp_directions.empty() || args.mlp_scale.has_value();
  if (mlp) {
    ASSIGN_OR_RETURN(std::vector<int64_t> layers, ParseList(args.mlp_layers, "--mlp-layers"));
    ASSIGN_OR_RETURN(std::vector<int64_t> tokens, ParseList(args.mlp_tokens, "--mlp-tokens"));
    nlohmann::json mlp_json = nlohmann::json::array();
    if (!args.mlp_directions.empty()) {
      auto rows = ReadDirectionRows(args.mlp_directions);
      if (!rows.ok()) return rows.status().WithContext("--mlp-ablate-directions");
      if (rows->size(1) != hidden_size) {
        return InvalidArgumentError(
            "--mlp-ablate-directions: {}: directions have dimension {} but the model's hidden "
            "size is {}",
            args.mlp_directions, rows->size(1), hidden_size);
      }
      auto basis = OrthonormalizeRows(*rows);
      if (!basis.ok()) {
        return basis.status().WithContext(
            fmt::format("--mlp-ablate-directions: {}", args.mlp_directions));
      }
      // One runtime intervention per orthonormal direction, applied in turn: together they
      // project out the span of the given rows.
      for (int64_t i = 0; i < basis->size(0); ++i) {
        models::MlpIntervention iv;
        iv.kind = models::MlpIntervention::Kind::kAblateDirection;
        iv.layers = ToInts(layers);
        iv.tokens = tokens;
        iv.direction = (*basis)[i].to(at::kFloat).contiguous();
        out.interventions.mlp.push_back(std::move(iv));
      }
      out.directions = basis->to(at::kFloat).contiguous();
      mlp_json.push_back({{"kind", "ablate_directions"},
                          {"directions_file", args.mlp_directions},
                          {"num_directions", basis->size(0)},
                          {"orthonormalized", "QR of the rows; their span is projected out"},
                          {"layers", layers},
                          {"tokens", tokens}});
    }
    if (args.mlp_scale.has_value()) {
      models::MlpIntervention iv;
      iv.kind = models::MlpIntervention::Kind::kScale;
      iv.layers = ToInts(layers);
      iv.tokens = tokens;
      iv.scale = *args.mlp_scale;
      out.interventions.mlp.push_back(std::move(iv));
      mlp_json.push_back(
          {{"kind", "scale"}, {"scale", *args.mlp_scale}, {"layers", layers}, {"tokens", tokens}});
    }
    out.description["mlp"] = std::move(mlp_json);
  }
  if (!args.attention_columns.empty()) {
    ASSIGN_OR_RETURN(std::vector<int64_t> columns,
                     ParseList(args.attention_columns, "--attention-key-columns"));
    ASSIGN_OR_RETURN(std::vector<int64_t> layers,
                     ParseList(args.attention_layers, "--attention-key-layers"));
    std::vector<int64_t> heads;
    if (!args.attention_heads.empty()) {
      ASSIGN_OR_RETURN(heads, ParseList(args.attention_heads, "--attention-key-heads"));
    }
    models::AttentionKeyIntervention iv;
    iv.layers = ToInts(layers);
    iv.heads = ToInts(heads);
    iv.columns = columns;
    iv.scale = args.attention_scale.value_or(0.0);
    out.interventions.attention.push_back(std::move(iv));
    out.description["attention"] = nlohmann::json::array(
        {{{"columns", columns},
          {"layers", layers},
          {"heads", heads.empty() ? nlohmann::json("all") : nlohmann::json(heads)},
          {"scale", args.attention_scale.value_or(0.0)}}});
  }
  return out;
}

}  // namespace sinkscope::run_cli
