// Every data tree operation and error code, with the Stat fields and watch triggers each one
// must produce (ZooKeeper's semantics, including its order of checks).
#include <gtest/gtest.h>

#include "coord/tree/path.h"
#include "tests/coord/tree_test_util.h"

namespace weir::coord {
namespace {

using testing::TreeDriver;
using T = WatchTrigger;
constexpr auto kCreated = EventType::kNodeCreated;
constexpr auto kDeleted = EventType::kNodeDeleted;
constexpr auto kChanged = EventType::kNodeDataChanged;
constexpr auto kChildren = EventType::kNodeChildrenChanged;
constexpr int32_t kEphemeral = static_cast<int32_t>(CreateMode::kEphemeral);
constexpr int32_t kSequential = static_cast<int32_t>(CreateMode::kPersistentSequential);
constexpr int32_t kEphemeralSequential = static_cast<int32_t>(CreateMode::kEphemeralSequential);
constexpr int32_t kContainer = static_cast<int32_t>(CreateMode::kContainer);
constexpr int32_t kTtl = static_cast<int32_t>(CreateMode::kPersistentWithTtl);

TEST(TreeInitial, SystemNodesAsZooKeeperStarts) {
  TreeDriver t;
  EXPECT_EQ(t.children("/"), std::vector<std::string>{"zookeeper"});
  EXPECT_EQ(t.children("/zookeeper"), (std::vector<std::string>{"config", "quota"}));
  EXPECT_EQ(t.stat("/"), (Stat{.num_children = 1}));
  EXPECT_EQ(t.tree.get_acl("/zookeeper/config", {}).acl, read_acl());
  EXPECT_EQ(t.tree.get_acl("/", {}).acl, open_acl());
  EXPECT_EQ(t.tree.node_count(), 4u);
  EXPECT_EQ(t.tree.last_zxid(), 0);
  for (const char* p : {"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"}) {
    EXPECT_EQ(t.remove(p).err, ErrorCode::kBadArguments) << p;
  }
  EXPECT_EQ(t.create("/zookeeper").err, ErrorCode::kNodeExists);
  // The config node is world-readable only.
  EXPECT_EQ(t.set("/zookeeper/config", "x").err, ErrorCode::kNoAuth);
}

TEST(TreeCreate, StatsAndTriggers) {
  TreeDriver t;
  auto r = t.create("/a", "hello");
  ASSERT_EQ(r.err, ErrorCode::kOk);
  const int64_t z = t.zxid, now = t.now_ms;
  EXPECT_EQ(r.op.path, "/a");
  const Stat want{.czxid = z, .mzxid = z, .ctime = now, .mtime = now, .data_length = 5, .pzxid = z};
  EXPECT_EQ(r.op.stat, want);
  EXPECT_EQ(t.stat("/a"), want);
  EXPECT_EQ(r.triggers, (std::vector<T>{{"/a", kCreated}, {"/", kChildren}}));
  // The parent: cversion and pzxid move, numChildren grows, mzxid/version do not.
  const Stat root = t.stat("/");
  EXPECT_EQ(root.cversion, 1);
  EXPECT_EQ(root.pzxid, z);
  EXPECT_EQ(root.num_children, 2);
  EXPECT_EQ(root.mzxid, 0);
  EXPECT_EQ(root.version, 0);

  ASSERT_EQ(t.create("/a/b").err, ErrorCode::kOk);
  EXPECT_EQ(t.create("/a/b").triggers, std::vector<T>{});
  EXPECT_EQ(t.stat("/a").cversion, 1);
  EXPECT_EQ(t.stat("/a").pzxid, z + 1);
  EXPECT_EQ(t.stat("/a").mzxid, z);
  EXPECT_EQ(t.data("/a"), "hello");
}

TEST(TreeCreate, Errors) {
  TreeDriver t;
  ASSERT_EQ(t.create("/a").err, ErrorCode::kOk);
  EXPECT_EQ(t.create("/a").err, ErrorCode::kNodeExists);
  EXPECT_EQ(t.create("/").err, ErrorCode::kNodeExists);
  EXPECT_EQ(t.create("/x/y").err, ErrorCode::kNoNode);
  for (const char* bad : {"", "a", "/a/", "/a//b", "/a/.", "/a/../b"}) {
    EXPECT_EQ(t.create(bad).err, ErrorCode::kBadArguments) << bad;
  }
  EXPECT_EQ(t.create("/f", "", 7).err, ErrorCode::kBadArguments);  // no such CreateMode
  EXPECT_EQ(t.create("/f", "", -1).err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.create("/f", "", 0, open_acl(), 0, {}, 100).err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.create("/f", "", kTtl).err, ErrorCode::kBadArguments);  // TTL mode needs a ttl
  EXPECT_EQ(t.create("/f", "", kTtl, open_acl(), 0, {}, kMaxTtlMs + 1).err,
            ErrorCode::kBadArguments);
  EXPECT_EQ(t.create("/big", std::string(kMaxDataBytes + 1, 'x')).err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.create("/max", std::string(kMaxDataBytes, 'x')).err, ErrorCode::kOk);
  EXPECT_EQ(t.stat("/max").data_length, static_cast<int32_t>(kMaxDataBytes));
  // Failed creates consumed zxids but changed nothing: only /a and /max were counted.
  EXPECT_EQ(t.stat("/").cversion, 2);
  EXPECT_EQ(t.tree.last_zxid(), t.zxid);
}

TEST(TreeCreate, SequentialNamesCountCreatesWhileCversionCountsDeletesToo) {
  TreeDriver t;
  ASSERT_EQ(t.create("/q").err, ErrorCode::kOk);
  EXPECT_EQ(t.create("/q/n-", "", kSequential).op.path, "/q/n-0000000000");
  EXPECT_EQ(t.create("/q/n-", "", kSequential).op.path, "/q/n-0000000001");
  ASSERT_EQ(t.create("/q/plain").err, ErrorCode::kOk);         // any create counts
  ASSERT_EQ(t.remove("/q/n-0000000000").err, ErrorCode::kOk);  // a delete: cversion only
  EXPECT_EQ(t.stat("/q").cversion, 4);
  EXPECT_EQ(t.create("/q/n-", "", kSequential).op.path, "/q/n-0000000003");
  EXPECT_EQ(t.stat("/q").cversion, 5);
  // A trailing slash is fine for a sequential create: the name is just the number.
  EXPECT_EQ(t.create("/q/", "", kSequential).op.path, "/q/0000000004");
  EXPECT_EQ(t.create("/", "", kSequential).op.path, "/0000000001");  // root: /q only
  EXPECT_EQ(t.create("/q//", "", kSequential).err, ErrorCode::kBadArguments);
  // A taken sequential name is NodeExists (and still no change).
  ASSERT_EQ(t.create("/r").err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/r/x0000000001").err, ErrorCode::kOk);
  EXPECT_EQ(t.create("/r/x", "", kSequential).err, ErrorCode::kNodeExists);
  EXPECT_EQ(t.stat("/r").cversion, 1);
}

TEST(TreeEphemeral, OwnedBySessionNoChildren) {
  TreeDriver t;
  EXPECT_EQ(t.create("/e", "", kEphemeral, open_acl(), 5).err, ErrorCode::kSessionExpired);
  EXPECT_EQ(t.create("/e", "", kEphemeral, open_acl(), 0).err, ErrorCode::kSessionExpired);
  ASSERT_EQ(t.open_session(5).err, ErrorCode::kOk);
  auto r = t.create("/e", "", kEphemeral, open_acl(), 5);
  ASSERT_EQ(r.err, ErrorCode::kOk);
  EXPECT_EQ(r.op.stat.ephemeral_owner, 5);
  EXPECT_EQ(t.create("/e/child").err, ErrorCode::kNoChildrenForEphemerals);
  EXPECT_EQ(t.create("/e/", "", kSequential).err, ErrorCode::kNoChildrenForEphemerals);
  ASSERT_EQ(t.create("/d").err, ErrorCode::kOk);
  EXPECT_EQ(t.create("/d/s-", "", kEphemeralSequential, open_acl(), 5).op.path, "/d/s-0000000000");
  EXPECT_EQ(t.tree.ephemerals(5), (std::vector<std::string>{"/d/s-0000000000", "/e"}));
  EXPECT_EQ(t.tree.ephemerals(5, "/d"), std::vector<std::string>{"/d/s-0000000000"});
  EXPECT_EQ(t.tree.ephemerals(5, "/e"), std::vector<std::string>{"/e"});
  EXPECT_EQ(t.tree.ephemerals(6), std::vector<std::string>{});
}

TEST(TreeDelete, VersionsErrorsStatsTriggers) {
  TreeDriver t;
  ASSERT_EQ(t.create("/a").err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/a/b").err, ErrorCode::kOk);
  ASSERT_EQ(t.set("/a/b", "v1").err, ErrorCode::kOk);
  EXPECT_EQ(t.remove("/a").err, ErrorCode::kNotEmpty);
  EXPECT_EQ(t.remove("/a/none").err, ErrorCode::kNoNode);
  EXPECT_EQ(t.remove("/none/b").err, ErrorCode::kNoNode);
  EXPECT_EQ(t.remove("/a/b/").err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.remove("/a/b", 0).err, ErrorCode::kBadVersion);
  EXPECT_EQ(t.remove("/a/b", 2).err, ErrorCode::kBadVersion);
  const Stat before = t.stat("/a");
  auto r = t.remove("/a/b", 1);
  ASSERT_EQ(r.err, ErrorCode::kOk);
  EXPECT_EQ(r.triggers, (std::vector<T>{{"/a/b", kDeleted}, {"/a", kChildren}}));
  const Stat after = t.stat("/a");
  EXPECT_EQ(after.pzxid, t.zxid);
  EXPECT_EQ(after.cversion, before.cversion + 1);        // ZooKeeper 3.8 counts deletes too
  EXPECT_EQ(after.child_creates, before.child_creates);  // but not in sequential names
  EXPECT_EQ(after.num_children, 0);
  EXPECT_EQ(after.mzxid, before.mzxid);
  EXPECT_EQ(t.tree.exists("/a/b", {}).err, ErrorCode::kNoNode);
  EXPECT_EQ(t.remove("/a", -1).err, ErrorCode::kOk);
}

TEST(TreeSetData, VersionsAndStats) {
  TreeDriver t;
  ASSERT_EQ(t.create("/a", "x").err, ErrorCode::kOk);
  const int64_t created = t.zxid;
  const int64_t ctime = t.now_ms;
  EXPECT_EQ(t.set("/none", "y").err, ErrorCode::kNoNode);
  EXPECT_EQ(t.set("/a", "y", 3).err, ErrorCode::kBadVersion);
  EXPECT_EQ(t.set("bad", "y").err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.set("/a", std::string(kMaxDataBytes + 1, 'y')).err, ErrorCode::kBadArguments);
  auto r = t.set("/a", "yy", 0);
  ASSERT_EQ(r.err, ErrorCode::kOk);
  EXPECT_EQ(r.triggers, (std::vector<T>{T{"/a", kChanged}}));
  const Stat s = r.op.stat;
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(s.mzxid, t.zxid);
  EXPECT_EQ(s.mtime, t.now_ms);
  EXPECT_EQ(s.czxid, created);
  EXPECT_EQ(s.ctime, ctime);
  EXPECT_EQ(s.pzxid, created);  // pzxid is about children only
  EXPECT_EQ(s.data_length, 2);
  EXPECT_EQ(t.set("/a", "", -1).op.stat.version, 2);
  EXPECT_EQ(t.data("/a"), "");
  EXPECT_EQ(t.stat("/").mzxid, 0);
}

TEST(TreeSetAcl, BumpsAversionOnly) {
  TreeDriver t;
  ASSERT_EQ(t.create("/a", "x").err, ErrorCode::kOk);
  const Stat before = t.stat("/a");
  auto r = t.set_acl("/a", read_acl(), 0);
  ASSERT_EQ(r.err, ErrorCode::kOk);
  EXPECT_TRUE(r.triggers.empty());
  EXPECT_EQ(r.op.stat.aversion, 1);
  EXPECT_EQ(r.op.stat.mzxid, before.mzxid);
  EXPECT_EQ(r.op.stat.version, 0);
  EXPECT_EQ(t.tree.get_acl("/a", {}).acl, read_acl());
  EXPECT_EQ(t.set_acl("/a", open_acl(), 0).err, ErrorCode::kNoAuth);  // read-only now
}

TEST(TreeCheck, Versions) {
  TreeDriver t;
  ASSERT_EQ(t.create("/a").err, ErrorCode::kOk);
  EXPECT_EQ(t.apply(CheckOp{"/a", 0}).err, ErrorCode::kOk);
  EXPECT_EQ(t.apply(CheckOp{"/a", -1}).err, ErrorCode::kOk);
  EXPECT_EQ(t.apply(CheckOp{"/a", 1}).err, ErrorCode::kBadVersion);
  EXPECT_EQ(t.apply(CheckOp{"/b", -1}).err, ErrorCode::kNoNode);
  EXPECT_EQ(t.apply(CheckOp{"/b/", -1}).err, ErrorCode::kBadArguments);
}

TEST(TreeMulti, AppliesAllInOrderAndSeesEarlierOps) {
  TreeDriver t;
  ASSERT_EQ(t.create("/q").err, ErrorCode::kOk);
  MultiOp m{{CreateOp{"/m", "1", open_acl()}, CreateOp{"/m/c", "", open_acl()},
             CreateOp{"/q/s-", "", open_acl(), kSequential},
             CreateOp{"/q/s-", "", open_acl(), kSequential}, SetDataOp{"/m", "2", 0},
             CheckOp{"/m", 1}, DeleteOp{"/m/c", 0}}};
  auto r = t.apply(m);
  ASSERT_EQ(r.err, ErrorCode::kOk);
  ASSERT_EQ(r.multi.size(), 7u);
  for (const auto& one : r.multi) EXPECT_EQ(one.err, ErrorCode::kOk);
  EXPECT_EQ(r.multi[2].path, "/q/s-0000000000");
  EXPECT_EQ(r.multi[3].path, "/q/s-0000000001");
  EXPECT_EQ(r.multi[4].stat.version, 1);
  EXPECT_EQ(r.multi[0].stat.czxid, t.zxid);  // one zxid for the whole multi
  EXPECT_EQ(r.triggers, (std::vector<T>{{"/m", kCreated},
                                        {"/", kChildren},
                                        {"/m/c", kCreated},
                                        {"/m", kChildren},
                                        {"/q/s-0000000000", kCreated},
                                        {"/q", kChildren},
                                        {"/q/s-0000000001", kCreated},
                                        {"/q", kChildren},
                                        {"/m", kChanged},
                                        {"/m/c", kDeleted},
                                        {"/m", kChildren}}));
  EXPECT_EQ(t.data("/m"), "2");
  EXPECT_EQ(t.stat("/m").cversion, 2);  // the create and the delete of /m/c
  EXPECT_EQ(t.children("/m"), std::vector<std::string>{});
}

TEST(TreeMulti, FailureChangesNothing) {
  TreeDriver t;
  ASSERT_EQ(t.open_session(9).err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/a", "x").err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/gone").err, ErrorCode::kOk);
  const uint64_t digest = t.tree.digest();
  const Stat root = t.stat("/"), a = t.stat("/a");
  MultiOp m{{CreateOp{"/b", "", open_acl()}, SetDataOp{"/a", "y", -1},
             CreateOp{"/e", "", open_acl(), kEphemeral}, DeleteOp{"/gone", -1},
             CreateOp{"/b/c", "", open_acl()}, CheckOp{"/a", 7}, DeleteOp{"/a", -1},
             CreateOp{"/z", "", open_acl()}}};
  auto r = t.apply(m, 9);
  EXPECT_EQ(r.err, ErrorCode::kBadVersion);
  ASSERT_EQ(r.multi.size(), 8u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(r.multi[i], OpResult{}) << i;
  EXPECT_EQ(r.multi[5].err, ErrorCode::kBadVersion);
  EXPECT_EQ(r.multi[6].err, ErrorCode::kRuntimeInconsistency);
  EXPECT_EQ(r.multi[7].err, ErrorCode::kRuntimeInconsistency);
  EXPECT_TRUE(r.triggers.empty());
  // Same digest means same nodes, stats, data, ACLs and sessions; spot-check anyway.
  EXPECT_NE(t.tree.digest(), digest);  // last_zxid moved on
  EXPECT_EQ(t.stat("/"), root);
  EXPECT_EQ(t.stat("/a"), a);
  EXPECT_EQ(t.data("/a"), "x");
  EXPECT_EQ(t.tree.exists("/b", {}).err, ErrorCode::kNoNode);
  EXPECT_EQ(t.tree.exists("/gone", {}).err, ErrorCode::kOk);
  EXPECT_TRUE(t.tree.ephemerals(9).empty());
  // The sequence counter was rolled back too.
  EXPECT_EQ(t.create("/s", "", kSequential).op.path, "/s0000000002");
}

TEST(TreeMulti, FirstOpFailingAndEmpty) {
  TreeDriver t;
  auto r = t.apply(MultiOp{{DeleteOp{"/none", -1}, CreateOp{"/x", "", open_acl()}}});
  EXPECT_EQ(r.err, ErrorCode::kNoNode);
  ASSERT_EQ(r.multi.size(), 2u);
  EXPECT_EQ(r.multi[0].err, ErrorCode::kNoNode);
  EXPECT_EQ(r.multi[1].err, ErrorCode::kRuntimeInconsistency);
  auto empty = t.apply(MultiOp{});
  EXPECT_EQ(empty.err, ErrorCode::kOk);
  EXPECT_TRUE(empty.multi.empty());
}

TEST(TreeSession, CloseDeletesEphemeralsInOneTxn) {
  TreeDriver t;
  ASSERT_EQ(t.open_session(1, 4000).err, ErrorCode::kOk);
  ASSERT_EQ(t.open_session(2).err, ErrorCode::kOk);
  EXPECT_EQ(t.tree.sessions(), (std::map<int64_t, int32_t>{{1, 4000}, {2, 10'000}}));
  ASSERT_EQ(t.create("/p").err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/p/b", "", kEphemeral, open_acl(), 1).err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/p/a", "", kEphemeral, open_acl(), 1).err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/z", "", kEphemeral, open_acl(), 1).err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/p/other", "", kEphemeral, open_acl(), 2).err, ErrorCode::kOk);
  auto r = t.close_session(1);
  ASSERT_EQ(r.err, ErrorCode::kOk);
  EXPECT_EQ(r.triggers, (std::vector<T>{{"/p/a", kDeleted},
                                        {"/p", kChildren},
                                        {"/p/b", kDeleted},
                                        {"/p", kChildren},
                                        {"/z", kDeleted},
                                        {"/", kChildren}}));
  EXPECT_EQ(t.children("/p"), std::vector<std::string>{"other"});
  EXPECT_EQ(t.stat("/p").pzxid, t.zxid);
  EXPECT_EQ(t.tree.sessions().count(1), 0u);
  EXPECT_TRUE(t.tree.ephemerals(1).empty());
  // The closed session can do nothing more; closing again is harmless.
  EXPECT_EQ(t.create("/n", "", 0, open_acl(), 1).err, ErrorCode::kSessionExpired);
  EXPECT_EQ(t.set("/p", "x", -1, 1).err, ErrorCode::kSessionExpired);
  EXPECT_EQ(t.remove("/p/other", -1, 1).err, ErrorCode::kSessionExpired);
  EXPECT_EQ(t.close_session(1).err, ErrorCode::kOk);
  // A multi from it fails on its first op.
  auto m = t.apply(MultiOp{{CheckOp{"/p", -1}}}, 1);
  EXPECT_EQ(m.multi[0].err, ErrorCode::kSessionExpired);
}

TEST(TreeSession, CreateSessionValidatesIds) {
  TreeDriver t;
  EXPECT_EQ(t.open_session(0).err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.open_session(kContainerOwner).err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.open_session(ttl_owner(5)).err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.open_session(3, 0).err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.open_session(3, 100).err, ErrorCode::kOk);
  EXPECT_EQ(t.open_session(3, 200).err, ErrorCode::kOk);  // re-registering updates the timeout
  EXPECT_EQ(t.tree.sessions().at(3), 200);
}

TEST(TreeContainer, ContainersAndTtlNodes) {
  TreeDriver t;
  auto c = t.create("/c", "", kContainer);
  ASSERT_EQ(c.err, ErrorCode::kOk);
  EXPECT_EQ(c.op.stat.ephemeral_owner, kContainerOwner);
  EXPECT_TRUE(t.tree.expiry_candidates(t.now_ms + 1'000'000).empty());  // never used: kept
  EXPECT_EQ(t.tree.expiry_candidates(t.now_ms + 100, 50), std::vector<std::string>{"/c"});
  ASSERT_EQ(t.create("/c/x").err, ErrorCode::kOk);  // containers may have children
  EXPECT_TRUE(t.tree.expiry_candidates(t.now_ms).empty());
  EXPECT_EQ(t.apply(DeleteContainerOp{"/c"}).err, ErrorCode::kNotEmpty);
  ASSERT_EQ(t.remove("/c/x").err, ErrorCode::kOk);
  EXPECT_EQ(t.tree.expiry_candidates(t.now_ms), std::vector<std::string>{"/c"});

  auto ttl = t.create("/t", "", kTtl, open_acl(), 0, {}, 500);
  ASSERT_EQ(ttl.err, ErrorCode::kOk);
  EXPECT_EQ(ttl.op.stat.ephemeral_owner, ttl_owner(500));
  const int64_t mtime = t.now_ms;
  EXPECT_EQ(t.tree.expiry_candidates(mtime + 500), std::vector<std::string>{"/c"});
  EXPECT_EQ(t.tree.expiry_candidates(mtime + 501), (std::vector<std::string>{"/c", "/t"}));
  // Not yet expired at the txn's time: the reaper's delete is refused.
  EXPECT_EQ(t.apply(DeleteContainerOp{"/t"}).err, ErrorCode::kBadVersion);
  ASSERT_EQ(t.create("/plain").err, ErrorCode::kOk);
  EXPECT_EQ(t.apply(DeleteContainerOp{"/plain"}).err, ErrorCode::kBadVersion);
  EXPECT_EQ(t.apply(DeleteContainerOp{"/none"}).err, ErrorCode::kNoNode);
  EXPECT_EQ(t.apply(DeleteContainerOp{"/zookeeper"}).err, ErrorCode::kBadArguments);
  auto del = t.apply(DeleteContainerOp{"/c"});
  ASSERT_EQ(del.err, ErrorCode::kOk);
  EXPECT_EQ(del.triggers, (std::vector<T>{{"/c", kDeleted}, {"/", kChildren}}));
  t.now_ms = mtime + 1000;
  EXPECT_EQ(t.apply(DeleteContainerOp{"/t"}).err, ErrorCode::kOk);
}

TEST(TreeRead, ChildrenSortedCountsAndBadPaths) {
  TreeDriver t;
  ASSERT_EQ(t.create("/a").err, ErrorCode::kOk);
  for (const char* c : {"/a/z", "/a/b", "/a/m", "/a/b0"})
    ASSERT_EQ(t.create(c).err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/a/m/deep").err, ErrorCode::kOk);
  auto r = t.tree.get_children("/a", {});
  ASSERT_EQ(r.err, ErrorCode::kOk);
  EXPECT_EQ(r.children, (std::vector<std::string>{"b", "b0", "m", "z"}));
  EXPECT_EQ(r.stat.num_children, 4);
  EXPECT_EQ(t.tree.all_children_number("/a", {}).count, 5);
  EXPECT_EQ(t.tree.all_children_number("/", {}).count, 9);  // 3 system nodes + 6
  EXPECT_EQ(t.tree.get_data("/a/", {}).err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.tree.get_children("/nope", {}).err, ErrorCode::kNoNode);
  EXPECT_EQ(t.tree.get_acl("", {}).err, ErrorCode::kBadArguments);
  EXPECT_EQ(t.tree.exists("/a/z", {}).stat.czxid, 2);
}

TEST(TreeReplay, SameTxnsSameDigest) {
  TreeDriver a, b;
  for (TreeDriver* t : {&a, &b}) {
    t->open_session(7);
    t->create("/x", "1");
    t->create("/x/e", "", kEphemeralSequential, open_acl(), 7);
    t->set("/x", "2");
    t->apply(MultiOp{{CreateOp{"/y", "", open_acl()}, SetDataOp{"/x", "3", -1}}});
  }
  EXPECT_EQ(a.tree.digest(), b.tree.digest());
  ASSERT_EQ(a.data("/x"), "3");
  ASSERT_EQ(b.set("/y", "changed").err, ErrorCode::kOk);
  ASSERT_EQ(a.set("/y", "other").err, ErrorCode::kOk);
  EXPECT_NE(a.tree.digest(), b.tree.digest());
}

TEST(TreeDeathTest, ZxidsMustIncrease) {
  TreeDriver t;
  t.create("/a");
  Txn stale;
  stale.zxid = t.zxid;
  stale.op = CheckOp{"/a", -1};
  EXPECT_EXIT(t.tree.apply(stale), ::testing::ExitedWithCode(3), "increasing zxid");
}

}  // namespace
}  // namespace weir::coord
