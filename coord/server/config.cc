#include "coord/server/config.h"

#include <map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/assert.h"

namespace weir::coord::server {
namespace {

absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

absl::Status bad(std::string_view line, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("config: ", av(why), ": ", av(line)));
}

absl::StatusOr<int64_t> number(absl::string_view value, std::string_view line) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(value, &v)) return bad(line, "not a number");
  return v;
}

// host:peerPort:clientPort[:observer], or ZooKeeper's host:peer:election[:role];clientPort.
absl::StatusOr<zab::ServerSpec> parse_server(int64_t id, absl::string_view value,
                                             std::string_view line, int64_t client_port) {
  std::string client;
  if (auto semi = value.find(';'); semi != absl::string_view::npos) {
    client = std::string(absl::StripAsciiWhitespace(value.substr(semi + 1)));
    value = value.substr(0, semi);
  }
  std::vector<std::string> parts = absl::StrSplit(value, ':');
  if (parts.size() < 2 || parts.size() > 4) return bad(line, "expected host:peerPort:clientPort");
  zab::ServerSpec spec;
  spec.id = id;
  spec.peer_address = absl::StrCat(parts[0], ":", parts[1]);
  bool zk_style = !client.empty();
  if (parts.size() >= 3 && !zk_style) spec.client_address = absl::StrCat(parts[0], ":", parts[2]);
  if (parts.size() == 4 || (parts.size() == 3 && parts[2] == "observer")) {
    const std::string& role = parts.back();
    if (role != "observer" && role != "participant") return bad(line, "unknown role");
    spec.observer = role == "observer";
    if (parts.size() == 3) spec.client_address.clear();
  }
  if (zk_style) {
    spec.client_address =
        client.find(':') == std::string::npos ? absl::StrCat(parts[0], ":", client) : client;
  }
  if (spec.client_address.empty()) {
    if (client_port <= 0) return bad(line, "no client port");
    spec.client_address = absl::StrCat(parts[0], ":", client_port);
  }
  return spec;
}

}  // namespace

int32_t ServerConfig::min_timeout_ms() const {
  if (min_session_timeout_ms > 0) return min_session_timeout_ms;
  return static_cast<int32_t>(2 * to_ms(zab.tick));
}
int32_t ServerConfig::max_timeout_ms() const {
  if (max_session_timeout_ms > 0) return max_session_timeout_ms;
  return static_cast<int32_t>(20 * to_ms(zab.tick));
}
const zab::ServerSpec& ServerConfig::me() const {
  const zab::ServerSpec* spec = ensemble.find(my_id);
  WEIR_ASSERT_MSG(spec != nullptr, "my id is not in the ensemble");
  return *spec;
}
std::string ServerConfig::session_address(int64_t id) const {
  const zab::ServerSpec* spec = ensemble.find(id);
  if (spec == nullptr) return {};
  const size_t colon = spec->peer_address.rfind(':');
  int port = 0;
  (void)absl::SimpleAtoi(absl::string_view(spec->peer_address).substr(colon + 1), &port);
  return absl::StrCat(spec->peer_address.substr(0, colon), ":", port + session_port_offset);
}

absl::StatusOr<ServerConfig> parse_config(std::string_view text, std::optional<int64_t> my_id) {
  ServerConfig config;
  std::map<int64_t, std::string> server_lines;
  int64_t client_port = 0;
  for (absl::string_view raw : absl::StrSplit(av(text), '\n')) {
    const absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    const std::string_view sline(line.data(), line.size());
    if (eq == absl::string_view::npos) return bad(sline, "expected key=value");
    absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, eq));
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(eq + 1));
    if (absl::ConsumePrefix(&key, "server.")) {
      auto id = number(key, sline);
      if (!id.ok()) return id.status();
      if (*id <= 0 || *id > 255) return bad(sline, "server id must be in 1..255");
      server_lines[*id] = std::string(value);
      continue;
    }
    if (key == "dataDir") {
      config.data_dir = std::string(value);
      continue;
    }
    auto v = number(value, sline);
    if (key == "tickTime" || key == "initLimit" || key == "syncLimit" || key == "clientPort" ||
        key == "minSessionTimeout" || key == "maxSessionTimeout" || key == "maxClientCnxns" ||
        key == "sessionPortOffset" || key == "snapCount" ||
        key == "znode.container.checkIntervalMs" || key == "znode.container.maxPerMinute" ||
        key == "znode.container.maxNeverUsedIntervalMs") {
      if (!v.ok()) return v.status();
      if (*v < 0 || *v > (int64_t{1} << 31)) return bad(sline, "out of range");
    }
    if (key == "tickTime") config.zab.tick = std::chrono::milliseconds(*v);
    if (key == "initLimit") config.zab.init_limit = static_cast<int>(*v);
    if (key == "syncLimit") config.zab.sync_limit = static_cast<int>(*v);
    if (key == "clientPort") client_port = *v;
    if (key == "minSessionTimeout") config.min_session_timeout_ms = static_cast<int32_t>(*v);
    if (key == "maxSessionTimeout") config.max_session_timeout_ms = static_cast<int32_t>(*v);
    if (key == "maxClientCnxns" && *v > 0) config.connections_max = static_cast<size_t>(*v);
    if (key == "sessionPortOffset") config.session_port_offset = static_cast<int>(*v);
    if (key == "snapCount" && *v > 0) config.zab.snapshot_every_txns = *v;
    if (key == "znode.container.checkIntervalMs" && *v > 0) {
      config.container_check_interval = std::chrono::milliseconds(*v);
    }
    if (key == "znode.container.maxPerMinute" && *v > 0) config.container_max_per_minute = *v;
    if (key == "znode.container.maxNeverUsedIntervalMs") config.container_max_never_used_ms = *v;
  }
  if (config.zab.tick <= Duration::zero())
    return absl::InvalidArgumentError("config: tickTime must be > 0");
  if (server_lines.empty()) return absl::InvalidArgumentError("config: no server.N lines");
  std::vector<zab::ServerSpec> specs;
  for (const auto& [id, value] : server_lines) {
    auto spec = parse_server(id, av(value), value, client_port);
    if (!spec.ok()) return spec.status();
    specs.push_back(*spec);
  }
  config.ensemble = zab::EnsembleConfig(std::move(specs));
  if (config.ensemble.voter_count() == 0) return absl::InvalidArgumentError("config: no voters");
  if (my_id.has_value()) config.my_id = *my_id;
  if (config.my_id != 0 && config.ensemble.find(config.my_id) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: id ", config.my_id, " has no server line"));
  }
  if (config.min_timeout_ms() > config.max_timeout_ms()) {
    return absl::InvalidArgumentError("config: minSessionTimeout > maxSessionTimeout");
  }
  return config;
}

absl::StatusOr<int64_t> load_myid(IFileSystem& fs, const std::string& data_dir) {
  auto file = fs.open(data_dir + "/myid", OpenMode::kRead);
  if (!file.ok()) return file.status();
  std::string buf(64, '\0');
  auto n =
      (*file)->read(0, absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
  if (!n.ok()) return n.status();
  buf.resize(*n);
  int64_t id = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(buf), &id) || id <= 0) {
    return absl::InvalidArgumentError("myid: not a positive number");
  }
  return id;
}

}  // namespace weir::coord::server
