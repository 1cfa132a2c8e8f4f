#include "models/model.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/ranges.h>

#include "core/torch_call.h"

namespace sinkscope::models {

Batch MakeBatch(const std::vector<std::vector<int64_t>>& sequences, PaddingSide side,
                int64_t pad_token_id) {
  Batch batch;
  batch.side = side;
  const int64_t b = static_cast<int64_t>(sequences.size());
  int64_t t = 0;
  for (const auto& s : sequences) t = std::max<int64_t>(t, static_cast<int64_t>(s.size()));
  batch.input_ids = at::full({b, t}, pad_token_id, at::kLong);
  batch.attention_mask = at::zeros({b, t}, at::kLong);
  auto ids = batch.input_ids.accessor<int64_t, 2>();
  auto mask = batch.attention_mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& s = sequences[i];
    const int64_t n = static_cast<int64_t>(s.size());
    const int64_t offset = side == PaddingSide::kLeft ? t - n : 0;
    for (int64_t j = 0; j < n; ++j) {
      ids[i][offset + j] = s[j];
      mask[i][offset + j] = 1;
    }
    batch.lengths.push_back(n);
    batch.offsets.push_back(offset);
  }
  return batch;
}

Batch BatchRow(const Batch& batch, int64_t row) {
  Batch one;
  one.side = batch.side;
  one.input_ids = batch.input_ids.narrow(0, row, 1).clone();
  one.attention_mask = batch.attention_mask.narrow(0, row, 1).clone();
  if (batch.key_mask.defined()) one.key_mask = batch.key_mask.narrow(0, row, 1).clone();
  one.lengths = {batch.lengths.at(row)};
  one.offsets = {batch.offsets.at(row)};
  return one;
}

