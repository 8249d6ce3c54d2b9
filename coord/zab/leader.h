// The leader side of ZAB for one epoch. It exists from the moment this server wins an election
// until it loses its quorum: it runs discovery (a quorum agrees on a new epoch), sync (each
// follower is brought to the leader's history) and broadcast (each write gets the next zxid,
// is logged, and commits once a quorum of voters has it durably, strictly in zxid order).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "coord/zab/peer.h"
#include "runtime/wait_list.h"

namespace weir::coord::zab {

class Leader : public std::enable_shared_from_this<Leader> {
 public:
  explicit Leader(ZabPeer& peer);
  ~Leader();

  // Runs the epoch; returns why it ended (lost quorum, storage error, discovery failed).
  absl::Status lead();
  void stop();

  absl::StatusOr<LeaderInfo> on_follower_info(const FollowerInfo& info);
  absl::StatusOr<SyncReply> on_ack_epoch(const AckEpoch& ack);
  absl::StatusOr<UpToDate> on_ack_newleader(const AckNewLeader& ack);
  absl::StatusOr<FetchReply> on_fetch(const Fetch& fetch);
  absl::StatusOr<Zxid> propose(std::string payload);

  bool established() const { return established_; }
  uint32_t epoch() const { return epoch_; }
  // Nonzero when this leader gave its epoch up for a learner that had accepted a later one:
  // the peer must accept this epoch itself before the next election, so that the next
  // discovery it takes part in picks an epoch the learner can follow.
  int64_t yielded_to_epoch() const { return yielded_to_epoch_; }
  // The oldest zxid logged by a learner heard from within syncLimit: the history after it has
  // to stay in memory for that learner's next Fetch, or it could only catch up by a SNAP.
  Zxid retain_floor() const;

  LearnerCounts learner_counts() const;

 private:
  absl::Status discover();
  absl::Status establish();
  absl::Status sync_loop();
  absl::Status watchdog();
  SyncReply make_sync(Zxid follower_last);
  void add_txns_after(size_t from, int64_t bytes_max, google::protobuf::RepeatedPtrField<Txn>* out);
  void recompute_commit();
  bool voter_quorum(const std::set<int64_t>& ids) const;
  TimePoint init_deadline() const;
  void touch(int64_t sid);
  int64_t next_time_ms();

  ZabPeer& peer_;
  ZabPeer::Replica& replica_;
  uint32_t epoch_ = 0;
  uint32_t counter_ = 0;
  std::map<int64_t, FollowerInfo> infos_;
  std::map<int64_t, AckEpoch> epoch_acks_;
  std::set<int64_t> newleader_acks_;
  std::map<int64_t, Zxid> acked_;  // durable zxid per voter, this leader included
  std::map<int64_t, TimePoint> last_contact_;
  std::map<int64_t, Zxid> fetched_;  // each learner's last logged zxid, from its latest Fetch
  Zxid committed_;
  Zxid appended_;
  Zxid synced_;
  TimePoint started_;
  int64_t last_time_ms_ = 0;  // the newest txn time in this leader's history
  bool epoch_decided_ = false;
  bool epoch_quorum_ = false;
  bool established_ = false;
  bool stopped_ = false;
  int64_t yielded_to_epoch_ = 0;
  WaitList changed_;
};

}  // namespace weir::coord::zab
