#include "models/blocks/rotary.h"

#include <cmath>

namespace sinkscope::models::blocks {

StatusOr<RopeConfig> ParseRopeScaling(const nlohmann::json& rope_scaling, int64_t rotary_dim,
                                      double theta) {
  RopeConfig c;
  c.rotary_dim = rotary_dim;
  c.theta = theta;
  if (rotary_dim <= 0 || rotary_dim % 2 != 0) {
    return InvalidArgumentError("rotary dimension must be positive and even, got {}", rotary_dim);
  }
  if (!(theta > 0.0)) return InvalidArgumentError("'rope_theta' must be positive, got {}", theta);
  if (rope_scaling.is_null()) return c;
  if (!rope_scaling.is_object()) {
    return InvalidArgumentError("'rope_scaling' must be an object or null, got {}",
                                rope_scaling.dump());
  }
  auto get_number = [&](const char* key, double fallback) -> StatusOr<double> {
    auto it = rope_scaling.find(key);
    if (it == rope_scaling.end() || it->is_null()) return fallback;
    if (!it->is_number() || !std::isfinite(it->get<double>())) {
      return InvalidArgumentError("'rope_scaling.{}' must be a finite number, got {}", key,
                                  it->dump());
    }
    return it->get<double>();
  };
  std::string type = "default";
  for (const char* key : {"rope_type", "type"}) {
    auto it = rope_scaling.find(key);
    if (it != rope_scaling.end() && it->is_string()) {
      type = it->get<std::string>();
      break;
    }
  }
  c.type = type;
  if (type == "default") return c;
  ASSIGN_OR_RETURN(c.factor, get_number("factor", 1.0));
  if (!(c.factor >= 1.0)) {
    return InvalidArgumentError("'rope_scaling.factor' must be >= 1, got {}", c.factor);
  }
  if (type == "linear") return c;
  if (type == "llama3") {
    ASSIGN_OR_RETURN(c.low_freq_factor, get_number("low_freq_factor", -1.0));
    ASSIGN_OR_RETURN(c.high_freq_factor, get_number("high_freq_factor", -1.0));
    ASSIGN_OR_RETURN(double original, get_number("original_max_position_embeddings", -1.0));
    if (!(c.low_freq_factor > 0) || !(c.high_freq_factor > c.low_freq_factor) || !(original > 0)) {
      return InvalidArgumentError(
          "'rope_scaling' of type llama3 needs low_freq_factor > 0, high_freq_factor > "
          "low_freq_factor and original_max_position_embeddings > 0, got {}",
          rope_scaling.dump());
    }
    c.original_max_position_embeddings = static_cast<int64_t>(original);
    return c;
  }
  return UnimplementedError(
      "'rope_scaling' type \"{}\" is not supported (supported: default, linear, llama3)", type);
}

RotaryEmbedding::RotaryEmbedding(const RopeConfig& config) : config_(config) {
  // transformers _compute_default_rope_parameters: 1 / base^(arange(0, dim, 2) / dim), float32.
  const int64_t dim = config.rotary_dim;
  at::Tensor exponents = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  at::Tensor inv_freq = 1.0 / at::pow(config.theta, exponents);
  if (config.type == "linear") {
    inv_freq = inv_freq / config.factor;
  } else if (config.type == "llama3") {
    // transformers _compute_llama3_parameters: long wavelengths are divided by `factor`, short
    // ones kept, and the band between interpolated smoothly.
    const double old_context = static_cast<double>(config.original_max_position_embeddings);
    const double low_freq_wavelen = old_context / config.low_freq_factor;
    const double high_freq_wavelen = old_context / config.high_freq_factor;
    at::Tensor wavelen = 2.0 * M_PI / inv_freq;
    at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / config.factor, inv_freq);
    at::Tensor smooth = (old_context / wavelen - config.low_freq_factor) /
                        (config.high_freq_factor - config.low_freq_factor);
    at::Tensor smoothed = (1 - smooth) * scaled / config.factor + smooth * scaled;
    at::Tensor is_medium = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen);
    inv_freq = at::where(is_medium, smoothed, scaled);
  }
  inv_freq_ = inv_freq.contiguous();
}

CosSin RotaryEmbedding::Compute(const at::Tensor& position_ids, at::ScalarType dtype) const {
  at::Tensor inv = inv_freq_.to(position_ids.device());
  // [B,T,1] * [F] → [B,T,F]; one product per entry, identical to HF's batched matmul.
  at::Tensor freqs = position_ids.to(at::kFloat).unsqueeze(-1) * inv;
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  return CosSin{emb.cos().to(dtype).unsqueeze(1), emb.sin().to(dtype).unsqueeze(1)};
}

namespace {
at::Tensor RotateHalf(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}
}  // namespace

at::Tensor RotaryEmbedding::Apply(const at::Tensor& x, const CosSin& cs) const {
  const int64_t rot = config_.rotary_dim;
  if (rot == x.size(-1)) return x * cs.cos + RotateHalf(x) * cs.sin;
  at::Tensor x_rot = x.narrow(-1, 0, rot);
  at::Tensor x_pass = x.narrow(-1, rot, x.size(-1) - rot);
  return at::cat({x_rot * cs.cos + RotateHalf(x_rot) * cs.sin, x_pass}, -1);
}

}  // namespace sinkscope::models::blocks
