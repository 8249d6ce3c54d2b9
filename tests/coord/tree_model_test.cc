// The data tree against a deliberately naive model (a map from path to node; children found by
// scanning; a multi applied to a copy that is thrown away on failure) for random operation
// sequences: every result, error code, Stat, watch trigger and read-back must match. Along the
// way the tree is snapshotted and restored (same digest), and a twin tree fed the same
// transactions must keep the same digest.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "coord/tree/data_tree.h"

namespace weir::coord {
namespace {

struct ModelNode {
  std::string data;
  AclList acl;
  Stat stat;  // data_length and num_children filled in on read
};

// ZooKeeper's rules, restated as plainly as possible.
class Model {
 public:
  Model() {
    nodes_["/"] = {"", open_acl(), {}};
    nodes_["/zookeeper"] = {"", open_acl(), {}};
    nodes_["/zookeeper/quota"] = {"", open_acl(), {}};
    nodes_["/zookeeper/config"] = {"", read_acl(), {}};
  }

  TxnResult apply(const Txn& txn) {
    TxnResult r;
    if (auto* m = std::get_if<MultiOp>(&txn.op)) return apply_multi(txn, *m);
    if (auto* s = std::get_if<CreateSessionOp>(&txn.op)) {
      if (txn.session_id == 0)
        r.err = r.op.err = ErrorCode::kBadArguments;
      else
        sessions_[txn.session_id] = s->timeout_ms;
      return r;
    }
    if (std::holds_alternative<CloseSessionOp>(txn.op)) {
      std::vector<std::string> doomed;
      for (const auto& [p, n] : nodes_) {
        if (txn.session_id != 0 && n.stat.ephemeral_owner == txn.session_id) doomed.push_back(p);
      }
      for (const auto& p : doomed) erase(p, txn.zxid, r.triggers);
      sessions_.erase(txn.session_id);
      return r;
    }
    r.op = std::visit([&](const auto& op) { return one(txn, op, r.triggers); }, txn.op);
    r.err = r.op.err;
    return r;
  }

  const std::map<std::string, ModelNode>& nodes() const { return nodes_; }
  const std::map<int64_t, int32_t>& sessions() const { return sessions_; }

  std::vector<std::string> children(const std::string& path) const {
    std::vector<std::string> out;
    for (const auto& [p, n] : nodes_) {
      if (p != "/" && parent(p) == path) out.push_back(p.substr(p.rfind('/') + 1));
    }
    return out;
  }
  Stat stat(const std::string& path) const {
    Stat s = nodes_.at(path).stat;
    s.data_length = static_cast<int32_t>(nodes_.at(path).data.size());
    s.num_children = static_cast<int32_t>(children(path).size());
    return s;
  }
  static bool allowed(const AclList& acl, int32_t perm, const std::vector<Id>& auth) {
    for (const Acl& a : acl) {
      if ((a.perms & perm) == 0) continue;
      if (a.id == world_anyone()) return true;
      for (const Id& id : auth) {
        if (id == a.id) return true;
      }
    }
    return false;
  }
  static bool valid(const std::string& p) {
    return p == "/" ||
           (!p.empty() && p[0] == '/' && p.back() != '/' && p.find("//") == std::string::npos);
  }
  static std::string parent(const std::string& p) {
    const size_t slash = p.rfind('/');
    return slash == 0 ? "/" : p.substr(0, slash);
  }

 private:
  bool live(const Txn& t) const { return t.session_id == 0 || sessions_.contains(t.session_id); }

  static ErrorCode fixup(const AclList& in, const std::vector<Id>& auth, AclList* out) {
    out->clear();
    for (const Acl& a : in) {
      if (std::find(in.begin(), in.end(), a) != in.begin() + (&a - in.data())) continue;
      if (a.id.scheme != "auth") {
        out->push_back(a);
        continue;
      }
      size_t before = out->size();
      for (const Id& id : auth) {
        if (id.scheme == "digest") out->push_back({a.perms, id});
      }
      if (out->size() == before) return ErrorCode::kInvalidACL;
    }
    return out->empty() ? ErrorCode::kInvalidACL : ErrorCode::kOk;
  }

