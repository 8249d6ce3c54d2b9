#include "coord/server/four_letter_words.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace weir::coord::server {
namespace {

constexpr char kVersion[] = "3.8.0-weir";
constexpr char kNotServing[] = "This ZooKeeper instance is not currently serving requests\n";
// The words Weir answers: ZooKeeper 3.8's, less those about Java internals or that reset or
// set state (crst, srst, gtmk, stmk, dirs). Like them, any other four bytes are the length of
// the first frame.
constexpr std::string_view kWords[] = {"conf", "cons", "dump", "envi", "ruok", "srvr", "stat",
                                       "wchc", "wchp", "wchs", "mntr", "isro", "hash"};

std::string hex(int64_t v) {
  return absl::StrFormat("0x%x", static_cast<uint64_t>(v));
}

// ZooKeeper's short names of the last operation, as cons prints them (lop=).
const char* op_short_name(jute::OpCode op) {
  using jute::OpCode;
  switch (op) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTTL:
      return "CREA";
    case OpCode::kDelete:
      return "DELE";
    case OpCode::kExists:
      return "EXIS";
    case OpCode::kGetData:
      return "GETD";
    case OpCode::kSetData:
      return "SETD";
    case OpCode::kGetACL:
      return "GETA";
    case OpCode::kSetACL:
      return "SETA";
    case OpCode::kGetChildren:
    case OpCode::kGetChildren2:
      return "GETC";
    case OpCode::kSync:
      return "SYNC";
    case OpCode::kPing:
      return "PING";
    case OpCode::kCheck:
      return "CHEC";
    case OpCode::kMulti:
      return "MULT";
    case OpCode::kCloseSession:
      return "CLOS";
    case OpCode::kSetWatches:
    case OpCode::kSetWatches2:
      return "SETW";
    default:
      return "NA";
  }
}

size_t outstanding(const FourLetterView& v) {
  size_t n = 0;
  for (const auto& [id, c] : v.connections) n += c->pending.size();
  return n;
}

std::string latency_line(const LatencyStats& l) {
  return absl::StrFormat("%d/%.4f/%d", l.min_ms, l.avg_ms(), l.max_ms);
}

// One cons line per connection (stat prints the short form).
std::string connection_lines(const FourLetterView& v, bool full) {
  std::string out;
  for (const auto& [id, c] : v.connections) {
    absl::StrAppend(&out, " /", c->peer, "[1](queued=", c->pending.size(), ",recved=", c->received,
                    ",sent=", c->sent);
    if (full) {
      absl::StrAppend(
          &out, ",sid=", hex(c->session_id), ",lop=", op_short_name(c->last_op),
          ",est=", c->established_wall_ms, ",to=", c->timeout_ms, ",lcxid=", hex(c->last_xid),
          ",lzxid=", hex(c->last_zxid.value()), ",lresp=", c->last_response_wall_ms,
          ",llat=", c->last_latency_ms, ",minlat=", c->latency.min_ms,
          ",avglat=", static_cast<int64_t>(c->latency.avg_ms()), ",maxlat=", c->latency.max_ms);
    }
    absl::StrAppend(&out, ")\n");
  }
  return out;
}

std::string srvr(const FourLetterView& v, bool with_clients) {
  std::string out = absl::StrCat("Zookeeper version: ", kVersion, ", built for weir\n");
  if (with_clients) absl::StrAppend(&out, "Clients:\n", connection_lines(v, false), "\n");
  absl::StrAppend(&out, "Latency min/avg/max: ", latency_line(v.stats.latency), "\n",
                  "Received: ", v.stats.packets_received, "\n", "Sent: ", v.stats.packets_sent,
                  "\n", "Connections: ", v.connections.size(), "\n",
                  "Outstanding: ", outstanding(v), "\n", "Zxid: ", hex(v.tree.last_zxid()), "\n",
                  "Mode: ", v.mode, "\n", "Node count: ", v.tree.node_count(), "\n");
  return out;
}

std::string mntr(const FourLetterView& v) {
  std::string out;
  auto line = [&out](const char* k, const auto& value) {
    absl::StrAppend(&out, k, "\t", value, "\n");
  };
  size_t ephemerals = 0;
  for (const auto& [sid, paths] : v.tree.ephemerals_by_session()) ephemerals += paths.size();
  line("zk_version", kVersion);
  line("zk_server_state", v.mode);
  line("zk_avg_latency", absl::StrFormat("%.4f", v.stats.latency.avg_ms()));
  line("zk_max_latency", v.stats.latency.max_ms);
  line("zk_min_latency", v.stats.latency.min_ms);
  line("zk_packets_received", v.stats.packets_received);
  line("zk_packets_sent", v.stats.packets_sent);
  line("zk_num_alive_connections", v.connections.size());
  line("zk_outstanding_requests", outstanding(v));
  line("zk_znode_count", v.tree.node_count());
  line("zk_watch_count", v.watches.watch_count());
  line("zk_ephemerals_count", ephemerals);
  line("zk_approximate_data_size", v.tree.approximate_data_size());
  if (v.open_file_descriptors.has_value()) {
    line("zk_open_file_descriptor_count", *v.open_file_descriptors);
  }
  line("zk_uptime",
       std::chrono::duration_cast<std::chrono::milliseconds>(v.now - v.started).count());
  line("zk_last_zxid", hex(v.tree.last_zxid()));
  line("zk_global_sessions", v.tree.sessions().size());
  line("zk_expired_sessions", v.stats.sessions_expired);
  line("zk_quorum_size", v.config.ensemble.voter_count());
  if (std::optional<zab::LearnerCounts> learners = v.peer.learner_counts()) {
    line("zk_learners", learners->learners);
    line("zk_followers", learners->learners);
    line("zk_synced_followers", learners->synced_followers);
    line("zk_pending_syncs", learners->pending_syncs);
  }
  return out;
}

