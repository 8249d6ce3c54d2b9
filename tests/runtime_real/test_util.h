// Helpers shared by the real-runtime tests: status propagation inside actors and a temporary
// directory that removes itself.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RR_CONCAT_INNER(a, b) a##b
#define RR_CONCAT(a, b) RR_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if `expr` failed.
#define RR_TRY(expr)                 \
  do {                               \
    absl::Status rr_st_ = (expr);    \
    if (!rr_st_.ok()) return rr_st_; \
  } while (0)

#define RR_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                   \
  if (!tmp.ok()) return tmp.status();  \
  lhs = std::move(*tmp)

// `lhs = *expr`, or returns expr's error from the enclosing function.
#define RR_ASSIGN(lhs, expr) RR_ASSIGN_IMPL(RR_CONCAT(rr_tmp_, __LINE__), lhs, expr)

namespace weir::real::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "weir-real-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace weir::real::testing
