#include "analyzers/cli/cli_common.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "core/torch_call.h"
#include "models/formats/checkpoint.h"

namespace sinkscope::cli {

using analyzers::io::MatrixFormat;

namespace {

/// "run.safetensors:sentences.0.layers.5.attention" → {file, tensor name}; anything else → {}.
std::optional<std::pair<std::string, std::string>> SplitSafetensorsSpec(const std::string& spec) {
  const std::string marker = ".safetensors:";
  const size_t at = spec.rfind(marker);
  if (at == std::string::npos) return std::nullopt;
  return std::make_pair(spec.substr(0, at + marker.size() - 1), spec.substr(at + marker.size()));
}

/// One tensor of a safetensors file (a sinkscope-run capture), as float32 on the CPU.
StatusOr<at::Tensor> ReadSafetensorsTensor(const std::string& file, const std::string& name) {
  ASSIGN_OR_RETURN(formats::TensorMap tensors, formats::ReadSafetensors(file));
  auto it = tensors.find(name);
  if (it == tensors.end()) {
    std::string example = tensors.empty() ? "(none)" : tensors.begin()->first;
    return NotFoundError("{}: no tensor '{}' (it holds {} tensors, e.g. '{}')", file, name,
                         tensors.size(), example);
  }
  if (!at::isFloatingType(it->second.scalar_type())) {
    return InvalidArgumentError("{}: tensor '{}' is not floating point", file, name);
  }
  return it->second.to(at::kFloat).contiguous().clone();
}

}  // namespace

StatusOr<MatrixFormat> ResolveFormat(const std::string& file, const std::string& format_name) {
  if (!format_name.empty()) return analyzers::io::ParseMatrixFormat(format_name);
  auto ends_with = [&](std::string_view suffix) {
    return file.size() >= suffix.size() &&
           file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".npy")) return MatrixFormat::kNpy;
  if (ends_with(".csv")) return MatrixFormat::kCsv;
  if (ends_with(".ldm") || ends_with(".lower_distance_matrix")) {
    return MatrixFormat::kLowerDistance;
  }
  return MatrixFormat::kDistance;
}

StatusOr<at::Tensor> ReadAttentionFile(const std::string& file, const std::string& format_name) {
  if (auto spec = SplitSafetensorsSpec(file)) {
    ASSIGN_OR_RETURN(at::Tensor t, ReadSafetensorsTensor(spec->first, spec->second));
    if (t.dim() < 2 || t.dim() > 3 || t.size(-1) != t.size(-2)) {
      return InvalidArgumentError("{}: attention must be [n, n] or [H, n, n], got shape {}", file,
                                  c10::str(t.sizes()));
    }
    return t;
  }
  ASSIGN_OR_RETURN(MatrixFormat format, ResolveFormat(file, format_name));
  ASSIGN_OR_RETURN(analyzers::io::Matrix m, analyzers::io::ReadMatrixFile(file, format));
  if (m.rows != m.cols) {
    return InvalidArgumentError("{}: an attention matrix must be square, got {}x{}", file, m.rows,
                                m.cols);
  }
  at::Tensor t = at::from_blob(m.values.data(), {m.depth, m.rows, m.cols}, at::kFloat).clone();
  return m.depth == 1 ? t.squeeze(0) : t;
}

StatusOr<nlohmann::json> ParseOptionsJson(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  std::string body = text;
  std::string source = "--options";
  if (text[0] == '@') {
    std::ifstream in(text.substr(1), std::ios::binary);
    if (!in) return NotFoundError("--options: cannot open '{}'", text.substr(1));
    std::ostringstream ss;
    ss << in.rdbuf();
    body = ss.str();
    source = text.substr(1);
  }
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgumentError("{}: not valid JSON", source);
  if (!parsed.is_object()) {
    return InvalidArgumentError("{}: options must be a JSON object, got {}", source,
                                parsed.type_name());
  }
  return parsed;
}

Status CheckOptionKeys(const nlohmann::json& options, const std::vector<std::string>& known) {
  for (const auto& [key, value] : options.items()) {
    bool found = false;
    for (const auto& k : known) found = found || k == key;
    if (!found) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return InvalidArgumentError("unknown option '{}' (known: {})", key, list);
    }
  }
  return OkStatus();
}

nlohmann::json HeadJson(int head) {
  return head == analyzers::kHeadMean ? nlohmann::json("mean") : nlohmann::json(head);
}

nlohmann::json HealthJson(const analyzers::InputHealth& health) {
  return {{"nan", health.num_nan}, {"posinf", health.num_posinf}, {"neginf", health.num_neginf}};
}

nlohmann::json JsonNumber(double value) {
  if (std::isnan(value)) return nullptr;
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return value;
}

nlohmann::json JsonNumbers(const std::vector<double>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (double v : values) out.push_back(JsonNumber(v));
  return out;
}

StatusOr<at::Tensor> ReadLayerStack(const std::vector<std::string>& files,
                                    const std::string& format_name) {
  // "run.safetensors:sentences.3" (a prefix, not a tensor): every "<prefix>.layers.<l>.attention"
  // of a sinkscope-run capture, in layer order.
  if (files.size() == 1) {
    if (auto spec = SplitSafetensorsSpec(files[0])) {
      ASSIGN_OR_RETURN(formats::TensorMap tensors, formats::ReadSafetensors(spec->first));
      if (tensors.find(spec->second) == tensors.end()) {
        std::vector<at::Tensor> layers;
        for (int64_t l = 0;; ++l) {
          auto it = tensors.find(fmt::format("{}.layers.{}.attention", spec->second, l));
          if (it == tensors.end()) break;
          layers.push_back(it->second.to(at::kFloat).contiguous());
        }
        if (layers.empty()) {
          return NotFoundError("{}: neither a tensor '{}' nor '{}.layers.0.attention'", spec->first,
                               spec->second, spec->second);
        }
        return TorchCall("stacking layers", [&] { return at::stack(layers); });
      }
    }
  }
  std::vector<at::Tensor> layers;
  for (const std::string& file : files) {
    ASSIGN_OR_RETURN(at::Tensor a, ReadAttentionFile(file, format_name));
    if (a.dim() == 2) a = a.unsqueeze(0);
    if (!layers.empty() && a.sizes() != layers[0].sizes()) {
      return InvalidArgumentError("{}: shape {} differs from the first layer's {}", file,
                                  c10::str(a.sizes()), c10::str(layers[0].sizes()));
    }
    layers.push_back(a);
  }
  if (layers.empty()) return InvalidArgumentError("no attention files given");
  return at::stack(layers);
}

StatusOr<at::Tensor> ReadVectorsFile(const std::string& file, const std::string& format_name) {
  if (auto spec = SplitSafetensorsSpec(file))
    return ReadSafetensorsTensor(spec->first, spec->second);
  ASSIGN_OR_RETURN(analyzers::io::MatrixFormat format, ResolveFormat(file, format_name));
  ASSIGN_OR_RETURN(analyzers::io::Matrix m, analyzers::io::ReadMatrixFile(file, format));
  at::Tensor t = at::from_blob(m.values.data(), {m.depth, m.rows, m.cols}, at::kFloat).clone();
  return m.depth == 1 ? t.squeeze(0) : t;
}

void PrintJson(const nlohmann::json& value) {
  std::string text = value.dump();
  std::fputs(text.c_str(), stdout);
  std::fputc('\n', stdout);
}

void Fail(const std::string& command, const Status& status) {
  std::fprintf(stderr, "sinkscope-metrics %s: %s\n", command.c_str(), status.ToString().c_str());
  throw CLI::RuntimeError(1);
}

}  // namespace sinkscope::cli
