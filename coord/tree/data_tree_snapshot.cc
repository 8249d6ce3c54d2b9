// DataTree snapshots. The image is a fixed header (magic, format version, payload length,
// CRC32C of the payload) and a little-endian payload: last zxid, sessions, then every node in
// pre-order (a parent before its children, children in name order), so equal trees give equal
// bytes. Derived state (children sets, numChildren, dataLength, indexes, digest) is not stored;
// it is rebuilt on load, which also re-checks every structural rule.
#include <algorithm>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "coord/tree/data_tree.h"
#include "coord/tree/path.h"
#include "runtime/crc32c.h"

namespace weir::coord {
namespace {

constexpr uint32_t kMagic = 0x45525457;  // "WTRE" little-endian
constexpr uint32_t kFormatVersion = 1;
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
    for (size_t i = 0; i < sizeof(T); ++i) {
      out_->push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
    }
  }
  void bytes(std::string_view s) {
    fixed(static_cast<uint32_t>(s.size()));
    out_->append(s);
  }

 private:
  std::string* out_;
};

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
  for (int32_t v : {s.version, s.cversion, s.aversion}) w.fixed(v);
}

Stat read_stat(Reader& r) {
  Stat s;
  for (int64_t* v : {&s.czxid, &s.mzxid, &s.ctime, &s.mtime, &s.pzxid, &s.ephemeral_owner}) {
    *v = r.fixed<int64_t>();
  }
  for (int32_t* v : {&s.version, &s.cversion, &s.aversion}) *v = r.fixed<int32_t>();
  return s;
}

}  // namespace

std::string DataTree::serialize() const {
  std::string payload;
  Writer w(&payload);
  w.fixed(last_zxid_);
  w.fixed(static_cast<uint64_t>(sessions_.size()));
  for (const auto& [id, timeout] : sessions_) w.fixed(id), w.fixed(timeout);
  w.fixed(static_cast<uint64_t>(nodes_.size()));
  std::vector<std::string> stack{"/"};
  while (!stack.empty()) {
    const std::string path = std::move(stack.back());
    stack.pop_back();
    const Node& n = *find(path);
    w.bytes(path);
    w.bytes(*n.data);
    w.fixed(static_cast<uint64_t>(n.acl.size()));
    for (const Acl& a : n.acl) w.fixed(a.perms), w.bytes(a.id.scheme), w.bytes(a.id.id);
    write_stat(w, n.stat);
    // Reversed so that the stack pops children in name order.
    for (auto c = n.children.rbegin(); c != n.children.rend(); ++c) {
      stack.push_back(child_path(path, *c));
    }
  }
  std::string out;
  Writer h(&out);
  h.fixed(kMagic);
  h.fixed(kFormatVersion);
  h.fixed(static_cast<uint64_t>(payload.size()));
  h.fixed(crc32c(payload.data(), payload.size()));
  out += payload;
  return out;
}

absl::StatusOr<DataTree> DataTree::deserialize(std::string_view bytes) {
  Reader header(bytes.substr(0, std::min(bytes.size(), kHeaderBytes)));
  const auto magic = header.fixed<uint32_t>();
  const auto version = header.fixed<uint32_t>();
  const auto length = header.fixed<uint64_t>();
  const auto crc = header.fixed<uint32_t>();
  if (!header.ok()) return corrupt("truncated header");
  if (magic != kMagic) return corrupt("bad magic");
  if (version != kFormatVersion) return corrupt(absl::StrCat("unknown format version ", version));
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
    if (absl::Status s = tree.read_node(r, i == 0); !s.ok()) return s;
  }
  if (!r.ok()) return corrupt("truncated payload");
  if (!r.at_end()) return corrupt("trailing bytes");
  for (std::string_view p : {kZookeeperPath, kQuotaPath, kConfigPath}) {
    if (tree.find(p) == nullptr) return corrupt(absl::StrCat("missing ", std::string(p)));
  }
  return tree;
}

absl::Status DataTree::read_node(Reader& r, bool first) {
  const std::string path(r.bytes());
  const std::string_view data = r.bytes();
  AclList acl(r.count(kAclMinBytes));
  for (Acl& a : acl) {
    a.perms = r.fixed<int32_t>();
    a.id.scheme = std::string(r.bytes());
    a.id.id = std::string(r.bytes());
  }
  const Stat stat = read_stat(r);
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
