// sinkscope-run's intervention flags (kept apart from the capture flags of sinkscope_run.cc):
// MLP-output ablation at chosen layers and tokens (project out directions read from a file, or
// scale the output), and attention-key removal/rescaling. They fill ForwardOptions::interventions
// (models/capture.h); the runtime validates layers, heads and tokens against the model and input.
//
//   --mlp-ablate-directions FILE   .npy [r, D] or [D], or FILE.safetensors:NAME; each row is a
//                                  direction. The rows are orthonormalized first (QR): the runtime
//                                  projects each direction out in turn, which removes their span
//                                  only when they are orthonormal.
//   --mlp-scale FACTOR             multiply the MLP output by FACTOR (0 removes it)
//   --mlp-layers L,…  --mlp-tokens T,… (default 0)
//   --attention-key-columns C,…  --attention-key-layers L,…  [--attention-key-heads H,…]
//   [--attention-key-scale S] (default 0: remove the columns; rows are renormalized)
//
// The interventions used are recorded in the output's metadata (`interventions`, JSON) and the
// orthonormalized directions as the tensor `interventions.mlp_directions` [r, D].
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "models/capture.h"

namespace sinkscope::run_cli {

struct InterventionArgs {
  std::string mlp_directions;  ///< direction file (empty: no direction ablation)
  std::optional<double> mlp_scale;
  std::string mlp_layers;
  std::string mlp_tokens = "0";
  std::string attention_columns;
  std::string attention_layers;
  std::string attention_heads;            ///< empty: every head
  std::optional<double> attention_scale;  ///< default 0 (remove the columns)
};

/// Registers the flags above on `app`; values land in `args` (which must outlive the parse).
void AddInterventionOptions(CLI::App& app, InterventionArgs& args);

/// Whether any intervention flag was given.
bool AnyIntervention(const InterventionArgs& args);

/// Flag combinations that cannot work (an ablation without --mlp-layers, --mlp-layers without
/// an ablation, attention-key flags without columns or layers, unparsable lists). The caller
/// reports them as bad usage (exit status 2).
Status CheckInterventionUsage(const InterventionArgs& args);

struct ResolvedInterventions {
  models::Interventions interventions;
  /// What was applied, for the output metadata ({"mlp": […], "attention": […]}; empty if none).
  nlohmann::json description;
  /// [r, D] float32 orthonormal rows actually projected out (undefined without a direction file).
  at::Tensor directions;
};

/// Reads the direction file (if any) for a model of hidden size `hidden_size` and builds the
/// interventions. InvalidArgument for a file of the wrong shape or dimension, non-finite values
/// or linearly dependent rows; NotFound for a missing file or tensor.
StatusOr<ResolvedInterventions> BuildInterventions(const InterventionArgs& args,
                                                   int64_t hidden_size);

/// The rows of a direction file as a float64 [r, d] tensor (a .npy [d] is one row).
StatusOr<at::Tensor> ReadDirectionRows(const std::string& spec);

/// An orthonormal basis of the span of `rows` ([r, d] float64, r ≤ d) as rows [r, d], by QR.
/// InvalidArgument when a row lies (numerically) in the span of the earlier ones.
StatusOr<at::Tensor> OrthonormalizeRows(const at::Tensor& rows);

}  // namespace sinkscope::run_cli
