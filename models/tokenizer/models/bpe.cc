// Model BPE (tokenizers/src/models/bpe/{model,word,serialization}.rs at v0.22.1).
//
// A word starts as one symbol per character (with continuing_subword_prefix on every character
// but the first and end_of_word_suffix on the last); characters missing from the vocabulary
// become <0xXX> byte tokens (byte_fallback) or the unk token (consecutive unknowns fused with
// fuse_unk), or are dropped when there is no unk token. Merges are then applied lowest rank
// first (ties: leftmost) with a priority queue whose stale entries are skipped, exactly like
// Word::merge_all. With ignore_merges a word found whole in the vocabulary is one token.
// Results for words shorter than 256 bytes are cached (10 000 words, like HF).
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/flat_map_internal.h"
#include "models/tokenizer/models/vocab_internal.h"
#include "models/tokenizer/tokenizer_json_internal.h"

namespace sinkscope::tokenizer {
namespace {

constexpr size_t kCacheCapacity = 10000;
constexpr size_t kMaxCachedWordBytes = 256;

struct Symbol {
  int32_t id;
  uint32_t len;  // bytes of the input covered
};

struct Merge {
  uint32_t rank;
  int32_t new_id;
};

class BpeModel : public Model {
 public:
  struct Config {
    std::optional<std::string> unk_token;
    std::optional<std::string> continuing_subword_prefix;
    std::optional<std::string> end_of_word_suffix;
    bool fuse_unk = false;
    bool byte_fallback = false;
    bool ignore_merges = false;
  };

  BpeModel(Config config, StringIdMap vocab, std::vector<std::string> id_to_token,
           PairMap<Merge> merges)
      : config_(std::move(config)),
        vocab_(std::move(vocab)),
        id_to_token_(std::move(id_to_token)),
        merges_(std::move(merges)) {
    for (int b = 0; b < 256; ++b) {
      byte_ids_[static_cast<size_t>(b)] = vocab_.Find(fmt::format("<0x{:02X}>", b)).value_or(-1);
    }
    if (config_.unk_token) {
      unk_id_ = vocab_.Find(*config_.unk_token).value_or(-1);
    }
    present_.assign(id_to_token_.size(), 0);
    vocab_.ForEach([&](std::string_view, int32_t id) { present_[static_cast<size_t>(id)] = 1; });
  }

  Status Tokenize(std::string_view text, std::vector<Token>* out) const override {
    if (text.empty()) return OkStatus();
    if (config_.ignore_merges) {
      if (auto id = vocab_.Find(text)) {
        out->push_back({*id, std::string(text), 0, text.size()});
        return OkStatus();
      }
    }
    std::vector<Symbol> word;
    bool cached = false;
    if (text.size() < kMaxCachedWordBytes) {
      std::shared_lock lock(cache_mutex_);
      auto it = cache_.find(std::string(text));
      if (it != cache_.end()) {
        word = it->second;
        cached = true;
      }
    }
    if (!cached) {
      RETURN_IF_ERROR(MergeWord(text, &word));
      if (text.size() < kMaxCachedWordBytes) {
        std::unique_lock lock(cache_mutex_);
        if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(text), word);
      }
    }
    size_t offset = 0;
    for (const Symbol& s : word) {
      out->push_back({s.id, id_to_token_[static_cast<size_t>(s.id)], offset, offset + s.len});
      offset += s.len;
    }
    return OkStatus();
  }

  std::optional<int32_t> TokenToId(std::string_view token) const override {
    return vocab_.Find(token);
  }
  std::optional<std::string> IdToToken(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() ||
        present_[static_cast<size_t>(id)] == 0) {
      return std::nullopt;  // an id no vocabulary entry has
    }
    return id_to_token_[static_cast<size_t>(id)];
  }
  size_t VocabSize() const override { return vocab_.size(); }

