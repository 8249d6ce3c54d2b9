// DataTree operations. Each op runs ZooKeeper's checks in ZooKeeper's order (so the same bad
// request gets the same error code) and changes nothing until every check has passed; a multi
// additionally records inverses so that a later op's failure can undo the earlier ops.
#include <type_traits>
#include <utility>

#include "coord/tree/acl.h"
#include "coord/tree/data_tree.h"
#include "coord/tree/path.h"
#include "runtime/assert.h"

namespace weir::coord {
namespace {

OpResult fail(ErrorCode err) {
  return OpResult{err, {}, {}};
}

int32_t wrapping_increment(int32_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(v) + 1u);
}

// ZooKeeper's checkAndIncVersion: -1 expects any version; the next version skips -1 (which
// would read as "any") when the counter wraps.
bool version_matches(int32_t expected, int32_t current) {
  return expected == -1 || expected == current;
}
int32_t next_version(int32_t current) {
  const int32_t next = wrapping_increment(current);
  return next == -1 ? 0 : next;
}

int64_t owner_for(CreateMode mode, const CreateOp& op, int64_t session_id) {
  if (is_container(mode)) return kContainerOwner;
  if (is_ttl(mode)) return ttl_owner(op.ttl_ms);
  if (is_ephemeral(mode)) return session_id;
  return 0;
}

// Create's argument checks, before any lookup: data size, mode and TTL, as ZooKeeper's
// validateCreateRequest (a TTL only with a TTL mode, in [1, 2^40 - 1]).
bool valid_create_args(const CreateOp& op) {
  if (op.data.size() > kMaxDataBytes || !valid_create_mode(op.flags)) return false;
  const auto mode = static_cast<CreateMode>(op.flags);
  if (is_ttl(mode)) return op.ttl_ms > 0 && op.ttl_ms <= kMaxTtlMs;
  return op.ttl_ms < 0;
}

}  // namespace

TxnResult DataTree::apply(const Txn& txn) {
  WEIR_ASSERT_MSG(txn.zxid > last_zxid_, "transactions must be applied in increasing zxid order");
  last_zxid_ = txn.zxid;
  TxnResult r;
  auto single = [&r](OpResult op) {
    r.err = op.err;
    r.op = std::move(op);
  };
  std::visit(
      [&](const auto& op) {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, CreateOp>) single(do_create(txn, op, r.triggers));
        if constexpr (std::is_same_v<T, DeleteOp>) single(do_delete(txn, op, r.triggers));
        if constexpr (std::is_same_v<T, SetDataOp>) single(do_set_data(txn, op, r.triggers));
        if constexpr (std::is_same_v<T, SetAclOp>) single(do_set_acl(txn, op));
        if constexpr (std::is_same_v<T, CheckOp>) single(do_check(txn, op));
        if constexpr (std::is_same_v<T, DeleteContainerOp>) {
          single(do_delete_container(txn, op, r.triggers));
        }
        if constexpr (std::is_same_v<T, MultiOp>) r = do_multi(txn, op);
        if constexpr (std::is_same_v<T, CreateSessionOp>) r = do_create_session(txn, op);
        if constexpr (std::is_same_v<T, CloseSessionOp>) r = do_close_session(txn);
      },
      txn.op);
  return r;
}

ErrorCode DataTree::check_session(const Txn& txn) const {
  if (txn.session_id == 0 || sessions_.contains(txn.session_id)) return ErrorCode::kOk;
  return ErrorCode::kSessionExpired;
}

OpResult DataTree::do_create(const Txn& txn, const CreateOp& op, Triggers& out) {
  if (!valid_create_args(op)) return fail(ErrorCode::kBadArguments);
  const auto mode = static_cast<CreateMode>(op.flags);
  // An ephemeral needs a live session to own it, even for the server's own session 0.
  if (is_ephemeral(mode) ? !sessions_.contains(txn.session_id)
                         : check_session(txn) != ErrorCode::kOk) {
    return fail(ErrorCode::kSessionExpired);
  }
  // A sequential path is validated with a suffix, as the client library does: "/q/" is fine.
  if (!is_valid_path(is_sequential(mode) ? op.path + "1" : op.path)) {
    return fail(ErrorCode::kBadArguments);
  }
  AclList acl;
  if (ErrorCode e = fixup_acl(op.acl, txn.auth, &acl); e != ErrorCode::kOk) return fail(e);
  const size_t slash = op.path.rfind('/');
  const std::string parent_name = slash == 0 ? "/" : op.path.substr(0, slash);
  Node* parent = find(parent_name);
  if (parent == nullptr) return fail(ErrorCode::kNoNode);
  if (!check_acl(parent->acl, Perms::kCreate, txn.auth)) return fail(ErrorCode::kNoAuth);
  std::string path = op.path;
  if (is_sequential(mode)) path += sequence_suffix(parent->stat.child_creates);
  if (find(path) != nullptr) return fail(ErrorCode::kNodeExists);
  if (owner_kind(parent->stat.ephemeral_owner) == OwnerKind::kSession) {
    return fail(ErrorCode::kNoChildrenForEphemerals);
  }

  save_header(parent_name, *parent);
  // cversion counts creates and deletes; child_creates numbers sequential children (ZooKeeper
  // 3.8 measured: create, delete, create sequential gives cversion 3 and suffix 1).
  parent->stat.cversion = wrapping_increment(parent->stat.cversion);
  parent->stat.child_creates = wrapping_increment(parent->stat.child_creates);
  parent->stat.pzxid = txn.zxid;
  Stat stat;
  stat.czxid = stat.mzxid = stat.pzxid = txn.zxid;
  stat.ctime = stat.mtime = txn.time_ms;
  stat.ephemeral_owner = owner_for(mode, op, txn.session_id);
  link_node(path, make_node(op.data, std::move(acl), stat));
  out.push_back({path, EventType::kNodeCreated});
  out.push_back({parent_name, EventType::kNodeChildrenChanged});
  return OpResult{ErrorCode::kOk, path, make_stat(*find(path))};
}

