// Helpers for the data tree tests: a tree plus a zxid/time source, so a test reads as the list
// of operations it applies. Every apply is followed by the tree's full invariant check.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "coord/tree/data_tree.h"
#include "coord/tree/txn.h"
#include "coord/tree/types.h"

namespace weir::coord::testing {

class TreeDriver {
 public:
  DataTree tree;
  int64_t zxid = 0;
  int64_t now_ms = 1'000'000;

  TxnResult apply(TxnOp op, int64_t session = 0, std::vector<Id> auth = {}) {
    Txn txn;
    txn.zxid = ++zxid;
    txn.time_ms = (now_ms += 7);
    txn.session_id = session;
    txn.auth = std::move(auth);
    txn.op = std::move(op);
    TxnResult r = tree.apply(txn);
    tree.check_invariants();
    return r;
  }

  TxnResult create(std::string path, std::string data = "", int32_t flags = 0,
                   AclList acl = open_acl(), int64_t session = 0, std::vector<Id> auth = {},
                   int64_t ttl = -1) {
    return apply(CreateOp{std::move(path), std::move(data), std::move(acl), flags, ttl}, session,
                 std::move(auth));
  }
  TxnResult remove(std::string path, int32_t version = -1, int64_t session = 0,
                   std::vector<Id> auth = {}) {
    return apply(DeleteOp{std::move(path), version}, session, std::move(auth));
  }
  TxnResult set(std::string path, std::string data, int32_t version = -1, int64_t session = 0,
                std::vector<Id> auth = {}) {
    return apply(SetDataOp{std::move(path), std::move(data), version}, session, std::move(auth));
  }
  TxnResult set_acl(std::string path, AclList acl, int32_t version = -1,
                    std::vector<Id> auth = {}) {
    return apply(SetAclOp{std::move(path), std::move(acl), version}, 0, std::move(auth));
  }
  TxnResult open_session(int64_t session, int32_t timeout_ms = 10'000) {
    return apply(CreateSessionOp{timeout_ms}, session);
  }
  TxnResult close_session(int64_t session) { return apply(CloseSessionOp{}, session); }

  Stat stat(std::string_view path) const {
    const Id super{"super", ""};
    return tree.exists(path, {&super, 1}).stat;
  }
  std::string data(std::string_view path) const {
    const Id super{"super", ""};
    auto r = tree.get_data(path, {&super, 1});
    return r.data ? *r.data : std::string("<none>");
  }
  std::vector<std::string> children(std::string_view path) const {
    const Id super{"super", ""};
    return tree.get_children(path, {&super, 1}).children;
  }
};

}  // namespace weir::coord::testing
