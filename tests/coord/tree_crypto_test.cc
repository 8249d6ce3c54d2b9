// Known answers for the digest ACL scheme's building blocks: SHA-1 (FIPS 180 examples), base64
// (RFC 4648 section 10) and the resulting digest ids that ZooKeeper clients compute.
#include <gtest/gtest.h>

#include <string>

#include "coord/tree/acl.h"
#include "coord/tree/base64.h"
#include "coord/tree/sha1.h"

namespace weir::coord {
namespace {

std::string hex(const Sha1Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) out += kHex[b >> 4], out += kHex[b & 15];
  return out;
}

TEST(TreeSha1, KnownAnswers) {
  EXPECT_EQ(hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(hex(sha1("The quick brown fox jumps over the lazy dog")),
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
  EXPECT_EQ(hex(sha1(std::string(1'000'000, 'a'))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(TreeSha1, IncrementalMatchesOneShotAtEveryBlockBoundary) {
  std::string msg;
  for (int i = 0; i < 200; ++i) msg += static_cast<char>(i * 7 + 3);
  for (size_t len = 0; len <= msg.size(); ++len) {
    for (size_t split : {size_t{0}, len / 3, len / 2, len}) {
      Sha1 s;
      s.update(std::string_view(msg).substr(0, split));
      s.update(std::string_view(msg).substr(split, len - split));
      ASSERT_EQ(s.finish(), sha1(std::string_view(msg).substr(0, len))) << len << " " << split;
    }
  }
}

TEST(TreeBase64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(plain));
  }
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(TreeBase64, RejectsMalformedInput) {
  for (const char* bad : {"Z", "Zg=", "Zg=a", "Z===", "Zm9v!A==", "=Zm9", "Zg==Zg=="}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  }
}

TEST(TreeDigestAuth, MatchesZooKeeperGenerateDigest) {
  // The superDigest example of ZooKeeper's administrator guide, and a plain user.
  EXPECT_EQ(digest_auth_id("super:admin"), "super:xQJmxLMiHGwaqBvst5y6rkB6HQs=");
  EXPECT_EQ(digest_auth_id("user:password"), "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=");
  // The user is the text before the first colon; the hash covers everything.
  EXPECT_EQ(digest_auth_id("a:b:c").substr(0, 2), "a:");
  EXPECT_NE(digest_auth_id("a:b:c"), digest_auth_id("a:b"));
}

}  // namespace
}  // namespace weir::coord
