// Capture points and interventions: the runtime's whole interface to analysis code.
//
// Every architecture routes each capturable intermediate tensor through one LayerRecorder with a
// name from the single set below (llama.cpp's named-callback idea), so analyzers and the server
// never depend on a particular architecture. The runtime knows nothing about metrics.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/status.h"

namespace sinkscope::models {

/// Named capture points. Shapes are per batch: B sentences, T query positions, S key positions
/// (S = T), H query heads, KV key/value heads, hd head dim, D hidden size. All float32.
enum class CapturePoint : int {
  kAttention = 0,  ///< [B,H,T,S] post-mask, post-softmax probabilities (after interventions)
  kScores,         ///< [B,H,T,S] pre-softmax logits: scaled q·k with masked keys at finfo.min
  kQ,              ///< [B,H,T,hd] queries after rotary embedding
  kK,              ///< [B,KV,S,hd] keys after rotary embedding, before GQA repetition
  kV,              ///< [B,KV,S,hd] values
  kAttnHeads,      ///< [B,H,T,hd] per-head attention output (probabilities @ values)
  kAttnOut,        ///< [B,T,D] output projection (o_proj/dense/c_proj) incl. bias, pre-residual
  kHiddenIn,       ///< [B,T,D] residual stream entering the layer
  kHiddenOut,      ///< [B,T,D] residual stream leaving the layer (last layer: before final norm)
  kMlpIn,          ///< [B,T,D] input of the MLP block
  kMlpOut,         ///< [B,T,D] output of the MLP block (after interventions), pre-residual
  /// [B,T,D] ∂‖mlp(x_t)‖₂/∂x_t for each token's MLP input x_t (kMlpIn), the MLP without
  /// interventions. The MLP is position-wise, so one backward of Σ_t ‖mlp(x_t)‖ gives every
  /// token's row. Needs a model loaded with LoadOptions::differentiable (FAILED_PRECONDITION
  /// otherwise); not part of the "all" and "mlp" groups.
  kMlpInGrad,
};
inline constexpr int kNumCapturePoints = 12;

/// Stable lower-case name: "attention", "scores", "q", "k", "v", "attn_heads", "attn_out",
/// "hidden_in", "hidden_out", "mlp_in", "mlp_out", "mlp_in_grad". Used in file names and the API.
std::string_view CapturePointName(CapturePoint point);

/// Parses a name above, or a group: "qkv" (q,k,v), "hidden" (hidden_in,hidden_out),
/// "mlp" (mlp_in,mlp_out), "attn" (attn_heads, attn_out), "all" (every point but mlp_in_grad,
/// which needs a differentiable model). INVALID_ARGUMENT lists valid
/// names.
StatusOr<std::vector<CapturePoint>> ParseCapturePoints(std::string_view name);

/// Which tensors to capture, and at which layers.
struct CaptureOptions {
  std::array<bool, kNumCapturePoints> points{};  ///< all false: capture nothing
  std::vector<int> layers;                       ///< empty: every layer

  void Enable(CapturePoint p) { points[static_cast<int>(p)] = true; }
  bool Wants(CapturePoint p) const { return points[static_cast<int>(p)]; }
  bool WantsLayer(int layer) const;
};

/// The captured tensors of one layer, for the whole batch. Undefined tensors were not requested.
struct LayerCapture {
  int layer = 0;
  std::array<at::Tensor, kNumCapturePoints> tensors;

  const at::Tensor& Get(CapturePoint p) const { return tensors[static_cast<int>(p)]; }
  bool Has(CapturePoint p) const { return tensors[static_cast<int>(p)].defined(); }
};

/// Receives each layer's capture as soon as the layer is done; a non-OK status stops the forward
/// at the next layer boundary and is returned (this is how cancellation reaches the runtime).
using LayerVisitor = std::function<Status(const LayerCapture&)>;

/// Remove or rescale attention to chosen key columns: P[h,:,c] *= scale for c in columns, then
/// every row of the chosen heads is renormalized over its keys (a row left with zero mass stays
/// all zeros). The forward continues with the modified probabilities.
struct AttentionKeyIntervention {
  std::vector<int> layers;       ///< must be non-empty
  std::vector<int> heads;        ///< query heads; empty means every head
  std::vector<int64_t> columns;  ///< key positions within each sentence (0 = first token)
  double scale = 0.0;            ///< 0 removes the columns; must be finite and >= 0
};

/// Change the MLP block output at chosen tokens before it joins the residual stream.
struct MlpIntervention {
  enum class Kind { kAblateDirection, kScale };
  Kind kind = Kind::kScale;
  std::vector<int> layers;      ///< must be non-empty
  std::vector<int64_t> tokens;  ///< positions within each sentence
  at::Tensor direction;         ///< [D], kAblateDirection: projected out (normalized here)
  double scale = 1.0;           ///< kScale: multiplies the output; must be finite
};

struct Interventions {
  std::vector<AttentionKeyIntervention> attention;
  std::vector<MlpIntervention> mlp;
  bool empty() const { return attention.empty() && mlp.empty(); }
};

}  // namespace sinkscope::models
