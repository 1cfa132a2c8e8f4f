// Offline resolution of Hugging Face hub ids in the local cache.
//
// Facts used (huggingface_hub, `constants.py` and `file_download.py`): the cache root is
// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (legacy), else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub; a repo lives in
// `models--<org>--<name>`, `refs/<revision>` holds the 40-hex commit a branch or tag pointed at,
// and `snapshots/<commit>/` holds the files. Repo ids follow `validate_repo_id`: [\w.-]{1,96}
// per part, no "--" or "..", not starting or ending with '-' or '.'.
#include "models/formats/hf_cache.h"

#include <algorithm>
#include <cstdlib>
#include <system_error>
#include <vector>

#include <fmt/ranges.h>

#include "models/formats/mapped_file.h"

namespace sinkscope::formats {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxRepoPartLength = 96;
constexpr size_t kMaxRevisionLength = 255;
constexpr size_t kCommitHexLength = 40;
constexpr size_t kMinCommitPrefix = 7;
constexpr uint64_t kMaxRefFileBytes = 1024;
constexpr size_t kMaxListed = 50;  // names listed in a NOT_FOUND message

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Why `part` is not a valid org or repo name, or empty if it is.
std::string RepoPartProblem(std::string_view part, std::string_view what) {
  if (part.empty()) return fmt::format("empty {}", what);
  if (part.size() > kMaxRepoPartLength) {
    return fmt::format("{} longer than {} characters", what, kMaxRepoPartLength);
  }
  for (char c : part) {
    if (!IsWordChar(c) && c != '-' && c != '.') {
      return fmt::format("{} contains '{}' (allowed: letters, digits, '_', '-', '.')", what, c);
    }
  }
  if (!IsWordChar(part.front()) || !IsWordChar(part.back())) {
    return fmt::format("{} must start and end with a letter, digit or '_'", what);
  }
  if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos) {
    return fmt::format("{} contains '--' or '..'", what);
  }
  return {};
}

