// Tests of hub id parsing and offline resolution in a fake huggingface_hub cache.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "models/formats/checkpoint.h"
#include "models/formats/hf_cache.h"
#include "tests/support/test_support.h"

namespace sinkscope::formats {
namespace {

using ::sinkscope::testing::FixturesDir;
using ::sinkscope::testing::TempDir;
using ::sinkscope::testing::WriteFile;

constexpr char kMainCommit[] = "0123456789abcdef0123456789abcdef01234567";
constexpr char kStepCommit[] = "fedcba9876543210fedcba9876543210fedcba98";

bool Contains(const Status& s, const std::string& fragment) {
  return s.message().find(fragment) != std::string::npos;
}

// hub/models--EleutherAI--pythia-160m with refs/main, refs/step1000 and two snapshots.
class HubCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(repo() / "refs" / "main", kMainCommit);
    WriteFile(repo() / "refs" / "step1000", std::string(kStepCommit) + "\n");
    WriteFile(repo() / "snapshots" / kMainCommit / "config.json", "{}");
    WriteFile(repo() / "snapshots" / kStepCommit / "config.json", "{}");
  }
  std::filesystem::path hub() const { return dir_ / "hub"; }
  std::filesystem::path repo() const { return hub() / "models--EleutherAI--pythia-160m"; }

  StatusOr<ResolvedSnapshot> Resolve(const std::string& spec) {
    auto id = ParseHubModelId(spec);
    if (!id.ok()) return id.status();
    return ResolveHubSnapshot(*id, hub());
  }

  TempDir dir_;
};

TEST(HubModelIdTest, ParsesRepoAndRevision) {
  auto plain = ParseHubModelId("EleutherAI/pythia-160m");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->repo_id, "EleutherAI/pythia-160m");
  EXPECT_EQ(plain->revision, "main");
  auto rev = ParseHubModelId("sentence-transformers/all-MiniLM-L6-v2@step1000");
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(rev->repo_id, "sentence-transformers/all-MiniLM-L6-v2");
  EXPECT_EQ(rev->revision, "step1000");
  auto pr = ParseHubModelId("org/name.v1_2@refs/pr/1");
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_EQ(pr->revision, "refs/pr/1");
}

TEST(HubModelIdTest, RejectsMalformedIds) {
  for (const std::string spec :
       {"", "a", "a/b/c", "../x", "a/b@", "a/..", "./b", "a/b@../main", "a/b@x//y", "a/b@/x",
        "-a/b", "a/b-", "a b/c", "a--b/c", "a/b@x@y", "/b", "a/", "a/b@x y"}) {
    SCOPED_TRACE(spec);
    auto id = ParseHubModelId(spec);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(id.status(), "not a hub model id")) << id.status().ToString();
  }
}

TEST_F(HubCacheTest, MainByDefault) {
  auto r = Resolve("EleutherAI/pythia-160m");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit, kMainCommit);
  EXPECT_EQ(r->directory, repo() / "snapshots" / kMainCommit);
}

TEST_F(HubCacheTest, BranchThroughRefsFile) {
  auto r = Resolve("EleutherAI/pythia-160m@step1000");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit, kStepCommit);  // trailing newline in the refs file is ignored
  EXPECT_EQ(r->directory, repo() / "snapshots" / kStepCommit);
}

TEST_F(HubCacheTest, FullCommitHash) {
  auto r = Resolve(std::string("EleutherAI/pythia-160m@") + kStepCommit);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit, kStepCommit);
}

TEST_F(HubCacheTest, SevenCharacterPrefix) {
  auto r = Resolve("EleutherAI/pythia-160m@fedcba9");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit, kStepCommit);
  auto upper = Resolve("EleutherAI/pythia-160m@FEDCBA98");
  ASSERT_TRUE(upper.ok()) << upper.status().ToString();
  EXPECT_EQ(upper->commit, kStepCommit);
}

TEST_F(HubCacheTest, ShortOrAmbiguousPrefix) {
  // Six digits are not a commit prefix: NOT_FOUND like any unknown revision.
  EXPECT_EQ(Resolve("EleutherAI/pythia-160m@fedcba").status().code(), StatusCode::kNotFound);
  WriteFile(repo() / "snapshots" / "fedcba9000000000000000000000000000000000" / "config.json",
            "{}");
  auto r = Resolve("EleutherAI/pythia-160m@fedcba9");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(r.status(), "ambiguous")) << r.status().ToString();
}

