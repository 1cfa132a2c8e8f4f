// Model Unigram (tokenizers/src/models/unigram/model.rs, encode_optimized): Viterbi over the
// byte positions of the split. Every vocabulary piece (all of them, as HF's trie holds all)
// that starts at a character boundary is an edge scored with its log probability; a character
// no single-character piece covers gets an unk edge scored min_score - 10. Ties keep the
// earlier (shorter) candidate. Consecutive unk pieces are fused (HF's fuse_unk is always true
// for Unigram). A piece missing from the vocabulary (only unk pieces) becomes <0xXX> byte
// tokens with byte_fallback, else the unk id.
#include <limits>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

constexpr double kUnkPenalty = 10.0;

class UnigramModel : public Model {
 public:
  UnigramModel(std::vector<std::pair<std::string, double>> pieces, std::optional<int32_t> unk_id,
               bool byte_fallback)
      : pieces_(std::move(pieces)), unk_id_(unk_id), byte_fallback_(byte_fallback) {
    token_to_id_.reserve(pieces_.size());
    nodes_.push_back(-1);
    for (size_t id = 0; id < pieces_.size(); ++id) {
      const auto& [piece, score] = pieces_[id];
      token_to_id_[piece] = static_cast<int32_t>(id);
      min_score_ = std::min(min_score_, score);
      uint32_t node = 0;
      for (const char ch : piece) {
        const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(ch);
        auto it = edges_.find(key);
        if (it == edges_.end()) {
          nodes_.push_back(-1);
          it = edges_.emplace(key, static_cast<uint32_t>(nodes_.size() - 1)).first;
        }
        node = it->second;
      }
      nodes_[node] = static_cast<int32_t>(id);  // a later duplicate wins, as in token_to_id_
    }
  }

  Status Tokenize(std::string_view text, std::vector<Token>* out) const override {
    if (text.empty()) return OkStatus();
    std::vector<std::string> pieces;
    RETURN_IF_ERROR(Viterbi(text, &pieces));
    size_t offset = 0;
    for (std::string& piece : pieces) {
      const size_t len = piece.size();
      auto it = token_to_id_.find(piece);
      if (it != token_to_id_.end()) {
        out->push_back({it->second, std::move(piece), offset, offset + len});
        offset += len;
        continue;
      }
      if (byte_fallback_) {
        std::vector<Token> bytes;
        bool all = true;
        for (const char b : piece) {
          std::string name = fmt::format("<0x{:02X}>", static_cast<unsigned char>(b));
          auto bt = token_to_id_.find(name);
          if (bt == token_to_id_.end()) {
            all = false;
            break;
          }
          bytes.push_back({bt->second, std::move(name), offset, offset + len});
        }
        if (all) {
          for (auto& t : bytes) out->push_back(std::move(t));
          offset += len;
          continue;
        }
      }
      if (!unk_id_) return InvalidArgumentError("Unigram: no unk_id for '{}'", piece);
      out->push_back({*unk_id_, std::move(piece), offset, offset + len});
      offset += len;
    }
    return OkStatus();
  }