std::string RevisionProblem(std::string_view rev) {
  if (rev.empty()) return "empty revision after '@'";
  if (rev.size() > kMaxRevisionLength) {
    return fmt::format("revision longer than {} characters", kMaxRevisionLength);
  }
  for (char c : rev) {
    if (!IsWordChar(c) && c != '-' && c != '.' && c != '/') {
      return fmt::format("revision contains '{}'", c);
    }
  }
  // Branch names may contain '/' (refs/pr/1), but no component may climb out of refs/.
  size_t start = 0;
  while (true) {
    const size_t slash = rev.find('/', start);
    const auto component =
        rev.substr(start, slash == std::string_view::npos ? rev.npos : slash - start);
    if (component.empty() || component == "." || component == "..") {
      return fmt::format("revision has an empty, '.' or '..' path component");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

std::string GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

fs::path ExpandUser(const std::string& p) {
  if (p == "~" || p.rfind("~/", 0) == 0) {
    const std::string home = GetEnv("HOME");
    if (!home.empty()) return fs::path(home) / p.substr(std::min<size_t>(p.size(), 2));
  }
  return fs::path(p);
}

// Up to kMaxListed names, then "... (N more)".
std::string ListNames(std::vector<std::string> names) {
  if (names.empty()) return "none";
  std::sort(names.begin(), names.end());
  const size_t extra = names.size() > kMaxListed ? names.size() - kMaxListed : 0;
  names.resize(names.size() - extra);
  std::string out = fmt::format("{}", fmt::join(names, ", "));
  if (extra > 0) out += fmt::format(", ... ({} more)", extra);
  return out;
}

// Branch and tag names under refs/ (nested ones like pr/1 included).
std::vector<std::string> ListRefs(const fs::path& refs_dir) {
  std::vector<std::string> refs;
  std::error_code ec;
  fs::recursive_directory_iterator it(refs_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) {
      refs.push_back(it->path().lexically_relative(refs_dir).generic_string());
    }
    if (refs.size() > 10 * kMaxListed) break;
  }
  return refs;
}

std::vector<std::string> ListSnapshots(const fs::path& snapshots_dir) {
  std::vector<std::string> snapshots;
  std::error_code ec;
  fs::directory_iterator it(snapshots_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) snapshots.push_back(it->path().filename().string());
  }
  return snapshots;
}

bool IsDirectory(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

StatusOr<ResolvedSnapshot> ResolveRef(const HubModelId& id, const fs::path& repo_dir,
                                      const fs::path& ref_file) {
  ASSIGN_OR_RETURN(auto text, ReadFileBounded(ref_file, kMaxRefFileBytes));
  const size_t first = text.find_first_not_of(" \t\r\n");
  const size_t last = text.find_last_not_of(" \t\r\n");
  const std::string commit =
      first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  if (commit.size() != kCommitHexLength || !IsHex(commit)) {
    return DataLossError("{} holds '{}', not a {}-hex-digit commit hash", ref_file.string(),
                         commit.substr(0, 64), kCommitHexLength);
  }
  const fs::path snapshot = repo_dir / "snapshots" / commit;
  if (!IsDirectory(snapshot)) {
    return NotFoundError(
        "'{}@{}': refs/{} points at commit {}, but {} does not exist (incomplete download?); "
        "snapshots: {}",
        id.repo_id, id.revision, id.revision, commit, snapshot.string(),
        ListNames(ListSnapshots(repo_dir / "snapshots")));
  }
  return ResolvedSnapshot{snapshot, commit};
}

}  // namespace

StatusOr<HubModelId> ParseHubModelId(const std::string& spec) {
  auto invalid = [&](const std::string& why) {
    return InvalidArgumentError("'{}' is not a hub model id 'org/name[@revision]': {}", spec, why);
  };
  if (spec.empty()) return invalid("empty");
  HubModelId id;
  const size_t at = spec.find('@');
  id.repo_id = spec.substr(0, at);
  id.revision = at == std::string::npos ? "main" : spec.substr(at + 1);
  const size_t slash = id.repo_id.find('/');
  if (slash == std::string::npos) return invalid("no '/' between org and name");
  if (id.repo_id.find('/', slash + 1) != std::string::npos) return invalid("more than one '/'");
  if (auto why = RepoPartProblem(std::string_view(id.repo_id).substr(0, slash), "org");
      !why.empty()) {
    return invalid(why);
  }
  if (auto why = RepoPartProblem(std::string_view(id.repo_id).substr(slash + 1), "name");
      !why.empty()) {
    return invalid(why);
  }
  if (auto why = RevisionProblem(id.revision); !why.empty()) return invalid(why);
  return id;
}

fs::path DefaultHubCacheDir() {
  for (const char* var : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"}) {
    if (auto v = GetEnv(var); !v.empty()) return ExpandUser(v);
  }
  if (auto v = GetEnv("HF_HOME"); !v.empty()) return ExpandUser(v) / "hub";
  if (auto v = GetEnv("XDG_CACHE_HOME"); !v.empty()) {
    return ExpandUser(v) / "huggingface" / "hub";
  }
  return ExpandUser("~/.cache") / "huggingface" / "hub";
}

StatusOr<ResolvedSnapshot> ResolveHubSnapshot(const HubModelId& id, const fs::path& hub_cache_dir) {
  // Re-validate: the struct may not come from ParseHubModelId, and its parts become paths.
  ASSIGN_OR_RETURN(auto checked, ParseHubModelId(id.repo_id + "@" + id.revision));
  const size_t slash = checked.repo_id.find('/');
  const fs::path repo_dir =
      hub_cache_dir / fmt::format("models--{}--{}", checked.repo_id.substr(0, slash),
                                  checked.repo_id.substr(slash + 1));
  if (!IsDirectory(repo_dir)) {
    return NotFoundError("'{}' is not in the hub cache: {} does not exist (cache: {})", id.repo_id,
                         repo_dir.string(), hub_cache_dir.string());
  }

  const fs::path ref_file = repo_dir / "refs" / id.revision;
  std::error_code ec;
  if (fs::is_regular_file(ref_file, ec)) return ResolveRef(id, repo_dir, ref_file);

  // Not a ref: a commit hash, full or a unique prefix of at least 7 hex digits.
  const fs::path snapshots_dir = repo_dir / "snapshots";
  const bool hash_like = id.revision.size() >= kMinCommitPrefix &&
                         id.revision.size() <= kCommitHexLength && IsHex(id.revision);
  auto snapshots = ListSnapshots(snapshots_dir);
  if (hash_like) {
    const std::string prefix = ToLower(id.revision);
    std::vector<std::string> matches;
    for (const auto& s : snapshots) {
      if (s.rfind(prefix, 0) == 0) matches.push_back(s);
    }
    if (matches.size() == 1) return ResolvedSnapshot{snapshots_dir / matches[0], matches[0]};
    if (matches.size() > 1) {
      return InvalidArgumentError("'{}@{}': commit prefix is ambiguous, matching snapshots: {}",
                                  id.repo_id, id.revision, ListNames(matches));
    }
  }
  return NotFoundError(
      "'{}@{}': no revision '{}' in {}: there is no refs/{}{}; refs: {}; snapshots: {}", id.repo_id,
      id.revision, id.revision, repo_dir.string(), id.revision,
      hash_like ? fmt::format(" and no snapshot whose commit starts with '{}'", id.revision)
                : std::string(),
      ListNames(ListRefs(repo_dir / "refs")), ListNames(std::move(snapshots)));
}

StatusOr<ResolvedSnapshot> ResolveModelSource(const std::string& source,
                                              const fs::path& hub_cache_dir) {
  if (!source.empty() && IsDirectory(source)) return ResolvedSnapshot{fs::path(source), ""};
  // Something written as a path is not a hub id: say the directory is missing.
  if (source.rfind('/', 0) == 0 || source.rfind("./", 0) == 0 || source.rfind("../", 0) == 0 ||
      source.rfind('~', 0) == 0 || source == "." || source == "..") {
    return NotFoundError("model directory {} does not exist", source);
  }
  auto id = ParseHubModelId(source);
  if (!id.ok()) {
    return InvalidArgumentError("'{}' is neither an existing directory nor a hub id: {}", source,
                                id.status().message());
  }
  return ResolveHubSnapshot(*id, hub_cache_dir.empty() ? DefaultHubCacheDir() : hub_cache_dir);
}

}  // namespace sinkscope::formats
