// Loading tokenizer.json and running the encode pipeline (tokenizer.h). Reference: the Rust
// `tokenizers` crate v0.22.1, tokenizer/mod.rs (encode_single_sequence, into_encoding,
// post_process, decode) and tokenizer/serialization.rs.
#include "models/tokenizer/tokenizer.h"

#include <fstream>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "models/tokenizer/added_tokens_internal.h"
#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/tokenizer_json_internal.h"

namespace sinkscope::tokenizer {

struct TokenizerImpl {
  NormalizerPtr normalizer;
  PreTokenizerPtr pre_tokenizer;
  ModelPtr model;
  PostProcessorPtr post_processor;
  DecoderPtr decoder;
  std::unique_ptr<AddedVocabulary> added;
  std::unordered_map<int32_t, size_t> added_by_id;  // id -> index in added->tokens()
  std::unordered_map<std::string, int32_t> added_by_content;
  TokenizerConfig config;
};

namespace {

StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFoundError("{}: no such file (or not a regular file)", path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("{}: cannot open", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return DataLossError("{}: read error", path.string());
  return ss.str();
}

StatusOr<json> ParseJson(std::string_view text) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return InvalidArgumentError("not valid JSON: {}", e.what());
  }
}

StatusOr<std::vector<AddedToken>> ParseAddedTokens(const json& root) {
  std::vector<AddedToken> tokens;
  if (!root.contains("added_tokens") || root["added_tokens"].is_null()) return tokens;
  const json& list = root["added_tokens"];
  if (!list.is_array()) return InvalidArgumentError("added_tokens must be an array");
  for (size_t i = 0; i < list.size(); ++i) {
    const json& t = list[i];
    auto ctx = [i](const Status& s) { return s.WithContext(fmt::format("added_tokens[{}]", i)); };
    if (!t.is_object()) return ctx(InvalidArgumentError("must be an object"));
    AddedToken token;
    auto id = GetInt(t, "id", -1);
    if (!id.ok()) return ctx(id.status());
    if (*id < 0 || *id > (1 << 30)) return ctx(InvalidArgumentError("missing or bad 'id'"));
    token.id = static_cast<int32_t>(*id);
    auto content = RequireString(t, "content");
    if (!content.ok()) return ctx(content.status());
    if (content->empty()) return ctx(InvalidArgumentError("empty 'content'"));
    token.content = *content;
    RETURN_IF_ERROR(ctx(ValidateUtf8(token.content)));
    for (auto [key, field, def] :
         {std::tuple{"single_word", &token.single_word, false},
          std::tuple{"lstrip", &token.lstrip, false}, std::tuple{"rstrip", &token.rstrip, false},
          std::tuple{"normalized", &token.normalized, true},
          std::tuple{"special", &token.special, false}}) {
      auto v = GetBool(t, key, def);
      if (!v.ok()) return ctx(v.status());
      *field = *v;
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

StatusOr<Tokenizer> Tokenizer::FromFile(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(path));
  auto tok = FromJson(text);
  if (!tok.ok()) return tok.status().WithContext(path.string());
  return tok;
}

StatusOr<Tokenizer> Tokenizer::FromJson(std::string_view json_text) {
  ASSIGN_OR_RETURN(ParsedTokenizerJson parsed, ParseTokenizerJson(json_text));
  const json& root = parsed.root;
  if (!root.is_object()) return InvalidArgumentError("tokenizer.json must be a JSON object");
  auto impl = std::make_unique<TokenizerImpl>();
  try {
    if (root.contains("normalizer") && !root["normalizer"].is_null()) {
      ASSIGN_OR_RETURN(impl->normalizer, MakeNormalizer(root["normalizer"]));
    }
    if (root.contains("pre_tokenizer") && !root["pre_tokenizer"].is_null()) {
      ASSIGN_OR_RETURN(impl->pre_tokenizer, MakePreTokenizer(root["pre_tokenizer"]));
    }
    if (!root.contains("model") || root["model"].is_null()) {
      return InvalidArgumentError("model: missing field 'model'");
    }
    ASSIGN_OR_RETURN(impl->model, MakeModel(root["model"], &parsed.tables));
    if (root.contains("post_processor") && !root["post_processor"].is_null()) {
      ASSIGN_OR_RETURN(impl->post_processor, MakePostProcessor(root["post_processor"]));
    }
    if (root.contains("decoder") && !root["decoder"].is_null()) {
      ASSIGN_OR_RETURN(impl->decoder, MakeDecoder(root["decoder"]));
    }
    ASSIGN_OR_RETURN(std::vector<AddedToken> added, ParseAddedTokens(root));
    for (size_t i = 0; i < added.size(); ++i) {
      impl->added_by_id.emplace(added[i].id, i);
      impl->added_by_content.emplace(added[i].content, added[i].id);
    }
    impl->added = std::make_unique<AddedVocabulary>(std::move(added), impl->normalizer.get());
  } catch (const std::exception& e) {
    // nlohmann accessors throw on type mismatches the checks above did not foresee.
    return InvalidArgumentError("malformed tokenizer.json: {}", e.what());
  }
  return Tokenizer(std::move(impl));
}

StatusOr<Tokenizer> Tokenizer::FromDirectory(const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(Tokenizer tok, FromFile(dir / "tokenizer.json"));
  TokenizerConfig& config = tok.impl_->config;
  auto read_token = [](const json& v) -> std::optional<std::string> {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) {
      return v["content"].get<std::string>();
    }
    return std::nullopt;
  };
  for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {
    const auto path = dir / name;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(path));
    auto parsed = ParseJson(text);
    if (!parsed.ok()) return parsed.status().WithContext(path.string());
    const json& j = *parsed;
    if (!j.is_object()) return InvalidArgumentError("{}: must be a JSON object", path.string());
    if (j.contains("bos_token")) {
      if (auto t = read_token(j["bos_token"])) config.bos_token = t;
    }
    if (j.contains("eos_token")) {
      if (auto t = read_token(j["eos_token"])) config.eos_token = t;
    }
    if (j.contains("add_bos_token") && j["add_bos_token"].is_boolean()) {
      config.add_bos_token = j["add_bos_token"].get<bool>();
    }
    if (j.contains("add_eos_token") && j["add_eos_token"].is_boolean()) {
      config.add_eos_token = j["add_eos_token"].get<bool>();
    }
    if (j.contains("tokenizer_class") && j["tokenizer_class"].is_string()) {
      config.tokenizer_class = j["tokenizer_class"].get<std::string>();
    }
  }
  // transformers' LlamaTokenizerFast / GemmaTokenizerFast rebuild the post-processor from
  // add_bos_token (default true) and add_eos_token (default false).
  static const char* kRebuilding[] = {"LlamaTokenizer",     "LlamaTokenizerFast",
                                      "GemmaTokenizer",     "GemmaTokenizerFast",
                                      "CodeLlamaTokenizer", "CodeLlamaTokenizerFast"};
  bool rebuild = false;
  for (const char* c : kRebuilding) rebuild |= config.tokenizer_class == c;
  if (rebuild) {
    const bool add_bos = config.add_bos_token.value_or(true);
    const bool add_eos = config.add_eos_token.value_or(false);
    json single = json::array();
    json specials = json::object();
    auto add_special = [&](const std::optional<std::string>& token, const char* what) -> Status {
      if (!token) return InvalidArgumentError("tokenizer_config.json: {} is not set", what);
      const auto id = tok.TokenToId(*token);
      if (!id)
        return InvalidArgumentError("tokenizer_config.json: {} '{}' is not a token", what, *token);
      single.push_back({{"SpecialToken", {{"id", *token}, {"type_id", 0}}}});
      specials[*token] = {{"id", *token}, {"ids", {*id}}, {"tokens", {*token}}};
      return OkStatus();
    };
    if (add_bos) RETURN_IF_ERROR(add_special(config.bos_token, "bos_token"));
    single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    if (add_eos) RETURN_IF_ERROR(add_special(config.eos_token, "eos_token"));
    ASSIGN_OR_RETURN(tok.impl_->post_processor, MakePostProcessor({{"type", "TemplateProcessing"},
                                                                   {"single", single},
                                                                   {"special_tokens", specials}}));
  }
  return tok;
}

StatusOr<Encoding> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  if (text.size() > (size_t{1} << 31)) {
    return ResourceExhaustedError("text of {} bytes is over the 2 GiB limit", text.size());
  }
  RETURN_IF_ERROR(ValidateUtf8(text));
  const TokenizerImpl& impl = *impl_;
  PreTokenizedString pre = impl.added->ExtractAndNormalize(text, impl.normalizer.get());
  if (impl.pre_tokenizer) impl.pre_tokenizer->PreTokenize(&pre);

