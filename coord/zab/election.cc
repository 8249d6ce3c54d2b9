#include "coord/zab/election.h"

#include "buggify/code_probe.h"
#include "runtime/actor_collection.h"
#include "runtime/trace.h"

namespace weir::coord::zab {
namespace {

bool same_vote(const Vote& a, const Vote& b) {
  return a.leader() == b.leader() && a.zxid() == b.zxid() && a.epoch() == b.epoch();
}

// ZooKeeper's Vote.equals (ZOOKEEPER-1732): between servers out of the election only the leader
// counts. A server that joined an established leader keeps the vote it joined with, which
// need not be the leader's own; comparing zxids and epochs there would keep a restarted
// server looking forever next to a working quorum.
bool same_vote(const Notification& n, const Vote& v, bool v_looking) {
  if (v_looking || n.state() == static_cast<int32_t>(PeerState::kLooking))
    return same_vote(n.vote(), v);
  return n.vote().leader() == v.leader();
}

// Suspends until `version` moves away from `seen` or `d` passes.
void wait_for_change(WaitList& changed, const uint64_t& version, uint64_t seen, Duration d) {
  Scheduler& s = Scheduler::current();
  WakeTimer timer(s.now() + d);
  while (version == seen && !timer.expired()) {
    ActorWaiter waiter(s.current_actor());
    changed.push_back(&waiter);
    s.suspend();
  }
}

}  // namespace

bool vote_beats(const Vote& a, const Vote& b) {
  if (a.epoch() != b.epoch()) return a.epoch() > b.epoch();
  if (a.zxid() != b.zxid()) return a.zxid() > b.zxid();
  return a.leader() > b.leader();
}

Election::Election(int64_t my_id, const EnsembleConfig& config, rpc::RpcClient& client,
                   ZabOptions options)
    : my_id_(my_id), config_(config), client_(client), options_(options) {}

Election::~Election() {
  changed_.fire_all();
}

Notification Election::current() const {
  Notification n;
  n.set_sender(my_id_);
  *n.mutable_vote() = proposal_;
  n.set_round(round_);
  n.set_state(static_cast<int32_t>(state_));
  return n;
}

void Election::set_outcome(PeerState state, const Vote& vote) {
  state_ = state;
  proposal_ = vote;
  ++version_;
  changed_.fire_all();
}

Notification Election::on_notification(const Notification& n) {
  if (state_ == PeerState::kLooking) {
    Notification copy = n;
    (void)inbox_.try_send(copy);  // a full inbox drops: the sender resends every tick
  }
  return current();
}

void Election::send_loop(int64_t peer) {
  const ServerSpec* spec = config_.find(peer);
  WEIR_ASSERT(spec != nullptr);
  while (true) {
    const uint64_t seen = version_;
    auto reply = client_.call<Notification, Notification>(spec->peer_address, "zab.notify",
                                                          current(), options_.tick * 2);
    // Whether the peer can vote at all right now: finalize need not wait for a peer that
    // answered before and now refuses connections (it crashed). A peer never reached may
    // just not have started yet, and its vote may be the best: that one is waited for.
    if (reply.ok()) {
      reached_.insert(peer);
      unreachable_.erase(peer);
    } else if (absl::IsUnavailable(reply.status()) && reached_.contains(peer) &&
               unreachable_.insert(peer).second) {
      changed_.fire_all();
    }
    if (reply.ok() && state_ == PeerState::kLooking) (void)inbox_.try_send(*reply);
    wait_for_change(changed_, version_, seen, std::min(options_.tick, options_.notify_resend_max));
  }
}

bool Election::agreed(const std::map<int64_t, Notification>& votes, const Vote& v,
                      bool v_looking) const {
  std::set<int64_t> ids;
  for (const auto& [sid, n] : votes) {
    if (same_vote(n, v, v_looking)) ids.insert(sid);
  }
  return config_.is_quorum(ids);
}

// Every other voter proposes `v` in this round or cannot be reached: no better vote can come
// soon, so waiting for one (finalize) only delays the election. A voter that comes back with a
// better history makes the leader's discovery fail and the election run again.
bool Election::settled(const std::map<int64_t, Notification>& votes, const Vote& v) const {
  bool skipped_unreachable = false;
  for (int64_t sid : config_.voter_ids()) {
    if (sid == my_id_) continue;
    if (unreachable_.contains(sid)) {
      skipped_unreachable = true;
      continue;
    }
    auto it = votes.find(sid);
    if (it == votes.end() || !same_vote(it->second, v, /*v_looking=*/true)) return false;
  }
  CODE_PROBE(skipped_unreachable, "zab.election_settled_without_crashed_voter");
  return true;
}

bool Election::leader_confirmed(const std::map<int64_t, Notification>& votes, const Vote& v) const {
  if (v.leader() == my_id_) return true;
  auto it = votes.find(v.leader());
  return it != votes.end() && it->second.state() == static_cast<int32_t>(PeerState::kLeading);
}

// A decided vote waits finalize_wait for a better one; a better one is kept for the main loop.
bool Election::finalize(std::map<int64_t, Notification>& votes, const Vote& proposal) {
  const TimePoint until = Scheduler::current().now() + options_.finalize_wait;
  while (true) {
    const TimePoint now = Scheduler::current().now();
    if (now >= until || settled(votes, proposal)) return true;
    // Wakes for a notification, or when a voter turns out unreachable.
    auto n = inbox_.receive_for(std::min(until - now, options_.retry_interval));
    if (!n.ok()) continue;
    const bool voting = n->state() == static_cast<int32_t>(PeerState::kLooking) &&
                        config_.is_voter(n->sender()) && n->round() == round_;
    if (!voting) continue;
    // Only a voter's better vote reopens the election; observers never count.
    if (vote_beats(n->vote(), proposal)) {
      stash_ = *n;
      return false;
    }
    votes[n->sender()] = *n;
  }
}

Vote Election::look_for_leader(const Vote& initial) {
  ++round_;
  state_ = PeerState::kLooking;
  proposal_ = initial;
  stash_.reset();
  ++version_;
  changed_.fire_all();
  TraceEvent(Severity::kInfo, "ZabElectionStarted")
      .detail("Round", round_)
      .detail("Zxid", initial.zxid())
      .detail("Epoch", initial.epoch());
  ActorCollection senders;
  for (const auto& s : config_.servers()) {
    if (s.id != my_id_) senders.add(spawn("zab-notify", [this, id = s.id] { send_loop(id); }));
  }
  std::map<int64_t, Notification> votes, out_of_election;
  if (config_.is_voter(my_id_)) {
    // The only voter (a standalone server) is a quorum by itself: nobody will ever write.
    votes[my_id_] = current();
    if (agreed(votes, proposal_, /*v_looking=*/true)) return decide(proposal_);
  }
  while (true) {
    Notification n;
    if (stash_) {
      n = *std::exchange(stash_, std::nullopt);
    } else {
      auto got = inbox_.receive();
      if (!got.ok()) continue;
      n = std::move(*got);
    }
    if (config_.find(n.sender()) == nullptr) continue;
    if (auto decided = consider(n, initial, votes, out_of_election)) return *decided;
  }
}

std::optional<Vote> Election::consider(const Notification& n, const Vote& initial,
                                       std::map<int64_t, Notification>& votes,
                                       std::map<int64_t, Notification>& out_of_election) {
  const auto state = static_cast<PeerState>(n.state());
  if (state == PeerState::kLooking) {
    if (!config_.is_voter(n.sender())) return std::nullopt;
    if (n.round() > round_) {
      round_ = n.round();
      votes.clear();
      bump(vote_beats(n.vote(), initial) ? n.vote() : initial);
    } else if (n.round() < round_) {
      return std::nullopt;
    } else if (vote_beats(n.vote(), proposal_)) {
      bump(n.vote());
    }
    votes[n.sender()] = n;
    if (config_.is_voter(my_id_)) votes[my_id_] = current();
    if (agreed(votes, proposal_, /*v_looking=*/true) &&
        (settled(votes, proposal_) || finalize(votes, proposal_)))
      return decide(proposal_);
    return std::nullopt;
  }
  if (state == PeerState::kObserving) return std::nullopt;
  // The sender already follows or leads: join it if a quorum does too.
  if (n.round() == round_) {
    votes[n.sender()] = n;
    if (agreed(votes, n.vote(), false) && leader_confirmed(votes, n.vote()))
      return decide(n.vote());
  }
  out_of_election[n.sender()] = n;
  if (agreed(out_of_election, n.vote(), false) && leader_confirmed(out_of_election, n.vote())) {
    round_ = n.round();
    return decide(n.vote());
  }
  return std::nullopt;
}

void Election::bump(const Vote& proposal) {
  proposal_ = proposal;
  ++version_;
  changed_.fire_all();
}

Vote Election::decide(const Vote& v) {
  const bool me = v.leader() == my_id_;
  const bool observer = !config_.is_voter(my_id_);
  set_outcome(me         ? PeerState::kLeading
              : observer ? PeerState::kObserving
                         : PeerState::kFollowing,
              v);
  TraceEvent(Severity::kInfo, "ZabElectionDecided")
      .detail("Round", round_)
      .detail("Leader", v.leader())
      .detail("Zxid", v.zxid())
      .detail("Epoch", v.epoch());
  return v;
}

}  // namespace weir::coord::zab
