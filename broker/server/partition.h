// One partition this broker hosts: its log, its role (leader or follower, at a leader epoch),
// its high watermark and, as leader, what it knows of each follower (Kafka's Partition).
// It exists apart from the log because the high watermark is replication's notion, not the
// log's: a log holds what was appended; the high watermark says what is committed, which is
// what consumers may see and what acks=all waits for.
//
// As leader: high watermark = the smallest log end offset in the ISR, advanced only while the
// ISR has at least min.insync.replicas members (as Kafka 3.7+), so that every committed
// record is on min.insync replicas, and every member removed from the ISR while it was below
// that stays eligible (broker/README.md, eligible leader replicas). As follower: the leader's
// high watermark, capped by the local log end.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/ids.h"
#include "broker/log/partition_log.h"
#include "runtime/sync.h"
#include "runtime/time.h"
#include "runtime/wait_list.h"

namespace weir::broker {

// Fired after every append to any partition of a broker and every high watermark move;
// `generation` counts them, so a fetch long poll waits for "anything since I looked" without
// missing a wake-up.
struct AppendSignal {
  WaitList waiters;
  uint64_t generation = 0;
  void fire() {
    ++generation;
    waiters.fire_all();
  }
};

// Set once a log failed for good (a failed fsync or write: its outcome is unknown until the log
// is reopened and recovered). Kafka takes the log dir offline and, with no dir left, stops the
// broker; with one log dir per broker here, the broker stops and its supervisor restarts it.
struct StorageHealth {
  absl::Status failure;
  WaitList* notify = nullptr;  // fired on the first failure
  void fail(const absl::Status& status) {
    if (!failure.ok()) return;
    failure = status;
    if (notify != nullptr) notify->fire_all();
  }
};

enum class ReplicaRole { kNone, kLeader, kFollower };

// A partition's state as the controller set it (LeaderAndIsr), plus the state znode's version
// that the leader's own ISR changes are conditional on.
struct LeaderAndIsrState {
  ControllerEpoch controller_epoch{0};
  int32_t leader = -1;
  LeaderEpoch leader_epoch{0};
  std::vector<int32_t> isr;
  std::vector<int32_t> replicas;
  int32_t zk_version = 0;
};

// The leader's view of one follower.
struct FollowerState {
  Offset log_end_offset{-1};  // unknown until it fetches
  TimePoint last_caught_up{};
  TimePoint last_fetch{};
  Offset leader_end_at_last_fetch{0};
};

class Partition {
 public:
  Partition(std::string topic, int32_t index, int32_t broker_id, log::PartitionLog* log,
            AppendSignal* appended, StorageHealth* health = nullptr);
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  log::PartitionLog& log() { return *log_; }
  ReplicaRole role() const { return role_; }
  bool is_leader() const { return role_ == ReplicaRole::kLeader && !closed_; }
  const LeaderAndIsrState& state() const { return state_; }
  LeaderEpoch leader_epoch() const { return state_.leader_epoch; }
  Offset high_watermark() const { return high_watermark_; }
  // As leader: the high watermark is still below where this leader's epoch began, so it may
  // be stale (Kafka's lagging high watermark after an election): consumers asking for the
  // latest offset get OFFSET_NOT_AVAILABLE and retry, rather than an offset from the past.
  bool high_watermark_lagging() const {
    return is_leader() && high_watermark_ < leader_epoch_start_;
  }
  Offset log_start_offset() const { return log_->log_start_offset(); }
  Offset log_end_offset() const { return log_->log_end_offset(); }
  int32_t min_insync_replicas() const { return min_insync_; }
  void set_min_insync_replicas(int32_t n) { min_insync_ = n; }
  // Broken variant (weir.bug=high_watermark_from_leader): the leader's log end alone.
  void set_bug_high_watermark_from_leader(bool v) { bug_hw_from_leader_ = v; }
  // The partition was deleted (or its broker is stopping): requests holding it must not use it.
  bool closed() const { return closed_; }
  void mark_closed();
  // Fired when the high watermark moves, the role or epoch changes, or the partition closes:
  // what a parked acks=all produce waits on.
  WaitList& changed() { return changed_; }

  // Held across a role change, and by a fetcher across its check that the role it fetches for
  // is still current and the append or truncation it then makes: a fetcher of an older role
  // can never write after a newer one started (its truncation would be undone).
  ActorMutex& replica_lock() { return replica_lock_; }
  // Counts role changes (become_leader / become_follower).
  uint64_t generation() const { return generation_; }

  // Becomes leader at `state`'s epoch (the leader epoch cache learns where it starts).
  absl::Status become_leader(const LeaderAndIsrState& state, TimePoint now);
  // Becomes a follower of state.leader; the caller then truncates and starts fetching.
  void become_follower(const LeaderAndIsrState& state);
  // The controller or this leader changed the ISR (the state znode now has `zk_version`).
  void set_isr(std::vector<int32_t> isr, int32_t zk_version);

  // As leader: appends the caller's mutable copy of a produce request's records at this
  // leader epoch. FailedPrecondition (NOT_LEADER_OR_FOLLOWER) when not leader.
  absl::StatusOr<log::AppendInfo> append_as_leader(absl::Span<uint8_t> records);
  // As follower: appends what the leader sent; then the leader's high watermark applies.
  absl::StatusOr<log::AppendInfo> append_as_follower(std::string_view records);
  void set_follower_high_watermark(Offset leader_high_watermark);
  // Truncation of a follower (by leader epoch): the high watermark never exceeds the log end.
  absl::Status truncate_to(Offset offset);

  // As leader, a follower fetched from `fetch_offset` (which says its log ends there).
  void on_follower_fetch(int32_t replica, Offset fetch_offset, TimePoint now);
  // As leader: ISR members (not this broker) that have not caught up within lag_max.
  std::vector<int32_t> lagging_followers(TimePoint now, Duration lag_max) const;
  // As leader, after `replica` fetched: true when it is outside the ISR and has caught up (to
  // the high watermark and into this leader's epoch). Asked of the fetching replica only, as
  // Kafka does: one that stopped fetching keeps its last log end, which a high watermark held
  // back (an ISR below min.insync) would let look caught up forever.
  bool follower_can_join(int32_t replica) const;
  bool in_isr(int32_t replica) const;
  bool isr_update_in_flight() const { return isr_update_in_flight_; }
  void set_isr_update_in_flight(bool v) { isr_update_in_flight_ = v; }
  // A replica whose addition to the ISR is being written: the high watermark counts it from
  // the decision on (Kafka's "maximal ISR"), so that it cannot move past the replica while the
  // write is on its way and the replica joins an ISR whose high watermark it lacks.
  void set_pending_isr_add(std::optional<int32_t> replica);

 private:
  void maybe_advance_high_watermark();
  void set_high_watermark(Offset hw);

  std::string topic_;
  int32_t index_;
  int32_t broker_id_;
  log::PartitionLog* log_;  // owned by the LogManager
  ReplicaRole role_ = ReplicaRole::kNone;
  LeaderAndIsrState state_;
  Offset high_watermark_;
  Offset leader_epoch_start_{0};
  int32_t min_insync_ = 1;
  std::map<int32_t, FollowerState> followers_;
  AppendSignal* appended_;
  StorageHealth* health_;
  WaitList changed_;
  ActorMutex replica_lock_;
  uint64_t generation_ = 0;
  bool closed_ = false;
  bool isr_update_in_flight_ = false;
  std::optional<int32_t> pending_isr_add_;
  bool bug_hw_from_leader_ = false;
};

}  // namespace weir::broker
