// DataTree: construction, the mutation primitives (indexes, digest, undo), reads and checks.
// The operations themselves are in data_tree_ops.cc, snapshots in data_tree_snapshot.cc.
#include "coord/tree/data_tree.h"

#include <algorithm>
#include <utility>

#include "coord/tree/acl.h"
#include "coord/tree/path.h"
#include "runtime/assert.h"
#include "runtime/hash.h"

namespace weir::coord {
namespace {

absl::string_view to_absl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

constexpr uint64_t kNodeSeed = 0x6e6f64652d747265ULL;
constexpr uint64_t kDataSeed = 0x646174612d747265ULL;
constexpr uint64_t kSessionSeed = 0x73657373696f6e73ULL;

uint64_t u64(int64_t v) {
  return static_cast<uint64_t>(v);
}

}  // namespace

DataTree::DataTree() {
  Node root = make_node("", open_acl(), Stat{});
  root.hash = node_hash("/", root);
  digest_nodes_ = root.hash;
  nodes_.emplace("/", std::move(root));
  link_node(std::string(kZookeeperPath), make_node("", open_acl(), Stat{}));
  link_node(std::string(kQuotaPath), make_node("", open_acl(), Stat{}));
  link_node(std::string(kConfigPath), make_node("", read_acl(), Stat{}));
}

DataTree::Node DataTree::make_node(std::string data, AclList acl, const Stat& stat) {
  Node n;
  n.data_hash = hash_data(data);
  n.data = std::make_shared<const std::string>(std::move(data));
  n.acl = std::move(acl);
  n.stat = stat;
  return n;
}

uint64_t DataTree::hash_data(std::string_view data) {
  return hash_bytes(kDataSeed, data);
}

// ---- Mutation primitives ----

DataTree::Node* DataTree::find(std::string_view path) {
  auto it = nodes_.find(to_absl(path));
  return it == nodes_.end() ? nullptr : &it->second;
}

const DataTree::Node* DataTree::find(std::string_view path) const {
  auto it = nodes_.find(to_absl(path));
  return it == nodes_.end() ? nullptr : &it->second;
}

DataTree::DataTree(EmptyTag) {}
DataTree::DataTree(DataTree&&) noexcept = default;
DataTree& DataTree::operator=(DataTree&&) noexcept = default;
DataTree::~DataTree() = default;

void DataTree::save_header(const std::string& path, const Node& node) {
  note_change(path, node);
  if (!recording_) return;
  undo_.push_back([this, path, h = NodeHeader{node.data, node.data_hash, node.acl, node.stat}] {
    Node* n = find(path);
    WEIR_ASSERT(n != nullptr);
    n->data = h.data;
    n->data_hash = h.data_hash;
    n->acl = h.acl;
    n->stat = h.stat;
    rehash(path, *n);
  });
}

void DataTree::link_node(const std::string& path, Node node) {
  WEIR_ASSERT(path != "/");
  const std::string_view parent_name = parent_path(path);
  Node* parent = find(parent_name);
  WEIR_ASSERT(parent != nullptr);
  const int64_t owner = node.stat.ephemeral_owner;
  auto [it, inserted] = nodes_.try_emplace(path, std::move(node));
  WEIR_ASSERT(inserted);
  it->second.hash = node_hash(path, it->second);
  digest_nodes_ += it->second.hash;
  parent->children.emplace(node_name(path));
  rehash(parent_name, *parent);
  index_owner(path, owner, true);
  if (recording_) undo_.push_back([this, path] { unlink_node(path); });
}

DataTree::Node DataTree::unlink_node(const std::string& path) {
  auto it = nodes_.find(path);
  WEIR_ASSERT(it != nodes_.end());
  WEIR_ASSERT(it->second.children.empty());
  note_change(path, it->second);
  Node node = std::move(it->second);
  nodes_.erase(it);
  digest_nodes_ -= node.hash;
  index_owner(path, node.stat.ephemeral_owner, false);
  const std::string_view parent_name = parent_path(path);
  Node* parent = find(parent_name);
  WEIR_ASSERT(parent != nullptr);
  auto child = parent->children.find(node_name(path));
  WEIR_ASSERT(child != parent->children.end());
  parent->children.erase(child);
  rehash(parent_name, *parent);
  if (recording_) {
    undo_.push_back(
        [this, path, saved = std::make_shared<Node>(node)] { link_node(path, *saved); });
  }
  return node;
}

void DataTree::rehash(std::string_view path, Node& node) {
  digest_nodes_ -= node.hash;
  node.hash = node_hash(path, node);
  digest_nodes_ += node.hash;
}

void DataTree::index_owner(const std::string& path, int64_t owner, bool add) {
  switch (owner_kind(owner)) {
    case OwnerKind::kNone:
      return;
    case OwnerKind::kSession:
      if (add) {
        ephemerals_[owner].insert(path);
      } else {
        auto it = ephemerals_.find(owner);
        WEIR_ASSERT(it != ephemerals_.end() && it->second.erase(path) == 1);
        if (it->second.empty()) ephemerals_.erase(it);
      }
      return;
    case OwnerKind::kContainer:
      if (add) {
        containers_.insert(path);
      } else {
        WEIR_ASSERT(containers_.erase(path) == 1);
      }
      return;
    case OwnerKind::kTtl:
      if (add) {
        ttls_.insert(path);
      } else {
        WEIR_ASSERT(ttls_.erase(path) == 1);
      }
      return;
  }
}

void DataTree::rollback() {
  recording_ = false;
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
  undo_.clear();
}

// ---- Hashing ----

uint64_t DataTree::node_hash(std::string_view path, const Node& node) {
  uint64_t h = hash_bytes(kNodeSeed, path);
  h = hash_combine(h, node.data_hash);
  h = hash_combine(h, node.data->size());
  const Stat& s = node.stat;
  for (int64_t v : {s.czxid, s.mzxid, s.ctime, s.mtime, s.ephemeral_owner, s.pzxid}) {
    h = hash_combine(h, u64(v));
  }
  for (int32_t v : {s.version, s.cversion, s.aversion, s.child_creates}) {
    h = hash_combine(h, u64(v));
  }
  h = hash_combine(h, node.children.size());
  for (const Acl& a : node.acl) {
    h = hash_combine(h, u64(a.perms));
    h = hash_bytes(h, a.id.scheme);
    h = hash_bytes(h, a.id.id);
  }
  return mix64(h);
}

uint64_t DataTree::session_hash(int64_t id, int32_t timeout_ms) {
  return mix64(hash_combine(hash_combine(kSessionSeed, u64(id)), u64(timeout_ms)));
}

uint64_t DataTree::digest() const {
  return hash_combine(hash_combine(mix64(digest_nodes_), digest_sessions_), u64(last_zxid_));
}

// ---- Reads ----

Stat DataTree::make_stat(const Node& node) const {
  Stat s = node.stat;
  s.data_length = static_cast<int32_t>(node.data->size());
  s.num_children = static_cast<int32_t>(node.children.size());
  return s;
}

GetDataResult DataTree::get_data(std::string_view path, absl::Span<const Id> auth) const {
  if (!is_valid_path(path)) return {ErrorCode::kBadArguments};
  const Node* n = find(path);
  if (n == nullptr) return {ErrorCode::kNoNode};
  if (!check_acl(n->acl, Perms::kRead, auth)) return {ErrorCode::kNoAuth};
  return {ErrorCode::kOk, n->data, make_stat(*n)};
}

ExistsResult DataTree::exists(std::string_view path, absl::Span<const Id> auth) const {
  if (!is_valid_path(path)) return {ErrorCode::kBadArguments};
  const Node* n = find(path);
  if (n == nullptr) return {ErrorCode::kNoNode};
  if (!check_acl(n->acl, Perms::kRead, auth)) return {ErrorCode::kNoAuth};
  return {ErrorCode::kOk, make_stat(*n)};
}

GetChildrenResult DataTree::get_children(std::string_view path, absl::Span<const Id> auth) const {
  if (!is_valid_path(path)) return {ErrorCode::kBadArguments};
  const Node* n = find(path);
  if (n == nullptr) return {ErrorCode::kNoNode};
  if (!check_acl(n->acl, Perms::kRead, auth)) return {ErrorCode::kNoAuth};
  return {ErrorCode::kOk, {n->children.begin(), n->children.end()}, make_stat(*n)};
}

GetAclResult DataTree::get_acl(std::string_view path, absl::Span<const Id> auth) const {
  if (!is_valid_path(path)) return {ErrorCode::kBadArguments};
  const Node* n = find(path);
  if (n == nullptr) return {ErrorCode::kNoNode};
  if (!check_acl(n->acl, Perms::kRead | Perms::kAdmin, auth)) return {ErrorCode::kNoAuth};
  const bool admin = check_acl(n->acl, Perms::kAdmin, auth);
  return {ErrorCode::kOk, admin ? n->acl : mask_digests(n->acl), make_stat(*n)};
}

CountResult DataTree::all_children_number(std::string_view path, absl::Span<const Id> auth) const {
  if (!is_valid_path(path)) return {ErrorCode::kBadArguments};
  const Node* n = find(path);
  if (n == nullptr) return {ErrorCode::kNoNode};
  if (!check_acl(n->acl, Perms::kRead, auth)) return {ErrorCode::kNoAuth};
  if (path == "/") return {ErrorCode::kOk, static_cast<int64_t>(nodes_.size()) - 1};
  int64_t count = 0;
  std::vector<std::string> stack{std::string(path)};
  while (!stack.empty()) {
    const std::string p = std::move(stack.back());
    stack.pop_back();
    for (const std::string& c : find(p)->children) {
      ++count;
      stack.push_back(child_path(p, c));
    }
  }
  return {ErrorCode::kOk, count};
}

size_t DataTree::approximate_data_size() const {
  size_t bytes = 0;  // a sum: the hash map's order does not matter
  for (const auto& [path, node] : nodes_)
    bytes += path.size() + (node.data ? node.data->size() : 0);
  return bytes;
}

std::vector<std::string> DataTree::ephemerals(int64_t session_id, std::string_view prefix) const {
  std::vector<std::string> out;
  auto it = ephemerals_.find(session_id);
  if (it == ephemerals_.end()) return out;
  const bool all = prefix.empty() || prefix == "/";
  for (const std::string& p : it->second) {
    if (all || std::string_view(p).starts_with(prefix)) out.push_back(p);
  }
  return out;
}

int64_t DataTree::newest_time_ms() const {
  int64_t newest = 0;
  for (const auto& [path, node] : nodes_)
    newest = std::max({newest, node.stat.ctime, node.stat.mtime});
  return newest;
}

std::vector<std::string> DataTree::expiry_candidates(int64_t now_ms,
                                                     int64_t max_never_used_ms) const {
  std::set<std::string> out;
  for (const std::string& p : containers_) {
    const Node* n = find(p);
    if (!n->children.empty()) continue;
    // A container that never had a child is kept, or it could vanish right after creation.
    const bool used = n->stat.cversion > 0;
    if (used || (max_never_used_ms > 0 && elapsed_ms(now_ms, n->stat.mtime) > max_never_used_ms)) {
      out.insert(p);
    }
  }
  for (const std::string& p : ttls_) {
    const Node* n = find(p);
    if (n->children.empty() &&
        elapsed_ms(now_ms, n->stat.mtime) > ttl_of_owner(n->stat.ephemeral_owner)) {
      out.insert(p);
    }
  }
  return {out.begin(), out.end()};
}

// ---- Invariants ----

void DataTree::check_invariants() const {
  WEIR_ASSERT(!recording_ && undo_.empty());
  size_t reached = 0, session_owned = 0, containers = 0, ttls = 0;
  uint64_t sum = 0;
  std::vector<std::string> stack{"/"};
  while (!stack.empty()) {
    const std::string path = std::move(stack.back());
    stack.pop_back();
    const Node* n = find(path);
    WEIR_ASSERT_MSG(n != nullptr, path);
    ++reached;
    WEIR_ASSERT(n->data != nullptr && n->data->size() <= kMaxDataBytes);
    WEIR_ASSERT(n->data_hash == hash_data(*n->data));
    WEIR_ASSERT_MSG(n->hash == node_hash(path, *n), path);
    sum += n->hash;
    const int64_t owner = n->stat.ephemeral_owner;
    switch (owner_kind(owner)) {
      case OwnerKind::kNone:
        break;
      case OwnerKind::kSession:
        ++session_owned;
        WEIR_ASSERT_MSG(n->children.empty(), path);  // ephemerals cannot have children
        WEIR_ASSERT_MSG(sessions_.contains(owner), path);
        WEIR_ASSERT(ephemerals_.contains(owner) && ephemerals_.at(owner).contains(path));
        break;
      case OwnerKind::kContainer:
        ++containers;
        WEIR_ASSERT(containers_.contains(path));
        break;
      case OwnerKind::kTtl:
        ++ttls;
        WEIR_ASSERT(ttls_.contains(path));
        break;
    }
    for (const std::string& c : n->children) stack.push_back(child_path(path, c));
  }
  WEIR_ASSERT(reached == nodes_.size());
  WEIR_ASSERT(sum == digest_nodes_);
  size_t indexed = 0;
  for (const auto& [session, paths] : ephemerals_) {
    WEIR_ASSERT(!paths.empty());
    indexed += paths.size();
  }
  WEIR_ASSERT(indexed == session_owned);
  WEIR_ASSERT(containers == containers_.size() && ttls == ttls_.size());
  uint64_t sessions_sum = 0;
  for (const auto& [id, timeout] : sessions_) sessions_sum += session_hash(id, timeout);
  WEIR_ASSERT(sessions_sum == digest_sessions_);
}

}  // namespace weir::coord
