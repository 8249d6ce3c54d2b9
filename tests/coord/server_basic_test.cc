// CoordServer in a simulated three-server ensemble, through the raw ZooKeeper wire protocol.
#include <gtest/gtest.h>

#include "coord/server/txn_codec.h"
#include "tests/coord/server_test_util.h"

namespace weir::coord::server::testing {
namespace {

jute::CreateRequest create_req(std::string path, std::string data,
                               jute::CreateMode mode = jute::CreateMode::kPersistent) {
  jute::CreateRequest req;
  req.path = std::move(path);
  req.data = std::move(data);
  req.acl = {jute::ACL{jute::perms::kAll, jute::Id{"world", "anyone"}}};
  req.flags = mode;
  return req;
}

TEST(CoordServerTxnCodec, RoundTripsAndRejectsDamage) {
  Txn txn;
  txn.session_id = 42;
  txn.auth = {Id{"digest", "u:x"}};
  MultiOp multi;
  multi.ops.push_back(CreateOp{"/a", "d", open_acl(), 1, -1});
  multi.ops.push_back(CheckOp{"/a", 3});
  multi.ops.push_back(SetDataOp{"/b", "x", -1});
  multi.ops.push_back(DeleteOp{"/c", 2});
  txn.op = multi;
  const std::string bytes = encode_txn(txn, "pw");
  EncodedTxn out;
  ASSERT_TRUE(decode_txn(bytes, &out).ok());
  EXPECT_EQ(out.txn.session_id, 42);
  EXPECT_EQ(out.password, "pw");
  ASSERT_EQ(std::get<MultiOp>(out.txn.op).ops.size(), 4u);
  EXPECT_EQ(encode_txn(out.txn, out.password), bytes);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(decode_txn(bytes.substr(0, cut), &out).ok()) << cut;
  }
  EXPECT_FALSE(decode_txn(bytes + "x", &out).ok());
  std::string huge = bytes;
  huge[10] = '\xff';  // an auth count far beyond the input
  EXPECT_FALSE(decode_txn(huge, &out).ok());
}

TEST(CoordServer, HandshakeAndCrud) {
  Ensemble e(1);
  bool done = e.run([&] {
    e.wait_ready();
    auto c = RawClient::connect(e.clients[0], 4000);
    ASSERT_TRUE(c.ok()) << c.status();
    auto& cl = **c;
    EXPECT_NE(cl.session.sessionId.value(), 0);
    EXPECT_EQ(cl.session.timeOut, 2000);  // clamped to 20 ticks
    EXPECT_EQ(cl.session.passwd.size(), 16u);

    auto r = cl.create("/a", "hello");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->header.err, ErrorCode::kOk);
    EXPECT_EQ(std::get<jute::CreateResponse>(r->body).path, "/a");
    EXPECT_EQ(cl.create("/a", "again")->header.err, ErrorCode::kNodeExists);
    EXPECT_EQ(cl.create("/x/y", "")->header.err, ErrorCode::kNoNode);
    EXPECT_EQ(cl.create("bad", "")->header.err, ErrorCode::kBadArguments);

    auto g = cl.call(OpCode::kGetData, jute::GetDataRequest{"/a", false});
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(std::get<jute::GetDataResponse>(g->body).data, "hello");
    EXPECT_EQ(std::get<jute::GetDataResponse>(g->body).stat.version, 0);

    auto s = cl.call(OpCode::kSetData, jute::SetDataRequest{"/a", "v2", 0});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->header.err, ErrorCode::kOk);
    EXPECT_EQ(std::get<jute::SetDataResponse>(s->body).stat.version, 1);
    EXPECT_EQ(cl.err(OpCode::kSetData, jute::SetDataRequest{"/a", "v3", 0}),
              ErrorCode::kBadVersion);

    auto ex = cl.call(OpCode::kExists, jute::ExistsRequest{"/a", false});
    EXPECT_EQ(ex->header.err, ErrorCode::kOk);
    EXPECT_EQ(cl.err(OpCode::kExists, jute::ExistsRequest{"/nope", false}), ErrorCode::kNoNode);

    // Sequential names take the parent's cversion.
    EXPECT_EQ(std::get<jute::CreateResponse>(
                  cl.create("/a/q-", "", jute::CreateMode::kPersistentSequential)->body)
                  .path,
              "/a/q-0000000000");
    EXPECT_EQ(std::get<jute::CreateResponse>(
                  cl.create("/a/q-", "", jute::CreateMode::kPersistentSequential)->body)
                  .path,
              "/a/q-0000000001");
    auto ch = cl.call(OpCode::kGetChildren2, jute::GetChildren2Request{"/a", false});
    ASSERT_TRUE(ch.ok());
    EXPECT_EQ(std::get<jute::GetChildren2Response>(ch->body).children,
              (std::vector<std::string>{"q-0000000000", "q-0000000001"}));
    EXPECT_EQ(cl.err(OpCode::kDelete, jute::DeleteRequest{"/a", -1}), ErrorCode::kNotEmpty);
    EXPECT_EQ(cl.err(OpCode::kDelete, jute::DeleteRequest{"/a/q-0000000000", 5}),
              ErrorCode::kBadVersion);
    EXPECT_EQ(cl.err(OpCode::kDelete, jute::DeleteRequest{"/a/q-0000000000", 0}), ErrorCode::kOk);
    EXPECT_EQ(cl.err(OpCode::kGetData, jute::GetDataRequest{"/a/q-0000000000", false}),
              ErrorCode::kNoNode);
    EXPECT_TRUE(cl.ping().ok());
    EXPECT_EQ(cl.err(OpCode::kSync, jute::SyncRequest{"/a"}), ErrorCode::kOk);
    EXPECT_GT(cl.last_zxid, 0);
  });
  EXPECT_TRUE(done);
}

