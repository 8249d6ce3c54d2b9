// CoordEnsemble: the real coord servers (coord/server) a coord workload runs against, started as
// one role of the cluster, and the ledger of what they committed. It exists so that the coord
// workloads test exactly the server `weir coord` runs, and so that checkers can compare what
// clients saw with the one committed history (collected from every server's applies, outside
// the simulated processes).
//
//   CoordEnsemble ensemble(options);
//   ensemble.setup(cluster, "coord");             // in Workload::setup
//   CoordClient client(ConnectString(...ensemble.connect_string()...));
//   ensemble.await_converged();                    // in Workload::check, after healing
//   ensemble.replay(paths) -> each path's committed states, by zxid
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "coord/server/config.h"
#include "runtime/workload.h"
#include "runtime/workload_options.h"

namespace weir::workloads {

struct CoordEnsembleOptions {
  int voters = 3;
  int observers = 1;
  int64_t tick_ms = 100;
  int64_t snapshot_every_txns = 500;
  size_t snapshot_step_nodes = 3;
  int32_t max_session_timeout_ms = 4000;
  int64_t container_check_ms = 1000;  // the reaper's interval (ZooKeeper: a minute)
  coord::server::CoordBug bug = coord::server::CoordBug::kNone;
};

// Reads voters, observers, tick_ms, snapshot_every_txns, snapshot_step_nodes,
// max_session_timeout_ms, container_check_ms and bug (none, sync_without_barrier,
// sessions_never_expire, watch_after_reply, reaper_idle).
absl::StatusOr<CoordEnsembleOptions> parse_ensemble_options(WorkloadOptions& options);

// A znode's committed value at some zxid (absent: no node).
struct CommittedValue {
  int64_t zxid = 0;  // the txn that made it so
  std::optional<std::string> data;
  int32_t version = 0;
  bool operator==(const CommittedValue& o) const { return data == o.data && version == o.version; }
};

class CoordEnsemble {
 public:
  explicit CoordEnsemble(CoordEnsembleOptions options);
  ~CoordEnsemble();

  absl::Status setup(ICluster& cluster, const std::string& role);
  // "ip:port,ip:port,..." of every server's client port.
  const std::string& connect_string() const { return connect_string_; }
  const CoordEnsembleOptions& options() const { return options_; }

  // Waits until every server's state machine applied the newest committed zxid.
  void await_converged();
  // Waits until a fresh session's write succeeds (a leader exists and a quorum works). Runs on
  // the calling process, which must be a client.
  void await_writable() const;
  // Replays the committed history through a fresh data tree: for each path, its value after
  // zxid 0 (absent) and after every txn that changed it, oldest first. Fails if two servers
  // applied different txns at one zxid or the history has a gap.
  absl::StatusOr<std::map<std::string, std::vector<CommittedValue>>> replay(
      const std::vector<std::string>& paths) const;
  uint64_t committed_count() const;
  uint64_t elections() const;

  struct Ledger;

 private:
  CoordEnsembleOptions options_;
  std::shared_ptr<Ledger> ledger_;
  std::string connect_string_;
};

// Runs `per_client` copies of `body` on every client process until `stopped`, then waits (a
// bounded time) for them to finish their last operation.
void run_on_clients(ICluster& cluster, int per_client, std::string_view name,
                    std::function<void()> body, const bool& stopped);

// Simulated (or real) time in microseconds: the clock of every history a coord checker reads.
int64_t now_us();

// The value of `path` at `zxid` from a replay timeline (absent before its first entry).
const CommittedValue& value_at(const std::vector<CommittedValue>& timeline, int64_t zxid);

}  // namespace weir::workloads
