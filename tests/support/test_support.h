// Helpers shared by the test suites.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"

namespace sinkscope::testing {

/// tests/fixtures in the source tree.
std::filesystem::path FixturesDir();

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Writes bytes to a file (creating parent directories).
void WriteFile(const std::filesystem::path& file, const std::string& bytes);

/// Iterations of the in-test fuzz loops: 500 by default; set SINKSCOPE_FUZZ_ITERATIONS for a
/// long run (e.g. under -fsanitize=address,undefined).
int FuzzIterations();

/// Damaged input must map to a data/argument/feature/limit error, never to INTERNAL or UNKNOWN
/// (which would mean an unchecked libtorch or OS failure slipped through).
void ExpectInputError(const Status& s);

/// Reads a whole file.
std::string ReadFile(const std::filesystem::path& file);

}  // namespace sinkscope::testing