  RawEncoding raw;
  std::vector<Token> tokens;
  for (PreTokenSplit& split : pre.splits()) {
    const bool from_added = split.has_tokens;
    if (!split.has_tokens) {
      tokens.clear();
      RETURN_IF_ERROR(impl.model->Tokenize(split.normalized.get(), &tokens));
      split.tokens = std::move(tokens);
      tokens = {};
    }
    const NormalizedString& n = split.normalized;
    for (Token& t : split.tokens) {
      std::pair<size_t, size_t> offsets{t.begin, t.end};
      if (auto r = n.ConvertNormalizedRange(t.begin, t.end)) {
        offsets = {n.original_shift() + r->first, n.original_shift() + r->second};
      }
      bool special = false;
      if (from_added) {
        auto it = impl.added_by_id.find(t.id);
        special = it != impl.added_by_id.end() && impl.added->tokens()[it->second].special;
      }
      raw.ids.push_back(t.id);
      raw.tokens.push_back(std::move(t.value));
      raw.offsets.push_back(offsets);
      raw.special_tokens_mask.push_back(0);
      raw.special.push_back(special ? 1 : 0);
    }
  }
  if (impl.post_processor) RETURN_IF_ERROR(impl.post_processor->Process(&raw, add_special_tokens));

  Encoding out;
  out.ids = std::move(raw.ids);
  out.tokens = std::move(raw.tokens);
  out.offsets = std::move(raw.offsets);
  out.special_tokens_mask = std::move(raw.special_tokens_mask);
  for (size_t i = 0; i < out.ids.size(); ++i) {
    if (raw.special[i] != 0 || out.special_tokens_mask[i] != 0) out.special_positions.push_back(i);
  }
  return out;
}

