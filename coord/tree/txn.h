// Transactions: what the ZAB leader broadcasts and every server applies to its DataTree, in zxid
// order. A Txn carries the request as the client sent it plus everything the outcome may depend
// on (zxid, leader time, session, the requester's authenticated ids), so applying it is a pure
// function of the tree and the Txn: every replica computes the same result, success or error.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "coord/tree/types.h"

namespace weir::coord {

// create/create2/createContainer/createTTL. `flags` is the raw CreateMode (validated on apply);
// `ttl_ms` is -1 unless the mode is a TTL mode.
struct CreateOp {
  std::string path;
  std::string data;
  AclList acl;
  int32_t flags = 0;
  int64_t ttl_ms = -1;
};

// `version` -1 matches any version.
struct DeleteOp {
  std::string path;
  int32_t version = -1;
};

struct SetDataOp {
  std::string path;
  std::string data;
  int32_t version = -1;
};

// `version` is the expected aversion.
struct SetAclOp {
  std::string path;
  AclList acl;
  int32_t version = -1;
};

struct CheckOp {
  std::string path;
  int32_t version = -1;
};

// Issued by the server's reaper for an empty container or an expired TTL node (ZooKeeper's
// deleteContainer); never by a client.
struct DeleteContainerOp {
  std::string path;
};

// The operations ZooKeeper allows inside a multi.
using MultiSubOp = std::variant<CreateOp, DeleteOp, SetDataOp, CheckOp>;

// All or nothing: either every op applies or none does.
struct MultiOp {
  std::vector<MultiSubOp> ops;
};

// Registers the Txn's session (its id is Txn::session_id), so that it may own ephemerals and
// is part of snapshots.
struct CreateSessionOp {
  int32_t timeout_ms = 0;
};

// Ends Txn::session_id: deletes all its ephemerals in this one transaction.
struct CloseSessionOp {};

using TxnOp = std::variant<CreateOp, DeleteOp, SetDataOp, SetAclOp, CheckOp, DeleteContainerOp,
                           MultiOp, CreateSessionOp, CloseSessionOp>;

struct Txn {
  int64_t zxid = 0;
  // The leader's clock when it proposed the txn: ctime/mtime come from here, never from the
  // applying server's clock.
  int64_t time_ms = 0;
  // 0 is the server itself (no session checks, cannot own ephemerals).
  int64_t session_id = 0;
  // The requester's authenticated ids, for ACL checks and "auth" ACL expansion.
  std::vector<Id> auth;
  TxnOp op;
};

// The outcome of one operation.
struct OpResult {
  ErrorCode err = ErrorCode::kOk;
  // create: the created path (with its sequence suffix).
  std::string path;
  // create, setData, setACL, check: the node's Stat after the op; zero otherwise.
  Stat stat;
  friend bool operator==(const OpResult&, const OpResult&) = default;
};

struct TxnResult {
  // The op's error; for a multi, the error of the op that failed (Ok if none did).
  ErrorCode err = ErrorCode::kOk;
  // The single op's result (err equals `err` above); unused for multi and session txns.
  OpResult op;
  // Multi only: one result per op. If op k failed, ops before it report Ok, op k its error and
  // ops after it RuntimeInconsistency, as ZooKeeper does; nothing was applied.
  std::vector<OpResult> multi;
  // The watches the txn fires, in the order ZooKeeper fires them; empty if it failed.
  std::vector<WatchTrigger> triggers;
};

}  // namespace weir::coord
