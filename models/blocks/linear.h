// Linear layers prepared once at load: y = x·Wᵀ + b.
//
// On the CPU in float32, when sinkscope is built with oneDNN (Debian's libdnnl-dev; libtorch
// links the same library), the weight is reordered once, at load, into the layout oneDNN's
// matmul prefers, and every product runs as a prebuilt oneDNN primitive. OpenBLAS 0.3.21 (the
// BLAS behind Debian's libtorch) re-packs the weight on every call and reached 50–55 GFLOP/s on
// the 27-row products of a batch-1 MiniLM forward where oneDNN reaches 130–160 (2 cores,
// docs/runtime.md). Other devices and dtypes, and builds without oneDNN, use at::linear.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sinkscope::models::blocks {

/// x @ w.T + b with plain tensors (b may be undefined): for products used once in a while
/// (LM heads), where preparing a copy of the weight is not worth its memory.
at::Tensor LinearOp(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b = {});

/// True when this build can run float32 CPU products through oneDNN.
bool OneDnnAvailable();

/// a [..., M, K] · b [..., K, N] with the same leading (batch) dims → [..., M, N]: attention's
/// q·kᵀ and p·v. On the CPU in float32 with oneDNN, one batched oneDNN matmul (b may be a
//// transposed view; strides are passed through); otherwise at::matmul, which on the CPU runs one
/// BLAS call per matrix (192 calls of 36×32×36 for a MiniLM batch of 16: 1.5 ms vs 0.3 ms).
/// When autograd records (grad mode on and an operand requires grad) it is always at::matmul:
/// oneDNN's product is invisible to autograd.
at::Tensor BatchedMatmul(const at::Tensor& a, const at::Tensor& b);

class Linear {
 public:
  Linear() = default;
  /// `weight` [out,in] and `bias` [out] (or undefined), already on the model's device and in its
  /// compute dtype. Falls back to at::linear whenever oneDNN cannot take the product.
  ///
  /// Differentiable models (LoadOptions::differentiable): when `weight` requires grad it is kept
  /// as given — never prepared for oneDNN — and every product is at::linear, so gradients reach
  /// the tensor the caller owns (the parameter as Hugging Face names it).
  Linear(const at::Tensor& weight, const at::Tensor& bias);
  /// A weight stored [in,out] (GPT-2's Conv1D). Inference: transposed once here. Differentiable:
  /// the [in,out] tensor is kept and transposed (a view) in every product, so its gradient has
  /// the checkpoint's shape.
  static Linear FromInOut(const at::Tensor& weight_in_out, const at::Tensor& bias);
  ~Linear();
  Linear(Linear&&) noexcept;
  Linear& operator=(Linear&&) noexcept;
  Linear(const Linear&) = delete;
  Linear& operator=(const Linear&) = delete;

  /// x [..., in] → [..., out].
  at::Tensor operator()(const at::Tensor& x) const;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  /// Whether products run through the prepared oneDNN primitive.
  bool uses_onednn() const { return onednn_ != nullptr; }

 private:
  struct OneDnn;       // models/blocks/linear.cc
  at::Tensor weight_;  ///< undefined when the prepared oneDNN copy is the only one kept
  at::Tensor bias_;
  bool in_out_ = false;  ///< weight_ is stored [in,out] (differentiable GPT-2 Conv1D only)
  std::unique_ptr<OneDnn> onednn_;
  int64_t in_ = 0, out_ = 0;
};

/// Projections of the same input fused into one matrix product (e.g. q|k|v): the activations
/// are read once instead of once per projection. Built once at load.
class FusedLinear {
 public:
  FusedLinear() = default;
  /// `biases` is empty or has one (possibly undefined = zero) tensor per weight. When the weights
  /// require grad (differentiable models) they are kept apart and concatenated in every product,
  /// so each projection's gradient lands on its own tensor.
  FusedLinear(const std::vector<at::Tensor>& weights, const std::vector<at::Tensor>& biases);
  /// x [..., in] → one tensor per projection [..., out_i] (views of one product).
  std::vector<at::Tensor> operator()(const at::Tensor& x) const { return Split(Joint(x)); }
  /// x [..., in] → the joint product [..., Σ out_i].
  at::Tensor Joint(const at::Tensor& x) const;
  /// The joint product (possibly re-laid out, e.g. unpacked) → one view per projection.
  std::vector<at::Tensor> Split(const at::Tensor& joint) const;

 private:
  Linear linear_;                       ///< inference: the fused copy
  std::vector<at::Tensor> parts_;       ///< differentiable: the separate weights, in order
  std::vector<at::Tensor> bias_parts_;  ///< differentiable: biases (zeros where absent) or empty
  std::vector<int64_t> sizes_;
};

}  // namespace sinkscope::models::blocks