Status Model::ValidateBatch(const Batch& batch, const ForwardOptions& options) const {
  if (!batch.input_ids.defined() || batch.input_ids.dim() != 2 || batch.input_ids.size(0) == 0) {
    return InvalidArgumentError("empty input: give at least one sentence of token ids");
  }
  const int64_t b = batch.input_ids.size(0);
  if (static_cast<int64_t>(batch.lengths.size()) != b ||
      static_cast<int64_t>(batch.offsets.size()) != b || !batch.attention_mask.defined() ||
      batch.attention_mask.sizes() != batch.input_ids.sizes()) {
    return InvalidArgumentError("malformed batch: build it with MakeBatch");
  }
  if (batch.key_mask.defined() && batch.key_mask.sizes() != batch.input_ids.sizes()) {
    return InvalidArgumentError("malformed batch: key_mask must have the shape of input_ids");
  }
  int64_t max_len = 0;
  for (int64_t i = 0; i < b; ++i) {
    if (batch.lengths[i] == 0) {
      return InvalidArgumentError("input {} is empty: every input needs at least one token", i);
    }
    max_len = std::max(max_len, batch.lengths[i]);
  }
  if (max_len > info_.max_positions) {
    return InvalidArgumentError(
        "input has {} tokens but this model supports at most {} positions; shorten the input",
        max_len, info_.max_positions);
  }
  at::Tensor ids = batch.input_ids.to(at::kCPU);
  at::Tensor mask = batch.attention_mask.to(at::kCPU).to(at::kBool);
  at::Tensor bad = mask & ((ids < 0) | (ids >= info_.vocab_size));
  if (bad.any().item<bool>()) {
    at::Tensor where = bad.nonzero()[0];
    const int64_t row = where[0].item<int64_t>(), col = where[1].item<int64_t>();
    return InvalidArgumentError(
        "input {} token {}: id {} is outside the vocabulary [0, {}) of this model", row,
        col - batch.offsets[row], ids[row][col].item<int64_t>(), info_.vocab_size);
  }

  auto check_layers = [&](const std::vector<int>& layers, const char* what) -> Status {
    for (int l : layers) {
      if (l < 0 || l >= info_.num_layers) {
        return InvalidArgumentError("{}: layer {} does not exist (the model has layers 0..{})",
                                    what, l, info_.num_layers - 1);
      }
    }
    return OkStatus();
  };
  RETURN_IF_ERROR(check_layers(options.capture.layers, "capture"));
  if (options.capture.Wants(CapturePoint::kMlpInGrad) && !info_.differentiable) {
    return FailedPreconditionError(
        "capture mlp_in_grad needs a model loaded with LoadOptions::differentiable = true "
        "(sinkscope-run sets it when mlp_in_grad is captured)");
  }
  for (const auto& iv : options.interventions.attention) {
    if (iv.layers.empty()) return InvalidArgumentError("attention intervention: no layers given");
    RETURN_IF_ERROR(check_layers(iv.layers, "attention intervention"));
    for (int h : iv.heads) {
      if (h < 0 || h >= info_.num_heads) {
        return InvalidArgumentError(
            "attention intervention: head {} does not exist (the model has heads 0..{})", h,
            info_.num_heads - 1);
      }
    }
    if (iv.columns.empty()) return InvalidArgumentError("attention intervention: no columns given");
    for (int64_t c : iv.columns) {
      if (c < 0 || c >= max_len) {
        return InvalidArgumentError(
            "attention intervention: key column {} is outside the input (longest input has {} "
            "tokens)",
            c, max_len);
      }
    }
    if (!std::isfinite(iv.scale) || iv.scale < 0) {
      return InvalidArgumentError("attention intervention: scale must be finite and >= 0, got {}",
                                  iv.scale);
    }
  }
  for (const auto& iv : options.interventions.mlp) {
    if (iv.layers.empty()) return InvalidArgumentError("MLP intervention: no layers given");
    RETURN_IF_ERROR(check_layers(iv.layers, "MLP intervention"));
    if (iv.tokens.empty()) return InvalidArgumentError("MLP intervention: no tokens given");
    for (int64_t t : iv.tokens) {
      if (t < 0 || t >= max_len) {
        return InvalidArgumentError(
            "MLP intervention: token {} is outside the input (longest input has {} tokens)", t,
            max_len);
      }
    }
    if (iv.kind == MlpIntervention::Kind::kScale && !std::isfinite(iv.scale)) {
      return InvalidArgumentError("MLP intervention: scale must be finite, got {}", iv.scale);
    }
    if (iv.kind == MlpIntervention::Kind::kAblateDirection) {
      if (!iv.direction.defined() || iv.direction.numel() != info_.hidden_size) {
        return InvalidArgumentError("MLP intervention: direction must have {} (hidden size) values",
                                    info_.hidden_size);
      }
      at::Tensor d = iv.direction.to(at::kCPU).to(at::kDouble);
      const double norm = d.norm().item<double>();
      if (!std::isfinite(norm) || norm == 0.0) {
        return InvalidArgumentError("MLP intervention: direction must be finite and non-zero");
      }
    }
  }
  if (options.compute_logits && options.stop_after_captures) {
    return InvalidArgumentError(
        "logits need the whole forward: do not combine compute_logits with stop_after_captures");
  }
  if (options.compute_logits && !info_.has_lm_head) {
    return InvalidArgumentError("logits requested but this {} model has no LM head",
                                info_.model_type);
  }
  return OkStatus();
}

StatusOr<ForwardResult> Model::Forward(const Batch& batch, const ForwardOptions& options,
                                       const LayerVisitor& visitor) {
  RETURN_IF_ERROR(ValidateBatch(batch, options));
  Batch on_device = batch;
  auto moved = TorchCall("moving inputs to the model device", [&] {
    on_device.input_ids = batch.input_ids.to(info_.device);
    on_device.attention_mask = batch.attention_mask.to(info_.device);
    if (batch.key_mask.defined()) on_device.key_mask = batch.key_mask.to(info_.device);
  });
  RETURN_IF_ERROR(moved);
  // Errors inside RunForward come back as Status; exceptions from libtorch are converted here.
  return TorchCall("forward", [&]() -> StatusOr<ForwardResult> {
    at::NoGradGuard no_grad;
    return RunForward(on_device, options, visitor);
  });
}

