// Post-processor TemplateProcessing (tokenizers/src/processors/template.rs): the "single"
// template is a list of {"SpecialToken": {"id": name}} and {"Sequence": {"id": "A"}} pieces;
// special_tokens maps each name to its ids and tokens. Added tokens get offsets (0, 0) and
// special_tokens_mask 1. Without add_special_tokens the encoding is left as it is.
#include <map>
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/post_processors/special_internal.h"

namespace sinkscope::tokenizer {
namespace {

class TemplatePostProcessor : public PostProcessor {
 public:
  explicit TemplatePostProcessor(std::vector<TemplatePiece> single) : single_(std::move(single)) {}

  Status Process(RawEncoding* encoding, bool add_special_tokens) const override {
    if (!add_special_tokens) return OkStatus();
    ApplyTemplate(single_, encoding);
    return OkStatus();
  }

 private:
  std::vector<TemplatePiece> single_;
};

StatusOr<TemplatePiece> ParsePiece(const json& p,
                                   const std::map<std::string, SpecialTokenIds>& specials) {
  // A piece is either an object or HF's string shorthand ("$A", "$0", "[CLS]", "x:1").
  if (p.is_string()) {
    std::string s = p.get<std::string>();
    const size_t colon = s.rfind(':');
    if (colon != std::string::npos) s = s.substr(0, colon);
    if (!s.empty() && s[0] == '$') return TemplatePiece{true, {}};
    auto it = specials.find(s);
    if (it == specials.end()) return InvalidArgumentError("special token '{}' is not defined", s);
    return TemplatePiece{false, it->second};
  }
  if (!p.is_object()) return InvalidArgumentError("template piece must be an object");
  if (p.contains("Sequence")) return TemplatePiece{true, {}};
  if (p.contains("SpecialToken")) {
    ASSIGN_OR_RETURN(const std::string name, RequireString(p["SpecialToken"], "id"));
    auto it = specials.find(name);
    if (it == specials.end()) {
      return InvalidArgumentError("special token '{}' is not in special_tokens", name);
    }
    return TemplatePiece{false, it->second};
  }
  return InvalidArgumentError("template piece must be 'Sequence' or 'SpecialToken'");
}

}  // namespace

void ApplyTemplate(const std::vector<TemplatePiece>& pieces, RawEncoding* encoding) {
  RawEncoding out;
  for (const TemplatePiece& piece : pieces) {
    if (piece.is_sequence) {
      out.ids.insert(out.ids.end(), encoding->ids.begin(), encoding->ids.end());
      out.tokens.insert(out.tokens.end(), encoding->tokens.begin(), encoding->tokens.end());
      out.offsets.insert(out.offsets.end(), encoding->offsets.begin(), encoding->offsets.end());
      out.special_tokens_mask.insert(out.special_tokens_mask.end(),
                                     encoding->special_tokens_mask.begin(),
                                     encoding->special_tokens_mask.end());
      out.special.insert(out.special.end(), encoding->special.begin(), encoding->special.end());
      continue;
    }
    for (size_t k = 0; k < piece.special.ids.size(); ++k) {
      out.ids.push_back(piece.special.ids[k]);
      out.tokens.push_back(piece.special.tokens[k]);
      out.offsets.emplace_back(0, 0);
      out.special_tokens_mask.push_back(1);
      out.special.push_back(1);
    }
  }
  *encoding = std::move(out);
}

StatusOr<PostProcessorPtr> MakeTemplatePostProcessor(const json& j) {
  std::map<std::string, SpecialTokenIds> specials;
  if (j.contains("special_tokens") && !j["special_tokens"].is_null()) {
    const json& st = j["special_tokens"];
    if (!st.is_object()) return InvalidArgumentError("field 'special_tokens' must be an object");
    for (auto it = st.begin(); it != st.end(); ++it) {
      const json& v = it.value();
      if (!v.is_object() || !v.contains("ids") || !v.contains("tokens") || !v["ids"].is_array() ||
          !v["tokens"].is_array() || v["ids"].size() != v["tokens"].size()) {
        return InvalidArgumentError("special_tokens['{}'] needs equally long 'ids' and 'tokens'",
                                    it.key());
      }
      SpecialTokenIds ids;
      for (size_t k = 0; k < v["ids"].size(); ++k) {
        if (!v["ids"][k].is_number_integer() || !v["tokens"][k].is_string()) {
          return InvalidArgumentError("special_tokens['{}']: bad id or token at {}", it.key(), k);
        }
        ids.ids.push_back(v["ids"][k].get<int32_t>());
        ids.tokens.push_back(v["tokens"][k].get<std::string>());
      }
      specials.emplace(it.key(), std::move(ids));
    }
  }
  ASSIGN_OR_RETURN(const json* single_json, RequireMember(j, "single"));
  std::vector<json> items;
  if (single_json->is_string()) {
    // "$A" style string templates separate pieces with spaces.
    const std::string s = single_json->get<std::string>();
    size_t start = 0;
    while (start <= s.size()) {
      const size_t sp = s.find(' ', start);
      const std::string item =
          s.substr(start, sp == std::string::npos ? std::string::npos : sp - start);
      if (!item.empty()) items.emplace_back(item);
      if (sp == std::string::npos) break;
      start = sp + 1;
    }
  } else if (single_json->is_array()) {
    for (const auto& p : *single_json) items.push_back(p);
  } else {
    return InvalidArgumentError("field 'single' must be an array or a string");
  }
  std::vector<TemplatePiece> single;
  for (size_t i = 0; i < items.size(); ++i) {
    auto piece = ParsePiece(items[i], specials);
    if (!piece.ok()) return piece.status().WithContext(fmt::format("single[{}]", i));
    single.push_back(std::move(piece).value());
  }
  return PostProcessorPtr(std::make_unique<TemplatePostProcessor>(std::move(single)));
}

}  // namespace sinkscope::tokenizer