  std::optional<int32_t> TokenToId(std::string_view token) const override {
    auto it = token_to_id_.find(std::string(token));
    if (it == token_to_id_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> IdToToken(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= pieces_.size()) return std::nullopt;
    return pieces_[static_cast<size_t>(id)].first;
  }
  size_t VocabSize() const override { return pieces_.size(); }

 private:
  struct Node {
    int64_t id = -1;
    double score = 0;
    int64_t starts_at = -1;
  };

  Status Viterbi(std::string_view s, std::vector<std::string>* result) const {
    const size_t size = s.size();
    const double unk_score = min_score_ - kUnkPenalty;
    std::vector<Node> best(size + 1);
    size_t start = 0;
    while (start < size) {
      const double base = best[start].score;
      bool has_single = false;
      const size_t mblen = std::min(Utf8Len(static_cast<unsigned char>(s[start])), size - start);
      uint32_t node = 0;
      for (size_t k = start; k < size; ++k) {
        const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(s[k]);
        auto it = edges_.find(key);
        if (it == edges_.end()) break;
        node = it->second;
        const int32_t id = nodes_[node];
        if (id < 0) continue;
        const size_t end = k + 1;
        const double score = pieces_[static_cast<size_t>(id)].second + base;
        Node& target = best[end];
        if (target.starts_at < 0 || score > target.score) {
          target = {id, score, static_cast<int64_t>(start)};
        }
        if (!has_single && end - start == mblen) has_single = true;
      }
      if (!has_single) {
        if (!unk_id_) {
          return InvalidArgumentError("Unigram: '{}' needs the unk token but there is no unk_id",
                                      s.substr(start, mblen));
        }
        Node& target = best[start + mblen];
        const double score = unk_score + base;
        if (target.starts_at < 0 || score > target.score) {
          target = {*unk_id_, score, static_cast<int64_t>(start)};
        }
      }
      start += mblen;
    }
    std::vector<std::string> reversed;
    std::vector<std::string> unk_run;
    size_t end = size;
    while (end > 0) {
      const Node& n = best[end];
      if (n.starts_at < 0) return InternalError("Unigram: broken lattice at byte {}", end);
      const auto begin = static_cast<size_t>(n.starts_at);
      std::string piece(s.substr(begin, end - begin));
      if (unk_id_ && n.id == *unk_id_) {
        unk_run.push_back(std::move(piece));
      } else {
        if (!unk_run.empty()) {
          std::string fused;
          for (auto it = unk_run.rbegin(); it != unk_run.rend(); ++it) fused += *it;
          reversed.push_back(std::move(fused));
          unk_run.clear();
        }
        reversed.push_back(std::move(piece));
      }
      end = begin;
    }
    if (!unk_run.empty()) {
      std::string fused;
      for (auto it = unk_run.rbegin(); it != unk_run.rend(); ++it) fused += *it;
      reversed.push_back(std::move(fused));
    }
    result->assign(reversed.rbegin(), reversed.rend());
    return OkStatus();
  }

  std::vector<std::pair<std::string, double>> pieces_;
  std::unordered_map<std::string, int32_t> token_to_id_;
  std::unordered_map<uint64_t, uint32_t> edges_;  // (node << 8 | byte) -> child node
  std::vector<int32_t> nodes_;                    // id of the piece ending here, or -1
  double min_score_ = std::numeric_limits<double>::infinity();
  std::optional<int32_t> unk_id_;
  bool byte_fallback_;
};

}  // namespace

StatusOr<ModelPtr> MakeUnigramModel(const json& j) {
  ASSIGN_OR_RETURN(const json* vocab_json, RequireMember(j, "vocab"));
  if (!vocab_json->is_array()) return InvalidArgumentError("field 'vocab' must be an array");
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(vocab_json->size());
  for (size_t i = 0; i < vocab_json->size(); ++i) {
    const json& e = (*vocab_json)[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number()) {
      return InvalidArgumentError("vocab[{}] must be [piece, score]", i);
    }
    pieces.emplace_back(e[0].get<std::string>(), e[1].get<double>());
  }
  std::optional<int32_t> unk_id;
  if (j.contains("unk_id") && !j["unk_id"].is_null()) {
    ASSIGN_OR_RETURN(const int64_t id, GetInt(j, "unk_id", 0));
    if (pieces.empty()) return InvalidArgumentError("empty vocabulary");
    if (id < 0 || static_cast<size_t>(id) >= pieces.size()) {
      return InvalidArgumentError("unk_id {} is not in the vocabulary ({} pieces)", id,
                                  pieces.size());
    }
    unk_id = static_cast<int32_t>(id);
  }
  ASSIGN_OR_RETURN(const bool byte_fallback, GetBool(j, "byte_fallback", false));
  return ModelPtr(std::make_unique<UnigramModel>(std::move(pieces), unk_id, byte_fallback));
}

}  // namespace sinkscope::tokenizer
