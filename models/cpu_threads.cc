#include "models/cpu_threads.h"

#include <dlfcn.h>

#include <algorithm>
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "models/blocks/linear.h"

namespace sinkscope::models {

std::string CpuThreadConfig::ToString() const {
  return blas_threads > 0 ? fmt::format("OpenBLAS {} threads, libtorch intra-op {} thread(s)",
                                        blas_threads, intraop_threads)
                          : fmt::format("libtorch intra-op {} threads", intraop_threads);
}

CpuThreadConfig ConfigureCpuThreads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CpuThreadConfig config;
  // OpenBLAS exports openblas_set_num_threads; it is loaded through libblas.so.3 when selected.
  using SetThreads = void (*)(int);
  auto* set_blas_threads =
      reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (blocks::OneDnnAvailable()) {
    // The linear layers run in oneDNN on libtorch's OpenMP pool; OpenBLAS only gets the small
    // attention products, on the calling thread, so its pool cannot spin against OpenMP's.
    if (set_blas_threads != nullptr) {
      set_blas_threads(1);
      config.blas_threads = 1;
    }
    at::set_num_threads(threads);
  } else if (set_blas_threads != nullptr) {
    set_blas_threads(threads);
    config.blas_threads = threads;
    at::set_num_threads(1);
  } else {
    at::set_num_threads(threads);
  }
  config.intraop_threads = at::get_num_threads();
  return config;
}

}  // namespace sinkscope::models
