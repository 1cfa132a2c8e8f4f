// Vietoris–Rips persistent homology of a finite metric space given as a distance matrix.
//
// The engine behind sinkscope's topology analyzers: the Ripser algorithm family (U. Bauer,
// "Ripser: efficient computation of Vietoris–Rips persistence barcodes", J. Appl. Comput. Topol.
// 5, 2021), written here from the paper. It agrees exactly with the `ripser` program (v1.2.1,
// float32 values, Z/2 coefficients) on every tested input; see tests/analyzers/ for the
// agreement test and persistent_homology.cc for the ideas used.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "core/status.h"

namespace sinkscope::analyzers::topology {

/// A filtration value (a distance, or the diameter of a simplex). float32, as in ripser.
using Value = float;

/// A read-only view of a square distance matrix of float32 values. Only the strict lower
/// triangle d(i, j), i > j, is read — the diagonal and the upper triangle are ignored, exactly as
/// `ripser --format distance` does — so callers symmetrize first (e.g. max(A, Aᵀ)). A distance of
/// −0 is read as +0.
struct DistanceMatrixView {
  enum class Layout {
    kFull,             ///< row-major n×n: entry (i, j) at data[i * row_stride + j]
    kLowerTriangular,  ///< packed rows of the strict lower triangle: (i, j) at i(i−1)/2 + j
  };
  const Value* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_stride = 0;  ///< kFull only; 0 means cols
  Layout layout = Layout::kFull;

  /// A full row-major n×n matrix.
  static DistanceMatrixView Full(const Value* data, int64_t n) {
    return {data, n, n, n, Layout::kFull};
  }
  /// The n(n−1)/2 values of the strict lower triangle, row by row (ripser's lower-distance).
  static DistanceMatrixView LowerTriangular(const Value* data, int64_t n) {
    return {data, n, n, 0, Layout::kLowerTriangular};
  }
};

/// Points beyond which ComputePersistence returns ResourceExhausted by default: the compressed
/// distance matrix is n²/2 floats and H1 may visit all n³/6 triangles.
inline constexpr int64_t kDefaultMaxPoints = 4096;
/// Hard limit of max_points: keeps every simplex index of dimension ≤ 2 within int64.
inline constexpr int64_t kMaxPointsLimit = 1 << 16;
/// H2 lists every triangle within the threshold as a column (C(n, 3) of them): max_dim = 2 is
/// refused (ResourceExhausted) above this many points (C(256, 3) ≈ 2.8 M triangles, 44 MiB).
inline constexpr int64_t kMaxPointsForDim2 = 256;

struct PersistenceOptions {
  /// Highest homology dimension computed: 0, 1 or 2.
  int max_dim = 1;
  /// Rips complexes up to this diameter (same unit as the distances). +∞ (default) means no
  /// threshold; it is computed on the enclosing radius min_i max_j d(i, j), beyond which the
  /// complex is a cone (ripser's default; the barcodes are those of the full filtration, with
  /// exactly one infinite H0 bar and no infinite bars above). A finite threshold keeps simplices of
  /// diameter ≤ threshold and reports classes alive there as infinite bars, like
  /// `ripser --threshold`. NaN is rejected.
  Value threshold = std::numeric_limits<Value>::infinity();
  /// Inputs with more points are refused (ResourceExhausted). At most kMaxPointsLimit.
  int64_t max_points = kDefaultMaxPoints;
};

/// One bar [birth, death); death is +∞ for a class that never dies (an essential class).
struct PersistenceInterval {
  Value birth = 0;
  Value death = 0;
  bool operator==(const PersistenceInterval&) const = default;
};

struct PersistenceResult {
  /// Number of points n.
  int64_t num_points = 0;
  /// Parameters as requested.
  int max_dim = 1;
  Value threshold = std::numeric_limits<Value>::infinity();
  /// The diameter up to which simplices entered: min(threshold, enclosing radius).
  Value threshold_used = 0;
  /// min_i max_j d(i, j) (0 for n ≤ 1).
  Value enclosing_radius = 0;
  /// barcodes[k] holds the bars of H_k, k = 0..max_dim, as ripser prints them: bars of zero length
  /// are dropped in every dimension, infinite bars are kept. Dimensions k ≥ n − 1 are empty.
  /// Order: H0 by death (ascending), higher dimensions in reduction order.
  std::vector<std::vector<PersistenceInterval>> barcodes;
  /// Work done, for benchmarks and tests: edges within threshold_used, reduced columns per
  /// dimension ≥ 1 (after clearing), of which were emergent pairs (no reduction needed).
  int64_t num_edges = 0;
  std::vector<int64_t> num_columns;
  std::vector<int64_t> num_emergent_pairs;
};

namespace internal {
struct Workspace;
}  // namespace internal

/// Scratch memory that ComputePersistence can reuse from call to call. Optional: without one,
/// each call allocates its own. With many small matrices (one per head and sentence) the
/// allocations cost more than the computation — at n = 64 a profile of point clouds spent ~40 %
/// of the time in the kernel, mapping and unmapping the pages of ~200 KiB of buffers per call —
/// so a caller computing many diagrams keeps one workspace per thread. It holds no result: the
/// output never depends on what a workspace was used for before. Not shareable between threads.
class PersistenceWorkspace {
 public:
  PersistenceWorkspace();
  ~PersistenceWorkspace();
  PersistenceWorkspace(PersistenceWorkspace&&) noexcept;
  PersistenceWorkspace& operator=(PersistenceWorkspace&&) noexcept;
  internal::Workspace& buffers() { return *buffers_; }

 private:
  std::unique_ptr<internal::Workspace> buffers_;
};

/// Persistent homology (Z/2 coefficients) of the Vietoris–Rips filtration of `distances`.
/// Errors: InvalidArgument for a non-square matrix, a NaN/±∞ or negative distance (with counts),
/// a bad max_dim or a NaN threshold; ResourceExhausted for n > options.max_points.
/// `workspace` (optional, see PersistenceWorkspace) only changes speed, never the result.
StatusOr<PersistenceResult> ComputePersistence(const DistanceMatrixView& distances,
                                               const PersistenceOptions& options,
                                               PersistenceWorkspace* workspace = nullptr);

}  // namespace sinkscope::analyzers::topology