  OpResult one(const Txn& t, const CreateOp& op, std::vector<WatchTrigger>& trig) {
    const auto mode = static_cast<CreateMode>(op.flags);
    if (is_ephemeral(mode) ? !sessions_.contains(t.session_id) : !live(t)) {
      return {ErrorCode::kSessionExpired};
    }
    if (!valid(is_sequential(mode) ? op.path + "1" : op.path)) return {ErrorCode::kBadArguments};
    AclList acl;
    if (ErrorCode e = fixup(op.acl, t.auth, &acl); e != ErrorCode::kOk) return {e};
    const std::string par = parent(op.path);
    if (!nodes_.contains(par)) return {ErrorCode::kNoNode};
    ModelNode& pn = nodes_[par];
    if (!allowed(pn.acl, Perms::kCreate, t.auth)) return {ErrorCode::kNoAuth};
    std::string path = op.path;
    if (is_sequential(mode)) {
      std::ostringstream suffix;
      suffix << std::setw(10) << std::setfill('0') << pn.stat.child_creates;
      path += suffix.str();
    }
    if (nodes_.contains(path)) return {ErrorCode::kNodeExists};
    if (pn.stat.ephemeral_owner != 0) return {ErrorCode::kNoChildrenForEphemerals};
    pn.stat.cversion++;
    pn.stat.child_creates++;
    pn.stat.pzxid = t.zxid;
    Stat s{.czxid = t.zxid,
           .mzxid = t.zxid,
           .ctime = t.time_ms,
           .mtime = t.time_ms,
           .ephemeral_owner = is_ephemeral(mode) ? t.session_id : 0,
           .pzxid = t.zxid};
    nodes_[path] = {op.data, acl, s};
    trig.push_back({path, EventType::kNodeCreated});
    trig.push_back({par, EventType::kNodeChildrenChanged});
    return {ErrorCode::kOk, path, stat(path)};
  }

  void erase(const std::string& path, int64_t zxid, std::vector<WatchTrigger>& trig) {
    Stat& ps = nodes_[parent(path)].stat;
    ps.pzxid = std::max(ps.pzxid, zxid);
    ps.cversion++;  // ZooKeeper 3.8 counts deletes in cversion, not in the sequence
    nodes_.erase(path);
    trig.push_back({path, EventType::kNodeDeleted});
    trig.push_back({parent(path), EventType::kNodeChildrenChanged});
  }

  OpResult one(const Txn& t, const DeleteOp& op, std::vector<WatchTrigger>& trig) {
    if (!live(t)) return {ErrorCode::kSessionExpired};
    if (!valid(op.path) || op.path == "/" || op.path == "/zookeeper" ||
        op.path == "/zookeeper/quota" || op.path == "/zookeeper/config") {
      return {ErrorCode::kBadArguments};
    }
    if (!nodes_.contains(parent(op.path))) return {ErrorCode::kNoNode};
    if (!allowed(nodes_[parent(op.path)].acl, Perms::kDelete, t.auth)) return {ErrorCode::kNoAuth};
    if (!nodes_.contains(op.path)) return {ErrorCode::kNoNode};
    if (op.version != -1 && op.version != nodes_[op.path].stat.version) {
      return {ErrorCode::kBadVersion};
    }
    if (!children(op.path).empty()) return {ErrorCode::kNotEmpty};
    erase(op.path, t.zxid, trig);
    return {};
  }

  // Common checks of ops on an existing node: session, path, node, permission, version.
  ErrorCode target(const Txn& t, const std::string& path, int32_t perm, int32_t version,
                   bool aversion) {
    if (!live(t)) return ErrorCode::kSessionExpired;
    if (!valid(path)) return ErrorCode::kBadArguments;
    if (!nodes_.contains(path)) return ErrorCode::kNoNode;
    const ModelNode& n = nodes_[path];
    if (!allowed(n.acl, perm, t.auth)) return ErrorCode::kNoAuth;
    const int32_t current = aversion ? n.stat.aversion : n.stat.version;
    if (version != -1 && version != current) return ErrorCode::kBadVersion;
    return ErrorCode::kOk;
  }

