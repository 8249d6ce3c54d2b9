#include "coord/zab/leader.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "runtime/actor_collection.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::coord::zab {

Leader::Leader(ZabPeer& peer) : peer_(peer), replica_(peer.replica()) {
  started_ = Scheduler::current().now();
  appended_ = synced_ = replica_.last_logged();
  committed_ = peer_.last_applied();
  // This leader's history holds every txn it knows of, committed ones included; its last
  // stamp is the floor for ours, so times never go backwards when leadership moves to a server
  // whose wall clock is behind the previous leader's.
  // A history cut by a snapshot may be empty: the machine then knows the floor.
  last_time_ms_ = peer_.machine().last_time_ms();
  if (!replica_.history.empty())
    last_time_ms_ = std::max(last_time_ms_, replica_.history.back().time_ms());
}

Leader::~Leader() {
  stop();
}

void Leader::stop() {
  stopped_ = true;
  changed_.fire_all();
}

TimePoint Leader::init_deadline() const {
  return started_ + peer_.options().tick * peer_.options().init_limit;
}

bool Leader::voter_quorum(const std::set<int64_t>& ids) const {
  return peer_.config().is_quorum(ids);
}

void Leader::touch(int64_t sid) {
  last_contact_[sid] = Scheduler::current().now();
}

absl::Status Leader::lead() {
  if (auto s = discover(); !s.ok()) return s;
  if (auto s = establish(); !s.ok()) return s;
  // The role actors share ownership: they may still be unwinding when lead() has returned.
  auto syncer = spawn("zab-leader-sync", [self = shared_from_this()] { return self->sync_loop(); });
  auto dog = spawn("zab-leader-watchdog", [self = shared_from_this()] { return self->watchdog(); });
  (void)await(when_any(std::vector<Future<void>>{syncer, dog}));
  stop();
  const absl::Status why = syncer.is_ready() ? syncer.get() : dog.get();
  TraceEvent(Severity::kInfo, "ZabLeaderStepDown")
      .detail("Epoch", epoch_)
      .detail("Why", why.ToString());
  return why;
}

// Discovery: a quorum reports its accepted epoch; the new epoch is one above the highest.
absl::Status Leader::discover() {
  const int64_t me = peer_.id();
  FollowerInfo self;
  self.set_sid(me);
  self.set_accepted_epoch(peer_.epochs().accepted_epoch());
  self.set_last_zxid(replica_.last_logged().value());
  infos_[me] = self;
  auto keys = [](const auto& m) {
    std::set<int64_t> ids;
    for (const auto& [k, v] : m) ids.insert(k);
    return ids;
  };
  if (!wait_until(
          changed_, [&] { return stopped_ || voter_quorum(keys(infos_)); }, init_deadline()) ||
      stopped_) {
    return absl::UnavailableError("no quorum of followers for discovery");
  }
  int64_t max_epoch = 0;
  for (const auto& [sid, info] : infos_) max_epoch = std::max(max_epoch, info.accepted_epoch());
  epoch_ = static_cast<uint32_t>(max_epoch + 1);
  if (auto s = peer_.epochs().set_accepted_epoch(epoch_); !s.ok()) return s;
  epoch_decided_ = true;
  changed_.fire_all();
  AckEpoch own;
  own.set_sid(me);
  own.set_new_epoch(epoch_);
  own.set_current_epoch(peer_.epochs().current_epoch());
  own.set_last_zxid(replica_.last_logged().value());
  epoch_acks_[me] = own;
  if (!wait_until(
          changed_, [&] { return stopped_ || voter_quorum(keys(epoch_acks_)); }, init_deadline()) ||
      stopped_) {
    return absl::UnavailableError("no quorum acknowledged the new epoch");
  }
  // The leader's history must be at least as recent as every history in its quorum.
  for (const auto& [sid, ack] : epoch_acks_) {
    if (ack.current_epoch() > own.current_epoch() ||
        (ack.current_epoch() == own.current_epoch() && ack.last_zxid() > own.last_zxid())) {
      CODE_PROBE(true, "zab.leader_abandons_for_newer_follower");
      return absl::FailedPreconditionError(absl::StrCat("follower ", sid, " is more up to date"));
    }
  }
  epoch_quorum_ = true;
  changed_.fire_all();
  return absl::OkStatus();
}