 private:
  Status MergeWord(std::string_view w, std::vector<Symbol>* word) const {
    std::vector<Symbol> symbols;
    symbols.reserve(w.size());
    bool have_unk = false;
    Symbol unk{};
    std::string key;
    for (size_t i = 0; i < w.size();) {
      const size_t n = std::min(Utf8Len(static_cast<unsigned char>(w[i])), w.size() - i);
      const bool is_first = i == 0;
      const bool is_last = i + n >= w.size();
      key.assign(w.substr(i, n));
      if (!is_first && config_.continuing_subword_prefix) {
        key.insert(0, *config_.continuing_subword_prefix);
      }
      if (is_last && config_.end_of_word_suffix) key += *config_.end_of_word_suffix;
      i += n;
      if (auto id = vocab_.Find(key)) {
        if (have_unk) {
          symbols.push_back(unk);
          have_unk = false;
        }
        symbols.push_back({*id, static_cast<uint32_t>(n)});
        continue;
      }
      if (config_.byte_fallback) {
        bool all = true;
        for (const char b : key) all &= byte_ids_[static_cast<unsigned char>(b)] >= 0;
        if (all) {
          // HF adds the bytes without flushing a pending unk first; keep that order.
          for (const char b : key) symbols.push_back({byte_ids_[static_cast<unsigned char>(b)], 1});
          continue;
        }
      }
      if (config_.unk_token) {
        if (unk_id_ < 0) {
          return InvalidArgumentError("unk_token '{}' is not in the vocabulary",
                                      *config_.unk_token);
        }
        if (have_unk && config_.fuse_unk) {
          unk.len += static_cast<uint32_t>(n);
        } else {
          if (have_unk) symbols.push_back(unk);
          unk = {unk_id_, static_cast<uint32_t>(n)};
          have_unk = true;
        }
      }
    }
    if (have_unk) symbols.push_back(unk);
    MergeAll(&symbols);
    *word = std::move(symbols);
    return OkStatus();
  }

  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  // Word::merge_all with a linked list over `symbols`.
  void MergeAll(std::vector<Symbol>* symbols_io) const {
    std::vector<Symbol>& symbols = *symbols_io;
    const size_t n = symbols.size();
    if (n < 2) return;
    std::vector<int64_t> prev(n), next(n);
    for (size_t i = 0; i < n; ++i) {
      prev[i] = static_cast<int64_t>(i) - 1;
      next[i] = i + 1 < n ? static_cast<int64_t>(i + 1) : -1;
    }
    struct Entry {  // 12 bytes: the heap holds up to one entry per symbol
      uint32_t rank;
      uint32_t pos;
      int32_t new_id;
      bool operator<(const Entry& o) const {  // max-heap: smallest rank, then smallest pos
        if (rank != o.rank) return rank > o.rank;
        return pos > o.pos;
      }
    };
    std::vector<Entry> initial;
    initial.reserve(n);
    for (size_t i = 0; i + 1 < n; ++i) {
      if (const Merge* m = merges_.Find(PairKey(symbols[i].id, symbols[i + 1].id))) {
        initial.push_back({m->rank, static_cast<uint32_t>(i), m->new_id});
      }
    }
    // Heapify once (O(n)) rather than n pushes.
    std::priority_queue<Entry> queue(std::less<Entry>(), std::move(initial));
    while (!queue.empty()) {
      const Entry top = queue.top();
      queue.pop();
      Symbol& cur = symbols[top.pos];
      if (cur.len == 0 || next[top.pos] == -1) continue;
      const auto right_pos = static_cast<size_t>(next[top.pos]);
      const Symbol right = symbols[right_pos];
      const Merge* current = merges_.Find(PairKey(cur.id, right.id));
      if (current == nullptr || current->new_id != top.new_id) continue;  // stale entry
      cur.id = top.new_id;
      cur.len += right.len;
      symbols[right_pos].len = 0;
      next[top.pos] = next[right_pos];
      if (next[right_pos] >= 0)
        prev[static_cast<size_t>(next[right_pos])] = static_cast<int64_t>(top.pos);
      if (prev[top.pos] >= 0) {
        const auto p = static_cast<size_t>(prev[top.pos]);
        if (const Merge* m = merges_.Find(PairKey(symbols[p].id, cur.id))) {
          queue.push({m->rank, static_cast<uint32_t>(p), m->new_id});
        }
      }
      if (next[top.pos] >= 0) {
        const auto q = static_cast<size_t>(next[top.pos]);
        if (const Merge* m = merges_.Find(PairKey(cur.id, symbols[q].id))) {
          queue.push({m->rank, top.pos, m->new_id});
        }
      }
    }
    size_t w = 0;
    for (size_t i = 0; i < n; ++i) {
      if (symbols[i].len != 0) symbols[w++] = symbols[i];
    }
    symbols.resize(w);
  }

  Config config_;
  StringIdMap vocab_;
  std::vector<std::string> id_to_token_;
  PairMap<Merge> merges_;
  int32_t byte_ids_[256];
  int32_t unk_id_ = -1;
  std::vector<uint8_t> present_;  // 1 for ids that some vocabulary entry has
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<Symbol>> cache_;
};

}  // namespace

