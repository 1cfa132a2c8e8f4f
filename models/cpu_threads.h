// CPU thread configuration for the model runtime.
//
// Debian's libtorch runs its elementwise kernels on an OpenMP pool and its matrix products in
// libblas.so.3, which setup points at OpenBLAS's pthread build; OpenBLAS has its own pool. With
// both pools sized to the core count, their idle threads busy-wait against each other: on the
// 2-core CI machine, MiniLM ran 3x slower at batch 1 than with one of the pools at size 1
// (bench/README.md). So one pool gets the threads: with oneDNN (models/blocks/linear.h) the
// linear layers — nearly all the work — run on libtorch's OpenMP pool, which gets the threads,
// and OpenBLAS runs single-threaded; without oneDNN the matrix products are OpenBLAS's, which
// gets the threads, and libtorch's own pool gets one.
#pragma once

#include <string>

namespace sinkscope::models {

struct CpuThreadConfig {
  int blas_threads = 0;     ///< threads given to OpenBLAS (0: OpenBLAS not found)
  int intraop_threads = 0;  ///< libtorch's at::get_num_threads() afterwards
  std::string ToString() const;
};

/// Uses `threads` cores (≤ 0: all cores) as described above. Call once at startup, before the
/// first forward.
CpuThreadConfig ConfigureCpuThreads(int threads);

}  // namespace sinkscope::models