StatusOr<std::string> Tokenizer::Decode(const std::vector<int32_t>& ids,
                                        bool skip_special_tokens) const {
  const TokenizerImpl& impl = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    auto it = impl.added_by_id.find(id);
    if (it != impl.added_by_id.end()) {
      const AddedToken& t = impl.added->tokens()[it->second];
      if (skip_special_tokens && t.special) continue;
      tokens.push_back(t.content);
      continue;
    }
    auto token = impl.model->IdToToken(id);
    if (!token) continue;  // HF skips ids it cannot map
    if (skip_special_tokens && impl.added_by_content.count(*token) != 0) {
      const auto* t = impl.added->FindByContent(*token);
      if (t != nullptr && t->special) continue;
    }
    tokens.push_back(std::move(*token));
  }
  if (!impl.decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out += ' ';
      out += tokens[i];
    }
    return out;
  }
  RETURN_IF_ERROR(impl.decoder->DecodeChain(&tokens));
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  auto it = impl_->added_by_content.find(std::string(token));
  if (it != impl_->added_by_content.end()) return it->second;
  return impl_->model->TokenToId(token);
}

std::optional<std::string> Tokenizer::IdToToken(int32_t id) const {
  auto it = impl_->added_by_id.find(id);
  if (it != impl_->added_by_id.end()) return impl_->added->tokens()[it->second].content;
  return impl_->model->IdToToken(id);
}

size_t Tokenizer::VocabSize() const {
  size_t n = impl_->model->VocabSize();
  for (const auto& t : impl_->added->tokens()) {
    if (!impl_->model->TokenToId(t.content)) ++n;
  }
  return n;
}

const TokenizerConfig& Tokenizer::config() const {
  return impl_->config;
}

}  // namespace sinkscope::tokenizer
