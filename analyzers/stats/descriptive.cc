#include "analyzers/stats/descriptive.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>

namespace sinkscope::analyzers::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool HasNaN(std::span<const double> values) {
  return std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); });
}

}  // namespace

double Mean(std::span<const double> values) {
  if (values.empty()) return kNaN;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double NanMean(std::span<const double> values) {
  double sum = 0;
  int64_t count = 0;
  for (double v : values) {
    if (std::isnan(v)) continue;
    sum += v;
    ++count;
  }
  return count > 0 ? sum / static_cast<double>(count) : kNaN;
}

double Variance(std::span<const double> values, int ddof) {
  const auto m = static_cast<int64_t>(values.size());
  if (m <= ddof) return kNaN;
  const double mean = Mean(values);
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return ss / static_cast<double>(m - ddof);
}

double Quantile(std::span<const double> values, double q) {
  if (values.empty() || HasNaN(values) || !(q >= 0 && q <= 1)) return kNaN;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  // numpy's lerp: a + (b − a)·t, with the symmetric form for t ≥ 0.5 so that t = 1 gives b.
  const double a = sorted[lo];
  const double b = sorted[hi];
  if (frac == 0) return a;
  return frac >= 0.5 ? b - (b - a) * (1 - frac) : a + (b - a) * frac;
}

namespace {

/// AscendingOrder of NaN-free values by an LSD radix sort of their order-preserving 64-bit keys
/// (sign bit set for positives, all bits flipped for negatives; −0 keyed as +0), one byte per
/// pass, skipping a byte that every key shares. Stable, so ties keep index order: exactly the
/// order of sorting (value, index) pairs. Measured on the value family (two samples of 1,128
/// correlation pairs per layer): ComputeAttentionValue 0.67 → 0.58 ms per layer against
/// std::sort of the pairs, which remains for short samples.
std::vector<size_t> RadixAscendingOrder(std::span<const double> values) {
  const size_t m = values.size();
  std::vector<uint64_t> key(m), key_next(m);
  std::vector<uint32_t> index(m), index_next(m);
  std::array<std::array<uint32_t, 256>, 8> count{};
  for (size_t k = 0; k < m; ++k) {
    const uint64_t bits = std::bit_cast<uint64_t>(values[k] + 0.0);
    const uint64_t u = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
    key[k] = u;
    index[k] = static_cast<uint32_t>(k);
    for (int b = 0; b < 8; ++b) ++count[b][(u >> (8 * b)) & 0xff];
  }
  for (int b = 0; b < 8; ++b) {
    const int shift = 8 * b;
    if (count[b][(key[0] >> shift) & 0xff] == m) continue;  // one bucket: nothing moves
    uint32_t start = 0;
    for (uint32_t& c : count[b]) {
      const uint32_t next = start + c;
      c = start;
      start = next;
    }
    for (size_t k = 0; k < m; ++k) {
      const uint32_t slot = count[b][(key[k] >> shift) & 0xff]++;
      key_next[slot] = key[k];
      index_next[slot] = index[k];
    }
    key.swap(key_next);
    index.swap(index_next);
  }
  return std::vector<size_t>(index.begin(), index.end());
}

}  // namespace

std::vector<size_t> AscendingOrder(std::span<const double> values) {
  const size_t m = values.size();
  if (m >= 256 && m < (size_t{1} << 32) && !HasNaN(values)) return RadixAscendingOrder(values);
  // (value, index) pairs sorted in place (cache-friendly); without NaN the same order as sorting
  // indices by value.
  std::vector<std::pair<double, size_t>> keyed(m);
  for (size_t k = 0; k < m; ++k) keyed[k] = {values[k], k};
  std::sort(keyed.begin(), keyed.end());
  std::vector<size_t> order(m);
  for (size_t k = 0; k < m; ++k) order[k] = keyed[k].second;
  return order;
}

std::vector<double> AverageRanksInOrder(std::span<const double> values,
                                        std::span<const size_t> order) {
  const size_t m = values.size();
  std::vector<double> ranks(m);
  size_t i = 0;
  while (i < m) {
    size_t j = i;
    while (j + 1 < m && values[order[j + 1]] == values[order[i]]) ++j;
    // Positions i..j (0-based) share the ranks i+1..j+1: their mean is (i + j)/2 + 1.
    const double rank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

std::vector<double> AverageRanks(std::span<const double> values) {
  if (!HasNaN(values)) return AverageRanksInOrder(values, AscendingOrder(values));
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  return AverageRanksInOrder(values, order);
}

StatusOr<Summary> Summarize(std::span<const double> values, int ddof) {
  if (ddof < 0) return InvalidArgumentError("ddof must be ≥ 0, got {}", ddof);
  if (static_cast<int64_t>(values.size()) <= ddof) {
    return InvalidArgumentError("a summary with ddof = {} needs more than {} values, got {}", ddof,
                                ddof, values.size());
  }
  Summary s;
  s.count = static_cast<int64_t>(values.size());
  s.ddof = ddof;
  for (double v : values) {
    if (std::isnan(v)) ++s.num_nan;
    if (std::isinf(v)) ++s.num_infinite;
  }
  if (s.num_nan > 0) {
    s.mean = s.std = s.min = s.max = s.median = kNaN;
    return s;
  }
  s.mean = Mean(values);
  s.std = std::sqrt(Variance(values, ddof));
  auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  s.min = *lo;
  s.max = *hi;
  s.median = Quantile(values, 0.5);
  return s;
}

}  // namespace sinkscope::analyzers::stats
