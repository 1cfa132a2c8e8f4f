#include "models/capture.h"

#include <algorithm>

namespace sinkscope::models {

namespace {
constexpr std::string_view kNames[kNumCapturePoints] = {
    "attention", "scores",    "q",          "k",      "v",       "attn_heads",
    "attn_out",  "hidden_in", "hidden_out", "mlp_in", "mlp_out", "mlp_in_grad"};
}  // namespace

std::string_view CapturePointName(CapturePoint point) {
  return kNames[static_cast<int>(point)];
}

StatusOr<std::vector<CapturePoint>> ParseCapturePoints(std::string_view name) {
  using P = CapturePoint;
  if (name == "qkv") return std::vector<P>{P::kQ, P::kK, P::kV};
  if (name == "hidden") return std::vector<P>{P::kHiddenIn, P::kHiddenOut};
  if (name == "mlp") return std::vector<P>{P::kMlpIn, P::kMlpOut};
  if (name == "attn") return std::vector<P>{P::kAttnHeads, P::kAttnOut};
  if (name == "all") {
    std::vector<P> all;
    for (int i = 0; i < kNumCapturePoints; ++i) {
      if (static_cast<P>(i) != P::kMlpInGrad) all.push_back(static_cast<P>(i));
    }
    return all;
  }
  for (int i = 0; i < kNumCapturePoints; ++i) {
    if (kNames[i] == name) return std::vector<P>{static_cast<P>(i)};
  }
  std::string valid;
  for (auto n : kNames) valid += std::string(n) + ", ";
  return InvalidArgumentError("unknown capture '{}'; valid: {}qkv, hidden, mlp, attn, all", name,
                              valid);
}

bool CaptureOptions::WantsLayer(int layer) const {
  return layers.empty() || std::find(layers.begin(), layers.end(), layer) != layers.end();
}

}  // namespace sinkscope::models
