// The shape of a coord ensemble as ZAB needs it: who votes, who observes, where each server's
// peer and client ports are, and the timing limits (in ticks, as ZooKeeper counts them).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/time.h"

namespace weir::coord::zab {

struct ServerSpec {
  int64_t id = 0;
  // ZAB and election RPCs (ZooKeeper's quorum port); empty for a standalone server, which has
  // no peers to talk to.
  std::string peer_address;
  // ZooKeeper's election port. Weir elects over the quorum port, so this port serves the
  // session tracker's touches from followers to the leader instead.
  std::string election_address;
  std::string client_address;  // the ZooKeeper wire protocol
  bool observer = false;
};

struct ZabOptions {
  Duration tick = 200ms;
  int init_limit = 10;             // ticks a follower may take to connect and sync
  int sync_limit = 5;              // ticks without contact before leader or follower gives up
  Duration finalize_wait = 200ms;  // how long a decided election waits for better votes
  // Failover paths that must not wait a tick (2 s at ZooKeeper's default): the pause before
  // looking again once a role ended, a follower's retry while its elected leader is not yet
  // leading, and the longest wait before a notification is sent again.
  Duration retry_jitter_max = 50ms;
  Duration retry_interval = 20ms;
  Duration notify_resend_max = 100ms;
  int64_t fetch_bytes_max = 1 << 20;
  // ZooKeeper's snapCount: a snapshot after every/2 to every applied txns (drawn each time).
  // The in-memory history holds up to this many txns.
  int64_t snapshot_every_txns = 100000;
  // A snapshot is written in steps of this many nodes with a pause between them, so the
  // server's loop serves requests while a big tree is serialized (a step is ~1-2 ms).
  size_t snapshot_step_nodes = 1000;
  Duration snapshot_step_pause = std::chrono::milliseconds(1);
  size_t pending_proposals_max = 10000;  // uncommitted txns the leader holds before refusing
  // The last counter (low 32 bits of a zxid) a leader hands out: at it the leader steps down,
  // so that the next epoch starts the counter again before it could wrap into the epoch bits
  // (ZooKeeper forces a re-election the same way). Smaller only in tests.
  uint32_t zxid_counter_max = 0xffffffffu;
};

class EnsembleConfig {
 public:
  EnsembleConfig() = default;
  explicit EnsembleConfig(std::vector<ServerSpec> servers);

  const std::vector<ServerSpec>& servers() const { return servers_; }
  const ServerSpec* find(int64_t id) const;
  bool is_voter(int64_t id) const;
  size_t voter_count() const { return voters_.size(); }
  // True if `ids` contains a majority of the voters (non-voters are ignored).
  bool is_quorum(const std::set<int64_t>& ids) const;
  std::vector<int64_t> voter_ids() const { return {voters_.begin(), voters_.end()}; }

 private:
  std::vector<ServerSpec> servers_;
  std::set<int64_t> voters_;
};

}  // namespace weir::coord::zab