StatusOr<ModelPtr> MakeBpeModel(const json& j, const ModelTables* tables) {
  BpeModel::Config config;
  ASSIGN_OR_RETURN(config.unk_token, GetOptionalString(j, "unk_token"));
  ASSIGN_OR_RETURN(config.continuing_subword_prefix,
                   GetOptionalString(j, "continuing_subword_prefix"));
  ASSIGN_OR_RETURN(config.end_of_word_suffix, GetOptionalString(j, "end_of_word_suffix"));
  ASSIGN_OR_RETURN(config.fuse_unk, GetBool(j, "fuse_unk", false));
  ASSIGN_OR_RETURN(config.byte_fallback, GetBool(j, "byte_fallback", false));
  ASSIGN_OR_RETURN(config.ignore_merges, GetBool(j, "ignore_merges", false));
  if (j.contains("dropout") && !j["dropout"].is_null()) {
    if (!j["dropout"].is_number()) return InvalidArgumentError("field 'dropout' must be a number");
    const double dropout = j["dropout"].get<double>();
    if (dropout != 0.0) {
      return UnimplementedError("dropout {} is random at encode time; only 0 or null is supported",
                                dropout);
    }
  }

  // The vocabulary and merges come from the SAX tables (tokenizer_json_internal.h) or the DOM.
  StringIdMap vocab;
  int64_t max_id = -1;
  auto add_token = [&](std::string_view token, int64_t id) -> Status {
    if (id < 0 || id > (1 << 30)) return InvalidArgumentError("vocab['{}']: bad id {}", token, id);
    vocab.Set(token, static_cast<int32_t>(id));
    max_id = std::max(max_id, id);
    return OkStatus();
  };
  if (tables != nullptr && tables->has_vocab) {
    vocab.Reserve(tables->vocab.size());
    for (const auto& [token, id] : tables->vocab) RETURN_IF_ERROR(add_token(token, id));
  } else {
    ASSIGN_OR_RETURN(const json* vocab_json, RequireMember(j, "vocab"));
    if (!vocab_json->is_object()) return InvalidArgumentError("field 'vocab' must be an object");
    vocab.Reserve(vocab_json->size());
    for (auto it = vocab_json->begin(); it != vocab_json->end(); ++it) {
      if (!it.value().is_number_integer()) {
        return InvalidArgumentError("vocab['{}'] must be an integer id", it.key());
      }
      RETURN_IF_ERROR(add_token(it.key(), it.value().get<int64_t>()));
    }
  }
  RETURN_IF_ERROR(CheckDenseIds(max_id, vocab.size()));
  std::vector<std::string> id_to_token(static_cast<size_t>(max_id + 1));
  vocab.ForEach(
      [&](std::string_view token, int32_t id) { id_to_token[static_cast<size_t>(id)] = token; });

  std::vector<MergeItem> dom_merges;
  const std::vector<MergeItem>* merge_items = &dom_merges;
  if (tables != nullptr && tables->has_merges) {
    merge_items = &tables->merges;
  } else {
    ASSIGN_OR_RETURN(const json* merges_json, RequireMember(j, "merges"));
    if (!merges_json->is_array()) return InvalidArgumentError("field 'merges' must be an array");
    dom_merges.reserve(merges_json->size());
    for (size_t i = 0; i < merges_json->size(); ++i) {
      const json& m = (*merges_json)[i];
      if (m.is_string()) {
        dom_merges.push_back({m.get<std::string>(), {}, true});
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        dom_merges.push_back({m[0].get<std::string>(), m[1].get<std::string>(), false});
      } else {
        return InvalidArgumentError("merges[{}] must be \"a b\" or [\"a\", \"b\"]", i);
      }
    }
  }
  const size_t prefix_len =
      config.continuing_subword_prefix ? config.continuing_subword_prefix->size() : 0;
  PairMap<Merge> merges;
  merges.Reserve(merge_items->size());
  std::string_view a, b;
  std::string joined;
  uint32_t rank = 0;
  for (size_t i = 0; i < merge_items->size(); ++i) {
    const MergeItem& m = (*merge_items)[i];
    if (m.is_line) {
      const std::string& line = m.a;
      if (line.rfind("#version", 0) == 0) continue;
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        return InvalidArgumentError("merges[{}] '{}' is not two tokens separated by one space", i,
                                    line);
      }
      a = std::string_view(line).substr(0, space);
      b = std::string_view(line).substr(space + 1);
    } else {
      a = m.a;
      b = m.b;
    }
    const auto ia = vocab.Find(a);
    if (!ia) return InvalidArgumentError("merges[{}]: token '{}' is not in the vocabulary", i, a);
    const auto ib = vocab.Find(b);
    if (!ib) return InvalidArgumentError("merges[{}]: token '{}' is not in the vocabulary", i, b);
    if (b.size() < prefix_len) {
      return InvalidArgumentError("merges[{}]: token '{}' is shorter than the subword prefix", i,
                                  b);
    }
    joined.assign(a);
    joined.append(b.substr(prefix_len));
    const auto inew = vocab.Find(joined);
    if (!inew) {
      return InvalidArgumentError("merges[{}]: merged token '{}' is not in the vocabulary", i,
                                  joined);
    }
    // A repeated pair keeps its last rank (HF collects the merges into a HashMap).
    merges.Set(
        (static_cast<uint64_t>(static_cast<uint32_t>(*ia)) << 32) | static_cast<uint32_t>(*ib),
        Merge{rank, *inew});
    ++rank;
  }
  return ModelPtr(std::make_unique<BpeModel>(std::move(config), std::move(vocab),
                                             std::move(id_to_token), std::move(merges)));
}

}  // namespace sinkscope::tokenizer
