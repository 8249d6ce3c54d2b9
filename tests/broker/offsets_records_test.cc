// The __consumer_offsets record formats: Kafka's bytes for a key and a value, round trips, the
// older value versions Kafka wrote, and hostile bytes refused with a status.
#include "broker/group/offsets_records.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace weir::broker::group {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

TEST(OffsetsRecords, OffsetCommitKeyAndValueAreKafkasBytes) {
  // key v1: version, group "g", topic "t", partition 3
  EXPECT_EQ(encode_key(OffsetKey{"g", "t", 3}), bytes({0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 3}));
  // value v3: version, offset 5, leader epoch 2, metadata "", commit timestamp 1
  EXPECT_EQ(encode_offset_value(OffsetValue{5, 2, "", 1}),
            bytes({0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(encode_key(GroupKey{"g"}), bytes({0, 2, 0, 1, 'g'}));
}

TEST(OffsetsRecords, ReadsTheOlderValueVersionsKafkaWrote) {
  // v1 carried an expire timestamp after the commit timestamp.
  auto v1 = decode_offset_value(bytes(
      {0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 'm', 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 8}));
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->offset, 9);
  EXPECT_EQ(v1->metadata, "m");
  EXPECT_EQ(v1->commit_timestamp_ms, 4);
  EXPECT_EQ(v1->leader_epoch, -1);
  auto key0 = decode_key(bytes({0, 0, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 3}));
  ASSERT_TRUE(key0.ok());
  EXPECT_EQ(std::get<OffsetKey>(*key0), (OffsetKey{"g", "t", 3}));
}

TEST(OffsetsRecords, GroupMetadataRoundTrips) {
  GroupValue v{.protocol_type = "consumer",
               .generation = 4,
               .protocol = "range",
               .leader = "m1",
               .current_state_timestamp_ms = 77,
               .members = {{"m1", "i1", "c", "/127.0.0.1", 300, 10, "sub", "asg"},
                           {"m2", std::nullopt, "c2", "/h", 1, 2, "", ""}}};
  auto back = decode_group_value(encode_group_value(v));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, v);
  GroupValue empty{.protocol_type = "consumer", .generation = 5};
  auto e = decode_group_value(encode_group_value(empty));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, empty);
}

TEST(OffsetsRecords, RefusesTruncatedAndUnknownInput) {
  const std::string value = encode_group_value(GroupValue{.protocol_type = "consumer"});
  for (size_t n = 0; n < value.size(); ++n)
    EXPECT_FALSE(decode_group_value(value.substr(0, n)).ok()) << n;
  EXPECT_FALSE(decode_key(bytes({0, 9, 0, 0})).ok());
  EXPECT_FALSE(decode_offset_value(bytes({0, 7})).ok());
  // A member count far beyond the bytes left is refused before anything is reserved.
  EXPECT_FALSE(decode_group_value(bytes({0, 3, 0, 0, 0, 0, 0, 0, -1,   -1, -1, -1,
                                         0, 0, 0, 0, 0, 0, 0, 0, 0x7f, -1, -1, -1}))
                   .ok());
}

RC_GTEST_PROP(OffsetsRecords, HostileBytesNeverCrashTheDecoders, (const std::string& input)) {
  (void)decode_key(input);
  (void)decode_offset_value(input);
  (void)decode_group_value(input);
  // With a valid version prefix, the rest is still arbitrary.
  (void)decode_group_value(std::string("\0\3", 2) + input);
  (void)decode_offset_value(std::string("\0\3", 2) + input);
}

}  // namespace
}  // namespace weir::broker::group
