// DataTree snapshots. The image is a fixed header (magic, format version, payload length,
// CRC32C of the payload) and a little-endian payload: last zxid, sessions, then every node in
// pre-order (a parent before its children, children in name order), so equal trees give equal
// bytes. Derived state (children sets, numChildren, dataLength, indexes, digest) is not stored;
// it is rebuilt on load, which also re-checks every structural rule.
#include <algorithm>
#include <limits>
#include <map>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "buggify/code_probe.h"
#include "coord/tree/data_tree.h"
#include "coord/tree/path.h"
#include "runtime/assert.h"
#include "runtime/crc32c.h"

namespace weir::coord {
namespace {

constexpr uint32_t kMagic = 0x45525457;  // "WTRE" little-endian
// 2 adds each node's child_creates; a version 1 image (cversion counted creates only) is read
// with child_creates = cversion.
constexpr uint32_t kFormatVersion = 2;
constexpr size_t kHeaderBytes = 4 + 4 + 8 + 4;
constexpr size_t kSessionBytes = 8 + 4;
constexpr size_t kAclMinBytes = 4 + 4 + 4;
// path and data length prefixes, the ACL count, six longs, three ints.
constexpr size_t kNodeMinBytes = 4 + 4 + 8 + 6 * 8 + 3 * 4;

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  template <class T>
  void fixed(T v) {
    static_assert(std::is_integral_v<T>);
    char le[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i)
      le[i] = static_cast<char>(static_cast<uint64_t>(v) >> (8 * i));
    out_->append(le, sizeof(T));
  }
  void bytes(std::string_view s) {
    fixed(static_cast<uint32_t>(s.size()));
    out_->append(s);
  }

 private:
  std::string* out_;
};

void write_node(Writer& w, std::string_view path, std::string_view data, const AclList& acl,
                const Stat& stat);

}  // namespace

