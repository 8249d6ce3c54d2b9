// Znode path rules. Every server must reject exactly the paths ZooKeeper's PathUtils rejects, or
// a request valid on one implementation would fail on another; the rules are therefore encoded
// once here and tested case by case.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace weir::coord {

// ZooKeeper's PathUtils.validatePath on a UTF-8 path: absolute; no trailing '/' except the root;
// no empty, "." or ".." components; no U+0000, U+0001-U+001F, U+007F-U+009F, U+D800-U+F8FF,
// U+FFF0-U+FFFF, and no code point above U+FFFF (Java sees those as surrogates, which it
// rejects). Bytes that are not valid UTF-8 are rejected too (Java would decode them to U+FFFD).
// The error message says what is wrong and where.
absl::Status validate_path(std::string_view path);
inline bool is_valid_path(std::string_view path) {
  return validate_path(path).ok();
}

// "/a/b" -> "/a", "/a" -> "/". The argument must contain a '/'; the root is its own parent.
std::string_view parent_path(std::string_view path);
// "/a/b" -> "b", "/" -> "".
std::string_view node_name(std::string_view path);
// Joins a parent path and a child name.
std::string child_path(std::string_view parent, std::string_view name);

// The paths ZooKeeper creates itself and refuses to delete.
inline constexpr std::string_view kZookeeperPath = "/zookeeper";
inline constexpr std::string_view kQuotaPath = "/zookeeper/quota";
inline constexpr std::string_view kConfigPath = "/zookeeper/config";
bool is_special_path(std::string_view path);

// A sequential node's suffix: the parent's cversion as Java's "%010d" prints it
// (7 -> "0000000007", -1 -> "-000000001").
std::string sequence_suffix(int32_t cversion);

}  // namespace weir::coord