// Synchronization ends when a quorum acknowledged NEWLEADER: the epoch is established and
// the leader's whole history is committed.
absl::Status Leader::establish() {
  newleader_acks_.insert(peer_.id());
  if (!wait_until(
          changed_, [&] { return stopped_ || voter_quorum(newleader_acks_); }, init_deadline()) ||
      stopped_) {
    return absl::UnavailableError("no quorum acknowledged NEWLEADER");
  }
  if (auto s = peer_.epochs().set_current_epoch(epoch_); !s.ok()) return s;
  established_ = true;
  committed_ = replica_.last_logged();
  acked_[peer_.id()] = synced_;
  for (int64_t sid : newleader_acks_) touch(sid);
  TraceEvent(Severity::kInfo, "ZabLeaderEstablished")
      .detail("Epoch", epoch_)
      .detail("Zxid", committed_.value())
      .detail("Quorum", static_cast<int64_t>(newleader_acks_.size()));
  if (peer_.observer() != nullptr) peer_.observer()->on_established(peer_.id(), epoch_);
  if (auto s = peer_.apply_to(committed_); !s.ok()) return s;
  changed_.fire_all();
  return absl::OkStatus();
}

// Group commit: one fsync covers every proposal appended since the last one.
absl::Status Leader::sync_loop() {
  while (true) {
    wait_until(
        changed_, [&] { return stopped_ || appended_ > synced_; }, TimePoint::max());
    if (stopped_) return absl::CancelledError("leader stopped");
    const Zxid target = appended_;
    if (auto s = peer_.log().sync(); !s.ok()) return s;
    synced_ = target;
    acked_[peer_.id()] = target;
    recompute_commit();
  }
}

// A leader that cannot hear from a quorum within syncLimit gives up its epoch.
absl::Status Leader::watchdog() {
  const Duration limit = peer_.options().tick * peer_.options().sync_limit;
  while (!stopped_) {
    delay(peer_.options().tick);
    const TimePoint now = Scheduler::current().now();
    std::set<int64_t> alive = {peer_.id()};
    for (const auto& [sid, at] : last_contact_) {
      if (now - at <= limit) alive.insert(sid);
    }
    if (!voter_quorum(alive)) {
      CODE_PROBE(true, "zab.leader_lost_quorum");
      return absl::UnavailableError("lost contact with a quorum");
    }
  }
  return absl::CancelledError("leader stopped");
}

LearnerCounts Leader::learner_counts() const {
  LearnerCounts out;
  const TimePoint now = Scheduler::current().now();
  const Duration limit = peer_.options().tick * peer_.options().sync_limit;
  for (const auto& [sid, at] : last_contact_) {
    if (sid == peer_.id() || now - at > limit) continue;
    ++out.learners;
    const bool synced = newleader_acks_.contains(sid);
    if (synced && peer_.config().is_voter(sid)) ++out.synced_followers;
    if (!synced && epoch_acks_.contains(sid)) ++out.pending_syncs;
  }
  return out;
}

void Leader::recompute_commit() {
  Zxid candidate;
  if (peer_.bug() == ZabBug::kCommitWithoutQuorum) {
    candidate = synced_;  // the bug: commit on the leader's own fsync alone
  } else {
    std::vector<Zxid> acks;
    for (int64_t sid : peer_.config().voter_ids()) {
      auto it = acked_.find(sid);
      acks.push_back(it == acked_.end() ? Zxid(0) : it->second);
    }
    std::sort(acks.begin(), acks.end(), std::greater<>());
    candidate = acks[acks.size() / 2];  // the highest zxid a majority has durably
  }
  candidate = std::min(candidate, appended_);
  if (candidate <= committed_) return;
  committed_ = candidate;
  (void)peer_.apply_to(committed_);
  changed_.fire_all();
}

