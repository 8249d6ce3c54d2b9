// Nodes whose end the coord leader decides, for CoordSessions: containers (reaped once their
// last child is gone) and TTL nodes (reaped once unwritten for their TTL). Sessions use them
// in passing; after healing, await_reaped() checks that the reaper caught up with all of them.
#pragma once

#include <cstdint>
#include <string>

#include "coord/client/client.h"
#include "runtime/random.h"
#include "runtime/time.h"

namespace weir::workloads {

inline constexpr char kContainerParent[] = "/ctr";
inline constexpr char kTtlParent[] = "/ttl";
inline constexpr int64_t kTtlMaxMs = 1000;

// What sessions did with reaped nodes, and what the check saw.
struct ReapedStats {
  uint64_t containers_used = 0;  // a child created under a container and deleted again
  uint64_t ttl_created = 0;
  uint64_t ttl_clock_frozen = 0;  // the ensemble's clock stood still: TTLs not checked
  double reap_wait_seconds = 0;
};

// Creates one of a few containers (if missing), a child under it, then deletes the child: the
// container is then empty, had a child, and is the reaper's to delete.
void use_container(coord::client::CoordClient& client, IRandom& random, int32_t session,
                   ReapedStats& stats);

// Creates a TTL node under kTtlParent with a TTL of at most kTtlMaxMs.
void create_ttl_node(coord::client::CoordClient& client, IRandom& random, int32_t session,
                     ReapedStats& stats);

// Waits up to `bound` until no emptied container and no TTL node overdue by more than
// `slack_ms` on the ensemble's clock is left; returns what is left ("" if nothing). The
// ensemble's clock is read from the mtime of a node it writes: a leader whose wall clock is
// behind the newest stamp keeps stamping that stamp, and TTLs are then not checked (ZooKeeper
// measures TTLs by the leader's wall clock too).
std::string await_reaped(const std::string& connect, Duration bound, int64_t slack_ms,
                         ReapedStats& stats);

}  // namespace weir::workloads
