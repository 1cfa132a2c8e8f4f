#include "models/blocks/linear.h"

#include <unordered_map>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <spdlog/spdlog.h>

#if SINKSCOPE_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace sinkscope::models::blocks {

at::Tensor LinearOp(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  return at::linear(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt);
}

namespace {

// Autograd is recording through this product: oneDNN must not take it.
[[maybe_unused]] bool Recording(const at::Tensor& a, const at::Tensor& b) {
  return at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
}

}  // namespace

Linear Linear::FromInOut(const at::Tensor& weight_in_out, const at::Tensor& bias) {
  if (!weight_in_out.requires_grad()) return Linear(weight_in_out.t().contiguous(), bias);
  Linear linear;
  linear.weight_ = weight_in_out;
  linear.bias_ = bias;
  linear.in_out_ = true;
  linear.in_ = weight_in_out.size(0);
  linear.out_ = weight_in_out.size(1);
  return linear;
}

#if SINKSCOPE_HAVE_ONEDNN

bool OneDnnAvailable() {
  return true;
}

namespace {

// One CPU engine for the process: an engine is a handle to the library's CPU backend, not a
// resource per model, and creating one per layer would only add start-up time.
const dnnl::engine& CpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);  // NOLINT: process-wide handle
  return engine;
}

}  // namespace

// A matmul primitive for src [M,in] (M given at execution) · weights [in,out] + bias [1,out],
// with the weights reordered once into the primitive's own layout.
struct Linear::OneDnn {
  dnnl::matmul primitive;
  dnnl::memory weights;  ///< owned by oneDNN, in the layout the primitive asked for
  dnnl::memory bias;     ///< views Linear::bias_ (kept alive by the Linear); empty if no bias
  mutable dnnl::stream stream;  ///< used by the one forward that may run on the model at a time
};

Linear::Linear(const at::Tensor& weight, const at::Tensor& bias)
    : weight_(weight), bias_(bias), in_(weight.size(1)), out_(weight.size(0)) {
  if (weight.requires_grad()) return;  // differentiable model: plain at::linear
  const bool float_cpu = weight.device().is_cpu() && weight.scalar_type() == at::kFloat &&
                         (!bias.defined() || bias.scalar_type() == at::kFloat);
  if (!float_cpu) return;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  try {
    const dnnl::engine& engine = CpuEngine();
    const dnnl::memory::dim in = in_, out = out_;
    dnnl::memory::desc src_md({DNNL_RUNTIME_DIM_VAL, in}, dt::f32, tag::ab);
    dnnl::memory::desc weights_md({in, out}, dt::f32, tag::any);
    dnnl::memory::desc dst_md({DNNL_RUNTIME_DIM_VAL, out}, dt::f32, tag::ab);
    dnnl::memory::desc bias_md;
    if (bias_.defined()) {
      bias_ = bias_.contiguous();
      bias_md = dnnl::memory::desc({1, out}, dt::f32, tag::ab);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, weights_md, bias_md, dst_md),
                                    engine);
    auto prepared = std::make_unique<OneDnn>();
    prepared->primitive = dnnl::matmul(pd);
    prepared->weights = dnnl::memory(pd.weights_desc(), engine);
    // W [out,in] row-major is the [in,out] matrix in column-major ("ba") order.
    at::Tensor w = weight.contiguous();
    dnnl::memory user({{in, out}, dt::f32, tag::ba}, engine, w.data_ptr());
    prepared->stream = dnnl::stream(engine);
    dnnl::reorder(user, prepared->weights).execute(prepared->stream, user, prepared->weights);
    prepared->stream.wait();
    if (bias_.defined()) prepared->bias = dnnl::memory(bias_md, engine, bias_.data_ptr());
    onednn_ = std::move(prepared);
    weight_ = at::Tensor();  // the reordered copy is the only one needed
  } catch (const dnnl::error& e) {
    spdlog::debug("oneDNN cannot prepare a {}x{} linear layer ({}); using at::linear", out_, in_,
                  e.what());
    onednn_.reset();
  }
}