  OpResult one(const Txn& t, const SetDataOp& op, std::vector<WatchTrigger>& trig) {
    if (ErrorCode e = target(t, op.path, Perms::kWrite, op.version, false); e != ErrorCode::kOk) {
      return {e};
    }
    ModelNode& n = nodes_[op.path];
    n.data = op.data;
    n.stat.version++;
    n.stat.mzxid = t.zxid;
    n.stat.mtime = t.time_ms;
    trig.push_back({op.path, EventType::kNodeDataChanged});
    return {ErrorCode::kOk, "", stat(op.path)};
  }

  OpResult one(const Txn& t, const SetAclOp& op, std::vector<WatchTrigger>&) {
    AclList acl;
    if (!live(t)) return {ErrorCode::kSessionExpired};
    if (!valid(op.path)) return {ErrorCode::kBadArguments};
    if (ErrorCode e = fixup(op.acl, t.auth, &acl); e != ErrorCode::kOk) return {e};
    if (ErrorCode e = target(t, op.path, Perms::kAdmin, op.version, true); e != ErrorCode::kOk) {
      return {e};
    }
    nodes_[op.path].acl = acl;
    nodes_[op.path].stat.aversion++;
    return {ErrorCode::kOk, "", stat(op.path)};
  }

  OpResult one(const Txn& t, const CheckOp& op, std::vector<WatchTrigger>&) {
    if (ErrorCode e = target(t, op.path, Perms::kRead, op.version, false); e != ErrorCode::kOk) {
      return {e};
    }
    return {ErrorCode::kOk, "", stat(op.path)};
  }

  template <class Op>
  OpResult one(const Txn&, const Op&, std::vector<WatchTrigger>&) {
    return {ErrorCode::kUnimplemented};  // not generated
  }

  TxnResult apply_multi(const Txn& txn, const MultiOp& m) {
    TxnResult r;
    Model scratch = *this;
    for (size_t i = 0; i < m.ops.size(); ++i) {
      OpResult o =
          std::visit([&](const auto& op) { return scratch.one(txn, op, r.triggers); }, m.ops[i]);
      if (o.err == ErrorCode::kOk) {
        r.multi.push_back(o);
        continue;
      }
      r.err = o.err;
      r.triggers.clear();
      r.multi.assign(i, OpResult{});
      r.multi.push_back({o.err});
      r.multi.resize(m.ops.size(), OpResult{ErrorCode::kRuntimeInconsistency});
      return r;
    }
    *this = std::move(scratch);
    return r;
  }

