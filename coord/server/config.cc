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

// Where clients connect when a server line names no client address (ZooKeeper's clientPort
// and clientPortAddress, which defaults to every interface).
struct ClientDefaults {
  std::string host = "0.0.0.0";
  int64_t port = 0;
};

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

absl::StatusOr<int64_t> port(absl::string_view value, std::string_view line) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(value, &v) || v <= 0 || v > 65535) {
    return bad(line, absl::StrCat("not a port: '", value, "'"));
  }
  return v;
}

// `[clientHost:]clientPort`, after the `;` of a server line.
absl::StatusOr<std::string> client_part(absl::string_view value, std::string_view line,
                                        const std::string& default_host) {
  std::string host = default_host;
  if (auto colon = value.rfind(':'); colon != absl::string_view::npos) {
    host = std::string(value.substr(0, colon));
    value = value.substr(colon + 1);
  }
  if (host.empty()) return bad(line, "empty client host");
  auto p = port(value, line);
  if (!p.ok()) return p.status();
  return absl::StrCat(host, ":", *p);
}

// ZooKeeper's grammar:
// host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]
absl::StatusOr<zab::ServerSpec> parse_server(int64_t id, absl::string_view value,
                                             std::string_view line, const ClientDefaults& dflt) {
  absl::string_view client;
  if (auto semi = value.find(';'); semi != absl::string_view::npos) {
    client = absl::StripAsciiWhitespace(value.substr(semi + 1));
    value = value.substr(0, semi);
  }
  std::vector<std::string> parts = absl::StrSplit(value, ':');
  if (parts.size() < 3 || parts.size() > 4) {
    return bad(line, "expected host:quorumPort:electionPort[:participant|observer][;clientPort]");
  }
  if (parts[0].empty()) return bad(line, "empty host");
  auto quorum = port(parts[1], line);
  if (!quorum.ok()) return quorum.status();
  auto election = port(parts[2], line);
  if (!election.ok()) return election.status();
  if (*quorum == *election) return bad(line, "quorum and election ports are the same");
  zab::ServerSpec spec;
  spec.id = id;
  spec.peer_address = absl::StrCat(parts[0], ":", *quorum);
  spec.election_address = absl::StrCat(parts[0], ":", *election);
  if (parts.size() == 4) {
    if (parts[3] != "observer" && parts[3] != "participant") {
      return bad(line, absl::StrCat("unknown role '", parts[3], "' (participant or observer)"));
    }
    spec.observer = parts[3] == "observer";
  }
  if (!client.empty()) {
    auto address = client_part(client, line, dflt.host);
    if (!address.ok()) return address.status();
    spec.client_address = *address;
  } else if (dflt.port > 0) {
    spec.client_address = absl::StrCat(dflt.host, ":", dflt.port);
  } else {
    return bad(line, "no client port: add ;clientPort to the line or set clientPort");
  }
  return spec;
}

std::string_view host_of(const std::string& address) {
  return std::string_view(address).substr(0, address.rfind(':'));
}

// A client address on every interface (0.0.0.0) is on the server line's own host.
std::string effective_client_address(const zab::ServerSpec& s) {
  if (host_of(s.client_address) != "0.0.0.0") return s.client_address;
  const std::string_view host = host_of(s.peer_address);
  return absl::StrCat(
      av(host), av(std::string_view(s.client_address).substr(host_of(s.client_address).size())));
}

// Two servers (or two roles of one) on one address cannot both listen there.
absl::Status check_distinct(const std::vector<zab::ServerSpec>& specs,
                            const std::map<int64_t, std::string>& lines) {
  std::map<std::string, int64_t> owner;
  for (const zab::ServerSpec& s : specs) {
    for (const std::string& a : {s.peer_address, s.election_address, effective_client_address(s)}) {
      auto [it, fresh] = owner.emplace(a, s.id);
      if (fresh) continue;
      const std::string& text = lines.at(s.id);
      return bad(absl::StrCat("server.", s.id, "=", text),
                 absl::StrCat("address ", a, " is also used by server.", it->second));
    }
  }
  return absl::OkStatus();
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
  return spec == nullptr ? std::string() : spec->election_address;
}

