// Path validation case by case against ZooKeeper's PathUtils.validatePath, plus the path helpers.
#include <gtest/gtest.h>

#include "coord/tree/path.h"

namespace weir::coord {
namespace {

TEST(TreePath, AcceptsValidPaths) {
  for (const char* p :
       {"/", "/a", "/a/b", "/zookeeper", "/a.b", "/a/.b", "/a/b.", "/...", "/a/...", "/..a", "/a..",
        "/a b", "/-", "/0000000001", "/\xc3\xa9t\xc3\xa9", "/\xe2\x82\xac", "/\xef\xbf\xaf"}) {
    EXPECT_TRUE(is_valid_path(p)) << p << ": " << validate_path(p);
  }
}

TEST(TreePath, RejectsInvalidPaths) {
  const std::string with_null("/a\0b", 4);
  for (std::string p : {"",
                        "a",
                        "a/b",
                        "//",
                        "/a/",
                        "/a//b",
                        "/.",
                        "/..",
                        "/a/.",
                        "/a/..",
                        "/a/./b",
                        "/a/../b",
                        "/./a",
                        "/a\x01",
                        "/\x1f",
                        "/\x7f",
                        "/\xc2\x80",                  // U+0080
                        "/\xc2\x9f",                  // U+009F
                        "/\xed\x9f\xbf\xee\x80\x80",  // U+D7FF is fine, U+E000 (private use) is not
                        "/\xef\xa3\xbf",              // U+F8FF
                        "/\xef\xbf\xb0",              // U+FFF0
                        "/\xef\xbf\xbf",              // U+FFFF
                        "/\xf0\x9f\x98\x80",          // U+1F600: a surrogate pair in Java
                        "/\xc3",                      // truncated UTF-8
                        "/\xc0\xaf",                  // overlong '/'
                        "/\xed\xa0\x80",              // an encoded surrogate
                        "/\xff"}) {
    EXPECT_FALSE(is_valid_path(p)) << p;
  }
  EXPECT_FALSE(is_valid_path(with_null));
  EXPECT_TRUE(is_valid_path("/\xed\x9f\xbf"));  // U+D7FF
  EXPECT_TRUE(is_valid_path("/\xc2\xa0"));      // U+00A0
}

TEST(TreePath, Helpers) {
  EXPECT_EQ(parent_path("/a/b/c"), "/a/b");
  EXPECT_EQ(parent_path("/a"), "/");
  EXPECT_EQ(parent_path("/"), "/");
  EXPECT_EQ(node_name("/a/bc"), "bc");
  EXPECT_EQ(node_name("/"), "");
  EXPECT_EQ(child_path("/", "a"), "/a");
  EXPECT_EQ(child_path("/a", "b"), "/a/b");
  EXPECT_TRUE(is_special_path("/zookeeper/quota"));
  EXPECT_FALSE(is_special_path("/zookeeper/other"));
}

TEST(TreePath, SequenceSuffixIsJavaPercent010d) {
  EXPECT_EQ(sequence_suffix(0), "0000000000");
  EXPECT_EQ(sequence_suffix(42), "0000000042");
  EXPECT_EQ(sequence_suffix(2147483647), "2147483647");
  EXPECT_EQ(sequence_suffix(-1), "-000000001");
  EXPECT_EQ(sequence_suffix(-2147483647 - 1), "-2147483648");
}

}  // namespace
}  // namespace weir::coord
