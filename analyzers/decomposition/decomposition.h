// Per-token activation decomposition (spec sinks-frames-decomposition §3): why token 0 becomes a
// sink, followed through the layers with the runtime's captures (q, k, v, hidden_in, attn_out,
// mlp_out, hidden_out).
//  * norm ‖x‖₂ and spread across a sentence set, spread(t) = mean_s ‖x_{s,t} − x̄_t‖ / ‖x̄_t‖ (a sink
//    token has a huge norm and a tiny spread), with the within-vector max |x_d| and top-3
//    dimensions of the mean vector;
//  * the decomposition of a layer output Y = residual + attention + MLP: each part's norm and its
//    cosine with Y, and the relative error of the sum (0 for sequential and parallel residual
//    blocks alike, a check that the captures belong together);
//  * the MLP-output subspace: SVD of one token's MLP outputs across sentences (singular values,
//    explained variance, top-r directions) and the share of other vectors' norm inside it.
// Ablations (interventions) and gradient × input attributions need the model and live with the
// runtime; this file holds the pure tensor parts.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "core/status.h"

namespace sinkscope::analyzers::decomposition {

struct VectorSpread {
  int64_t num_samples = 0;
  int64_t dim = 0;
  InputHealth health;
  bool valid = true;
  double mean_norm = 0;     ///< mean_s ‖x_s‖
  double norm_of_mean = 0;  ///< ‖x̄‖
  /// mean_s ‖x_s − x̄‖ / ‖x̄‖ (NaN when x̄ = 0).
  double spread = 0;
  double max_abs_of_mean = 0;      ///< max_d |x̄_d|
  std::vector<int64_t> top_dims;   ///< the 3 dimensions of largest |x̄_d| (fewer if d < 3)
  std::vector<double> top_values;  ///< x̄ at those dimensions (signed)
};

/// Norm and spread of one token position's vectors across sentences: `vectors` [S, d], S ≥ 1.
StatusOr<VectorSpread> ComputeVectorSpread(const at::Tensor& vectors);

struct TokenDecomposition {
  int64_t token = 0;
  double output_norm = 0;      ///< ‖Y‖
  double residual_norm = 0;    ///< ‖residual‖
  double attention_norm = 0;   ///< ‖attn‖
  double mlp_norm = 0;         ///< ‖mlp‖
  double residual_cosine = 0;  ///< cos(residual, Y); NaN when a norm is 0
  double attention_cosine = 0;
  double mlp_cosine = 0;
  /// ‖Y − (residual + attn + mlp)‖ / ‖Y‖ (NaN when ‖Y‖ = 0).
  double sum_relative_error = 0;
};

struct OutputDecomposition {
  std::vector<TokenDecomposition> tokens;
  InputHealth health;
  bool valid = true;
};

/// Decomposes each token's layer output: `residual` (hidden_in), `attention` (attn_out), `mlp`
/// (mlp_out) and `output` (hidden_out), all [n, d]. `tokens` selects positions (empty: all).
/// InvalidArgument for shape mismatches or a token out of range.
StatusOr<OutputDecomposition> DecomposeOutput(const at::Tensor& residual,
                                              const at::Tensor& attention, const at::Tensor& mlp,
                                              const at::Tensor& output,
                                              const std::vector<int64_t>& tokens = {});

struct SubspaceOptions {
  int64_t rank = 2;     ///< r, the number of top directions kept
  bool center = false;  ///< subtract the mean first (PCA) instead of the raw SVD
};

struct MlpSubspace {
  int64_t rank = 0;
  std::vector<double> singular_values;     ///< all, descending
  std::vector<double> explained_variance;  ///< σ_i² / Σσ², descending
  double top_rank_share = 0;               ///< Σ_{i<r} σ_i² / Σσ²
  at::Tensor directions;                   ///< [r, d] top right-singular vectors
  /// For each row of `others`: ‖P_r x‖/‖x‖ (NaN for x = 0), and their mean.
  std::vector<double> other_projection_shares;
  double mean_other_projection_share = 0;
  InputHealth health;
  bool valid = true;
};

/// SVD of one token's MLP outputs across sentences, `outputs` [S, d]; `others` [M, d] (may be
/// undefined) are projected onto the top-r directions. InvalidArgument for bad shapes or r < 1.
StatusOr<MlpSubspace> ComputeMlpSubspace(const at::Tensor& outputs, const at::Tensor& others,
                                         const SubspaceOptions& options = {});

}  // namespace sinkscope::analyzers::decomposition
