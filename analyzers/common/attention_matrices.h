// What every attention analyzer (topology metrics, spectral, rmt, …) shares: the two definition
// modes, which matrices of a layer it runs on (per head, head mean, both), input checks that count
// non-finite entries instead of failing a whole batch, and the "without the sink token" variant.
//
// Analyzers are pure functions over ATen tensors (DESIGN §6, STYLE §3): they take one layer's
// attention as [n, n] (one matrix) or [H, n, n] (heads) and never include gRPC or model headers.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include "core/status.h"

namespace sinkscope::analyzers {

/// Which definitions a metric follows (DESIGN §6). CORRECTED is the default everywhere; PAPER
/// reproduces the notebooks of Ruscio et al. (NeurIPS 2025), quirks included, and every PAPER
/// quantity carries "paper" in its name.
enum class Mode { kCorrected, kPaper };

/// "corrected" or "paper".
std::string_view ModeName(Mode mode);
StatusOr<Mode> ParseMode(std::string_view name);

/// Which matrices of one layer's attention [H, n, n] an analyzer runs on.
enum class HeadSelection {
  kHeadMean,        ///< Ā = (1/H) Σ_h A_h only (the notebooks' choice)
  kPerHead,         ///< every head
  kPerHeadAndMean,  ///< every head, then the head mean
};

/// "mean", "heads" or "heads+mean".
std::string_view HeadSelectionName(HeadSelection selection);
StatusOr<HeadSelection> ParseHeadSelection(std::string_view name);

/// The head index recorded for the head mean.
inline constexpr int kHeadMean = -1;

/// A batch of square matrices and where each came from.
struct MatrixBatch {
  at::Tensor matrices;     ///< [K, n, n], contiguous, in the requested dtype, on the input's device
  std::vector<int> heads;  ///< K entries: the head index, or kHeadMean
};

/// Non-finite entries of one matrix. Analyzers do not fail a batch for them: the matrix's result
/// carries these counts, is marked invalid and has NaN metrics (issue 4 §6).
struct InputHealth {
  int64_t num_nan = 0;
  int64_t num_posinf = 0;
  int64_t num_neginf = 0;
  bool valid() const { return num_nan == 0 && num_posinf == 0 && num_neginf == 0; }
  int64_t num_nonfinite() const { return num_nan + num_posinf + num_neginf; }
};

/// Checks that `attention` is a floating [n, n] or [H, n, n] tensor with n ≥ 1 and H ≥ 1.
/// InvalidArgument otherwise, naming `what` and the shape. Values are not checked (see
/// CheckFinite).
Status ValidateAttention(const at::Tensor& attention, std::string_view what = "attention");

/// The matrices selected from `attention` ([n, n] is one head), converted to `dtype` before the
/// head mean is taken (so the PAPER float32 mean and the CORRECTED float64 mean both follow their
/// spec). Errors as ValidateAttention.
StatusOr<MatrixBatch> SelectMatrices(const at::Tensor& attention, HeadSelection selection,
                                     at::ScalarType dtype);

/// How many matrices `selection` picks from `num_heads` heads (the head mean counts as one).
int64_t NumSelectedMatrices(int64_t num_heads, HeadSelection selection);

/// Every value of `t` as float64 on the CPU, row-major (contiguous order of its shape).
std::vector<double> ToCpuDoubles(const at::Tensor& t);

/// NaN/+∞/−∞ counts of each matrix of a [K, n, n] batch (K entries).
std::vector<InputHealth> CheckFinite(const at::Tensor& matrices);

/// How the sink token is chosen for the "without sink" variant (spec topology-spectral §8.1).
enum class SinkRule {
  kFirstToken,     ///< position 0 (BOS, or the first word for models without BOS)
  kMaxColumnMass,  ///< argmax_j Σ_i A_ij (lowest index on ties)
};

/// "first" or "max-column".
std::string_view SinkRuleName(SinkRule rule);
StatusOr<SinkRule> ParseSinkRule(std::string_view name);

/// The sink index of one [n, n] matrix under `rule`.
int64_t SinkIndex(const at::Tensor& matrix, SinkRule rule);

/// `matrix` ([n, n], n ≥ 2) without row and column `index`, each row renormalized to sum 1 (a
/// row left with zero mass stays zero). InvalidArgument for an index out of range or n < 2.
StatusOr<at::Tensor> RemoveToken(const at::Tensor& matrix, int64_t index);

}  // namespace sinkscope::analyzers
