// Module-private: H1 of the Vietoris–Rips filtration for at most 64 points, the common case of
// attention maps (one matrix per head and sentence, n = sentence length). Same mathematics as the
// general reduction in persistent_homology.cc (cohomology, reverse filtration order, emergent
// pairs; Bauer 2021 §3–§4), different data structures; see ph_small_rips.cc.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "analyzers/topology/filtration_internal.h"
#include "analyzers/topology/persistent_homology.h"

namespace sinkscope::analyzers::topology::internal {

/// Largest n handled by ReduceH1Small: a vertex neighbourhood is one 64-bit mask.
inline constexpr Vertex kSmallRipsMaxPoints = 64;

/// Reduces the H1 coboundary matrix of `rips` (n ≤ kSmallRipsMaxPoints). `edges`: every edge
/// within the threshold, in filtration order (keys ascending). `columns`: the edges that are not
/// H0 deaths, in reduction order (reverse filtration order). Appends bars of positive length and
/// essential bars to `bars` in reduction order, and counts the emergent pairs.
/// `workspace` holds the buffers, reused from call to call (NewSmallRipsWorkspace).
void ReduceH1Small(const RipsFiltration& rips, std::span<const Edge> edges,
                   const std::vector<DiameterIndex>& columns, SmallRipsWorkspace& workspace,
                   std::vector<PersistenceInterval>& bars, int64_t& num_emergent);

/// A new, empty workspace for ReduceH1Small; free it with SmallRipsWorkspaceDeleter.
SmallRipsWorkspacePtr NewSmallRipsWorkspace();

}  // namespace sinkscope::analyzers::topology::internal
