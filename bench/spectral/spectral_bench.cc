// sinkscope-bench-spectral: eigenvalues of many small symmetric Laplacians (one per layer × head
// of a model: L·H = 28·24 = 672 for Llama-3.2-3B) and the whole spectral analyzer per layer.
//
//   sinkscope-bench-spectral [--sizes 32,48,64,128] [--matrices 672] [--heads 24] [--repeat 3]
//                            [--threads 1]
//
// For each n and dtype (float32, float64) it times, in the same run and on the same random
// Laplacians L = D − W (W symmetric, uniform [0, 1), zero diagonal):
//   batched  one at::linalg_eigvalsh call on [K, n, n]   (what the analyzer uses)
//   loop     at::linalg_eigvalsh on each [n, n] slice     (the baseline)
//   eigen    Eigen::SelfAdjointEigenSolver (eigenvalues only) on each matrix
// and reports matrices per second (best of --repeat). Then ComputeSpectral (CORRECTED, heads+mean,
// 7 thresholds) and ComputePaperSpectral (laplacian.ipynb, head mean, float16) on one layer of
// random causal softmax attention [heads, n, n], with each eigensolver: layers per second. Output:
// a Markdown table on stdout.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <Eigen/Eigenvalues>

#include "analyzers/spectral/batched_eigenvalues.h"
#include "analyzers/spectral/paper_spectral.h"
#include "analyzers/spectral/spectral.h"

namespace {

using namespace sinkscope::analyzers;
using Clock = std::chrono::steady_clock;

/// Best wall time of `repeat` runs of fn, in seconds.
double Best(int repeat, const std::function<void()>& fn) {
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

template <typename Scalar>
double EigenChecksum(const at::Tensor& laplacians) {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t k = laplacians.size(0), n = laplacians.size(1);
  const Scalar* data = laplacians.data_ptr<Scalar>();
  double checksum = 0;
  Eigen::SelfAdjointEigenSolver<Matrix> solver(n);
  for (int64_t i = 0; i < k; ++i) {
    Eigen::Map<const Matrix> m(data + i * n * n, n, n);
    solver.compute(m, Eigen::EigenvaluesOnly);
    checksum += static_cast<double>(solver.eigenvalues()(1));
  }
  return checksum;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sinkscope spectral benchmark: batched Laplacian eigenvalues and the analyzer"};
  std::vector<int64_t> sizes = {32, 48, 64, 128};
  int64_t matrices = 672;
  int64_t heads = 24;
  int repeat = 3;
  int threads = 1;
  app.add_option("--sizes", sizes, "matrix sizes n")->delimiter(',');
  app.add_option("--matrices", matrices, "Laplacians per batch (layers × heads)");
  app.add_option("--heads", heads, "heads of the per-layer analyzer input");
  app.add_option("--repeat", repeat, "runs per measurement (best kept)");
  app.add_option("--threads", threads, "libtorch intra-op threads");
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);
  at::manual_seed(0);

  std::printf("threads %d, K = %lld matrices, best of %d\n\n", threads,
              static_cast<long long>(matrices), repeat);
  std::printf(
      "| n | dtype | batched eigvalsh (mat/s) | per-matrix eigvalsh loop (mat/s) | "
      "Eigen per matrix (mat/s) | batched / loop |\n|---|---|---|---|---|---|\n");
  for (int64_t n : sizes) {
    at::Tensor w = at::rand({matrices, n, n}, at::kDouble);
    w = (w + w.transpose(1, 2)) * 0.5;
    w = w * (1 - at::eye(n, at::kDouble));
    const at::Tensor l64 = spectral::CombinatorialLaplacians(w).contiguous();
    for (auto dtype : {at::kFloat, at::kDouble}) {
      const at::Tensor l = l64.to(dtype).contiguous();
      const double batched = Best(repeat, [&] {
        auto ev = spectral::BatchedSymmetricEigenvalues(l);
        if (!ev.ok()) std::abort();
      });
      const double loop = Best(repeat, [&] {
        for (int64_t i = 0; i < matrices; ++i) (void)at::linalg_eigvalsh(l[i]);
      });
      volatile double sink = 0;
      const double eigen = Best(repeat, [&] {
        sink = dtype == at::kFloat ? EigenChecksum<float>(l) : EigenChecksum<double>(l);
      });
      const double k = static_cast<double>(matrices);
      std::printf("| %lld | %s | %.0f | %.0f | %.0f | %.2f |\n", static_cast<long long>(n),
                  dtype == at::kFloat ? "float32" : "float64", k / batched, k / loop, k / eigen,
                  loop / batched);
      std::fflush(stdout);
    }
  }

  std::printf(
      "\n| n | ComputeSpectral, corrected, heads+mean = %lld matrices × 7 τ (layers/s), "
      "libtorch / eigen | ComputePaperSpectral, laplacian, head mean (layers/s), libtorch / "
      "eigen |\n|---|---|---|\n",
      static_cast<long long>(heads + 1));
  for (int64_t n : sizes) {
    at::Tensor logits = at::randn({heads, n, n}) * 3;
    logits = logits + at::full({n, n}, -1e9).triu(1);  // causal
    const at::Tensor attention = at::softmax(logits, -1);
    double corrected[2], paper[2];
    for (int s = 0; s < 2; ++s) {
      spectral::SpectralOptions c;
      spectral::PaperSpectralOptions p;
      c.eigen_solver = p.eigen_solver = s == 0 ? spectral::SymmetricEigenSolver::kLibtorch
                                               : spectral::SymmetricEigenSolver::kEigen;
      corrected[s] = Best(repeat, [&] {
        if (!spectral::ComputeSpectral(attention, c).ok()) std::abort();
      });
      paper[s] = Best(repeat, [&] {
        if (!spectral::ComputePaperSpectral(attention, p).ok()) std::abort();
      });
    }
    std::printf("| %lld | %.2f / %.2f | %.1f / %.1f |\n", static_cast<long long>(n),
                1 / corrected[0], 1 / corrected[1], 1 / paper[0], 1 / paper[1]);
    std::fflush(stdout);
  }
  return 0;
}
