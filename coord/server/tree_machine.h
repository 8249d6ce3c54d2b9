// The coord state machine ZAB replicates into: a DataTree plus the session passwords. It exists
// to turn ZAB's ordered opaque payloads into tree transactions and to hand their outcomes to
// the parts of this server that care: the connection that submitted a txn (its TxnResult), the
// watch manager (the txn's triggers) and the session tracker (sessions created and closed).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "coord/server/txn_codec.h"
#include "coord/server/watch_manager.h"
#include "coord/tree/data_tree.h"
#include "coord/zab/state_machine.h"

namespace weir::coord::server {

class TreeMachine final : public zab::IStateMachine {
 public:
  // Called after a session was created (timeout > 0) or closed (timeout 0) by an applied txn.
  using SessionHook = std::function<void(int64_t session, int32_t timeout_ms)>;

  explicit TreeMachine(WatchManager& watches) : watches_(watches) {}

  void apply(Zxid zxid, int64_t time_ms, std::string_view payload) override;
  Zxid last_applied() const override { return last_; }
  int64_t last_time_ms() const override { return last_time_ms_; }
  std::string snapshot() const override;
  void begin_snapshot() override;
  absl::StatusOr<std::optional<std::string>> continue_snapshot(size_t nodes_max) override;
  absl::Status restore(Zxid zxid, std::string_view snapshot) override;

  const DataTree& tree() const { return tree_; }
  // The password a live session was created with; nullopt if the session is unknown.
  std::optional<std::string> password(int64_t session) const;

  // Results are kept only for zxids someone said it will collect, so memory stays bounded by
  // the requests in flight at this server.
  void expect_result(Zxid zxid);
  // The outcome of an expected txn once applied; forgets it. nullopt if not applied (or not
  // expected).
  std::optional<TxnResult> take_result(Zxid zxid);
  void forget_result(Zxid zxid) { expected_.erase(zxid.value()); }

  void set_session_hook(SessionHook hook) { session_hook_ = std::move(hook); }
  // Which sessions have a connection here: their results are kept even before anyone asks
  // (a follower may apply a txn before the leader's submit reply arrives).
  void set_local_filter(std::function<bool(int64_t)> filter) { is_local_ = std::move(filter); }

 private:
  void publish(Zxid zxid, int64_t session, TxnResult result);
  bool fenced(const EncodedTxn& decoded) const;
  std::string session_table() const;
  void fire_watches_across(const DataTree& next);
  static constexpr size_t kUnclaimedMax = 4096;

  WatchManager& watches_;
  DataTree tree_;
  Zxid last_;
  int64_t last_time_ms_ = 0;
  std::map<int64_t, std::string> passwords_;
  std::map<int64_t, int64_t> owners_;  // session -> token of the connection it last attached on
  std::map<int64_t, std::optional<TxnResult>> expected_;
  std::map<int64_t, TxnResult> unclaimed_;
  SessionHook session_hook_;
  std::function<bool(int64_t)> is_local_;
};

}  // namespace weir::coord::server
