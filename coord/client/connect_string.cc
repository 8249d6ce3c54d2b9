#include "coord/client/connect_string.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace weir::coord::client {
namespace {

absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

absl::Status check_server(absl::string_view server) {
  const size_t colon = server.rfind(':');
  uint32_t port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(server.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("connect string: '", server, "' is not host:port"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ConnectString> parse_connect_string(std::string_view text) {
  ConnectString result;
  std::string_view hosts = text;
  if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
    hosts = text.substr(0, slash);
    result.chroot = std::string(text.substr(slash));
    if (result.chroot == "/") result.chroot.clear();
    if (!result.chroot.empty() &&
        (result.chroot.back() == '/' || result.chroot.find("//") != std::string::npos)) {
      return absl::InvalidArgumentError(
          absl::StrCat("connect string: bad chroot '", result.chroot, "'"));
    }
  }
  for (absl::string_view server : absl::StrSplit(av(hosts), ',', absl::SkipEmpty())) {
    if (absl::Status s = check_server(server); !s.ok()) return s;
    result.servers.emplace_back(server);
  }
  if (result.servers.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("connect string '", av(text), "' names no server"));
  }
  return result;
}

}  // namespace weir::coord::client
