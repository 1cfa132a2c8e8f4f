// sinkscope-run: runs a model offline on token ids or texts and writes every captured tensor to
// one .safetensors file that notebooks read with `safetensors`.
//
//   sinkscope-run --model DIR|org/name[@rev] (--ids 1,2,3 | --text "…") [--ids …] [--text …]
//                 [--no-special] [--capture attention,hidden] [--layers 0,5]
//                 [--dtype fp32|bf16|fp16] [--device cpu|cuda] [--out FILE]
//                 [--parameter-gradients GRADS.json [--loss-pad exclude|include] [--pad-id N]]
//                 [interventions: --mlp-ablate-directions FILE | --mlp-scale F, --mlp-layers …,
//                  --mlp-tokens …; --attention-key-columns … --attention-key-layers … (see
//                  run_interventions.h)]
//
// Inputs are every --ids, then every --text, each in the order given. Texts are tokenized with
// the model directory's tokenizer.json (+ tokenizer_config.json), special tokens added unless
// --no-special. Tensor names: with one input, `layers.<l>.<capture>` (e.g. layers.3.attention,
// heads × n × n), `input_ids` and `final_hidden`; for a text also `offsets` ([n,2] byte offsets
// into the text; (0,0) for added special tokens) and `special_positions`; with several inputs the
// same names under `sentences.<i>.`. The texts are in the metadata (`texts`, a JSON array).
// Captures are sliced to each input's real tokens (padding removed). With interventions, the ones
// applied are in the metadata (`interventions`, JSON) and the orthonormalized MLP directions in
// the tensor `interventions.mlp_directions`; they change the captures, not the gradients
// (combining them with --parameter-gradients is a usage error).
//
// --parameter-gradients loads the model differentiable and writes, per input, the gradient of
// Hugging Face's causal-LM loss (labels = input ids) with respect to every parameter, reduced to
// what the empirical Fisher needs (sinkscope-metrics fisher): per parameter (full HF name, numel)
// the squared L2 norm of the fp32 gradient accumulated in double, and fisher.ipynb's fp16
// emulation (‖fp16(g)‖ rounded to fp16 — inf above 65504 — then squared in double). All inputs
// form one right-padded batch (pad id: --pad-id, else config pad_token_id, else 0) and each row
// is run on its own with its padding, as fisher.ipynb does; --loss-pad exclude (default,
// CORRECTED) labels pads −100, include (PAPER) keeps them in the labels. JSON numbers: NaN →
// null, ±∞ → "inf"/"-inf". At least one of --out and --parameter-gradients is required.
//
// Errors go to stderr with exit status 1 (2 for bad command-line usage).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/int_list.h"
#include "core/status.h"
#include "models/cli/run_interventions.h"
#include "models/cpu_threads.h"
#include "models/formats/checkpoint.h"
#include "models/model.h"
#include "models/tokenizer/tokenizer.h"

namespace sinkscope {
namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> ids;
  std::vector<std::string> texts;
  bool no_special = false;
  std::string capture = "attention";
  std::string layers;
  std::string dtype = "fp32";
  std::string device = "cpu";
  std::string out;
  std::string hub_cache;
  int batch_size = 16;
  int threads = 0;
  std::string parameter_gradients;  ///< output JSON; empty: no gradients
  std::string loss_pad = "exclude";
  int64_t pad_id = -1;  ///< -1: the model's pad_token_id
};