std::string wchs(const FourLetterView& v) {
  const auto by_path = v.watches.by_path();
  std::set<uint64_t> conns;
  size_t total = 0;
  for (const auto& [path, ids] : by_path) {
    conns.insert(ids.begin(), ids.end());
    total += ids.size();
  }
  return absl::StrCat(conns.size(), " connections watching ", by_path.size(), " paths\n",
                      "Total watches:", total, "\n");
}

// wchc: the paths each session watches; wchp: the sessions watching each path.
std::string watches_by(const FourLetterView& v, bool by_session) {
  auto session_of = [&v](uint64_t conn) {
    auto it = v.connections.find(conn);
    return it == v.connections.end() ? int64_t{0} : it->second->session_id;
  };
  std::map<int64_t, std::vector<std::string>> sessions;
  std::string out;
  for (const auto& [path, ids] : v.watches.by_path()) {
    if (!by_session) absl::StrAppend(&out, path, "\n");
    for (uint64_t id : ids) {
      if (by_session) {
        sessions[session_of(id)].push_back(path);
      } else {
        absl::StrAppend(&out, "\t", hex(session_of(id)), "\n");
      }
    }
  }
  for (const auto& [sid, paths] : sessions) {
    absl::StrAppend(&out, hex(sid), "\n");
    for (const std::string& p : paths) absl::StrAppend(&out, "\t", p, "\n");
  }
  return out;
}

std::string dump(const FourLetterView& v) {
  std::string out =
      absl::StrCat("SessionTracker dump:\nGlobal Sessions(", v.tree.sessions().size(), "):\n");
  for (const auto& [sid, timeout] : v.tree.sessions()) {
    absl::StrAppend(&out, hex(sid), "\t", timeout, "ms\n");
  }
  const auto& ephemerals = v.tree.ephemerals_by_session();
  absl::StrAppend(&out, "ephemeral nodes dump:\nSessions with Ephemerals (", ephemerals.size(),
                  "):\n");
  for (const auto& [sid, paths] : ephemerals) {
    absl::StrAppend(&out, hex(sid), ":\n");
    for (const std::string& p : paths) absl::StrAppend(&out, "\t", p, "\n");
  }
  return out;
}

std::string conf(const FourLetterView& v) {
  const ServerConfig& c = v.config;
  const zab::ServerSpec& me = c.me();
  std::string out;
  auto line = [&out](const char* k, const auto& value) {
    absl::StrAppend(&out, k, "=", value, "\n");
  };
  const size_t colon = me.client_address.rfind(':');
  line("clientPort", me.client_address.substr(colon + 1));
  line("clientPortAddress", me.client_address.substr(0, colon));
  line("dataDir", c.data_dir);
  line("tickTime", to_ms(c.zab.tick));
  line("maxClientCnxns", c.connections_max);
  line("minSessionTimeout", c.min_timeout_ms());
  line("maxSessionTimeout", c.max_timeout_ms());
  line("serverId", c.my_id);
  if (c.ensemble.servers().size() > 1) {
    line("initLimit", c.zab.init_limit);
    line("syncLimit", c.zab.sync_limit);
    line("electionAlg", 3);
    line("electionPort", me.election_address.substr(me.election_address.rfind(':') + 1));
    line("quorumPort", me.peer_address.substr(me.peer_address.rfind(':') + 1));
    line("peerType", me.observer ? 1 : 0);
    for (const zab::ServerSpec& s : c.ensemble.servers()) {
      absl::StrAppend(&out, "server.", s.id, "=", s.peer_address, ":",
                      s.election_address.substr(s.election_address.rfind(':') + 1), ":",
                      s.observer ? "observer" : "participant", ";", s.client_address, "\n");
    }
  }
  return out;
}

std::string envi(const FourLetterView& v) {
  return absl::StrCat("Environment:\nzookeeper.version=", kVersion, ", built for weir\n",
                      "weir.server.id=", v.config.my_id, "\nweir.data.dir=", v.config.data_dir,
                      "\n");
}

bool allowed(const ServerConfig& config, std::string_view word) {
  const auto& list = config.four_letter_words;
  return list.contains("*") || list.contains(std::string(word));
}

}  // namespace

bool is_four_letter_word(std::string_view word) {
  return std::find(std::begin(kWords), std::end(kWords), word) != std::end(kWords);
}

std::string answer_four_letter_word(std::string_view word, const FourLetterView& v) {
  if (!allowed(v.config, word)) {
    return absl::StrCat(std::string(word),
                        " is not executed because it is not in the whitelist.\n");
  }
  if (word == "ruok") return "imok";
  if (word == "isro") return "rw";
  if (word == "conf") return conf(v);
  if (word == "envi") return envi(v);
  // As ZooKeeper: a server that won an election leads only once a quorum has synced with it,
  // and a follower follows only once its leader has synced it; until then the words that read
  // the server's state say so, or a script would send clients to a server that cannot serve.
  if (!v.peer.serving()) return kNotServing;
  if (word == "srvr") return srvr(v, false);
  if (word == "stat") return srvr(v, true);
  if (word == "cons") return connection_lines(v, true) + "\n";
  if (word == "mntr") return mntr(v);
  if (word == "wchs") return wchs(v);
  if (word == "wchc") return watches_by(v, true);
  if (word == "wchp") return watches_by(v, false);
  if (word == "dump") return dump(v);
  return absl::StrCat(hex(v.tree.last_zxid()), "\t", v.tree.digest(), "\n");  // hash
}

}  // namespace weir::coord::server
