#include "coord/server/tree_machine.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "buggify/code_probe.h"
#include "coord/server/txn_codec.h"
#include "runtime/assert.h"
#include "runtime/trace.h"

namespace weir::coord::server {
namespace {

// Snapshot image: magic, session table (id, owner token, password), then the tree's own
// self-checking image. "WTM1" images have no owner tokens.
constexpr std::string_view kSnapshotMagic = "WTM2";
constexpr std::string_view kSnapshotMagicV1 = "WTM1";

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
bool get_uint(std::string_view& s, size_t n, uint64_t* v) {
  if (s.size() < n) return false;
  *v = 0;
  for (size_t i = 0; i < n; ++i) *v |= static_cast<uint64_t>(static_cast<uint8_t>(s[i])) << (8 * i);
  s.remove_prefix(n);
  return true;
}

}  // namespace

void TreeMachine::apply(Zxid zxid, int64_t time_ms, std::string_view payload) {
  WEIR_ASSERT_MSG(zxid > last_, "txns applied out of order");
  EncodedTxn decoded;
  if (absl::Status s = decode_txn(payload, &decoded); !s.ok()) {
    // A payload no server can read applies as nothing everywhere; the submitter hears an error.
    TraceEvent(Severity::kWarn, "CoordTxnUndecodable")
        .detail("Zxid", zxid)
        .detail("Status", s.ToString());
    last_ = zxid;
    TxnResult failed;
    failed.err = ErrorCode::kMarshallingError;
    failed.op.err = ErrorCode::kMarshallingError;
    publish(zxid, 0, std::move(failed));
    return;
  }
  Txn& txn = decoded.txn;
  txn.zxid = zxid.value();
  txn.time_ms = time_ms;
  last_time_ms_ = std::max(last_time_ms_, time_ms);
  const bool moved = fenced(decoded);
  if (moved) {
    CODE_PROBE(true, "coord.txn_fenced_session_moved");
    // Applied as a no-op so every replica's tree still moves to this zxid.
    txn.session_id = 0;
    txn.auth = {Id{"super", ""}};
    txn.op = CheckOp{"/", -1};
  }
  TxnResult result = tree_.apply(txn);
  if (moved) {
    result.err = result.op.err = ErrorCode::kSessionMoved;
    result.multi.clear();
  } else if (result.err == ErrorCode::kOk && decoded.reattach) {
    owners_[txn.session_id] = decoded.owner;
  }
  last_ = zxid;
  const bool ok = result.err == ErrorCode::kOk;
  if (ok && std::holds_alternative<CreateSessionOp>(txn.op)) {
    passwords_[txn.session_id] = decoded.password;
    owners_[txn.session_id] = decoded.owner;
    if (session_hook_) session_hook_(txn.session_id, std::get<CreateSessionOp>(txn.op).timeout_ms);
  } else if (ok && std::holds_alternative<CloseSessionOp>(txn.op)) {
    passwords_.erase(txn.session_id);
    owners_.erase(txn.session_id);
    if (session_hook_) session_hook_(txn.session_id, 0);
  }
  for (const WatchTrigger& t : result.triggers) watches_.trigger(t);
  publish(zxid, txn.session_id, std::move(result));
}

// A client txn sent on a connection its session has since left (ZooKeeper's SessionMoved):
// the session reattached elsewhere with a committed reattach txn, so this one, ordered after
// it, must not take effect. That keeps each session's writes in the order the client sent them.
bool TreeMachine::fenced(const EncodedTxn& decoded) const {
  if (decoded.owner == 0 || decoded.txn.session_id == 0 || decoded.reattach) return false;
  auto it = owners_.find(decoded.txn.session_id);
  return it != owners_.end() && it->second != decoded.owner;
}

void TreeMachine::publish(Zxid zxid, int64_t session, TxnResult result) {
  auto it = expected_.find(zxid.value());
  if (it != expected_.end()) {
    it->second = std::move(result);
  } else if (session != 0 && is_local_ && is_local_(session)) {
    unclaimed_[zxid.value()] = std::move(result);
    if (unclaimed_.size() > kUnclaimedMax) unclaimed_.erase(unclaimed_.begin());
  }
}

void TreeMachine::expect_result(Zxid zxid) {
  auto it = unclaimed_.find(zxid.value());
  if (it != unclaimed_.end()) {
    expected_[zxid.value()] = std::move(it->second);
    unclaimed_.erase(it);
    return;
  }
  expected_.insert({zxid.value(), std::nullopt});
}

std::optional<TxnResult> TreeMachine::take_result(Zxid zxid) {
  auto it = expected_.find(zxid.value());
  if (it == expected_.end() || !it->second.has_value()) return std::nullopt;
  std::optional<TxnResult> out = std::move(it->second);
  expected_.erase(it);
  return out;
}

std::optional<std::string> TreeMachine::password(int64_t session) const {
  if (!tree_.sessions().contains(session)) return std::nullopt;
  auto it = passwords_.find(session);
  if (it == passwords_.end()) return std::string();
  return it->second;
}

// A SNAP replaces the tree without applying the txns in between, so the watches those txns
// would have fired fire here, before any read can see the new state (as setWatches does for a
// client that reconnects with an older zxid). Found by CoordSessions (seed 100): a follower's
// connection kept its watch across a SNAP and the client then read the newer data unwarned.
void TreeMachine::fire_watches_across(const DataTree& next) {
  const Id super{"super", ""};
  for (const std::string& path : watches_.watched_path_list()) {
    const ExistsResult before = tree_.exists(path, {&super, 1});
    const ExistsResult after = next.exists(path, {&super, 1});
    const bool was = before.err == ErrorCode::kOk, is = after.err == ErrorCode::kOk;
    if (was != is) {
      CODE_PROBE(true, "coord.snap_fired_watch");
      watches_.trigger({path, is ? EventType::kNodeCreated : EventType::kNodeDeleted});
      continue;
    }
    if (!was) continue;
    if (before.stat.mzxid != after.stat.mzxid || before.stat.czxid != after.stat.czxid) {
      CODE_PROBE(true, "coord.snap_fired_watch");
      watches_.trigger({path, EventType::kNodeDataChanged});
    }
    if (before.stat.pzxid != after.stat.pzxid) {
      watches_.trigger({path, EventType::kNodeChildrenChanged});
    }
  }
}

std::string TreeMachine::session_table() const {
  std::string out(kSnapshotMagic);
  put_u32(out, static_cast<uint32_t>(passwords_.size()));
  for (const auto& [id, pw] : passwords_) {
    put_u64(out, static_cast<uint64_t>(id));
    auto owner = owners_.find(id);
    put_u64(out, static_cast<uint64_t>(owner == owners_.end() ? 0 : owner->second));
    put_u32(out, static_cast<uint32_t>(pw.size()));
    out.append(pw);
  }
  return out;
}

std::string TreeMachine::snapshot() const {
  return session_table() + tree_.serialize();
}

void TreeMachine::begin_snapshot() {
  tree_.begin_snapshot(session_table());
}

absl::StatusOr<std::optional<std::string>> TreeMachine::continue_snapshot(size_t nodes_max) {
  // restore() assigned a new tree, which dropped the image in progress.
  if (!tree_.snapshotting()) return absl::AbortedError("snapshot abandoned: state restored");
  return tree_.snapshot_step(nodes_max);
}

absl::Status TreeMachine::restore(Zxid zxid, std::string_view snapshot) {
  const bool v1 = snapshot.starts_with(kSnapshotMagicV1);
  if (!v1 && !snapshot.starts_with(kSnapshotMagic))
    return absl::DataLossError("tree snapshot: bad magic");
  snapshot.remove_prefix(kSnapshotMagic.size());
  uint64_t count = 0;
  const uint64_t entry_min = v1 ? 12 : 20;
  if (!get_uint(snapshot, 4, &count) || count > snapshot.size() / entry_min) {
    return absl::DataLossError("tree snapshot: bad password table");
  }
  std::map<int64_t, std::string> passwords;
  std::map<int64_t, int64_t> owners;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t id = 0, owner = 0, len = 0;
    if (!get_uint(snapshot, 8, &id) || (!v1 && !get_uint(snapshot, 8, &owner)) ||
        !get_uint(snapshot, 4, &len) || len > snapshot.size()) {
      return absl::DataLossError("tree snapshot: truncated password table");
    }
    passwords[static_cast<int64_t>(id)] = std::string(snapshot.substr(0, len));
    if (owner != 0) owners[static_cast<int64_t>(id)] = static_cast<int64_t>(owner);
    snapshot.remove_prefix(len);
  }
  absl::StatusOr<DataTree> tree = DataTree::deserialize(snapshot);
  if (!tree.ok()) return tree.status();
  fire_watches_across(*tree);
  std::vector<int64_t> ended;  // sessions the skipped txns closed
  for (const auto& [id, timeout] : tree_.sessions()) {
    if (!tree->sessions().contains(id)) ended.push_back(id);
  }
  tree_ = std::move(*tree);
  passwords_ = std::move(passwords);
  owners_ = std::move(owners);
  last_ = zxid;
  last_time_ms_ = tree_.newest_time_ms();
  // Every waiter's txn is now either inside the snapshot or lost: they learn it from ZAB.
  for (auto& [z, result] : expected_) {
    if (!result.has_value() && z <= zxid.value()) {
      TxnResult unknown;
      unknown.err = ErrorCode::kConnectionLoss;
      unknown.op.err = ErrorCode::kConnectionLoss;
      result = unknown;
    }
  }
  if (session_hook_) {
    for (const auto& [id, timeout] : tree_.sessions()) session_hook_(id, timeout);
    for (int64_t id : ended) {
      CODE_PROBE(true, "coord.snap_ended_session");
      session_hook_(id, 0);
    }
  }
  return absl::OkStatus();
}

}  // namespace weir::coord::server