namespace {

// The batch the loss is computed on, and its labels ([B,T] int64, −100 where not counted).
struct LossInputs {
  Batch batch;
  at::Tensor labels;
};

StatusOr<LossInputs> MakeLossInputs(const Batch& batch, LossPadding padding) {
  LossInputs in;
  in.batch = batch;
  if (padding == LossPadding::kExclude) {
    in.labels = batch.input_ids.masked_fill(batch.attention_mask.to(at::kBool).logical_not(), -100);
    return in;
  }
  // kInclude (fisher.ipynb): every position of the padded row is computed, at HF's positions
  // 0…T−1, and labelled with its id; only attention still skips the pads (key_mask). Exactly what
  // HF does for right padding; with left padding HF's pad queries see no key at all.
  const int64_t b = batch.input_ids.size(0), t = batch.input_ids.size(1);
  for (int64_t i = 0; i < b; ++i) {
    if (batch.offsets[i] != 0) {
      return InvalidArgumentError(
          "a loss that includes padding positions needs right padding (input {} is left-padded)",
          i);
    }
  }
  in.batch.key_mask = batch.attention_mask;
  in.batch.attention_mask = at::ones_like(batch.attention_mask);
  in.batch.lengths.assign(static_cast<size_t>(b), t);
  in.labels = batch.input_ids;
  return in;
}

}  // namespace

StatusOr<LossResult> Model::ParameterGradients(const Batch& batch, const LossOptions& options,
                                               const ParameterVisitor& visitor) {
  if (!info_.causal || !info_.has_lm_head) {
    return UnimplementedError(
        "parameter gradients need a causal language model: this {} model is an encoder and its "
        "masked-LM loss is not implemented; use a causal LM (gpt2, gpt_neox, llama, mistral, "
        "qwen2, gemma, phi)",
        info_.model_type);
  }
  if (!info_.differentiable || parameters_.empty()) {
    return FailedPreconditionError(
        "parameter gradients need a model loaded with LoadOptions::differentiable = true (the "
        "default load repacks weights for inference, which autograd cannot see); reload it with "
        "that option (sinkscope-run sets it for --parameter-gradients)");
  }
  ForwardOptions forward;
  forward.compute_logits = true;
  RETURN_IF_ERROR(ValidateBatch(batch, forward));
  ASSIGN_OR_RETURN(LossInputs in, MakeLossInputs(batch, options.padding));
  if (in.batch.input_ids.size(1) < 2 ||
      !(in.labels.narrow(1, 1, in.batch.input_ids.size(1) - 1) != -100).any().item<bool>()) {
    return InvalidArgumentError(
        "no position to predict: the causal-LM loss needs a sentence of at least two tokens");
  }
  auto moved = TorchCall("moving inputs to the model device", [&] {
    in.batch.input_ids = in.batch.input_ids.to(info_.device);
    in.batch.attention_mask = in.batch.attention_mask.to(info_.device);
    if (in.batch.key_mask.defined()) in.batch.key_mask = in.batch.key_mask.to(info_.device);
    in.labels = in.labels.to(info_.device);
  });
  RETURN_IF_ERROR(moved);
  LossResult out;
  RETURN_IF_ERROR(TorchCall("loss and backward", [&]() -> Status {
    at::AutoGradMode grad(true);
    for (auto& p : parameters_) p.tensor.mutable_grad() = at::Tensor();
    ASSIGN_OR_RETURN(ForwardResult result, RunForward(in.batch, forward, nullptr));
    // transformers ForCausalLMLoss: fp32 logits, position t predicts label t+1, mean
    // cross-entropy over labels ≠ −100 (ignore_index).
    const int64_t t = result.logits.size(1), v = result.logits.size(2);
    at::Tensor logits = result.logits.to(at::kFloat).narrow(1, 0, t - 1).reshape({-1, v});
    at::Tensor labels = in.labels.narrow(1, 1, t - 1).reshape({-1});
    at::Tensor loss = at::nll_loss(at::log_softmax(logits, -1), labels, {}, at::Reduction::Mean,
                                   /*ignore_index=*/-100);
    out.num_labels = (labels != -100).sum().item<int64_t>();
    out.loss = loss.item<double>();
    loss.backward();
    return OkStatus();
  }));
  Status status = OkStatus();
  for (auto& p : parameters_) {
    if (status.ok()) {
      auto grad = TorchCall("reading a gradient", [&] {
        const at::Tensor& g = p.tensor.grad();
        return g.defined() ? g.to(at::kFloat) : at::zeros_like(p.tensor, at::kFloat);
      });
      status = grad.ok() ? visitor(p.name, *grad) : grad.status();
    }
    p.tensor.mutable_grad() = at::Tensor();  // free the memory between calls
  }
  RETURN_IF_ERROR(status);
  return out;
}

}  // namespace sinkscope::models
