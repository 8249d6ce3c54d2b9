#include "coord/zab/peer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "coord/zab/leader.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::coord::zab {

namespace {
// A SNAP carries the whole tree in one reply, so the peers' frames must fit any tree the
// ensemble may hold: with RPC's 16 MiB default, a follower that fell behind (or a new one)
// could never sync once the tree outgrew it, and its server stopped. Peers are trusted.
constexpr size_t kPeerFrameBytesMax = size_t{1} << 30;
}  // namespace

absl::Span<const uint8_t> as_bytes(std::string_view s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

size_t ZabPeer::Replica::after(Zxid z) const {
  auto it = std::upper_bound(history.begin(), history.end(), z.value(),
                             [](int64_t v, const Txn& t) { return v < t.zxid(); });
  return static_cast<size_t>(it - history.begin());
}

bool ZabPeer::Replica::contains(Zxid z) const {
  const size_t i = after(z);
  return i > 0 && history[i - 1].zxid() == z.value();
}

ZabPeer::ZabPeer(int64_t my_id, EnsembleConfig config, ZabOptions options, IStateMachine& machine,
                 ProcessContext& ctx)
    : my_id_(my_id),
      config_(std::move(config)),
      options_(options),
      machine_(machine),
      ctx_(ctx),
      replica_(std::make_unique<Replica>()),
      // Peers are few and a restarted one must be reachable at once: retry a dead peer every
      // tick rather than backing off to seconds (a follower's first call to a leader that just
      // restarted would otherwise time out and send everyone back to an election).
      client_(*ctx.network, *ctx.random,
              rpc::RpcClientOptions{.frame_bytes_max = kPeerFrameBytesMax,
                                    .backoff_max = options.tick}),
      server_(*ctx.network, rpc::RpcServerOptions{.frame_bytes_max = kPeerFrameBytesMax}),
      election_(my_id, config_, client_, options) {}

ZabPeer::~ZabPeer() {
  server_.stop();
  applied_changed_.fire_all();
}

absl::Status ZabPeer::recover() {
  const std::string dir = ctx_.data_dir + "/zab";
  if (auto s = ctx_.fs->create_directories(dir + "/snap"); !s.ok()) return s;
  auto epochs = EpochStore::open(*ctx_.fs, dir, {});
  if (!epochs.ok()) return epochs.status();
  epochs_ = std::move(*epochs);
  auto snapshots = SnapshotStore::open(*ctx_.fs, dir + "/snap", {});
  if (!snapshots.ok()) return snapshots.status();
  snapshots_ = std::move(*snapshots);
  auto latest = snapshots_->load_latest();
  if (!latest.ok()) return latest.status();
  if (latest->has_value()) {
    const Snapshot& snap = **latest;
    const std::string_view bytes(reinterpret_cast<const char*>(snap.data.data()), snap.data.size());
    if (auto s = machine_.restore(snap.zxid, bytes); !s.ok()) return s;
    replica_->base = snap.zxid;
    if (observer_ != nullptr) observer_->on_restored(my_id_, snap.zxid);
  }
  auto log = TxnLog::open(*ctx_.fs, dir + "/log", {});
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  auto entries = log_->read_from(replica_->base, INT64_MAX);
  if (!entries.ok()) return entries.status();
  for (const auto& e : *entries) {
    Txn txn;
    if (!txn.ParseFromArray(e.payload.data(), static_cast<int>(e.payload.size())) ||
        txn.zxid() != e.zxid.value()) {
      return absl::DataLossError("unparsable txn in the log at zxid " +
                                 std::to_string(e.zxid.value()));
    }
    replica_->history.push_back(std::move(txn));
  }
  TraceEvent(Severity::kInfo, "ZabRecovered")
      .detail("SnapshotZxid", replica_->base.value())
      .detail("LastLogged", replica_->last_logged().value())
      .detail("AcceptedEpoch", epochs_->accepted_epoch())
      .detail("CurrentEpoch", epochs_->current_epoch());
  return absl::OkStatus();
}

void ZabPeer::register_endpoints() {
  server_.handle<Notification, Notification>(
      "zab.notify", [this](const Notification& n) { return election_.on_notification(n); });
  auto leading = [this]() -> absl::StatusOr<std::shared_ptr<Leader>> {
    if (leader_ == nullptr) return absl::UnavailableError("not leading");
    return leader_;
  };
  server_.handle<FollowerInfo, LeaderInfo>(
      "zab.follower_info", [leading](const FollowerInfo& r) -> absl::StatusOr<LeaderInfo> {
        auto l = leading();
        if (!l.ok()) return l.status();
        return (*l)->on_follower_info(r);
      });
  server_.handle<AckEpoch, SyncReply>("zab.ack_epoch",
                                      [leading](const AckEpoch& r) -> absl::StatusOr<SyncReply> {
                                        auto l = leading();
                                        if (!l.ok()) return l.status();
                                        return (*l)->on_ack_epoch(r);
                                      });
  server_.handle<AckNewLeader, UpToDate>(
      "zab.ack_newleader", [leading](const AckNewLeader& r) -> absl::StatusOr<UpToDate> {
        auto l = leading();
        if (!l.ok()) return l.status();
        return (*l)->on_ack_newleader(r);
      });
  server_.handle<Fetch, FetchReply>("zab.fetch",
                                    [leading](const Fetch& r) -> absl::StatusOr<FetchReply> {
                                      auto l = leading();
                                      if (!l.ok()) return l.status();
                                      return (*l)->on_fetch(r);
                                    });
  server_.handle<Submit, SubmitReply>(
      "zab.submit", [leading](const Submit& r) -> absl::StatusOr<SubmitReply> {
        auto l = leading();
        if (!l.ok()) return l.status();
        SubmitReply out;
        for (const std::string& payload : r.payloads()) {
          auto zxid = (*l)->propose(payload);
          if (!zxid.ok()) {
            if (out.zxids().empty()) return zxid.status();
            break;  // the proposed prefix stands; the follower fails the rest
          }
          out.add_zxids(zxid->value());
        }
        return out;
      });
}

std::optional<LearnerCounts> ZabPeer::learner_counts() const {
  if (state_ != PeerState::kLeading || leader_ == nullptr) return std::nullopt;
  return leader_->learner_counts();
}

bool ZabPeer::serving() const {
  switch (state_) {
    case PeerState::kLeading:
      return leader_ != nullptr && leader_->established();
    case PeerState::kFollowing:
    case PeerState::kObserving:
      return synced_;
    case PeerState::kLooking:
      break;
  }
  return false;
}

Vote ZabPeer::my_vote() const {
  Vote v;
  v.set_leader(my_id_);
  v.set_zxid(replica_->last_logged().value());
  v.set_epoch(epochs_->current_epoch());
  return v;
}

absl::Status ZabPeer::run() {
  if (auto s = recover(); !s.ok()) return s;
  register_endpoints();
  const ServerSpec* me = config_.find(my_id_);
  WEIR_ASSERT_MSG(me != nullptr, "this server is not in its own ensemble config");
  // A standalone server (the only voter) has no peers and so no peer port.
  if (!me->peer_address.empty()) {
    if (auto s = server_.start(me->peer_address); !s.ok()) return s;
  }
  while (true) {
    state_ = PeerState::kLooking;
    leader_id_ = -1;
    const Vote vote = election_.look_for_leader(my_vote());
    leader_id_ = vote.leader();
    absl::Status ended;
    if (vote.leader() == my_id_) {
      state_ = PeerState::kLeading;
      auto leader = std::make_shared<Leader>(*this);
      leader_ = leader;
      ended = leader->lead();
      leader_.reset();
      leader->stop();
      if (leader->yielded_to_epoch() > epochs_->accepted_epoch()) {
        if (auto s = epochs_->set_accepted_epoch(leader->yielded_to_epoch()); !s.ok()) ended = s;
      }
    } else {
      state_ = config_.is_voter(my_id_) ? PeerState::kFollowing : PeerState::kObserving;
      ended = follow(vote.leader());
      synced_ = false;
    }
    TraceEvent(Severity::kInfo, "ZabRoleEnded")
        .detail("Leader", vote.leader())
        .detail("Status", ended.ToString());
    // Looking from now on, not from the next election's start: until then others would take
    // our old "following/leading" answer as a quorum member's and join a leader that is gone.
    state_ = PeerState::kLooking;
    leader_id_ = -1;
    election_.set_outcome(PeerState::kLooking, my_vote());
    if (!log_->failure().ok()) return quiesce(log_->failure());  // a failed log must be reopened
    if (absl::IsDataLoss(ended) || absl::IsInternal(ended) || absl::IsResourceExhausted(ended) ||
        absl::IsUnknown(ended)) {
      return quiesce(ended);  // storage trouble: the process restarts from what is durable
    }
    // Desynchronize retries so that peers do not keep colliding, but start looking at once
    // (within retry_jitter_max, not a tick: at ZooKeeper's 2 s tick that was most of a
    // failover): the votes, not the timing, decide.
    delay(from_seconds(ctx_.random->uniform01() * to_seconds(options_.retry_jitter_max)));
  }
}

// Before run() hands back an error the caller will destroy this peer: cancel the actors that
// use it (RPC handlers, snapshot writers) and let them unwind first. A destructor cannot wait.
absl::Status ZabPeer::quiesce(absl::Status why) {
  server_.stop();
  background_.clear();
  leader_.reset();
  delay(10ms);
  return why;
}

absl::Status ZabPeer::follow(int64_t leader) {
  const ServerSpec* spec = config_.find(leader);
  if (spec == nullptr) return absl::InvalidArgumentError("elected leader not in the ensemble");
  if (auto s = sync_with(leader, *spec); !s.ok()) return s;
  return fetch_loop(*spec, following_epoch_);
}

// Discovery and synchronization, follower side.
absl::Status ZabPeer::sync_with(int64_t leader, const ServerSpec& spec) {
  const Duration init = options_.tick * options_.init_limit;
  FollowerInfo info;
  info.set_sid(my_id_);
  info.set_accepted_epoch(epochs_->accepted_epoch());
  info.set_last_zxid(replica_->last_logged().value());
  info.set_observer(!config_.is_voter(my_id_));
  // The elected leader may not have left its own election yet ("not leading") or may not be
  // listening yet: keep asking until initLimit, as a ZooKeeper follower keeps connecting to its
  // leader. Giving up at once starts an election that the leader, by then waiting initLimit
  // for followers, does not take part in.
  const TimePoint deadline = Scheduler::current().now() + init;
  absl::StatusOr<LeaderInfo> li;
  while (true) {
    li = client_.call<FollowerInfo, LeaderInfo>(spec.peer_address, "zab.follower_info", info,
                                                deadline - Scheduler::current().now());
    if (li.ok() || !absl::IsUnavailable(li.status()) ||
        Scheduler::current().now() + options_.retry_interval >= deadline) {
      break;
    }
    delay(options_.retry_interval);
  }
  if (!li.ok()) return li.status();
  const uint32_t epoch = static_cast<uint32_t>(li->new_epoch());
  if (epoch < epochs_->accepted_epoch()) {
    return absl::FailedPreconditionError(
        absl::StrCat("leader ", leader, " offers stale epoch ", epoch));
  }
  if (epoch > epochs_->accepted_epoch()) {
    if (auto s = epochs_->set_accepted_epoch(epoch); !s.ok()) return s;
  }
  AckEpoch ack;
  ack.set_sid(my_id_);
  ack.set_new_epoch(epoch);
  ack.set_current_epoch(epochs_->current_epoch());
  ack.set_last_zxid(replica_->last_logged().value());
  auto sync = client_.call<AckEpoch, SyncReply>(spec.peer_address, "zab.ack_epoch", ack, init);
  if (!sync.ok()) return sync.status();
  if (auto s = install(*sync); !s.ok()) return s;
  // NEWLEADER: our history is now the leader's; the epoch becomes current before we ack.
  if (auto s = epochs_->set_current_epoch(epoch); !s.ok()) return s;
  AckNewLeader nl;
  nl.set_sid(my_id_);
  nl.set_epoch(epoch);
  nl.set_last_zxid(replica_->last_logged().value());
  auto up = client_.call<AckNewLeader, UpToDate>(spec.peer_address, "zab.ack_newleader", nl, init);
  if (!up.ok()) return up.status();
  following_epoch_ = epoch;
  synced_ = true;
  TraceEvent(Severity::kInfo, "ZabFollowing")
      .detail("Leader", leader)
      .detail("Epoch", epoch)
      .detail("Mode", SyncReply::Mode_Name(sync->mode()));
  return apply_to(std::min(Zxid(up->committed_zxid()), replica_->last_logged()));
}

absl::Status ZabPeer::install(const SyncReply& sync) {
  if (sync.mode() == SyncReply::TRUNC) {
    const Zxid to(sync.trunc_zxid());
    if (to < machine_.last_applied()) {
      TraceEvent(Severity::kWarnAlways, "ZabTruncBelowApplied").detail("To", to.value());
      return absl::FailedPreconditionError("leader asks to truncate committed txns");
    }
    if (auto s = log_->truncate_after(to); !s.ok()) return s;
    replica_->history.erase(replica_->history.begin() + static_cast<ptrdiff_t>(replica_->after(to)),
                            replica_->history.end());
    if (replica_->last_logged() != to) {
      CODE_PROBE(true, "zab.trunc_point_missing");
      return absl::FailedPreconditionError("truncation point is not in this server's log");
    }
  } else if (sync.mode() == SyncReply::SNAP) {
    const Zxid at(sync.snapshot_zxid());
    if (auto s = machine_.restore(at, sync.snapshot()); !s.ok()) return s;
    if (auto s = snapshots_->save(at, as_bytes(sync.snapshot())); !s.ok()) return s;
    if (auto s = log_->truncate_after(Zxid(0)); !s.ok()) return s;
    replica_->history.clear();
    replica_->base = at;
    if (observer_ != nullptr) observer_->on_restored(my_id_, at);
    settle_pending(Zxid(0));  // whatever the snapshot covers, we cannot tell it was ours
    applied_changed_.fire_all();
  }
  if (auto s = append_and_sync(sync.txns()); !s.ok()) return s;
  return apply_to(std::min(Zxid(sync.committed_zxid()), replica_->last_logged()));
}

absl::Status ZabPeer::append_and_sync(const google::protobuf::RepeatedPtrField<Txn>& txns) {
  if (txns.empty()) return absl::OkStatus();
  for (const Txn& t : txns) {
    if (Zxid(t.zxid()) <= replica_->last_logged()) {
      return absl::FailedPreconditionError("leader sent a txn out of order");
    }
    if (auto s = log_->append(Zxid(t.zxid()), as_bytes(t.SerializeAsString())); !s.ok()) return s;
    replica_->history.push_back(t);
  }
  return log_->sync();  // only now may the leader count these as ours (the next Fetch)
}

absl::Status ZabPeer::fetch_loop(const ServerSpec& spec, uint32_t epoch) {
  const Duration limit = options_.tick * options_.sync_limit;
  Zxid known_committed = machine_.last_applied();
  while (true) {
    Fetch f;
    f.set_sid(my_id_);
    f.set_epoch(epoch);
    f.set_last_logged_zxid(replica_->last_logged().value());
    // BUGGIFY: tiny fetch batches, one txn per round trip.
    f.set_bytes_max(BUGGIFY_WITH_PROB(0.1) ? 1 : options_.fetch_bytes_max);
    f.set_known_committed_zxid(known_committed.value());
    auto reply = client_.call<Fetch, FetchReply>(spec.peer_address, "zab.fetch", f, limit);
    if (!reply.ok()) return reply.status();
    if (auto s = append_and_sync(reply->txns()); !s.ok()) return s;
    // BUGGIFY: a follower slow to acknowledge (its next Fetch is the ack), so commits wait for
    // the rest of the quorum or for it.
    if (BUGGIFY_WITH_PROB(0.02)) {
      delay(from_seconds(ctx_.random->uniform01() * to_seconds(options_.tick)));
    }
    known_committed = Zxid(reply->committed_zxid());
    if (auto s = apply_to(std::min(known_committed, replica_->last_logged())); !s.ok()) return s;
  }
}

absl::Status ZabPeer::apply_to(Zxid commit) {
  for (size_t i = replica_->after(machine_.last_applied()); i < replica_->history.size(); ++i) {
    const Txn& t = replica_->history[i];
    if (Zxid(t.zxid()) > commit) break;
    machine_.apply(Zxid(t.zxid()), t.time_ms(), t.payload());
    if (observer_ != nullptr) observer_->on_applied(my_id_, Zxid(t.zxid()), t.payload());
    settle_pending(Zxid(t.zxid()));
  }
  applied_changed_.fire_all();
  maybe_snapshot();
  return absl::OkStatus();
}

// Snapshots bound recovery time and the in-memory history. The image is fixed as of one apply
// and written in small steps with applies in between (a whole big tree at once stalled the
// server's loop for ~0.5 s at 250k nodes); the history keeps everything after the snapshot.
// As ZooKeeper does with snapCount, each interval is drawn in [every/2, every], so the servers
// of an ensemble do not all write and fsync a snapshot at the same moment.
void ZabPeer::maybe_snapshot() {
  if (snapshotting_) return;
  if (snapshot_after_txns_ == 0) {
    const int64_t every = std::max<int64_t>(options_.snapshot_every_txns, 2);
    snapshot_after_txns_ =
        every / 2 +
        static_cast<int64_t>(ctx_.random->below(static_cast<uint64_t>(every - every / 2) + 1));
  }
  const size_t applied = replica_->after(machine_.last_applied()) -
                         replica_->after(std::max(replica_->base, last_snapshot_));
  // BUGGIFY: an early snapshot (a few txns in), so snapshots overlap elections and syncs.
  const bool early = applied > 0 && BUGGIFY_WITH_PROB(0.001);
  if (static_cast<int64_t>(applied) < snapshot_after_txns_ && !early) return;
  snapshot_after_txns_ = 0;
  snapshotting_ = true;
  const Zxid at = machine_.last_applied();
  machine_.begin_snapshot();
  background_.add(spawn("zab-snapshot", [this, at] {
    struct Done {
      bool& flag;
      ~Done() { flag = false; }
    } done{snapshotting_};
    std::string bytes;
    for (int steps = 1;; ++steps) {
      absl::StatusOr<std::optional<std::string>> step =
          machine_.continue_snapshot(options_.snapshot_step_nodes);
      if (!step.ok()) {
        CODE_PROBE(true, "zab.snapshot_abandoned");
        TraceEvent(Severity::kInfo, "ZabSnapshotAbandoned")
            .detail("Zxid", at.value())
            .detail("Status", step.status().ToString());
        return;
      }
      if (step->has_value()) {
        CODE_PROBE(steps > 1, "zab.snapshot_in_steps");
        bytes = std::move(**step);
        break;
      }
      delay(options_.snapshot_step_pause);
    }
    if (!snapshots_->save(at, as_bytes(bytes)).ok()) return;
    last_snapshot_ = std::max(last_snapshot_, at);
    trim_history(history_cut(at));
    // Keep every record after the OLDEST retained snapshot: if the newest one reads back
    // damaged, recovery falls back to an older one and needs the log from there on.
    if (auto kept = snapshots_->list(); kept.ok() && !kept->empty()) {
      (void)log_->purge_before(kept->front());
    }
    TraceEvent(Severity::kInfo, "ZabSnapshot").detail("Zxid", at.value());
  }));
}

Future<Zxid> ZabPeer::submit_async(std::string payload, Duration timeout) {
  // One FIFO for every caller: a write may skip the queue only when nothing waits in it.
  if (leader_ != nullptr && forward_queue_.empty()) {
    return Future<Zxid>::ready(leader_->propose(std::move(payload)));
  }
  if (forward_queue_.size() >= options_.pending_proposals_max) {
    return Future<Zxid>::ready(
        absl::ResourceExhaustedError("too many writes waiting for the leader"));
  }
  forward_queue_.push_back(Forward{std::move(payload), Scheduler::current().now() + timeout, {}});
  Future<Zxid> zxid = forward_queue_.back().zxid.future();
  if (!forwarding_) {
    forwarding_ = true;
    background_.add(spawn("zab-forward", [this] { forward_loop(); }));
  }
  return zxid;
}

// Where a snapshot at `at` may cut the history. A leader keeps what a lagging learner still in
// contact needs (at most one more interval of txns), so that it catches up by DIFF instead of
// a SNAP of the whole tree that would also drop its clients' connections.
// Forgets the history up to `cut` a chunk at a time: freeing a whole snapshot interval of txns
// at once (100k) stalled the server's loop for tens of milliseconds. Each chunk is recomputed,
// as a SNAP installed meanwhile may have replaced the history.
void ZabPeer::trim_history(Zxid cut) {
  constexpr size_t kChunk = 4096;
  for (;;) {
    const size_t n = std::min(kChunk, replica_->after(cut));
    if (n == 0) break;
    const Zxid last(replica_->history[n - 1].zxid());
    replica_->history.erase(replica_->history.begin(),
                            replica_->history.begin() + static_cast<ptrdiff_t>(n));
    replica_->base = std::max(replica_->base, last);
    if (replica_->after(cut) > 0) delay(options_.snapshot_step_pause);
  }
  replica_->base = std::max(replica_->base, cut);
}

Zxid ZabPeer::history_cut(Zxid at) const {
  auto leader = leader_;
  if (leader == nullptr) return at;
  const size_t at_index = replica_->after(at);
  const size_t keep_max = static_cast<size_t>(std::max<int64_t>(options_.snapshot_every_txns, 1));
  const Zxid oldest_kept = at_index > keep_max
                               ? Zxid(replica_->history[at_index - keep_max - 1].zxid())
                               : replica_->base;
  const Zxid cut = std::max(std::min(at, leader->retain_floor()), oldest_kept);
  CODE_PROBE(cut < at, "zab.snapshot_kept_history_for_learner");
  return cut;
}

absl::StatusOr<Zxid> ZabPeer::submit(std::string payload, Duration timeout) {
  return await(submit_async(std::move(payload), timeout));
}

// Sends the queued writes in order, as many as fit in one message per Submit, one Submit in
// flight: a follower's writes pipeline (a batch per round trip, not a write per round trip)
// and are never reordered. Touches no member once cancelled: the peer may be gone by then.
void ZabPeer::forward_loop() {
  while (!forward_queue_.empty()) {
    std::vector<Forward> batch;
    int64_t bytes = 0;
    while (!forward_queue_.empty() &&
           (batch.empty() || bytes + static_cast<int64_t>(forward_queue_.front().payload.size()) <=
                                 options_.fetch_bytes_max)) {
      bytes += static_cast<int64_t>(forward_queue_.front().payload.size());
      batch.push_back(std::move(forward_queue_.front()));
      forward_queue_.pop_front();
    }
    const absl::StatusOr<std::vector<Zxid>> zxids = forward(batch);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!zxids.ok()) {
        batch[i].zxid.set(zxids.status());
      } else if (i < zxids->size()) {
        batch[i].zxid.set_value((*zxids)[i]);
      } else {
        batch[i].zxid.set(absl::UnavailableError("the leader refused the write"));
      }
    }
  }
  forwarding_ = false;
}