void DataTree::remove_leaf(const std::string& path, int64_t zxid, Triggers& out) {
  const std::string parent_name(parent_path(path));
  Node* parent = find(parent_name);
  WEIR_ASSERT(parent != nullptr);
  save_header(parent_name, *parent);
  // A delete moves pzxid and cversion (as ZooKeeper 3.8 does), not child_creates.
  parent->stat.cversion = wrapping_increment(parent->stat.cversion);
  if (zxid > parent->stat.pzxid) parent->stat.pzxid = zxid;
  unlink_node(path);
  out.push_back({path, EventType::kNodeDeleted});
  out.push_back({parent_name, EventType::kNodeChildrenChanged});
}

OpResult DataTree::do_delete(const Txn& txn, const DeleteOp& op, Triggers& out) {
  if (ErrorCode e = check_session(txn); e != ErrorCode::kOk) return fail(e);
  if (!is_valid_path(op.path) || is_special_path(op.path)) return fail(ErrorCode::kBadArguments);
  const Node* parent = find(parent_path(op.path));
  if (parent == nullptr) return fail(ErrorCode::kNoNode);
  if (!check_acl(parent->acl, Perms::kDelete, txn.auth)) return fail(ErrorCode::kNoAuth);
  const Node* node = find(op.path);
  if (node == nullptr) return fail(ErrorCode::kNoNode);
  if (!version_matches(op.version, node->stat.version)) return fail(ErrorCode::kBadVersion);
  if (!node->children.empty()) return fail(ErrorCode::kNotEmpty);
  remove_leaf(op.path, txn.zxid, out);
  return OpResult{};
}

OpResult DataTree::do_set_data(const Txn& txn, const SetDataOp& op, Triggers& out) {
  if (op.data.size() > kMaxDataBytes) return fail(ErrorCode::kBadArguments);
  if (ErrorCode e = check_session(txn); e != ErrorCode::kOk) return fail(e);
  if (!is_valid_path(op.path)) return fail(ErrorCode::kBadArguments);
  Node* node = find(op.path);
  if (node == nullptr) return fail(ErrorCode::kNoNode);
  if (!check_acl(node->acl, Perms::kWrite, txn.auth)) return fail(ErrorCode::kNoAuth);
  if (!version_matches(op.version, node->stat.version)) return fail(ErrorCode::kBadVersion);

  save_header(op.path, *node);
  node->data = std::make_shared<const std::string>(op.data);
  node->data_hash = hash_data(op.data);
  node->stat.version = next_version(node->stat.version);
  node->stat.mzxid = txn.zxid;
  node->stat.mtime = txn.time_ms;
  rehash(op.path, *node);
  out.push_back({op.path, EventType::kNodeDataChanged});
  return OpResult{ErrorCode::kOk, {}, make_stat(*node)};
}

OpResult DataTree::do_set_acl(const Txn& txn, const SetAclOp& op) {
  if (ErrorCode e = check_session(txn); e != ErrorCode::kOk) return fail(e);
  if (!is_valid_path(op.path)) return fail(ErrorCode::kBadArguments);
  AclList acl;
  if (ErrorCode e = fixup_acl(op.acl, txn.auth, &acl); e != ErrorCode::kOk) return fail(e);
  Node* node = find(op.path);
  if (node == nullptr) return fail(ErrorCode::kNoNode);
  if (!check_acl(node->acl, Perms::kAdmin, txn.auth)) return fail(ErrorCode::kNoAuth);
  if (!version_matches(op.version, node->stat.aversion)) return fail(ErrorCode::kBadVersion);

  save_header(op.path, *node);
  node->acl = std::move(acl);
  node->stat.aversion = next_version(node->stat.aversion);
  rehash(op.path, *node);
  return OpResult{ErrorCode::kOk, {}, make_stat(*node)};
}

