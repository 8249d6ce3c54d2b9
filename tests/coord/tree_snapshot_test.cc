// Snapshots: a round trip preserves everything (digest, bytes, reads, later behaviour); damaged
// input of any kind is a DataLoss error, never a crash or a huge allocation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "coord/tree/path.h"
#include "runtime/crc32c.h"
#include "tests/coord/tree_test_util.h"

namespace weir::coord {
namespace {

using testing::TreeDriver;
constexpr size_t kHeader = 20;  // magic, version, payload length, CRC32C

// A tree with every kind of node and state a snapshot must carry.
TreeDriver populated() {
  TreeDriver t;
  t.open_session(11, 3000);
  t.open_session(12, 6000);
  t.create("/app", "config", 0, {{Perms::kAll, {"digest", "alice:h"}}, {1, world_anyone()}});
  t.create("/app/q", "", 0, open_acl(), 0, {{"digest", "alice:h"}});
  t.create("/app/q/", "x", static_cast<int32_t>(CreateMode::kPersistentSequential), open_acl(), 0,
           {{"digest", "alice:h"}});
  t.create("/eph", "e", static_cast<int32_t>(CreateMode::kEphemeral), open_acl(), 11);
  t.create("/c", "", static_cast<int32_t>(CreateMode::kContainer));
  t.create("/ttl", "", static_cast<int32_t>(CreateMode::kPersistentWithTtl), open_acl(), 0, {}, 60);
  t.create("/bin", std::string("\0\x01\xff", 3));
  t.set("/bin", std::string(1000, 'z'));
  t.set_acl("/c", {{Perms::kRead, {"ip", "10.0.0.0/8"}}});
  t.remove("/app/q/0000000000", -1, 0, {{"digest", "alice:h"}});
  return t;
}

void reseal(std::string& bytes) {
  const uint32_t crc = crc32c(bytes.data() + kHeader, bytes.size() - kHeader);
  std::memcpy(bytes.data() + 16, &crc, 4);
}

TEST(TreeSnapshot, RoundTripPreservesEverything) {
  TreeDriver t = populated();
  const std::string bytes = t.tree.serialize();
  auto restored = DataTree::deserialize(bytes);
  ASSERT_TRUE(restored.ok()) << restored.status();
  restored->check_invariants();
  EXPECT_EQ(restored->digest(), t.tree.digest());
  EXPECT_EQ(restored->serialize(), bytes);
  EXPECT_EQ(restored->last_zxid(), t.tree.last_zxid());
  EXPECT_EQ(restored->sessions(), t.tree.sessions());
  EXPECT_EQ(restored->node_count(), t.tree.node_count());
  EXPECT_EQ(restored->ephemerals(11), std::vector<std::string>{"/eph"});
  EXPECT_EQ(restored->expiry_candidates(t.now_ms + 61), t.tree.expiry_candidates(t.now_ms + 61));
  const Id super{"super", ""};
  for (const char* p : {"/", "/app", "/app/q", "/eph", "/c", "/ttl", "/bin", "/zookeeper/config"}) {
    auto a = t.tree.get_data(p, {&super, 1});
    auto b = restored->get_data(p, {&super, 1});
    EXPECT_EQ(*a.data, *b.data) << p;
    EXPECT_EQ(a.stat, b.stat) << p;
    EXPECT_EQ(t.tree.get_acl(p, {&super, 1}).acl, restored->get_acl(p, {&super, 1}).acl) << p;
    EXPECT_EQ(t.tree.get_children(p, {&super, 1}).children,
              restored->get_children(p, {&super, 1}).children);
  }
  // Both continue identically: sequence numbers, session close, digests.
  TreeDriver u;
  u.tree = std::move(*restored);
  u.zxid = t.zxid, u.now_ms = t.now_ms;
  for (TreeDriver* d : {&t, &u}) {
    EXPECT_EQ(d->create("/app/q/", "", 2, open_acl(), 0, {{"digest", "alice:h"}}).op.path,
              "/app/q/0000000001");
    EXPECT_EQ(d->close_session(11).triggers.size(), 2u);
  }
  EXPECT_EQ(t.tree.digest(), u.tree.digest());
}

TEST(TreeSnapshot, FreshTreeRoundTrip) {
  DataTree fresh;
  auto restored = DataTree::deserialize(fresh.serialize());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->digest(), fresh.digest());
  EXPECT_EQ(restored->node_count(), 4u);
}

TEST(TreeSnapshot, EveryFlippedByteAndEveryTruncationIsDetected) {
  const std::string bytes = populated().tree.serialize();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    auto r = DataTree::deserialize(bad);
    ASSERT_FALSE(r.ok()) << "flip at " << i;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  }
  for (size_t len = 0; len < bytes.size(); ++len) {
    ASSERT_FALSE(DataTree::deserialize(std::string_view(bytes).substr(0, len)).ok()) << len;
  }
  EXPECT_FALSE(DataTree::deserialize(bytes + "x").ok());
}

