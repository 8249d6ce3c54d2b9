// The ZooKeeper connect string, "host:port,host:port[/chroot]", parsed once so that the client
// can fail fast on a typo instead of retrying an unparsable address forever.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace weir::coord::client {

struct ConnectString {
  std::vector<std::string> servers;  // "host:port", in the order given
  std::string chroot;                // "" or "/a/b" (no trailing slash)
};

// InvalidArgument for an empty server list, a server without ":port", a bad port, or a chroot
// that is not an absolute path without a trailing slash.
absl::StatusOr<ConnectString> parse_connect_string(std::string_view text);

}  // namespace weir::coord::client