OpResult DataTree::do_check(const Txn& txn, const CheckOp& op) {
  if (ErrorCode e = check_session(txn); e != ErrorCode::kOk) return fail(e);
  if (!is_valid_path(op.path)) return fail(ErrorCode::kBadArguments);
  const Node* node = find(op.path);
  if (node == nullptr) return fail(ErrorCode::kNoNode);
  if (!check_acl(node->acl, Perms::kRead, txn.auth)) return fail(ErrorCode::kNoAuth);
  if (!version_matches(op.version, node->stat.version)) return fail(ErrorCode::kBadVersion);
  return OpResult{ErrorCode::kOk, {}, make_stat(*node)};
}

OpResult DataTree::do_delete_container(const Txn& txn, const DeleteContainerOp& op, Triggers& out) {
  if (!is_valid_path(op.path) || is_special_path(op.path)) return fail(ErrorCode::kBadArguments);
  const Node* node = find(op.path);
  if (node == nullptr) return fail(ErrorCode::kNoNode);
  if (!node->children.empty()) return fail(ErrorCode::kNotEmpty);
  // Only containers and TTL nodes; a TTL node touched since the reaper chose it survives
  // (ZooKeeper would delete it anyway). BadVersion is ZooKeeper's code for "not a container".
  const int64_t owner = node->stat.ephemeral_owner;
  const OwnerKind kind = owner_kind(owner);
  if (kind != OwnerKind::kContainer && kind != OwnerKind::kTtl) {
    return fail(ErrorCode::kBadVersion);
  }
  if (kind == OwnerKind::kTtl && elapsed_ms(txn.time_ms, node->stat.mtime) <= ttl_of_owner(owner)) {
    return fail(ErrorCode::kBadVersion);
  }
  remove_leaf(op.path, txn.zxid, out);
  return OpResult{};
}

TxnResult DataTree::do_multi(const Txn& txn, const MultiOp& multi) {
  WEIR_ASSERT(undo_.empty() && !recording_);
  TxnResult r;
  recording_ = true;
  size_t failed = multi.ops.size();
  for (size_t i = 0; i < multi.ops.size() && failed == multi.ops.size(); ++i) {
    OpResult one = std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, CreateOp>) {
            return do_create(txn, op, r.triggers);
          } else if constexpr (std::is_same_v<T, DeleteOp>) {
            return do_delete(txn, op, r.triggers);
          } else if constexpr (std::is_same_v<T, SetDataOp>) {
            return do_set_data(txn, op, r.triggers);
          } else {
            static_assert(std::is_same_v<T, CheckOp>);
            return do_check(txn, op);
          }
        },
        multi.ops[i]);
    if (one.err != ErrorCode::kOk) failed = i, r.err = one.err;
    r.multi.push_back(std::move(one));
  }
  if (failed == multi.ops.size()) {
    recording_ = false;
    undo_.clear();
    return r;
  }
  rollback();
  r.triggers.clear();
  for (size_t i = 0; i < failed; ++i) r.multi[i] = OpResult{};
  r.multi.resize(multi.ops.size(), fail(ErrorCode::kRuntimeInconsistency));
  return r;
}

TxnResult DataTree::do_create_session(const Txn& txn, const CreateSessionOp& op) {
  TxnResult r;
  const int64_t id = txn.session_id;
  // The id must read as a session owner in Stat.ephemeralOwner (not 0, not a container's or a
  // TTL node's encoding), or its ephemerals would be mistaken for something else.
  if (owner_kind(id) != OwnerKind::kSession || op.timeout_ms <= 0) {
    r.err = r.op.err = ErrorCode::kBadArguments;
    return r;
  }
  auto [it, inserted] = sessions_.try_emplace(id, op.timeout_ms);
  if (!inserted) {
    digest_sessions_ -= session_hash(id, it->second);
    it->second = op.timeout_ms;
  }
  digest_sessions_ += session_hash(id, op.timeout_ms);
  return r;
}

TxnResult DataTree::do_close_session(const Txn& txn) {
  TxnResult r;
  const int64_t id = txn.session_id;
  if (auto it = ephemerals_.find(id); it != ephemerals_.end()) {
    // Copied: the index entry disappears with the last ephemeral.
    const std::vector<std::string> paths(it->second.begin(), it->second.end());
    for (const std::string& p : paths) remove_leaf(p, txn.zxid, r.triggers);
  }
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    digest_sessions_ -= session_hash(id, it->second);
    sessions_.erase(it);
  }
  return r;
}

}  // namespace weir::coord
