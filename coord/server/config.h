// A coord server's configuration, read from a zoo.cfg-style file. It exists so that operators
// can reuse ZooKeeper's vocabulary (tickTime, initLimit, dataDir, server.N=...) and so that the
// simulator and the binary build the same ServerConfig.
//
// Keys (unknown keys are ignored, as ZooKeeper warns and ignores them):
//   tickTime=2000            ms; the session and ZAB time unit
//   initLimit=10 syncLimit=5 ticks
//   dataDir=/var/lib/weir    myid (if no --id) and zab/ live here
//   clientPort=2181          clients connect here when a server line names no client port
//   clientPortAddress=0.0.0.0   the host clientPort listens on (default: every interface)
//   minSessionTimeout / maxSessionTimeout   ms; default 2 and 20 ticks
//   maxClientCnxns=1024      connections per server
//   snapCount=100000         txns between snapshots (each interval drawn in [n/2, n])
//   jute.maxbuffer=1048575   bytes; a longer request frame closes its connection
//   4lw.commands.whitelist=srvr   four-letter words answered (comma-separated, * for all)
//   znode.container.checkIntervalMs=60000      how often the leader reaps containers and TTLs
//   znode.container.maxPerMinute=10000         deletes per minute, paced evenly
//   znode.container.maxNeverUsedIntervalMs=0   reap a never-used container after this; 0: never
//   server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]
//     (ZooKeeper's grammar). Weir elects over the quorum port; the election port carries the
//     session tracker's touches from followers to the leader.
// Without server.N lines the server runs standalone (ZooKeeper's standalone mode): one voter,
// no peer ports, clients on clientPortAddress:clientPort; myid is not needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "coord/jute/frame.h"
#include "coord/zab/config.h"
#include "runtime/filesystem.h"

namespace weir::coord::server {

// Deliberate server bugs, only for the simulation tests that prove each coord checker can fail.
enum class CoordBug {
  kNone,
  kSyncWithoutBarrier,   // sync answered at once, without a txn through the leader
  kSessionsNeverExpire,  // the leader's tracker never closes a timed-out session
  kWatchAfterReply,      // watch notifications queued after later replies
  kReaperIdle,           // the leader never deletes containers or TTL nodes
};

struct ServerConfig {
  int64_t my_id = 0;
  CoordBug bug = CoordBug::kNone;
  zab::EnsembleConfig ensemble;
  zab::ZabOptions zab;
  std::string data_dir;
  int32_t min_session_timeout_ms = 0;  // 0: 2 ticks
  int32_t max_session_timeout_ms = 0;  // 0: 20 ticks
  size_t connections_max = 1024;
  std::set<std::string> four_letter_words = {"srvr"};  // ZooKeeper's default whitelist
  size_t outstanding_requests_max = 1000;              // per connection; the reader waits beyond it
  size_t frame_bytes_max = jute::kJuteMaxBuffer;  // jute.maxbuffer: a longer request frame closes
  size_t send_queue_bytes_max = 16 << 20;         // per connection; a slower reader is disconnected
  Duration request_timeout = 10s;  // a write not applied by then closes the connection
  // The leader's reaper of empty containers and expired TTL nodes (ZooKeeper's
  // ContainerManager and its znode.container.* properties, with the same defaults).
  Duration container_check_interval = 60s;
  int64_t container_max_per_minute = 10000;
  int64_t container_max_never_used_ms = 0;

  int32_t min_timeout_ms() const;
  int32_t max_timeout_ms() const;
  const zab::ServerSpec& me() const;
  // Where `id`'s session tracker RPCs go (its election address; empty when standalone).
  std::string session_address(int64_t id) const;
};

// Parses the file text; `my_id` overrides (and otherwise must come from load_myid).
absl::StatusOr<ServerConfig> parse_config(std::string_view text, std::optional<int64_t> my_id);
// Reads `<data_dir>/myid` (a decimal number, whitespace allowed).
absl::StatusOr<int64_t> load_myid(IFileSystem& fs, const std::string& data_dir);

}  // namespace weir::coord::server