absl::StatusOr<std::vector<Zxid>> ZabPeer::forward(std::vector<Forward>& batch) {
  std::vector<Zxid> zxids;
  if (auto leader = leader_) {  // became the leader while these waited
    for (Forward& f : batch) {
      auto zxid = leader->propose(std::move(f.payload));
      if (!zxid.ok()) {
        if (zxids.empty()) return zxid.status();
        break;
      }
      zxids.push_back(*zxid);
    }
    return zxids;
  }
  if (state_ == PeerState::kLooking || leader_id_ < 0) return absl::UnavailableError("no leader");
  const ServerSpec* spec = config_.find(leader_id_);
  Submit req;
  req.set_sid(my_id_);
  for (Forward& f : batch) req.add_payloads(std::move(f.payload));
  const Duration left =
      std::max<Duration>(batch.front().deadline - Scheduler::current().now(), 1ms);
  auto reply = client_.call<Submit, SubmitReply>(spec->peer_address, "zab.submit", req, left);
  if (!reply.ok()) return reply.status();
  for (int64_t z : reply->zxids()) zxids.push_back(Zxid(z));
  return zxids;
}

absl::Status ZabPeer::wait_applied(Zxid zxid, Duration timeout) {
  if (machine_.last_applied() >= zxid) {
    // Already behind us: only the in-memory history can say it was really ours.
    if (zxid > replica_->base && replica_->contains(zxid)) return absl::OkStatus();
    CODE_PROBE(true, "zab.wait_applied_outcome_unknown");
    return absl::AbortedError("txn outcome unknown: not in this server's history");
  }
  auto& slot = pending_applies_[zxid.value()];
  if (!slot) slot = std::make_shared<PendingApply>();
  std::shared_ptr<PendingApply> pending = slot;
  const TimePoint deadline = Scheduler::current().now() + timeout;
  if (!wait_until(
          applied_changed_, [&] { return pending->settled; }, deadline)) {
    return absl::DeadlineExceededError("not applied in time");
  }
  return pending->status;
}

// Every waiter at or below the applied point learns its fate: applied exactly, or passed over
// (a leader change dropped it, or a snapshot replaced the state it would have been part of).
void ZabPeer::settle_pending(Zxid applied_exactly) {
  const int64_t upto = machine_.last_applied().value();
  for (auto it = pending_applies_.begin(); it != pending_applies_.end() && it->first <= upto;) {
    PendingApply& p = *it->second;
    if (!p.settled) {
      p.settled = true;
      if (it->first != applied_exactly.value()) {
        CODE_PROBE(true, "zab.submitted_txn_dropped_by_new_leader");
        p.status = absl::AbortedError("txn dropped by a leader change");
      }
    }
    it = pending_applies_.erase(it);
  }
}

}  // namespace weir::coord::zab
