// ACL schemes and permission checks: the helpers on their own, then every operation's required
// permission through the tree.
#include <gtest/gtest.h>

#include "coord/tree/acl.h"
#include "tests/coord/tree_test_util.h"

namespace weir::coord {
namespace {

using testing::TreeDriver;

const Id kAlice{"digest", "alice:hash-a"};
const Id kBob{"digest", "bob:hash-b"};
const Id kLocal{"ip", "127.0.0.1"};

TEST(TreeAcl, IpMatchesExactAndCidr) {
  EXPECT_TRUE(ip_matches("10.1.2.3", "10.1.2.3"));
  EXPECT_FALSE(ip_matches("10.1.2.4", "10.1.2.3"));
  EXPECT_TRUE(ip_matches("19.22.7.9", "19.22.0.0/16"));
  EXPECT_FALSE(ip_matches("19.23.7.9", "19.22.0.0/16"));
  EXPECT_TRUE(ip_matches("10.0.0.129", "10.0.0.128/25"));
  EXPECT_FALSE(ip_matches("10.0.0.127", "10.0.0.128/25"));
  EXPECT_TRUE(ip_matches("1.2.3.4", "0.0.0.0/0"));
  EXPECT_TRUE(ip_matches("::1", "0:0:0:0:0:0:0:1"));
  EXPECT_TRUE(ip_matches("fe80::1234", "fe80::/10"));
  EXPECT_FALSE(ip_matches("fe00::1", "fe80::/10"));
  EXPECT_FALSE(ip_matches("127.0.0.1", "::1"));  // families never match
  EXPECT_FALSE(ip_matches("not-an-ip", "0.0.0.0/0"));
  for (const char* bad : {"1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.4/33", "1.2.3.4/-1",
                          "1.2.3.4/x", "a.b.c.d", "1..2.3", "1:2:3", "1::2::3", "12345::1"}) {
    EXPECT_FALSE(is_valid_acl_id(Id{"ip", bad})) << bad;
  }
  for (const char* good : {"1.2.3.4", "1.2.3.4/0", "1.2.3.4/32", "::", "::1/128", "a:b::c"}) {
    EXPECT_TRUE(is_valid_acl_id(Id{"ip", good})) << good;
  }
}

TEST(TreeAcl, ValidIdsPerScheme) {
  EXPECT_TRUE(is_valid_acl_id(world_anyone()));
  EXPECT_FALSE(is_valid_acl_id(Id{"world", "someone"}));
  EXPECT_TRUE(is_valid_acl_id(Id{"digest", "user:abc="}));
  EXPECT_FALSE(is_valid_acl_id(Id{"digest", "user"}));
  EXPECT_FALSE(is_valid_acl_id(Id{"digest", "user:"}));
  EXPECT_FALSE(is_valid_acl_id(Id{"digest", "a:b:c"}));
  EXPECT_FALSE(is_valid_acl_id(Id{"super", ""}));
  EXPECT_FALSE(is_valid_acl_id(Id{"x509", "CN=foo"}));
  EXPECT_FALSE(is_valid_acl_id(Id{"auth", ""}));  // only meaningful through fixup_acl
}

TEST(TreeAcl, FixupExpandsAuthAndRejectsBadLists) {
  AclList out;
  EXPECT_EQ(fixup_acl({}, {}, &out), ErrorCode::kInvalidACL);
  EXPECT_EQ(fixup_acl({{Perms::kAll, {"auth", ""}}}, {}, &out), ErrorCode::kInvalidACL);
  // ip ids are not "authenticated": auth has nothing to expand to.
  const std::vector<Id> ip_only{kLocal};
  EXPECT_EQ(fixup_acl({{Perms::kAll, {"auth", ""}}}, ip_only, &out), ErrorCode::kInvalidACL);
  const std::vector<Id> who{kLocal, kAlice, kBob};
  ASSERT_EQ(fixup_acl({{Perms::kRead, {"auth", "ignored"}}}, who, &out), ErrorCode::kOk);
  EXPECT_EQ(out, (AclList{{Perms::kRead, kAlice}, {Perms::kRead, kBob}}));
  // Duplicates go, first one wins, order otherwise kept.
  const AclList dup{{1, world_anyone()}, {2, kAlice}, {1, world_anyone()}};
  ASSERT_EQ(fixup_acl(dup, {}, &out), ErrorCode::kOk);
  EXPECT_EQ(out, (AclList{{1, world_anyone()}, {2, kAlice}}));
  EXPECT_EQ(fixup_acl({{1, {"nosuch", "x"}}}, {}, &out), ErrorCode::kInvalidACL);
  EXPECT_EQ(fixup_acl({{1, {"ip", "300.1.1.1"}}}, {}, &out), ErrorCode::kInvalidACL);
}

TEST(TreeAcl, CheckAclSemantics) {
  const AclList acl{{Perms::kRead, world_anyone()},
                    {Perms::kWrite | Perms::kAdmin, kAlice},
                    {Perms::kDelete, {"ip", "10.0.0.0/8"}}};
  const std::vector<Id> nobody;
  const std::vector<Id> alice{kAlice};
  const std::vector<Id> bob{kBob};
  const std::vector<Id> inside{{"ip", "10.9.8.7"}};
  const std::vector<Id> super{{"super", ""}};
  EXPECT_TRUE(check_acl(acl, Perms::kRead, nobody));
  EXPECT_FALSE(check_acl(acl, Perms::kWrite, nobody));
  EXPECT_TRUE(check_acl(acl, Perms::kWrite, alice));
  EXPECT_FALSE(check_acl(acl, Perms::kWrite, bob));
  EXPECT_TRUE(check_acl(acl, Perms::kDelete, inside));
  EXPECT_FALSE(check_acl(acl, Perms::kCreate, alice));
  EXPECT_TRUE(check_acl(acl, Perms::kCreate, super));
  EXPECT_TRUE(check_acl({}, Perms::kAll, nobody));  // an empty ACL allows everything
  // Any bit of a combined mask is enough (getACL asks for READ|ADMIN).
  EXPECT_TRUE(check_acl({{Perms::kAdmin, kAlice}}, Perms::kRead | Perms::kAdmin, alice));
}

TEST(TreeAcl, MaskDigests) {
  const AclList acl{{31, {"digest", "alice:abc=="}}, {1, world_anyone()}};
  EXPECT_EQ(mask_digests(acl), (AclList{{31, {"digest", "alice:x"}}, {1, world_anyone()}}));
}

class TreeAclOps : public ::testing::Test {
 protected:
  void SetUp() override {
    // /p: alice may do everything, bob only read; /p/c: alice only.
    AclList p{{Perms::kAll, kAlice}, {Perms::kRead, kBob}};
    ASSERT_EQ(t.create("/p", "x", 0, p).err, ErrorCode::kOk);
    ASSERT_EQ(t.create("/p/c", "y", 0, {{Perms::kAll, kAlice}}, 0, {kAlice}).err, ErrorCode::kOk);
  }
  TreeDriver t;
  std::vector<Id> alice{kAlice}, bob{kBob}, nobody;
};

TEST_F(TreeAclOps, WritesNeedTheirPermission) {
  EXPECT_EQ(t.create("/p/d", "", 0, open_acl(), 0, bob).err, ErrorCode::kNoAuth);  // CREATE
  EXPECT_EQ(t.remove("/p/c", -1, 0, bob).err, ErrorCode::kNoAuth);                 // DELETE on /p
  EXPECT_EQ(t.set("/p", "z", -1, 0, bob).err, ErrorCode::kNoAuth);                 // WRITE
  EXPECT_EQ(t.set_acl("/p", open_acl(), -1, bob).err, ErrorCode::kNoAuth);         // ADMIN
  EXPECT_EQ(t.apply(CheckOp{"/p/c", -1}, 0, bob).err, ErrorCode::kNoAuth);         // READ
  EXPECT_EQ(t.stat("/p").version, 0);
  EXPECT_EQ(t.create("/p/d", "", 0, open_acl(), 0, alice).err, ErrorCode::kOk);
  EXPECT_EQ(t.set("/p", "z", -1, 0, alice).err, ErrorCode::kOk);
  EXPECT_EQ(t.remove("/p/d", -1, 0, alice).err, ErrorCode::kOk);
  EXPECT_EQ(t.set_acl("/p", open_acl(), -1, alice).err, ErrorCode::kOk);
  EXPECT_EQ(t.stat("/p").aversion, 1);
}

TEST_F(TreeAclOps, DeleteChecksTheParentNotTheNode) {
  // /p/c denies bob everything, but deleting it is /p's DELETE bit: give bob that.
  ASSERT_EQ(t.set_acl("/p", {{Perms::kDelete, kBob}}, -1, alice).err, ErrorCode::kOk);
  EXPECT_EQ(t.remove("/p/c", -1, 0, bob).err, ErrorCode::kOk);
  // Without DELETE on the parent a missing child is NoAuth, not NoNode (parent checked first).
  EXPECT_EQ(t.remove("/p/missing", -1, 0, alice).err, ErrorCode::kNoAuth);
}

TEST_F(TreeAclOps, ReadsNeedReadAndGetAclMasksWithoutAdmin) {
  EXPECT_EQ(t.tree.get_data("/p/c", bob).err, ErrorCode::kNoAuth);
  EXPECT_EQ(t.tree.get_children("/p/c", bob).err, ErrorCode::kNoAuth);
  EXPECT_EQ(t.tree.exists("/p/c", bob).err, ErrorCode::kNoAuth);
  EXPECT_EQ(t.tree.get_acl("/p/c", bob).err, ErrorCode::kNoAuth);
  EXPECT_EQ(t.tree.all_children_number("/p/c", bob).err, ErrorCode::kNoAuth);
  EXPECT_EQ(t.tree.exists("/p/none", bob).err, ErrorCode::kNoNode);
  EXPECT_EQ(t.tree.get_data("/p", bob).err, ErrorCode::kOk);
  auto masked = t.tree.get_acl("/p", bob);
  ASSERT_EQ(masked.err, ErrorCode::kOk);
  EXPECT_EQ(masked.acl,
            (AclList{{Perms::kAll, {"digest", "alice:x"}}, {Perms::kRead, {"digest", "bob:x"}}}));
  auto full = t.tree.get_acl("/p", alice);
  EXPECT_EQ(full.acl, (AclList{{Perms::kAll, kAlice}, {Perms::kRead, kBob}}));
  // ADMIN alone suffices for getACL.
  ASSERT_EQ(t.set_acl("/p/c", {{Perms::kAdmin, kBob}}, -1, alice).err, ErrorCode::kOk);
  EXPECT_EQ(t.tree.get_acl("/p/c", bob).acl, (AclList{{Perms::kAdmin, kBob}}));
}

TEST_F(TreeAclOps, AuthSchemeAndInvalidAcls) {
  auto r = t.create("/open/x", "", 0, {{Perms::kAll, {"auth", ""}}}, 0, nobody);
  EXPECT_EQ(r.err, ErrorCode::kInvalidACL);  // InvalidACL precedes NoNode
  r = t.create("/mine", "", 0, {{Perms::kAll, {"auth", ""}}}, 0, {kLocal, kBob});
  ASSERT_EQ(r.err, ErrorCode::kOk);
  EXPECT_EQ(t.tree.get_acl("/mine", bob).acl, (AclList{{Perms::kAll, kBob}}));
  EXPECT_EQ(t.create("/bad", "", 0, {}).err, ErrorCode::kInvalidACL);
  EXPECT_EQ(t.create("/bad", "", 0, {{1, {"world", "someone"}}}).err, ErrorCode::kInvalidACL);
  EXPECT_EQ(t.set_acl("/p", {}, -1, alice).err, ErrorCode::kInvalidACL);
  // setACL's order: InvalidACL before NoNode, NoAuth before BadVersion.
  EXPECT_EQ(t.set_acl("/none", {}, -1, alice).err, ErrorCode::kInvalidACL);
  EXPECT_EQ(t.set_acl("/none", open_acl(), -1, alice).err, ErrorCode::kNoNode);
  EXPECT_EQ(t.set_acl("/p", open_acl(), 5, bob).err, ErrorCode::kNoAuth);
  EXPECT_EQ(t.set_acl("/p", open_acl(), 5, alice).err, ErrorCode::kBadVersion);
}

TEST_F(TreeAclOps, SuperAndIpIds) {
  const std::vector<Id> super{{"super", ""}};
  EXPECT_EQ(t.set("/p/c", "s", -1, 0, super).err, ErrorCode::kOk);
  ASSERT_EQ(t.create("/net", "", 0, {{Perms::kAll, {"ip", "10.0.0.0/8"}}}).err, ErrorCode::kOk);
  const std::vector<Id> inside{{"ip", "10.1.1.1"}}, outside{{"ip", "11.1.1.1"}};
  EXPECT_EQ(t.set("/net", "a", -1, 0, outside).err, ErrorCode::kNoAuth);
  EXPECT_EQ(t.set("/net", "a", -1, 0, inside).err, ErrorCode::kOk);
}

TEST_F(TreeAclOps, DigestOfUserPasswordMatchesAcl) {
  const Id carol{"digest", digest_auth_id("carol:secret")};
  ASSERT_EQ(t.create("/carol", "", 0, {{Perms::kAll, carol}}).err, ErrorCode::kOk);
  const std::vector<Id> as_carol{{"digest", digest_auth_id("carol:secret")}};
  const std::vector<Id> wrong{{"digest", digest_auth_id("carol:guess")}};
  EXPECT_EQ(t.tree.get_data("/carol", wrong).err, ErrorCode::kNoAuth);
  EXPECT_EQ(t.tree.get_data("/carol", as_carol).err, ErrorCode::kOk);
}

}  // namespace
}  // namespace weir::coord
