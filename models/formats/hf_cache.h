// Offline resolution of Hugging Face hub ids in a local cache.
//
// Layout (huggingface_hub): $HF_HOME/hub/models--<org>--<name>/{refs/<rev>, snapshots/<hash>/}.
// `org/name` means revision "main"; `org/name@rev` resolves rev through refs/<rev> (a file holding
// the commit hash, e.g. Pythia's `step1000` branches) or takes rev as a commit hash (full, or a
// unique prefix of at least 7 hex digits) naming a snapshot directory. Nothing is downloaded.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/status.h"

namespace sinkscope::formats {

/// A parsed model reference "org/name[@revision]".
struct HubModelId {
  std::string repo_id;   ///< "org/name"
  std::string revision;  ///< "main" when none was given
};

/// Parses "org/name[@rev]". INVALID_ARGUMENT for anything else (empty parts, "..", extra '/').
StatusOr<HubModelId> ParseHubModelId(const std::string& spec);

/// The cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (as
/// huggingface_hub does, the legacy $HUGGINGFACE_HUB_CACHE and $XDG_CACHE_HOME are honoured too).
std::filesystem::path DefaultHubCacheDir();

/// Where a hub id resolved to.
struct ResolvedSnapshot {
  std::filesystem::path directory;  ///< .../snapshots/<commit>
  std::string commit;               ///< the snapshot's commit hash; empty for a local directory
};

/// Resolves a hub id to a snapshot directory in `hub_cache_dir` (the `hub` folder itself).
/// NOT_FOUND says exactly which paths were looked at and which revisions exist.
StatusOr<ResolvedSnapshot> ResolveHubSnapshot(const HubModelId& id,
                                              const std::filesystem::path& hub_cache_dir);

/// A model source as a user names it: an existing directory is used as is; otherwise the string
/// is a hub id resolved in `hub_cache_dir` (DefaultHubCacheDir() when empty).
StatusOr<ResolvedSnapshot> ResolveModelSource(const std::string& source,
                                              const std::filesystem::path& hub_cache_dir = {});

}  // namespace sinkscope::formats