absl::StatusOr<LeaderInfo> Leader::on_follower_info(const FollowerInfo& info) {
  if (peer_.config().find(info.sid()) == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("server ", info.sid(), " is not in the ensemble"));
  }
  infos_[info.sid()] = info;
  touch(info.sid());
  changed_.fire_all();
  if (!wait_until(
          changed_, [&] { return stopped_ || epoch_decided_; }, init_deadline()) ||
      stopped_) {
    return absl::UnavailableError("leader has no epoch");
  }
  if (info.accepted_epoch() > static_cast<int64_t>(epoch_)) {
    // The learner promised a later epoch to a leader that never established it, so it would
    // refuse ours for as long as we lead (as a ZooKeeper learner does, and then stays out for
    // good). Give the epoch up: the next discovery picks one above the promise.
    CODE_PROBE(true, "zab.leader_yields_to_learner_epoch");
    yielded_to_epoch_ = std::max(yielded_to_epoch_, info.accepted_epoch());
    TraceEvent(Severity::kInfo, "ZabLeaderYields")
        .detail("Epoch", epoch_)
        .detail("Learner", info.sid())
        .detail("LearnerAcceptedEpoch", info.accepted_epoch());
    stop();
    return absl::UnavailableError("the learner accepted a later epoch: leader yields");
  }
  LeaderInfo out;
  out.set_new_epoch(epoch_);
  out.set_leader(peer_.id());
  return out;
}

absl::StatusOr<SyncReply> Leader::on_ack_epoch(const AckEpoch& ack) {
  if (ack.new_epoch() != epoch_) return absl::FailedPreconditionError("ack for another epoch");
  epoch_acks_[ack.sid()] = ack;
  touch(ack.sid());
  changed_.fire_all();
  const TimePoint deadline = established_ ? TimePoint::max() : init_deadline();
  if (!wait_until(
          changed_, [&] { return stopped_ || epoch_quorum_; }, deadline) ||
      stopped_) {
    return absl::UnavailableError("no quorum for the new epoch");
  }
  if (ack.current_epoch() > peer_.epochs().current_epoch() && !established_) {
    return absl::FailedPreconditionError("follower is more up to date than the leader");
  }
  return make_sync(Zxid(ack.last_zxid()));
}

absl::StatusOr<UpToDate> Leader::on_ack_newleader(const AckNewLeader& ack) {
  if (ack.epoch() != epoch_)
    return absl::FailedPreconditionError("NEWLEADER ack for another epoch");
  if (peer_.config().is_voter(ack.sid())) {
    newleader_acks_.insert(ack.sid());
    acked_[ack.sid()] = std::max(acked_[ack.sid()], Zxid(ack.last_zxid()));
  }
  touch(ack.sid());
  changed_.fire_all();
  const TimePoint deadline = established_ ? TimePoint::max() : init_deadline();
  if (!wait_until(
          changed_, [&] { return stopped_ || established_; }, deadline) ||
      stopped_) {
    return absl::UnavailableError("epoch not established");
  }
  if (established_) recompute_commit();
  UpToDate out;
  out.set_committed_zxid(committed_.value());
  return out;
}

// Long poll: answers at once if there are txns the follower lacks or a commit it does not
// know, else after a tick (which doubles as the heartbeat).
absl::StatusOr<FetchReply> Leader::on_fetch(const Fetch& fetch) {
  if (!established_ || fetch.epoch() != epoch_) {
    return absl::FailedPreconditionError("not the established leader of that epoch");
  }
  const Zxid last(fetch.last_logged_zxid());
  if (last < replica_.base || (last > replica_.base && !replica_.contains(last))) {
    CODE_PROBE(true, "zab.fetch_from_diverged_follower");
    return absl::FailedPreconditionError("follower history diverged; resynchronize");
  }
  touch(fetch.sid());
  fetched_[fetch.sid()] = last;
  if (peer_.config().is_voter(fetch.sid())) {
    Zxid& acked = acked_[fetch.sid()];
    if (last > acked) {
      acked = last;
      recompute_commit();
    }
  }
  const Zxid known(fetch.known_committed_zxid());
  wait_until(
      changed_, [&] { return stopped_ || appended_ > last || committed_ > known; },
      Scheduler::current().now() + peer_.options().tick);
  if (stopped_) return absl::UnavailableError("leader stopped");
  FetchReply out;
  add_txns_after(replica_.after(last), std::max<int64_t>(fetch.bytes_max(), 1), out.mutable_txns());
  out.set_committed_zxid(committed_.value());
  return out;
}

Zxid Leader::retain_floor() const {
  const TimePoint now = Scheduler::current().now();
  const Duration limit = peer_.options().tick * peer_.options().sync_limit;
  Zxid floor(INT64_MAX);
  for (const auto& [sid, logged] : fetched_) {
    auto contact = last_contact_.find(sid);
    if (contact != last_contact_.end() && now - contact->second <= limit)
      floor = std::min(floor, logged);
  }
  return floor;
}