at::Tensor BatchedMatmul(const at::Tensor& a, const at::Tensor& b) {
  const bool float_cpu = a.device().is_cpu() && b.device().is_cpu() &&
                         a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat;
  if (!float_cpu || Recording(a, b) || a.dim() < 3 || a.dim() != b.dim() ||
      a.sizes().slice(0, a.dim() - 2) != b.sizes().slice(0, b.dim() - 2) ||
      a.size(-1) != b.size(-2) || a.numel() == 0 || b.numel() == 0) {
    return at::matmul(a, b);
  }
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  at::Tensor a3 = a.reshape({-1, m, k}).contiguous();
  at::Tensor b3 = b.reshape({-1, k, n});  // a view when b is a transposed contiguous tensor
  if (b3.stride(1) != 1 && b3.stride(2) != 1) b3 = b3.contiguous();
  const int64_t batch = a3.size(0);
  std::vector<int64_t> out_shape(a.sizes().begin(), a.sizes().end());
  out_shape.back() = n;
  at::Tensor out = at::empty({batch, m, n}, a.options());
  using dt = dnnl::memory::data_type;
  const dnnl::engine& engine = CpuEngine();
  dnnl::memory::desc a_md({batch, m, k}, dt::f32, dnnl::memory::dims{m * k, k, 1});
  dnnl::memory::desc b_md({batch, k, n}, dt::f32,
                          dnnl::memory::dims{b3.stride(0), b3.stride(1), b3.stride(2)});
  dnnl::memory::desc c_md({batch, m, n}, dt::f32, dnnl::memory::format_tag::abc);
  // Shapes change with every batch; oneDNN's primitive cache makes re-creation cheap.
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), engine);
  dnnl::matmul primitive(pd);
  dnnl::stream stream(engine);
  dnnl::memory a_mem(a_md, engine, a3.data_ptr()), b_mem(b_md, engine, b3.data_ptr()),
      c_mem(c_md, engine, out.data_ptr());
  primitive.execute(stream,
                    {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
  stream.wait();
  return out.view(out_shape);
}

at::Tensor Linear::operator()(const at::Tensor& x) const {
  if (!onednn_ || !x.device().is_cpu() || x.scalar_type() != at::kFloat) {
    return LinearOp(x, in_out_ ? weight_.t() : weight_, bias_);
  }
  TORCH_CHECK(x.size(-1) == in_, "linear layer expects ", in_, " input features, got ", x.size(-1));
  at::Tensor src = x.reshape({-1, in_}).contiguous();
  const int64_t m = src.size(0);
  std::vector<int64_t> out_shape(x.sizes().begin(), x.sizes().end());
  out_shape.back() = out_;
  at::Tensor dst = at::empty({m, out_}, x.options());
  if (m == 0) return dst.view(out_shape);
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::engine& engine = CpuEngine();
  dnnl::memory src_mem({{m, in_}, dt::f32, tag::ab}, engine, src.data_ptr());
  dnnl::memory dst_mem({{m, out_}, dt::f32, tag::ab}, engine, dst.data_ptr());
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, onednn_->weights}, {DNNL_ARG_DST, dst_mem}};
  if (bias_.defined()) args.emplace(DNNL_ARG_BIAS, onednn_->bias);
  onednn_->primitive.execute(onednn_->stream, args);
  onednn_->stream.wait();
  return dst.view(out_shape);
}

#else  // !SINKSCOPE_HAVE_ONEDNN

bool OneDnnAvailable() {
  return false;
}

struct Linear::OneDnn {};

at::Tensor BatchedMatmul(const at::Tensor& a, const at::Tensor& b) {
  return at::matmul(a, b);
}

Linear::Linear(const at::Tensor& weight, const at::Tensor& bias)
    : weight_(weight), bias_(bias), in_(weight.size(1)), out_(weight.size(0)) {}

at::Tensor Linear::operator()(const at::Tensor& x) const {
  return LinearOp(x, in_out_ ? weight_.t() : weight_, bias_);
}

#endif  // SINKSCOPE_HAVE_ONEDNN

Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;

FusedLinear::FusedLinear(const std::vector<at::Tensor>& weights,
                         const std::vector<at::Tensor>& biases) {
  bool any_bias = false;
  for (const auto& b : biases) any_bias = any_bias || b.defined();
  const bool differentiable = !weights.empty() && weights.front().requires_grad();
  std::vector<at::Tensor> bias_parts;
  for (size_t i = 0; i < weights.size(); ++i) {
    sizes_.push_back(weights[i].size(0));
    if (any_bias) {
      const bool has = i < biases.size() && biases[i].defined();
      bias_parts.push_back(has ? biases[i] : at::zeros({weights[i].size(0)}, weights[i].options()));
    }
  }
  if (differentiable) {
    parts_ = weights;
    bias_parts_ = std::move(bias_parts);
    return;
  }
  linear_ = Linear(at::cat(weights), any_bias ? at::cat(bias_parts) : at::Tensor());
}

at::Tensor FusedLinear::Joint(const at::Tensor& x) const {
  if (parts_.empty()) return linear_(x);
  // Differentiable: the concatenation is part of the recorded graph, so each projection's
  // gradient is its own row block of the joint weight's gradient.
  return LinearOp(x, at::cat(parts_), bias_parts_.empty() ? at::Tensor() : at::cat(bias_parts_));
}

std::vector<at::Tensor> FusedLinear::Split(const at::Tensor& joint) const {
  return joint.split_with_sizes(sizes_, -1);
}

}  // namespace sinkscope::models::blocks
