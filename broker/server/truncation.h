// Where a follower cuts its log when it starts following a leader (KIP-101, with KIP-279's
// walk back to the largest epoch both logs share). The follower asked about its latest epoch;
// the leader answered with its largest epoch up to that one and where that epoch ends in its
// log. A pure function, so that every case is tested without a cluster.
#pragma once

#include <cstdint>
#include <optional>

#include "broker/log/leader_epoch_cache.h"

namespace weir::broker {

struct EpochAnswer {
  int32_t leader_epoch = -1;  // -1: the leader has no epoch as old as the one asked about
  int64_t end_offset = -1;
};

struct Truncation {
  Offset cut;
  // The follower never had the leader's epoch: it cut to where its own largest epoch below
  // that one ends, and must ask again about that epoch.
  bool ask_again = false;
};

// `epochs` and the offsets are the follower's; `asked` is the epoch it asked about.
Truncation follower_truncation(const log::LeaderEpochCache& epochs, Offset log_end,
                               Offset log_start, EpochAnswer answer, LeaderEpoch asked);

}  // namespace weir::broker
