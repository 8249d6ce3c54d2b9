// Kafka's partitioning, bit for bit: murmur2 against the vectors of Kafka's own UtilsTest and
// librdkafka's rdmurmur2.c unit test, and KIP-480 stickiness.
#include <gtest/gtest.h>

#include <set>

#include "broker/client/partitioner.h"
#include "runtime/random.h"

namespace weir::broker::client {
namespace {

// clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2.
TEST(Murmur2, KafkaUtilsTestVectors) {
  EXPECT_EQ(murmur2("21"), -973932308);
  EXPECT_EQ(murmur2("foobar"), -790332482);
  EXPECT_EQ(murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(murmur2(std::string_view("abc", 3)), 479470107);
}

// librdkafka src/rdmurmur2.c, unittest_murmur2 (java_murmur2_results), which also covers
// every tail length and unaligned starts.
TEST(Murmur2, LibrdkafkaVectors) {
  const std::string unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
  const std::string short_unaligned = "1234";
  EXPECT_EQ(murmur2("kafka"), static_cast<int32_t>(0xd067cf64));
  EXPECT_EQ(murmur2("giberish123456789"), static_cast<int32_t>(0x8f552b0c));
  EXPECT_EQ(murmur2(short_unaligned), static_cast<int32_t>(0x9fc97b14));
  EXPECT_EQ(murmur2(std::string_view(short_unaligned).substr(1)), static_cast<int32_t>(0xe7c009ca));
  EXPECT_EQ(murmur2(std::string_view(short_unaligned).substr(2)), static_cast<int32_t>(0x873930da));
  EXPECT_EQ(murmur2(std::string_view(short_unaligned).substr(3)), static_cast<int32_t>(0x5a4b5ca1));
  EXPECT_EQ(murmur2(unaligned), static_cast<int32_t>(0x78424f1c));
  EXPECT_EQ(murmur2(std::string_view(unaligned).substr(1)), static_cast<int32_t>(0x4a62b377));
  EXPECT_EQ(murmur2(std::string_view(unaligned).substr(2)), static_cast<int32_t>(0xe0e4e09e));
  EXPECT_EQ(murmur2(std::string_view(unaligned).substr(3)), static_cast<int32_t>(0x62b8b43f));
  EXPECT_EQ(murmur2(""), static_cast<int32_t>(0x106e08d9));
}

TEST(Murmur2, BytesAreUnsigned) {
  // Java masks each byte with 0xff: a high byte must not sign-extend.
  const std::string high = "\xff\xfe\x80\x7f\x01";
  EXPECT_NE(murmur2(high), murmur2(std::string("\x7f\x7e\x00\x7f\x01", 5)));
}

TEST(Partitioner, ToPositiveClearsTheSignBit) {
  EXPECT_EQ(to_positive(INT32_MIN), 0);
  EXPECT_EQ(to_positive(-1), INT32_MAX);
  EXPECT_EQ(to_positive(-973932308), 1173551340);
  EXPECT_EQ(to_positive(479470107), 479470107);
}

TEST(Partitioner, KeyedRecordsUseMurmur2ModuloPartitions) {
  // toPositive(murmur2("21")) = 1173551340.
  EXPECT_EQ(partition_for_key("21", 3), 1173551340 % 3);
  EXPECT_EQ(partition_for_key("21", 7), 1173551340 % 7);
  EXPECT_EQ(partition_for_key("abc", 10), 479470107 % 10);
  // 0x8f552b0c is negative: toPositive, not abs.
  EXPECT_EQ(partition_for_key("giberish123456789", 100), (0x8f552b0c & 0x7fffffff) % 100);
  for (int n = 1; n < 20; ++n)
    EXPECT_EQ(partition_for_key("foobar", n), (-790332482 & 0x7fffffff) % n);
}

TEST(StickyPartitioner, SticksUntilANewBatchThenMovesElsewhere) {
  DeterministicRandom random(7);
  StickyPartitioner sticky(random);
  const std::vector<int32_t> available = {0, 1, 2, 3, 4, 5};
  const int32_t first = sticky.partition("t", 6, available);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sticky.partition("t", 6, available), first);
  int32_t current = first;
  std::set<int32_t> seen = {first};
  for (int i = 0; i < 200; ++i) {
    const int32_t next = sticky.on_new_batch("t", 6, available, current);
    EXPECT_NE(next, current) << "a new batch must move to another partition";
    EXPECT_EQ(sticky.partition("t", 6, available), next);
    current = next;
    seen.insert(next);
  }
  EXPECT_EQ(seen.size(), 6u) << "every available partition is picked eventually";
}

TEST(StickyPartitioner, ANewBatchOnAnotherPartitionKeepsTheStickyOne) {
  DeterministicRandom random(3);
  StickyPartitioner sticky(random);
  const std::vector<int32_t> available = {0, 1, 2};
  const int32_t s = sticky.partition("t", 3, available);
  // A keyed record opened a batch elsewhere: Kafka's nextPartition changes nothing then.
  EXPECT_EQ(sticky.on_new_batch("t", 3, available, (s + 1) % 3), s);
  EXPECT_EQ(sticky.partition("t", 3, available), s);
}

TEST(StickyPartitioner, OnlyAvailablePartitionsArePicked) {
  DeterministicRandom random(11);
  StickyPartitioner sticky(random);
  const std::vector<int32_t> available = {2, 5};
  int32_t p = sticky.partition("t", 8, available);
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(p == 2 || p == 5) << p;
    p = sticky.on_new_batch("t", 8, available, p);
  }
  // One available partition: it is the only choice, even after a new batch.
  EXPECT_EQ(sticky.on_new_batch("one", 4, {3}, sticky.partition("one", 4, {3})), 3);
  // Topics are independent.
  EXPECT_EQ(sticky.partition("one", 4, {3}), 3);
}

TEST(StickyPartitioner, SameSeedSameChoices) {
  DeterministicRandom a(42), b(42);
  StickyPartitioner sa(a), sb(b);
  const std::vector<int32_t> available = {0, 1, 2, 3};
  int32_t pa = sa.partition("t", 4, available);
  int32_t pb = sb.partition("t", 4, available);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(pa, pb);
    pa = sa.on_new_batch("t", 4, available, pa);
    pb = sb.on_new_batch("t", 4, available, pb);
  }
}

}  // namespace
}  // namespace weir::broker::client
