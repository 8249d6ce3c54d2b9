// Fast leader election in ZooKeeper's style. Each looking server proposes a vote (leader id,
// that leader's last zxid and current epoch); a higher (epoch, zxid, id) wins; a majority of
// voters agreeing on one vote decides. Observers take part only to learn the leader.
// Notifications travel as RPCs whose reply is the receiver's own notification, so one call is
// a two-way exchange and a server that already follows a leader tells latecomers about it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "coord/zab/config.h"
#include "coord/zab/zab.pb.h"
#include "runtime/channel.h"
#include "runtime/future.h"
#include "runtime/rpc/client.h"

namespace weir::coord::zab {

enum class PeerState : int32_t { kLooking = 0, kFollowing = 1, kLeading = 2, kObserving = 3 };

// True if `a` beats `b` in the total order of votes: (epoch, zxid, leader id).
bool vote_beats(const Vote& a, const Vote& b);

class Election {
 public:
  Election(int64_t my_id, const EnsembleConfig& config, rpc::RpcClient& client, ZabOptions options);
  ~Election();

  // Runs one election from `initial` (this server's own vote) until a leader is decided.
  // Suspends; throws Cancelled.
  Vote look_for_leader(const Vote& initial);
  // After the election: what this server answers to others (following/leading whom).
  void set_outcome(PeerState state, const Vote& vote);
  // RPC handler for another server's notification; returns ours.
  Notification on_notification(const Notification& n);
  int64_t round() const { return round_; }

 private:
  Notification current() const;
  void send_loop(int64_t peer);
  // Whether a quorum of voters in `votes` has vote `v`; `v_looking` says `v` is a proposal of
  // this election rather than a vote of a server already following or leading.
  bool agreed(const std::map<int64_t, Notification>& votes, const Vote& v, bool v_looking) const;
  bool settled(const std::map<int64_t, Notification>& votes, const Vote& v) const;
  bool leader_confirmed(const std::map<int64_t, Notification>& votes, const Vote& v) const;
  bool finalize(std::map<int64_t, Notification>& votes, const Vote& proposal);
  std::optional<Vote> consider(const Notification& n, const Vote& initial,
                               std::map<int64_t, Notification>& votes,
                               std::map<int64_t, Notification>& out_of_election);
  void bump(const Vote& proposal);
  Vote decide(const Vote& v);

  int64_t my_id_;
  const EnsembleConfig& config_;
  rpc::RpcClient& client_;
  ZabOptions options_;
  PeerState state_ = PeerState::kLooking;
  Vote proposal_;
  int64_t round_ = 0;
  uint64_t version_ = 0;  // bumped when our notification changes: senders resend at once
  Channel<Notification> inbox_{1024};
  std::optional<Notification> stash_;  // a better vote met while finalizing
  WaitList changed_;
  std::set<int64_t> reached_;      // peers that ever answered a notification
  std::set<int64_t> unreachable_;  // reached peers whose last notification failed
};

}  // namespace weir::coord::zab