nlohmann::json Number(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

// Per input: the loss and every parameter's squared gradient norms (see the header comment).
Status WriteParameterGradients(const RunArgs& args, models::Model& model,
                               const std::vector<std::vector<int64_t>>& inputs) {
  const models::ModelInfo& info = model.info();
  models::LossOptions loss;
  if (args.loss_pad == "include") {
    loss.padding = models::LossPadding::kInclude;
  } else if (args.loss_pad != "exclude") {
    return InvalidArgumentError("--loss-pad '{}': use exclude or include", args.loss_pad);
  }
  const int64_t pad = args.pad_id >= 0 ? args.pad_id : info.pad_token_id;
  if (pad < 0 || pad >= info.vocab_size) {
    return InvalidArgumentError("pad id {} is outside the vocabulary [0, {})", pad,
                                info.vocab_size);
  }
  const models::Batch batch = models::MakeBatch(inputs, models::PaddingSide::kRight, pad);
  nlohmann::json params = nlohmann::json::array();
  nlohmann::json sentences = nlohmann::json::array();
  for (size_t k = 0; k < inputs.size(); ++k) {
    nlohmann::json sq = nlohmann::json::array(), fp16 = nlohmann::json::array();
    size_t index = 0;
    auto result = model.ParameterGradients(
        models::BatchRow(batch, static_cast<int64_t>(k)), loss,
        [&](const std::string& name, const at::Tensor& grad) -> Status {
          if (k == 0) {
            params.push_back({{"name", name}, {"numel", grad.numel()}});
          } else if (index >= params.size() || params[index]["name"] != name) {
            return InternalError("parameter order changed between inputs at '{}'", name);
          }
          ++index;
          sq.push_back(Number(grad.to(at::kDouble).pow(2).sum().item<double>()));
          // torch's norm of an fp16 tensor: fp32 accumulation of the fp16 values, result in fp16.
          const double n16 =
              grad.to(at::kHalf).to(at::kFloat).norm().to(at::kHalf).to(at::kDouble).item<double>();
          fp16.push_back(Number(n16 * n16));
          return OkStatus();
        });
    if (!result.ok()) return result.status().WithContext(fmt::format("input {}", k));
    sentences.push_back({{"input_ids", inputs[k]},
                         {"loss", Number(result->loss)},
                         {"num_labels", result->num_labels},
                         {"squared_norms", std::move(sq)},
                         {"fp16_squared_norms", std::move(fp16)}});
    spdlog::info("input {}: loss {:.6f} over {} labels", k, result->loss, result->num_labels);
  }
  nlohmann::json doc = {
      {"producer", "sinkscope-run"},
      {"kind", "parameter_gradients"},
      {"quantity",
       "per-input squared L2 norms of the gradients of the causal-LM loss (labels = input ids) "
       "with respect to each parameter: the diagonal-block traces of the empirical Fisher"},
      {"model", args.model},
      {"model_type", info.model_type},
      {"model_path", info.directory},
      {"dtype", args.dtype},
      {"loss_padding", args.loss_pad},
      {"pad_token_id", pad},
      {"padded_length", batch.input_ids.size(1)},
      {"parameters", std::move(params)},
      {"sentences", std::move(sentences)}};
  if (!info.revision.empty()) doc["model_revision"] = info.revision;
  std::ofstream out(args.parameter_gradients);
  out << doc.dump() << "\n";
  out.close();
  if (!out) return InternalError("cannot write '{}'", args.parameter_gradients);
  spdlog::info("wrote gradient norms of {} inputs to {}", inputs.size(), args.parameter_gradients);
  return OkStatus();
}

StatusOr<models::ForwardOptions> ParseCapture(const RunArgs& args) {
  models::ForwardOptions options;
  size_t pos = 0;
  while (true) {
    size_t comma = args.capture.find(',', pos);
    std::string name =
        args.capture.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    ASSIGN_OR_RETURN(auto points, models::ParseCapturePoints(name));
    for (auto p : points) options.capture.Enable(p);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (!args.layers.empty()) {
    auto parsed = ParseIntList(args.layers);
    if (!parsed.ok()) return parsed.status().WithContext("--layers");
    const std::vector<int64_t>& layers = *parsed;
    for (int64_t l : layers) options.capture.layers.push_back(static_cast<int>(l));
  }
  return options;
}

// The part of a captured [B,…] tensor that belongs to sentence `b` (padding removed).
at::Tensor SliceSentence(models::CapturePoint point, const at::Tensor& t, int64_t b, int64_t offset,
                         int64_t n) {
  using P = models::CapturePoint;
  at::Tensor x = t[b];
  switch (point) {
    case P::kAttention:
    case P::kScores:
      return x.narrow(1, offset, n).narrow(2, offset, n).contiguous();
    case P::kQ:
    case P::kK:
    case P::kV:
    case P::kAttnHeads:
      return x.narrow(1, offset, n).contiguous();
    default:
      return x.narrow(0, offset, n).contiguous();
  }
}

Status Run(const RunArgs& args, const run_cli::InterventionArgs& intervention_args) {
  spdlog::info("threads: {}", models::ConfigureCpuThreads(args.threads).ToString());
  if (args.batch_size <= 0) return InvalidArgumentError("--batch-size must be positive");
  std::vector<std::vector<int64_t>> inputs;
  for (const auto& text : args.ids) {
    auto ids = ParseIntList(text);
    if (!ids.ok()) return ids.status().WithContext("--ids");
    inputs.push_back(std::move(ids).value());
  }
  if (inputs.empty() && args.texts.empty()) {
    return InvalidArgumentError("no input: give --ids or --text at least once");
  }
  ASSIGN_OR_RETURN(models::ForwardOptions options, ParseCapture(args));
  if (args.out.empty() && args.parameter_gradients.empty()) {
    return InvalidArgumentError("nothing to write: give --out, --parameter-gradients, or both");
  }

  models::LoadOptions load;
  // Gradients need weights autograd can see: --parameter-gradients, or the mlp_in_grad capture.
  load.differentiable =
      !args.parameter_gradients.empty() || options.capture.Wants(models::CapturePoint::kMlpInGrad);
  if (args.dtype == "fp32") {
    load.dtype = c10::kFloat;
  } else if (args.dtype == "bf16") {
    load.dtype = c10::kBFloat16;
  } else if (args.dtype == "fp16") {
    load.dtype = c10::kHalf;
  } else {
    return InvalidArgumentError("--dtype '{}': use fp32, bf16 or fp16", args.dtype);
  }
  if (args.device == "cuda") {
    load.device = c10::Device(c10::kCUDA, 0);
  } else if (args.device != "cpu") {
    return InvalidArgumentError("--device '{}': use cpu or cuda", args.device);
  }
  ASSIGN_OR_RETURN(auto model, models::LoadModel(args.model, load, args.hub_cache));
  const models::ModelInfo& info = model->info();
  for (const auto& w : info.load_warnings) spdlog::warn("{}", w);
  spdlog::info("loaded {} ({} layers, {} heads) on {}", info.model_type, info.num_layers,
               info.num_heads, info.device.str());
  // --- interventions (run_interventions.h) ---
  ASSIGN_OR_RETURN(run_cli::ResolvedInterventions interventions,
                   run_cli::BuildInterventions(intervention_args, info.hidden_size));
  options.interventions = interventions.interventions;
  // --- end interventions ---

  // Texts: tokenized with the model's own tokenizer; kept with their offsets for the output.
  const size_t first_text = inputs.size();
  std::vector<tokenizer::Encoding> encodings;
  if (!args.texts.empty()) {
    auto tok = tokenizer::Tokenizer::FromDirectory(info.directory);
    if (!tok.ok()) return tok.status().WithContext("--text needs the model's tokenizer");
    for (size_t i = 0; i < args.texts.size(); ++i) {
      auto encoding = tok->Encode(args.texts[i], /*add_special_tokens=*/!args.no_special);
      if (!encoding.ok()) return encoding.status().WithContext(fmt::format("--text {}", i));
      if (encoding->ids.empty()) {
        return InvalidArgumentError("--text {}: no tokens (empty text and no special tokens)", i);
      }
      inputs.emplace_back(encoding->ids.begin(), encoding->ids.end());
      encodings.push_back(std::move(encoding).value());
    }
  }

  if (!args.parameter_gradients.empty()) {
    RETURN_IF_ERROR(WriteParameterGradients(args, *model, inputs));
    if (args.out.empty()) return OkStatus();
  }

  const bool single = inputs.size() == 1;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  const auto side = info.causal ? models::PaddingSide::kLeft : models::PaddingSide::kRight;
  for (size_t start = 0; start < inputs.size(); start += args.batch_size) {
    const size_t end = std::min(inputs.size(), start + static_cast<size_t>(args.batch_size));
    std::vector<std::vector<int64_t>> chunk(inputs.begin() + start, inputs.begin() + end);
    models::Batch batch = models::MakeBatch(chunk, side, info.pad_token_id);
    // Per layer, per sentence, per capture: collected, then appended sentence-major below.
    std::vector<std::vector<std::pair<std::string, at::Tensor>>> per_sentence(chunk.size());
    auto result = model->Forward(batch, options, [&](const models::LayerCapture& capture) {
      for (int p = 0; p < models::kNumCapturePoints; ++p) {
        const auto point = static_cast<models::CapturePoint>(p);
        if (!capture.Has(point)) continue;
        for (size_t b = 0; b < chunk.size(); ++b) {
          per_sentence[b].emplace_back(
              fmt::format("layers.{}.{}", capture.layer, models::CapturePointName(point)),
              SliceSentence(point, capture.Get(point), b, batch.offsets[b], batch.lengths[b])
                  .to(at::kCPU));
        }
      }
      return OkStatus();
    });
    if (!result.ok()) return result.status();
    for (size_t b = 0; b < chunk.size(); ++b) {
      const std::string prefix = single ? "" : fmt::format("sentences.{}.", start + b);
      tensors.emplace_back(prefix + "input_ids", at::tensor(chunk[b], at::kLong));
      tensors.emplace_back(prefix + "final_hidden",
                           result->final_hidden[b]
                               .narrow(0, batch.offsets[b], batch.lengths[b])
                               .to(at::kCPU, at::kFloat)
                               .contiguous());
      for (auto& [name, t] : per_sentence[b]) tensors.emplace_back(prefix + name, std::move(t));
      if (start + b >= first_text) {
        const tokenizer::Encoding& e = encodings[start + b - first_text];
        at::Tensor offsets = at::empty({static_cast<int64_t>(e.offsets.size()), 2}, at::kLong);
        for (size_t i = 0; i < e.offsets.size(); ++i) {
          offsets[i][0] = static_cast<int64_t>(e.offsets[i].first);
          offsets[i][1] = static_cast<int64_t>(e.offsets[i].second);
        }
        tensors.emplace_back(prefix + "offsets", offsets);
        std::vector<int64_t> special(e.special_positions.begin(), e.special_positions.end());
        if (!special.empty()) {
          tensors.emplace_back(prefix + "special_positions", at::tensor(special, at::kLong));
        }
      }
    }
  }
  std::map<std::string, std::string> metadata = {{"model", args.model},
                                                 {"model_type", info.model_type},
                                                 {"capture", args.capture},
                                                 {"dtype", args.dtype},
                                                 {"num_inputs", std::to_string(inputs.size())},
                                                 {"producer", "sinkscope-run"}};
  metadata["model_path"] = info.directory;
  if (!args.texts.empty()) metadata["texts"] = nlohmann::json(args.texts).dump();
  if (!info.revision.empty()) metadata["model_revision"] = info.revision;
  // --- interventions (run_interventions.h) ---
  if (!interventions.description.empty()) {
    metadata["interventions"] = interventions.description.dump();
  }
  if (interventions.directions.defined()) {
    tensors.emplace_back("interventions.mlp_directions", interventions.directions);
  }
  // --- end interventions ---
  RETURN_IF_ERROR(formats::WriteSafetensors(args.out, tensors, metadata));
  spdlog::info("wrote {} tensors to {}", tensors.size(), args.out);
  return OkStatus();
}

}  // namespace
}  // namespace sinkscope