namespace {

// The keys whose value is a number in [0, 2^31], and where each goes.
bool apply_number(ServerConfig& c, ClientDefaults& d, absl::string_view key, int64_t v) {
  if (key == "tickTime") {
    c.zab.tick = std::chrono::milliseconds(v);
  } else if (key == "initLimit") {
    c.zab.init_limit = static_cast<int>(v);
  } else if (key == "syncLimit") {
    c.zab.sync_limit = static_cast<int>(v);
  } else if (key == "clientPort") {
    d.port = v;
  } else if (key == "minSessionTimeout") {
    c.min_session_timeout_ms = static_cast<int32_t>(v);
  } else if (key == "maxSessionTimeout") {
    c.max_session_timeout_ms = static_cast<int32_t>(v);
  } else if (key == "maxClientCnxns") {
    if (v > 0) c.connections_max = static_cast<size_t>(v);
  } else if (key == "snapCount") {
    if (v > 0) c.zab.snapshot_every_txns = v;
  } else if (key == "jute.maxbuffer") {
    if (v > 0) c.frame_bytes_max = static_cast<size_t>(v);
  } else if (key == "znode.container.checkIntervalMs") {
    if (v > 0) c.container_check_interval = std::chrono::milliseconds(v);
  } else if (key == "znode.container.maxPerMinute") {
    if (v > 0) c.container_max_per_minute = v;
  } else if (key == "znode.container.maxNeverUsedIntervalMs") {
    c.container_max_never_used_ms = v;
  } else {
    return false;
  }
  return true;
}

// One `key=value` line; server lines are kept for after the defaults they use are known.
absl::Status parse_line(absl::string_view line, ServerConfig& config, ClientDefaults& dflt,
                        std::map<int64_t, std::string>& server_lines) {
  const std::string_view sline(line.data(), line.size());
  const size_t eq = line.find('=');
  if (eq == absl::string_view::npos) return bad(sline, "expected key=value");
  absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, eq));
  const absl::string_view value = absl::StripAsciiWhitespace(line.substr(eq + 1));
  if (absl::ConsumePrefix(&key, "server.")) {
    auto id = number(key, sline);
    if (!id.ok()) return id.status();
    if (*id <= 0 || *id > 255) return bad(sline, "server id must be in 1..255");
    if (!server_lines.emplace(*id, std::string(value)).second)
      return bad(sline, "server id given twice");
    return absl::OkStatus();
  }
  if (key == "dataDir") {
    config.data_dir = std::string(value);
    return absl::OkStatus();
  }
  if (key == "4lw.commands.whitelist") {
    config.four_letter_words.clear();
    for (absl::string_view w : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      config.four_letter_words.insert(std::string(absl::StripAsciiWhitespace(w)));
    }
    return absl::OkStatus();
  }
  if (key == "clientPortAddress") {
    if (value.empty()) return bad(sline, "empty address");
    dflt.host = std::string(value);
    return absl::OkStatus();
  }
  ServerConfig probe;
  ClientDefaults probe_defaults;
  if (!apply_number(probe, probe_defaults, key, 0)) return absl::OkStatus();  // ignored key
  auto v = number(value, sline);
  if (!v.ok()) return v.status();
  if (*v < 0 || *v > (int64_t{1} << 31)) return bad(sline, "out of range");
  apply_number(config, dflt, key, *v);
  return absl::OkStatus();
}

// No server.N lines: ZooKeeper's standalone mode, one voter that needs no peer ports.
absl::Status make_standalone(ServerConfig& config, const ClientDefaults& dflt) {
  if (dflt.port <= 0) {
    return absl::InvalidArgumentError(
        "config: clientPort is required when there are no server.N lines");
  }
  zab::ServerSpec spec;
  spec.id = config.my_id > 0 ? config.my_id : 1;
  spec.client_address = absl::StrCat(dflt.host, ":", dflt.port);
  config.my_id = spec.id;
  config.ensemble = zab::EnsembleConfig({spec});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServerConfig> parse_config(std::string_view text, std::optional<int64_t> my_id) {
  ServerConfig config;
  ClientDefaults dflt;
  std::map<int64_t, std::string> server_lines;
  for (absl::string_view raw : absl::StrSplit(av(text), '\n')) {
    const absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#') continue;
    if (auto s = parse_line(line, config, dflt, server_lines); !s.ok()) return s;
  }
  if (config.zab.tick <= Duration::zero())
    return absl::InvalidArgumentError("config: tickTime must be > 0");
  if (my_id.has_value()) config.my_id = *my_id;
  if (server_lines.empty()) {
    if (auto s = make_standalone(config, dflt); !s.ok()) return s;
  } else {
    std::vector<zab::ServerSpec> specs;
    for (const auto& [id, value] : server_lines) {
      const std::string line = absl::StrCat("server.", id, "=", value);
      auto spec = parse_server(id, av(value), line, dflt);
      if (!spec.ok()) return spec.status();
      specs.push_back(*spec);
    }
    if (auto s = check_distinct(specs, server_lines); !s.ok()) return s;
    config.ensemble = zab::EnsembleConfig(std::move(specs));
  }
  if (config.ensemble.voter_count() == 0) return absl::InvalidArgumentError("config: no voters");
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