TEST_F(HubCacheTest, UnknownRevisionListsRefsAndSnapshots) {
  auto r = Resolve("EleutherAI/pythia-160m@step2000");
  ASSERT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(r.status(), "no refs/step2000")) << r.status().ToString();
  EXPECT_TRUE(Contains(r.status(), "refs: main, step1000")) << r.status().ToString();
  EXPECT_TRUE(Contains(r.status(), std::string("snapshots: ") + kMainCommit + ", " + kStepCommit))
      << r.status().ToString();
}

TEST_F(HubCacheTest, MissingRepoNamesThePathLookedAt) {
  auto r = Resolve("EleutherAI/pythia-410m");
  ASSERT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(r.status(), (hub() / "models--EleutherAI--pythia-410m").string()))
      << r.status().ToString();
}

TEST_F(HubCacheTest, RefWithoutSnapshotIsNotFound) {
  WriteFile(repo() / "refs" / "dangling", "1111111111111111111111111111111111111111");
  auto r = Resolve("EleutherAI/pythia-160m@dangling");
  ASSERT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(r.status(), "points at commit 1111111111111111111111111111111111111111"))
      << r.status().ToString();
}

TEST_F(HubCacheTest, GarbageRefIsDataLoss) {
  WriteFile(repo() / "refs" / "broken", "../../etc");
  auto r = Resolve("EleutherAI/pythia-160m@broken");
  ASSERT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(r.status(), "not a 40-hex-digit commit hash")) << r.status().ToString();
}

TEST_F(HubCacheTest, NestedPullRequestRef) {
  WriteFile(repo() / "refs" / "refs" / "pr" / "1", kMainCommit);
  auto r = Resolve("EleutherAI/pythia-160m@refs/pr/1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit, kMainCommit);
}

TEST_F(HubCacheTest, ResolveModelSourcePrefersExistingDirectory) {
  const auto local = dir_ / "EleutherAI" / "pythia-160m";
  std::filesystem::create_directories(local);
  auto as_dir = ResolveModelSource(local.string(), hub());
  ASSERT_TRUE(as_dir.ok()) << as_dir.status().ToString();
  EXPECT_EQ(as_dir->directory, local);
  EXPECT_EQ(as_dir->commit, "");

  auto as_id = ResolveModelSource("EleutherAI/pythia-160m@step1000", hub());
  ASSERT_TRUE(as_id.ok()) << as_id.status().ToString();
  EXPECT_EQ(as_id->commit, kStepCommit);

  auto missing_dir = ResolveModelSource((dir_ / "nope").string(), hub());
  EXPECT_EQ(missing_dir.status().code(), StatusCode::kNotFound);
  auto bad = ResolveModelSource("not an id", hub());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(bad.status(), "neither an existing directory nor a hub id"));
}

// Sets environment variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  void Set(const char* name, std::optional<std::string> value) {
    if (!saved_.count(name)) {
      const char* old = std::getenv(name);
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST(DefaultHubCacheDirTest, FollowsHuggingfaceHubEnvironment) {
  ScopedEnv env;
  for (const char* v : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"}) {
    env.Set(v, std::nullopt);
  }
  env.Set("HOME", "/home/u");
  EXPECT_EQ(DefaultHubCacheDir(), std::filesystem::path("/home/u/.cache/huggingface/hub"));
  env.Set("XDG_CACHE_HOME", "/xdg");
  EXPECT_EQ(DefaultHubCacheDir(), std::filesystem::path("/xdg/huggingface/hub"));
  env.Set("HF_HOME", "~/hf");
  EXPECT_EQ(DefaultHubCacheDir(), std::filesystem::path("/home/u/hf/hub"));
  env.Set("HF_HUB_CACHE", "/cache/hub");
  EXPECT_EQ(DefaultHubCacheDir(), std::filesystem::path("/cache/hub"));
}

// The cache written by huggingface_hub-style tooling in tests/fixtures/make_fixtures.py:
// symlinked snapshot files, refs without trailing newline.
TEST(HubCacheFixtureTest, ResolvesAndReadsSymlinkedSnapshot) {
  const auto hub = FixturesDir() / "hf_cache" / "hub";
  if (!std::filesystem::exists(hub / "models--sinkscope-test--tiny-llama")) {
    GTEST_SKIP() << "hf_cache fixture not generated";
  }
  auto r = ResolveModelSource("sinkscope-test/tiny-llama@step1000", hub);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit.substr(0, 8), "a86c37c7");
  auto weights = ReadCheckpointDir(r->directory);
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  EXPECT_FALSE(weights->empty());
}

}  // namespace
}  // namespace sinkscope::formats