int main(int argc, char** argv) {
  sinkscope::RunArgs args;
  CLI::App app{"Run a Hugging Face model on token ids and write captured tensors (safetensors)"};
  app.add_option("--model", args.model, "Model directory, or offline hub id org/name[@revision]")
      ->required();
  app.add_option("--text", args.texts,
                 "Text of one input, tokenized with the model's tokenizer (repeatable)");
  app.add_flag("--no-special", args.no_special, "Do not add special tokens to --text inputs");
  app.add_option("--ids", args.ids, "Comma-separated token ids of one input (repeatable)");
  app.add_option("--capture", args.capture,
                 "Comma-separated captures: attention, scores, q, k, v, attn_heads, attn_out, "
                 "hidden_in, hidden_out, mlp_in, mlp_out, mlp_in_grad (loads the model "
                 "differentiable), or groups qkv, hidden, mlp, attn, all (all but mlp_in_grad)")
      ->capture_default_str();
  app.add_option("--layers", args.layers, "Comma-separated layers to capture (default: all)");
  app.add_option("--dtype", args.dtype, "Weights dtype: fp32, bf16 or fp16")->capture_default_str();
  app.add_option("--device", args.device, "cpu or cuda")->capture_default_str();
  app.add_option("--hub-cache", args.hub_cache,
                 "Hugging Face hub cache dir (default: $HF_HUB_CACHE or $HF_HOME/hub)");
  app.add_option("--batch-size", args.batch_size, "Inputs per forward pass")->capture_default_str();
  app.add_option("--threads", args.threads, "CPU threads (default: all cores)");
  app.add_option("--out", args.out, "Output .safetensors file of the captures");
  app.add_option("--parameter-gradients", args.parameter_gradients,
                 "Output JSON: per input, every parameter's squared gradient norm of the "
                 "causal-LM loss (for sinkscope-metrics fisher); loads the model differentiable");
  app.add_option("--loss-pad", args.loss_pad,
                 "Padding in the loss: exclude (labels -100, CORRECTED) or include (PAPER)")
      ->check(CLI::IsMember({"exclude", "include"}))
      ->capture_default_str();
  app.add_option("--pad-id", args.pad_id,
                 "Pad token id of the gradient batch (default: config pad_token_id, else 0)");
  sinkscope::run_cli::InterventionArgs intervention_args;
  sinkscope::run_cli::AddInterventionOptions(app, intervention_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  sinkscope::Status usage = sinkscope::run_cli::CheckInterventionUsage(intervention_args);
  if (usage.ok() && !args.parameter_gradients.empty() &&
      sinkscope::run_cli::AnyIntervention(intervention_args)) {
    usage = sinkscope::InvalidArgumentError(
        "interventions change the captures, not --parameter-gradients: run them separately");
  }
  if (!usage.ok()) {
    std::fprintf(stderr, "sinkscope-run: %s\nRun with --help for more information.\n",
                 usage.message().c_str());
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("sinkscope-run"));
  sinkscope::Status status = sinkscope::Run(args, intervention_args);
  if (!status.ok()) {
    std::fprintf(stderr, "sinkscope-run: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
