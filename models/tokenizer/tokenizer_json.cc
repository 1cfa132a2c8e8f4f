// SAX reading of tokenizer.json (tokenizer_json_internal.h).
#include "models/tokenizer/tokenizer_json_internal.h"

namespace sinkscope::tokenizer {
namespace {

using json = nlohmann::json;

// Forwards every event to nlohmann's DOM builder except the children of model.vocab (an object
// of integers) and model.merges (an array of strings or string pairs), which it collects.
class Handler {
 public:
  Handler(json* root, ModelTables* tables) : dom_(*root, true), tables_(tables) {}

  bool null() {
    return Value([&] { return dom_.null(); });
  }
  bool boolean(bool v) {
    return Value([&] { return dom_.boolean(v); });
  }
  bool number_integer(json::number_integer_t v) {
    if (mode_ == Mode::kVocab) {
      tables_->vocab.emplace_back(std::move(key_), v);
      return true;
    }
    return Value([&] { return dom_.number_integer(v); });
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (mode_ == Mode::kVocab) {
      if (v > static_cast<json::number_unsigned_t>(INT64_MAX)) return Unexpected();
      tables_->vocab.emplace_back(std::move(key_), static_cast<int64_t>(v));
      return true;
    }
    return Value([&] { return dom_.number_unsigned(v); });
  }
  bool number_float(json::number_float_t v, const std::string& s) {
    return Value([&] { return dom_.number_float(v, s); });
  }
  bool string(std::string& s) {
    if (mode_ == Mode::kMerges) {
      tables_->merges.push_back({std::move(s), {}, true});
      return true;
    }
    if (mode_ == Mode::kMergePair) {
      pair_.push_back(std::move(s));
      return pair_.size() <= 2 || Unexpected();
    }
    return Value([&] { return dom_.string(s); });
  }
  bool binary(json::binary_t& b) {
    return Value([&] { return dom_.binary(b); });
  }
  bool start_object(std::size_t n) {
    if (mode_ != Mode::kDom) return Unexpected();
    if (At("vocab")) {
      mode_ = Mode::kVocab;
      tables_->has_vocab = true;
      Push(false);
      return dom_.start_object(0);
    }
    Push(false);
    return dom_.start_object(n);
  }
  bool key(std::string& k) {
    if (mode_ == Mode::kVocab) {
      key_ = std::move(k);
      return true;
    }
    if (mode_ != Mode::kDom) return Unexpected();
    keys_.back() = k;
    return dom_.key(k);
  }
  bool end_object() {
    if (mode_ == Mode::kVocab) mode_ = Mode::kDom;
    Pop();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::kDom) return Unexpected();
    if (At("merges")) {
      mode_ = Mode::kMerges;
      tables_->has_merges = true;
      Push(true);
      return dom_.start_array(0);
    }
    Push(true);
    return dom_.start_array(n);
  }
  bool end_array() {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) return Unexpected();
      tables_->merges.push_back({std::move(pair_[0]), std::move(pair_[1]), false});
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) mode_ = Mode::kDom;
    Pop();
    return dom_.end_array();
  }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& ex) {
    return dom_.parse_error(position, last_token, ex);
  }

  bool unexpected() const { return unexpected_; }

 private:
  enum class Mode { kDom, kVocab, kMerges, kMergePair };

  template <typename F>
  bool Value(F&& f) {
    if (mode_ != Mode::kDom) return Unexpected();
    return f();
  }
  bool Unexpected() {
    unexpected_ = true;
    return false;
  }
  // True when the value about to open is root["model"][name].
  bool At(const char* name) const {
    return keys_.size() == 2 && !is_array_[0] && !is_array_[1] && keys_[0] == "model" &&
           keys_[1] == name;
  }
  void Push(bool is_array) {
    keys_.emplace_back();
    is_array_.push_back(is_array);
  }
  void Pop() {
    if (!keys_.empty()) {
      keys_.pop_back();
      is_array_.pop_back();
    }
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  ModelTables* tables_;
  Mode mode_ = Mode::kDom;
  std::vector<std::string> keys_;  // current key of each open object
  std::vector<bool> is_array_;
  std::string key_;
  std::vector<std::string> pair_;
  bool unexpected_ = false;
};

}  // namespace

StatusOr<ParsedTokenizerJson> ParseTokenizerJson(std::string_view text) {
  ParsedTokenizerJson out;
  try {
    Handler handler(&out.root, &out.tables);
    const bool ok = json::sax_parse(text.begin(), text.end(), &handler);
    if (ok) return out;
    if (!handler.unexpected()) return InvalidArgumentError("not valid JSON");
    // Unusual vocab/merges: let the DOM hold them so that the model factory reports the issue.
    out = ParsedTokenizerJson{};
    out.root = json::parse(text.begin(), text.end());
    return out;
  } catch (const json::exception& e) {
    return InvalidArgumentError("not valid JSON: {}", e.what());
  }
}

}  // namespace sinkscope::tokenizer