  std::map<std::string, ModelNode> nodes_;
  std::map<int64_t, int32_t> sessions_;
};

const Id kAlice{"digest", "alice:a"};
const Id kBob{"digest", "bob:b"};

// A uniform choice in [lo, hi): gen::inRange alone narrows its range at small sizes, which
// would skew which operations a short sequence tries.
int pick(int lo, int hi) {
  return *rc::gen::resize(rc::kNominalSize, rc::gen::inRange(lo, hi));
}

// Generators draw on the model's state, so that most operations can succeed: paths of
// existing nodes, their current versions, sessions that are open.
std::string gen_path(const Model& m) {
  std::vector<std::string> existing;
  for (const auto& [p, n] : m.nodes()) {
    if (!p.starts_with("/zookeeper/")) existing.push_back(p);
  }
  if (pick(0, 2) == 0) return *rc::gen::elementOf(existing);
  return *rc::gen::element<std::string>("/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/a/y/z", "/",
                                        "/zookeeper", "/a/", "bad", "/a//x");
}
std::string gen_seq_prefix() {
  return *rc::gen::element<std::string>("/a/s-", "/b/", "/s", "/a/x/q");
}
std::string gen_data() {
  return *rc::gen::oneOf(rc::gen::element<std::string>("", "d1", "d2"),
                         rc::gen::container<std::string>(rc::gen::inRange<char>('a', 'e')));
}
int32_t gen_version(const Model& m, const std::string& path, bool acl_version = false) {
  int32_t current = 0;
  if (auto it = m.nodes().find(path); it != m.nodes().end()) {
    current = acl_version ? it->second.stat.aversion : it->second.stat.version;
  }
  return *rc::gen::element<int32_t>(-1, -1, current, current, current + 1, 0);
}
AclList gen_acl() {
  return *rc::gen::element<AclList>(
      open_acl(), open_acl(), open_acl(), open_acl(), AclList{{Perms::kAll, kAlice}},
      AclList{{Perms::kRead, world_anyone()}, {Perms::kAll, kAlice}},
      AclList{{Perms::kCreate | Perms::kDelete, kBob}, {Perms::kAll, kAlice}},
      AclList{{Perms::kAll, {"auth", ""}}}, AclList{});
}
std::vector<Id> gen_auth() {
  return *rc::gen::elementOf(
      std::vector<std::vector<Id>>{{}, {kAlice}, {kAlice}, {kBob}, {kBob, kAlice}});
}

MultiSubOp gen_sub_op(const Model& m, int kind) {
  std::string path = gen_path(m);
  switch (kind) {
    case 0:
      return CreateOp{path, gen_data(), gen_acl(), pick(0, 4)};
    case 1:
      return CreateOp{gen_seq_prefix(), "", open_acl(), *rc::gen::element(2, 3)};
    case 2:
      return DeleteOp{path, gen_version(m, path)};
    case 3:
      return SetDataOp{path, gen_data(), gen_version(m, path)};
    default:
      return CheckOp{path, gen_version(m, path)};
  }
}

TxnOp gen_op(const Model& m) {
  const int kind = pick(0, 100);
  auto lift = [](MultiSubOp op) { return std::visit([](auto o) { return TxnOp(o); }, op); };
  if (kind < 22) return lift(gen_sub_op(m, 0));
  if (kind < 32) return lift(gen_sub_op(m, 1));
  if (kind < 47) return lift(gen_sub_op(m, 2));
  if (kind < 60) return lift(gen_sub_op(m, 3));
  if (kind < 65) return lift(gen_sub_op(m, 4));
  if (kind < 70) {
    std::string path = gen_path(m);
    return SetAclOp{path, gen_acl(), gen_version(m, path, true)};
  }
  if (kind < 88) {
    MultiOp multi;
    const int n = pick(0, 5);
    for (int i = 0; i < n; ++i) multi.ops.push_back(gen_sub_op(m, pick(0, 5)));
    return multi;
  }
  if (kind < 94) return CreateSessionOp{pick(1, 50'000)};
  return CloseSessionOp{};
}

// Every read of every node the model has (plus a few that may not exist) agrees.
void compare_reads(const DataTree& tree, const Model& model, const std::vector<Id>& auth) {
  std::vector<std::string> paths{"/a", "/b", "/a/x", "/nope", "/a/"};
  for (const auto& [p, n] : model.nodes()) paths.push_back(p);
  for (const std::string& p : paths) {
    auto data = tree.get_data(p, auth);
    auto kids = tree.get_children(p, auth);
    auto acl = tree.get_acl(p, auth);
    if (!Model::valid(p)) {
      RC_ASSERT(data.err == ErrorCode::kBadArguments);
      continue;
    }
    if (!model.nodes().contains(p)) {
      RC_ASSERT(data.err == ErrorCode::kNoNode && kids.err == ErrorCode::kNoNode);
      continue;
    }
    const ModelNode& n = model.nodes().at(p);
    const bool readable = Model::allowed(n.acl, Perms::kRead, auth);
    RC_ASSERT(data.err == (readable ? ErrorCode::kOk : ErrorCode::kNoAuth));
    RC_ASSERT(tree.exists(p, auth).err == data.err);
    if (readable) {
      RC_ASSERT(*data.data == n.data);
      RC_ASSERT(data.stat == model.stat(p));
      RC_ASSERT(kids.children == model.children(p));
      RC_ASSERT(kids.stat == model.stat(p));
    }
    const bool admin = Model::allowed(n.acl, Perms::kAdmin, auth);
    RC_ASSERT(acl.err == (readable || admin ? ErrorCode::kOk : ErrorCode::kNoAuth));
    if (admin) RC_ASSERT(acl.acl == n.acl);
  }
  for (int64_t s : {1, 2, 3}) {
    std::vector<std::string> eph;
    for (const auto& [p, n] : model.nodes()) {
      if (n.stat.ephemeral_owner == s) eph.push_back(p);
    }
    RC_ASSERT(tree.ephemerals(s) == eph);
  }
  RC_ASSERT(tree.sessions() == model.sessions());
}

RC_GTEST_PROP(TreeModel, RandomSequencesMatchTheModel, ()) {
  DataTree tree, twin;
  Model model;
  int64_t zxid = 0, now = 1000;
  // Sessions 1 and 2 start open; 3 only if the sequence opens it (else SessionExpired).
  for (int64_t s : {1, 2}) {
    const Txn open{++zxid, now, s, {}, CreateSessionOp{5000}};
    tree.apply(open), twin.apply(open), model.apply(open);
  }
  const int steps = *rc::gen::inRange(1, 150);
  for (int step = 0; step < steps; ++step) {
    if (pick(0, 20) == 0) {
      // Snapshot and continue from the restored copy.
      auto restored = DataTree::deserialize(tree.serialize());
      RC_ASSERT(restored.ok());
      RC_ASSERT(restored->digest() == tree.digest());
      tree = std::move(*restored);
      RC_LOG() << "step " << step << ": snapshot/restore\n";
    }
    Txn txn;
    txn.zxid = ++zxid;
    txn.time_ms = now += pick(0, 100);
    txn.session_id = *rc::gen::element<int64_t>(0, 0, 1, 1, 2, 3);
    txn.auth = gen_auth();
    txn.op = gen_op(model);
    RC_LOG() << "step " << step << ": op " << txn.op.index() << " session " << txn.session_id
             << "\n";
    const TxnResult got = tree.apply(txn);
    const TxnResult want = model.apply(txn);
    twin.apply(txn);
    tree.check_invariants();
    RC_ASSERT(got.err == want.err);
    RC_ASSERT(got.op == want.op);
    RC_ASSERT(got.multi == want.multi);
    RC_ASSERT(got.triggers == want.triggers);
    RC_ASSERT(tree.digest() == twin.digest());
    compare_reads(tree, model, gen_auth());
  }
}

// An incremental snapshot, with random operations applied between its steps, is byte for byte
// the image serialize() gave when it began (nodes changed, deleted and re-created under it).
RC_GTEST_PROP(TreeModel, IncrementalSnapshotIsTheImageAtItsBeginning, ()) {
  DataTree tree;
  Model model;
  int64_t zxid = 0, now = 1000;
  for (int64_t s : {1, 2}) {
    const Txn open{++zxid, now, s, {}, CreateSessionOp{5000}};
    tree.apply(open), model.apply(open);
  }
  std::optional<std::string> expected;
  int finished = 0;
  const int steps = *rc::gen::inRange(1, 200);
  for (int step = 0; step < steps; ++step) {
    if (!expected && pick(0, 8) == 0) {
      expected = "prefix" + tree.serialize();
      tree.begin_snapshot("prefix");
    } else if (expected && pick(0, 3) == 0) {
      std::optional<std::string> image = tree.snapshot_step(static_cast<size_t>(pick(1, 4)));
      if (image) {
        RC_ASSERT(*image == *expected);
        RC_ASSERT(!tree.snapshotting());
        expected.reset();
        ++finished;
      }
    }
    Txn txn;
    txn.zxid = ++zxid;
    txn.time_ms = now += pick(0, 100);
    txn.session_id = *rc::gen::element<int64_t>(0, 0, 1, 1, 2, 3);
    txn.auth = gen_auth();
    txn.op = gen_op(model);
    model.apply(txn);
    tree.apply(txn);
  }
  if (expected) {
    std::optional<std::string> image;
    while (!(image = tree.snapshot_step(3))) {
    }
    RC_ASSERT(*image == *expected);
    ++finished;
  }
  RC_TAG(finished);
}

}  // namespace
}  // namespace weir::coord