TEST(CoordServer, WritesAtEveryServerAreSeenEverywhere) {
  Ensemble e(2);
  bool done = e.run([&] {
    e.wait_ready();
    for (int i = 0; i < 3; ++i) {
      auto c = RawClient::connect(e.clients[i], 4000);
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_EQ((*c)->create(absl::StrCat("/n", i), "x")->header.err, ErrorCode::kOk) << i;
    }
    for (int i = 0; i < 3; ++i) {
      auto c = RawClient::connect(e.clients[i], 4000);
      ASSERT_TRUE(c.ok());
      ASSERT_EQ((*c)->err(OpCode::kSync, jute::SyncRequest{"/"}), ErrorCode::kOk);
      auto ch = (*c)->call(OpCode::kGetChildren, jute::GetChildrenRequest{"/", false});
      EXPECT_EQ(std::get<jute::GetChildrenResponse>(ch->body).children,
                (std::vector<std::string>{"n0", "n1", "n2", "zookeeper"}));
    }
  });
  EXPECT_TRUE(done);
}

TEST(CoordServer, MultiIsAtomic) {
  Ensemble e(3);
  bool done = e.run([&] {
    e.wait_ready();
    auto c = RawClient::connect(e.clients[1], 4000);
    ASSERT_TRUE(c.ok());
    auto& cl = **c;
    ASSERT_EQ(cl.create("/m", "0")->header.err, ErrorCode::kOk);
    jute::MultiRequest bad;
    bad.ops.push_back({OpCode::kCreate, create_req("/m/a", "")});
    bad.ops.push_back({OpCode::kCheck, jute::CheckVersionRequest{"/m", 7}});
    auto r = cl.call(OpCode::kMulti, bad);
    ASSERT_TRUE(r.ok());
    const auto& results = std::get<jute::MultiResponse>(r->body).results;
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(std::get<jute::ErrorResponse>(results[0].body).err, ErrorCode::kOk);
    EXPECT_EQ(std::get<jute::ErrorResponse>(results[1].body).err, ErrorCode::kBadVersion);
    EXPECT_EQ(cl.err(OpCode::kExists, jute::ExistsRequest{"/m/a", false}), ErrorCode::kNoNode);

    jute::MultiRequest good;
    good.ops.push_back({OpCode::kCreate, create_req("/m/a", "")});
    good.ops.push_back({OpCode::kCheck, jute::CheckVersionRequest{"/m", 0}});
    good.ops.push_back({OpCode::kSetData, jute::SetDataRequest{"/m", "1", 0}});
    auto g = cl.call(OpCode::kMulti, good);
    ASSERT_TRUE(g.ok());
    const auto& ok = std::get<jute::MultiResponse>(g->body).results;
    ASSERT_EQ(ok.size(), 3u);
    EXPECT_EQ(std::get<jute::CreateResponse>(ok[0].body).path, "/m/a");
    EXPECT_EQ(std::get<jute::SetDataResponse>(ok[2].body).stat.version, 1);
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::coord::server::testing