absl::StatusOr<Zxid> Leader::propose(std::string payload) {
  if (!established_ || stopped_) return absl::UnavailableError("not leading");
  const size_t uncommitted = replica_.history.size() - replica_.after(committed_);
  if (uncommitted >= peer_.options().pending_proposals_max) {
    return absl::ResourceExhaustedError("too many uncommitted proposals");
  }
  if (counter_ >= peer_.options().zxid_counter_max) {
    CODE_PROBE(true, "zab.zxid_counter_exhausted");
    TraceEvent(Severity::kInfo, "ZabZxidCounterExhausted").detail("Epoch", epoch_);
    stop();
    return absl::UnavailableError("zxid counter exhausted: the next epoch starts it again");
  }
  Txn txn;
  txn.set_zxid(make_zxid(epoch_, ++counter_).value());
  txn.set_time_ms(next_time_ms());
  txn.set_payload(std::move(payload));
  if (auto s = peer_.log().append(Zxid(txn.zxid()), as_bytes(txn.SerializeAsString())); !s.ok()) {
    stop();
    return s;
  }
  appended_ = Zxid(txn.zxid());
  replica_.history.push_back(std::move(txn));
  changed_.fire_all();
  return appended_;
}

// ZooKeeper's txn time: wall-clock ms since the Unix epoch (znode ctime/mtime, TTLs), never
// below the previous txn's, as the wall clock may step back (NTP) or lag the last leader's.
int64_t Leader::next_time_ms() {
  last_time_ms_ = std::max(last_time_ms_, peer_.ctx().clock->wall_ms());
  return last_time_ms_;
}

void Leader::add_txns_after(size_t from, int64_t bytes_max,
                            google::protobuf::RepeatedPtrField<Txn>* out) {
  int64_t bytes = 0;
  for (size_t i = from; i < replica_.history.size(); ++i) {
    const Txn& t = replica_.history[i];
    if (!out->empty() && bytes + static_cast<int64_t>(t.payload().size()) > bytes_max) break;
    bytes += static_cast<int64_t>(t.payload().size());
    *out->Add() = t;
  }
}

// How a follower whose log ends at `f` reaches the leader's history: DIFF if f is in it,
// TRUNC to the last common zxid if the follower has txns the leader never had, SNAP if the
// leader's in-memory history no longer reaches back to f (or the gap is large).
SyncReply Leader::make_sync(Zxid f) {
  SyncReply out;
  out.set_committed_zxid((established_ ? committed_ : peer_.last_applied()).value());
  const int64_t diff_max = peer_.options().fetch_bytes_max * 4;
  auto snap = [&] {
    CODE_PROBE(true, "zab.sync_snap");
    out.set_mode(SyncReply::SNAP);
    const Zxid at = peer_.last_applied();
    out.set_snapshot_zxid(at.value());
    out.set_snapshot(peer_.machine().snapshot());
    add_txns_after(replica_.after(at), INT64_MAX, out.mutable_txns());
  };
  if (f < replica_.base) {
    snap();
    return out;
  }
  size_t from = replica_.after(f);
  if (f != replica_.base && !replica_.contains(f)) {
    // The follower has txns that are not in our history: cut back to the common prefix.
    CODE_PROBE(true, "zab.sync_trunc");
    Zxid common = replica_.base;
    for (size_t i = 0; i < from; ++i) common = Zxid(replica_.history[i].zxid());
    out.set_mode(SyncReply::TRUNC);
    out.set_trunc_zxid(common.value());
  } else {
    CODE_PROBE(f < replica_.last_logged(), "zab.sync_diff");
    out.set_mode(SyncReply::DIFF);
  }
  int64_t bytes = 0;
  for (size_t i = from; i < replica_.history.size(); ++i)
    bytes += replica_.history[i].ByteSizeLong();
  // BUGGIFY: a SNAP where a DIFF or TRUNC would do, so the SNAP path runs in every kind of seed.
  if (bytes > diff_max || BUGGIFY_WITH_PROB(0.05)) {
    out.clear_trunc_zxid();
    snap();
    return out;
  }
  add_txns_after(from, INT64_MAX, out.mutable_txns());
  return out;
}

}  // namespace weir::coord::zab
