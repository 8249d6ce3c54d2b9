// A ZAB peer: one coord server's replication engine. It recovers its log and snapshot, runs
// fast leader election, and then leads or follows through ZAB's phases: discovery (agree on a
// new epoch), synchronization (bring each follower to the leader's history by DIFF, TRUNC or
// SNAP) and broadcast (proposals logged and acknowledged by a quorum, committed in zxid
// order). A follower that loses its leader, or a leader that loses its quorum, elects again.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coord/ids.h"
#include "coord/zab/config.h"
#include "coord/zab/election.h"
#include "coord/zab/state_machine.h"
#include "coord/zab/storage/epoch_store.h"
#include "coord/zab/storage/snapshot_store.h"
#include "coord/zab/storage/txn_log.h"
#include "coord/zab/zab.pb.h"
#include "runtime/actor_collection.h"
#include "runtime/process_context.h"
#include "runtime/rpc/client.h"
#include "runtime/rpc/server.h"

namespace weir::coord::zab {

// Hooks for checkers (ZabSafety) and metrics: what a peer established, committed, applied.
class IZabObserver {
 public:
  virtual ~IZabObserver() = default;
  virtual void on_established(int64_t server, uint32_t epoch) = 0;
  virtual void on_applied(int64_t server, Zxid zxid, std::string_view payload) = 0;
  virtual void on_restored(int64_t server, Zxid zxid) = 0;
};

// Deliberate bugs for the checker tests (never set outside tests).
enum class ZabBug { kNone, kCommitWithoutQuorum };

class Leader;

absl::Span<const uint8_t> as_bytes(std::string_view s);

// What mntr reports of a leader's learners (ZooKeeper's zk_followers, zk_synced_followers,
// zk_pending_syncs): learners heard from within syncLimit, the voters among them that
// acknowledged NEWLEADER, and learners that acknowledged the epoch but are not synced yet.
struct LearnerCounts {
  size_t learners = 0;
  size_t synced_followers = 0;
  size_t pending_syncs = 0;
};

class ZabPeer {
 public:
  ZabPeer(int64_t my_id, EnsembleConfig config, ZabOptions options, IStateMachine& machine,
          ProcessContext& ctx);
  ~ZabPeer();
  ZabPeer(const ZabPeer&) = delete;
  ZabPeer& operator=(const ZabPeer&) = delete;

  // Recovers from disk, serves peers, and runs elections and roles until cancelled or a
  // storage error (returned: the process should restart).
  absl::Status run();

  // Orders a write. On the leader it is proposed at once; on a follower it joins the forwarding
  // queue, whose writes go to the leader in batches with one Submit in flight, so writes get
  // zxids in the order of the calls and a caller need not wait for one zxid before submitting
  // the next. The future is the zxid the write got; it is not yet committed (wait_applied tells
  // when it is, here).
  Future<Zxid> submit_async(std::string payload, Duration timeout);
  // submit_async, awaited.
  absl::StatusOr<Zxid> submit(std::string payload, Duration timeout);
  // Suspends until this server has applied `zxid` or `timeout` passes. Aborted if the txn
  // was dropped by a leader change (the history moved past zxid without it).
  absl::Status wait_applied(Zxid zxid, Duration timeout);

  PeerState state() const { return state_; }
  // Whether this server may serve clients (ZooKeeper's zkServer.isRunning()): it leads an
  // established epoch, or follows (observes) and has been synced by its leader (UpToDate).
  // state() turns Leading/Following at the end of an election, before either.
  bool serving() const;
  int64_t leader_id() const { return leader_id_; }
  // While leading: what the leader knows of its learners (for mntr).
  std::optional<LearnerCounts> learner_counts() const;
  int64_t id() const { return my_id_; }
  Zxid last_applied() const { return machine_.last_applied(); }
  void set_observer(IZabObserver* observer) { observer_ = observer; }
  void set_bug(ZabBug bug) { bug_ = bug; }

  // Internal, for Leader and the follower loop.
  struct Replica;
  Replica& replica() { return *replica_; }
  const ZabOptions& options() const { return options_; }
  const EnsembleConfig& config() const { return config_; }
  ZabBug bug() const { return bug_; }
  IZabObserver* observer() const { return observer_; }
  EpochStore& epochs() { return *epochs_; }
  TxnLog& log() { return *log_; }
  IStateMachine& machine() { return machine_; }
  ProcessContext& ctx() { return ctx_; }
  absl::Status apply_to(Zxid commit);

 private:
  absl::Status recover();
  absl::Status quiesce(absl::Status why);
  void register_endpoints();
  absl::Status follow(int64_t leader);
  absl::Status sync_with(int64_t leader, const ServerSpec& spec);
  absl::Status fetch_loop(const ServerSpec& spec, uint32_t epoch);
  absl::Status install(const SyncReply& sync);
  absl::Status append_and_sync(const google::protobuf::RepeatedPtrField<Txn>& txns);
  Vote my_vote() const;
  void maybe_snapshot();
  void trim_history(Zxid cut);
  Zxid history_cut(Zxid at) const;
  // A write waiting in the forwarding queue.
  struct Forward {
    std::string payload;
    TimePoint deadline;
    Promise<Zxid> zxid;
  };
  void forward_loop();
  absl::StatusOr<std::vector<Zxid>> forward(std::vector<Forward>& batch);

  int64_t my_id_;
  EnsembleConfig config_;
  ZabOptions options_;
  IStateMachine& machine_;
  ProcessContext& ctx_;
  std::unique_ptr<TxnLog> log_;
  std::unique_ptr<EpochStore> epochs_;
  std::unique_ptr<SnapshotStore> snapshots_;
  std::unique_ptr<Replica> replica_;
  rpc::RpcClient client_;
  rpc::RpcServer server_;
  Election election_;
  std::shared_ptr<Leader> leader_;  // set while leading; handlers hold their own reference
  PeerState state_ = PeerState::kLooking;
  int64_t leader_id_ = -1;
  uint32_t following_epoch_ = 0;
  bool synced_ = false;  // following or observing, and UpToDate arrived in this role
  IZabObserver* observer_ = nullptr;
  ZabBug bug_ = ZabBug::kNone;
  WaitList applied_changed_;
  bool snapshotting_ = false;
  int64_t snapshot_after_txns_ = 0;  // this interval's draw (0: not drawn yet)
  Zxid last_snapshot_;  // of the newest snapshot taken here (the history may reach further back)
  // Outcomes for wait_applied: settled when the zxid is applied, or aborted when the history
  // moves past it without it (a later zxid applied, or a snapshot installed).
  struct PendingApply {
    bool settled = false;
    absl::Status status;
  };
  std::map<int64_t, std::shared_ptr<PendingApply>> pending_applies_;
  void settle_pending(Zxid applied_exactly);
  std::deque<Forward> forward_queue_;  // bounded by pending_proposals_max
  bool forwarding_ = false;            // forward_loop is running
  ActorCollection background_;         // snapshot writers, the forwarder; cancelled with the peer
};

// Every txn since the last snapshot, in memory: the leader serves DIFFs from it and each
// server applies committed txns from it.
struct ZabPeer::Replica {
  Zxid base;                // the snapshot's zxid: history starts after it
  std::deque<Txn> history;  // logged txns, strictly increasing zxids
  Zxid last_logged() const { return history.empty() ? base : Zxid(history.back().zxid()); }
  // Index of the first txn with zxid > z.
  size_t after(Zxid z) const;
  bool contains(Zxid z) const;
};

}  // namespace weir::coord::zab