// Hand-made images with a valid CRC: the structure itself is checked.
class SnapshotImage {
 public:
  explicit SnapshotImage(int64_t zxid = 1) { fixed(zxid); }
  template <class T>
  SnapshotImage& fixed(T v) {
    for (size_t i = 0; i < sizeof(T); ++i) {
      payload_ += static_cast<char>(static_cast<uint64_t>(v) >> (8 * i));
    }
    return *this;
  }
  SnapshotImage& bytes(std::string_view s) {
    fixed(static_cast<uint32_t>(s.size()));
    payload_.append(s);
    return *this;
  }
  SnapshotImage& node(std::string_view path, int64_t owner = 0, std::string_view data = "") {
    bytes(path).bytes(data).fixed(uint64_t{1}).fixed(int32_t{31}).bytes("world").bytes("anyone");
    for (int64_t v : {1, 1, 0, 0, 1}) fixed(v);
    fixed(owner);
    for (int32_t v : {0, 0, 0}) fixed(v);
    return *this;
  }
  SnapshotImage& system_nodes() {
    return node("/").node("/zookeeper").node("/zookeeper/config").node("/zookeeper/quota");
  }
  std::string seal() const {
    std::string out;
    for (uint32_t v : {0x45525457u, 1u}) out.append(reinterpret_cast<const char*>(&v), 4);
    const uint64_t len = payload_.size();
    out.append(reinterpret_cast<const char*>(&len), 8);
    const uint32_t crc = crc32c(payload_.data(), payload_.size());
    out.append(reinterpret_cast<const char*>(&crc), 4);
    return out + payload_;
  }

 private:
  std::string payload_;
};

std::string error_of(const std::string& image) {
  auto r = DataTree::deserialize(image);
  if (r.ok()) return "ok";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  return std::string(r.status().message());
}

// The error names the problem (and so the test knows which check fired).
MATCHER_P(Says, text, "") {
  return arg.find(text) != std::string::npos;
}

TEST(TreeSnapshot, StructuralDamageIsDetected) {
  // The hand-made encoder agrees with the real one.
  auto good = SnapshotImage()
                  .fixed(uint64_t{1})
                  .fixed(int64_t{5})
                  .fixed(int32_t{100})
                  .fixed(uint64_t{6})
                  .system_nodes()
                  .node("/a")
                  .node("/a/e", 5)
                  .seal();
  ASSERT_EQ(error_of(good), "ok");
  auto with_nodes = [](auto add) {
    SnapshotImage img;
    img.fixed(uint64_t{0}).fixed(uint64_t{5});
    add(img.system_nodes());
    return error_of(img.seal());
  };
  const std::string too_big(kMaxDataBytes + 1, 'x');
  EXPECT_THAT(with_nodes([](auto& i) { i.node("/a/b"); }), Says("node before its parent"));
  EXPECT_THAT(with_nodes([](auto& i) { i.node("/zookeeper"); }), Says("duplicate node"));
  EXPECT_THAT(with_nodes([](auto& i) { i.node("/a/"); }), Says("invalid path"));
  EXPECT_THAT(with_nodes([](auto& i) { i.node("/e", 77); }), Says("unknown session"));
  EXPECT_THAT(with_nodes([&](auto& i) { i.node("/big", 0, too_big); }), Says("data too long"));
  EXPECT_EQ(with_nodes([&](auto& i) { i.node("/big", 0, too_big.substr(1)); }), "ok");
  // Root missing or not first; system nodes missing.
  auto nodes_only = [](uint64_t count) { return SnapshotImage().fixed(uint64_t{0}).fixed(count); };
  EXPECT_THAT(error_of(nodes_only(1).node("/a").seal()), Says("the root must come first"));
  EXPECT_THAT(error_of(nodes_only(2).node("/").node("/").seal()), Says("the root must come"));
  EXPECT_THAT(error_of(nodes_only(1).node("/").seal()), Says("missing /zookeeper"));
  // Counts and lengths far beyond the input are refused before anything is allocated.
  const std::string pad(200, '\0');
  EXPECT_THAT(error_of(SnapshotImage().fixed(~uint64_t{0}).seal()), Says("truncated payload"));
  EXPECT_THAT(error_of(nodes_only(uint64_t{1} << 60).seal()), Says("truncated payload"));
  EXPECT_THAT(
      error_of(nodes_only(1).bytes("/").bytes("").fixed(uint64_t{1} << 61).bytes(pad).seal()),
      Says("truncated node"));
  EXPECT_THAT(error_of(nodes_only(1).fixed(uint32_t{0xffffffff}).bytes(pad).seal()),
              Says("truncated node"));
  // Sessions: bad ids, duplicates; an ephemeral child of an ephemeral.
  auto sessions = [](std::vector<int64_t> ids) {
    SnapshotImage img;
    img.fixed(uint64_t{ids.size()});
    for (int64_t id : ids) img.fixed(id).fixed(int32_t{5});
    return img;
  };
  EXPECT_THAT(error_of(sessions({0}).fixed(uint64_t{4}).system_nodes().seal()),
              Says("bad session"));
  EXPECT_THAT(error_of(sessions({3, 3}).fixed(uint64_t{4}).system_nodes().seal()),
              Says("duplicate session"));
  EXPECT_THAT(
      error_of(sessions({3}).fixed(uint64_t{6}).system_nodes().node("/e", 3).node("/e/f").seal()),
      Says("child of an ephemeral"));
}

TEST(TreeSnapshot, MutatedImagesNeverCrash) {
  const std::string bytes = populated().tree.serialize();
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bad = bytes;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = kHeader + next() % (bad.size() - kHeader);
      bad[at] = static_cast<char>(next());
    }
    reseal(bad);
    auto r = DataTree::deserialize(bad);
    if (r.ok()) {
      r->check_invariants();  // whatever is accepted is a consistent tree
      ++accepted;
    }
  }
  // Edits inside data bytes are indistinguishable from real data; most others are caught.
  EXPECT_LT(accepted, 3000);
}

}  // namespace
}  // namespace weir::coord
