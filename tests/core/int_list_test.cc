#include "core/int_list.h"

#include <gtest/gtest.h>

namespace sinkscope {
namespace {

TEST(IntListTest, ParsesCommaSeparatedIntegersWithSpaces) {
  auto v = ParseIntList(" 101, 7 ,-3,0");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, (std::vector<int64_t>{101, 7, -3, 0}));
}

TEST(IntListTest, RejectsEmptyBadAndOverflowingItems) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty entry"},
      {"1,,2", "empty entry"},
      {"1,2,", "empty entry"},
      {"1,x,3", "'x' is not an integer"},
      {"1.5", "'1.5' is not an integer"},
      {"12a", "'12a' is not an integer"},
      {"99999999999999999999", "out of the 64-bit integer range"}};
  for (const auto& [text, fragment] : cases) {
    auto v = ParseIntList(text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(v.status().message().find(fragment), std::string::npos) << v.status().message();
  }
}

}  // namespace
}  // namespace sinkscope