// Bounds-checked reads of the payload; the first failure is sticky and later reads return 0.
class DataTree::SnapshotReader {
 public:
  explicit SnapshotReader(std::string_view in) : in_(in) {}
  template <class T>
  T fixed() {
    if (!ok_ || in_.size() - pos_ < sizeof(T)) return ok_ = false, T{};
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      v |= uint64_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
    }
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  std::string_view bytes() {
    const uint32_t n = fixed<uint32_t>();
    if (!ok_ || in_.size() - pos_ < n) return ok_ = false, std::string_view();
    const std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  // A count of items at least `min_bytes` long each that must fit in what is left.
  uint64_t count(size_t min_bytes) {
    const uint64_t n = fixed<uint64_t>();
    if (ok_ && n > (in_.size() - pos_) / min_bytes) ok_ = false;
    return ok_ ? n : 0;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

namespace {

using Reader = DataTree::SnapshotReader;

absl::Status corrupt(std::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt data tree snapshot: ", std::string(what)));
}

void write_stat(Writer& w, const Stat& s) {
  for (int64_t v : {s.czxid, s.mzxid, s.ctime, s.mtime, s.pzxid, s.ephemeral_owner}) w.fixed(v);
  for (int32_t v : {s.version, s.cversion, s.aversion, s.child_creates}) w.fixed(v);
}

void write_node(Writer& w, std::string_view path, std::string_view data, const AclList& acl,
                const Stat& stat) {
  w.bytes(path);
  w.bytes(data);
  w.fixed(static_cast<uint64_t>(acl.size()));
  for (const Acl& a : acl) w.fixed(a.perms), w.bytes(a.id.scheme), w.bytes(a.id.id);
  write_stat(w, stat);
}

Stat read_stat(Reader& r, uint32_t format_version) {
  Stat s;
  for (int64_t* v : {&s.czxid, &s.mzxid, &s.ctime, &s.mtime, &s.pzxid, &s.ephemeral_owner}) {
    *v = r.fixed<int64_t>();
  }
  for (int32_t* v : {&s.version, &s.cversion, &s.aversion}) *v = r.fixed<int32_t>();
  s.child_creates = format_version >= 2 ? r.fixed<int32_t>() : s.cversion;
  return s;
}

}  // namespace

// Pre-order with children in name order is the order of paths compared component by
// component: a '/' sorts before every byte a name may hold, a path before its extensions.
bool PreorderLess::operator()(std::string_view a, std::string_view b) const {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<uint8_t>(a[i]) < static_cast<uint8_t>(b[i]);
  }
  return a.size() < b.size();
}

DataTree::SnapshotProgress DataTree::start_image(std::string prefix) const {
  SnapshotProgress p;
  p.zxid = last_zxid_;
  p.out = std::move(prefix);
  // Growing a big image by doubling copies all of it each time, on the server's loop: reserve
  // what the last image's bytes per node predict for this tree, with room for growth.
  const size_t predicted = nodes_.size() * image_bytes_per_node_;
  p.out.reserve(p.out.size() + kHeaderBytes + predicted + predicted / 4);
  p.out.append(kHeaderBytes, '\0');
  p.payload_at = p.crc_upto = p.out.size();
  Writer w(&p.out);
  w.fixed(last_zxid_);
  w.fixed(static_cast<uint64_t>(sessions_.size()));
  for (const auto& [id, timeout] : sessions_) w.fixed(id), w.fixed(timeout);
  p.nodes_left = nodes_.size();
  w.fixed(static_cast<uint64_t>(p.nodes_left));
  return p;
}

std::optional<std::string> DataTree::next_image_node(std::string_view after, int64_t zxid) const {
  if (after.empty()) return std::string("/");
  const auto in_image = [&](const Node* n) { return n != nullptr && n->stat.czxid <= zxid; };
  // A node created after begin has only such nodes below it, so its subtree is skipped.
  const auto first_child = [&](std::string_view parent, const Node& node,
                               std::set<std::string, std::less<>>::const_iterator it) {
    for (; it != node.children.end(); ++it) {
      std::string path = child_path(parent, *it);
      if (in_image(find(path))) return std::optional<std::string>(std::move(path));
    }
    return std::optional<std::string>();
  };
  if (const Node* n = find(after); in_image(n)) {
    if (auto c = first_child(after, *n, n->children.begin())) return c;
  }
  // `after` may be gone (it was written from a saved copy): its parent's later children and
  // then its ancestors' follow it all the same.
  for (std::string_view cur = after; cur != "/";) {
    const std::string_view parent = parent_path(cur);
    if (const Node* n = find(parent); in_image(n)) {
      if (auto c = first_child(parent, *n, n->children.upper_bound(node_name(cur)))) return c;
    }
    cur = parent;
  }
  return std::nullopt;
}

bool DataTree::write_image_nodes(SnapshotProgress& p, size_t nodes_max) const {
  Writer w(&p.out);
  bool done = false;
  for (size_t i = 0; i < nodes_max && !done; ++i) {
    std::optional<std::string> live = next_image_node(p.cursor, p.zxid);
    auto saved = p.saved.upper_bound(p.cursor);
    // A saved copy comes first where it is due: its node is gone or changed since begin.
    const bool use_saved =
        saved != p.saved.end() && (!live || !PreorderLess{}(*live, saved->first));
    if (!use_saved && !live) {
      done = true;
      break;
    }
    WEIR_ASSERT_MSG(p.nodes_left > 0, "snapshot: more nodes than at begin");
    --p.nodes_left;
    if (use_saved) {
      const NodeHeader& h = saved->second;
      write_node(w, saved->first, *h.data, h.acl, h.stat);
      p.cursor = saved->first;
      p.saved.erase(saved);
    } else {
      const Node& n = *find(*live);
      write_node(w, *live, *n.data, n.acl, n.stat);
      p.cursor = std::move(*live);
    }
  }
  p.crc = crc32c_extend(p.crc, p.out.data() + p.crc_upto, p.out.size() - p.crc_upto);
  p.crc_upto = p.out.size();
  return done;
}

std::string DataTree::finish_image(SnapshotProgress& p) {
  WEIR_ASSERT_MSG(p.nodes_left == 0 && p.saved.empty(), "snapshot: nodes missing");
  std::string header;
  Writer h(&header);
  h.fixed(kMagic);
  h.fixed(kFormatVersion);
  h.fixed(static_cast<uint64_t>(p.out.size() - p.payload_at));
  h.fixed(p.crc);
  WEIR_ASSERT(header.size() == kHeaderBytes);
  p.out.replace(p.payload_at - kHeaderBytes, kHeaderBytes, header);
  return std::move(p.out);
}

std::string DataTree::serialize() const {
  SnapshotProgress p = start_image("");
  while (!write_image_nodes(p, std::numeric_limits<size_t>::max())) {
  }
  return finish_image(p);
}

void DataTree::begin_snapshot(std::string prefix) {
  snap_ = std::make_unique<SnapshotProgress>(start_image(std::move(prefix)));
}

std::optional<std::string> DataTree::snapshot_step(size_t nodes_max) {
  WEIR_ASSERT_MSG(snap_ != nullptr, "no snapshot in progress");
  if (!write_image_nodes(*snap_, nodes_max)) return std::nullopt;
  std::string image = finish_image(*snap_);
  snap_.reset();
  image_bytes_per_node_ = image.size() / std::max<size_t>(nodes_.size(), 1) + 1;
  return image;
}

void DataTree::note_change(const std::string& path, const Node& node) {
  if (snap_ == nullptr || node.stat.czxid > snap_->zxid || !PreorderLess{}(snap_->cursor, path)) {
    return;
  }
  const bool saved =
      snap_->saved.try_emplace(path, NodeHeader{node.data, node.data_hash, node.acl, node.stat})
          .second;
  CODE_PROBE(saved, "coord_tree.snapshot_kept_changed_node");
}

absl::StatusOr<DataTree> DataTree::deserialize(std::string_view bytes) {
  Reader header(bytes.substr(0, std::min(bytes.size(), kHeaderBytes)));
  const auto magic = header.fixed<uint32_t>();
  const auto version = header.fixed<uint32_t>();
  const auto length = header.fixed<uint64_t>();
  const auto crc = header.fixed<uint32_t>();
  if (!header.ok()) return corrupt("truncated header");
  if (magic != kMagic) return corrupt("bad magic");
  if (version != 1 && version != kFormatVersion) {
    return corrupt(absl::StrCat("unknown format version ", version));
  }
  const std::string_view payload = bytes.substr(kHeaderBytes);
  if (length != payload.size()) return corrupt("payload length mismatch");
  if (crc32c(payload.data(), payload.size()) != crc) return corrupt("CRC mismatch");

  DataTree tree{EmptyTag{}};
  Reader r(payload);
  tree.last_zxid_ = r.fixed<int64_t>();
  const uint64_t sessions = r.count(kSessionBytes);
  for (uint64_t i = 0; i < sessions && r.ok(); ++i) {
    const auto id = r.fixed<int64_t>();
    const auto timeout = r.fixed<int32_t>();
    if (owner_kind(id) != OwnerKind::kSession || timeout <= 0) return corrupt("bad session");
    if (!tree.sessions_.try_emplace(id, timeout).second) return corrupt("duplicate session");
    tree.digest_sessions_ += session_hash(id, timeout);
  }
  const uint64_t nodes = r.count(kNodeMinBytes);
  for (uint64_t i = 0; i < nodes && r.ok(); ++i) {
    if (absl::Status s = tree.read_node(r, i == 0, version); !s.ok()) return s;
  }
  if (!r.ok()) return corrupt("truncated payload");
  if (!r.at_end()) return corrupt("trailing bytes");
  for (std::string_view p : {kZookeeperPath, kQuotaPath, kConfigPath}) {
    if (tree.find(p) == nullptr) return corrupt(absl::StrCat("missing ", std::string(p)));
  }
  return tree;
}

absl::Status DataTree::read_node(Reader& r, bool first, uint32_t format_version) {
  const std::string path(r.bytes());
  const std::string_view data = r.bytes();
  AclList acl(r.count(kAclMinBytes));
  for (Acl& a : acl) {
    a.perms = r.fixed<int32_t>();
    a.id.scheme = std::string(r.bytes());
    a.id.id = std::string(r.bytes());
  }
  const Stat stat = read_stat(r, format_version);
  if (!r.ok()) return corrupt("truncated node");
  if (!is_valid_path(path)) return corrupt("invalid path");
  if (data.size() > kMaxDataBytes) return corrupt(absl::StrCat("data too long at ", path));
  if (first != (path == "/")) return corrupt("the root must come first, once");
  if (find(path) != nullptr) return corrupt(absl::StrCat("duplicate node ", path));
  const int64_t owner = stat.ephemeral_owner;
  if (owner_kind(owner) == OwnerKind::kSession && !sessions_.contains(owner)) {
    return corrupt(absl::StrCat("ephemeral of an unknown session at ", path));
  }
  Node node = make_node(std::string(data), std::move(acl), stat);
  if (first) {
    if (owner != 0) return corrupt("ephemeral root");
    node.hash = node_hash(path, node);
    digest_nodes_ += node.hash;
    nodes_.emplace(path, std::move(node));
    return absl::OkStatus();
  }
  const Node* parent = find(parent_path(path));
  if (parent == nullptr) return corrupt(absl::StrCat("node before its parent at ", path));
  if (owner_kind(parent->stat.ephemeral_owner) == OwnerKind::kSession) {
    return corrupt(absl::StrCat("child of an ephemeral at ", path));
  }
  link_node(path, std::move(node));
  return absl::OkStatus();
}

}  // namespace weir::coord
