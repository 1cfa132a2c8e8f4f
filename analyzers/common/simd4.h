// Four float64 lanes as GCC vector extensions, for the small dense solvers that process four
// matrices at once, one matrix per lane (small_symmetric_eigen.cc, small_singular_values.cc).
// GCC lowers a V4 to one AVX2 register or two SSE2 registers, depending on the target_clones
// variant being compiled.
#pragma once

#include <cstdint>

namespace sinkscope::analyzers::simd4 {

constexpr int kLanes = 4;

// Four doubles, and the lane masks of their comparisons (−1 where true, 0 where false).
using V4 = double __attribute__((vector_size(32)));
using M4 = int64_t __attribute__((vector_size(32)));

// A V4 as a struct, so that std::vector allocates it 32-byte aligned without the attribute being
// dropped from the template argument (-Wignored-attributes). The alignas matters: without -mavx
// GCC gives the vector type itself 16-byte alignment, while the AVX2 clones load it with aligned
// 32-byte moves.
struct alignas(32) Pack {
  V4 v;
};

inline bool AnyLane(const M4& m) {
  return (m[0] | m[1] | m[2] | m[3]) != 0;
}

}  // namespace sinkscope::analyzers::simd4
