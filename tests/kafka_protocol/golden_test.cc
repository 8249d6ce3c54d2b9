// Golden bytes: requests and responses as real clients and brokers put them on the wire, written
// out by hand from the schemas (not from the generator), decoded field by field and re-encoded
// to the very same bytes. Plus the edges a broker meets first: versions it does not serve,
// tagged fields it does not know, frames cut short, and the header and api tables.
#include <gtest/gtest.h>

#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "broker/kafka/protocol/protocol.h"

namespace weir::kafka {
namespace {

// Raw bytes, so that the expected encodings read as the protocol guide draws them.
std::string b(std::initializer_list<int> bytes) {
  std::string out;
  for (int v : bytes) out.push_back(static_cast<char>(v));
  return out;
}

// ApiVersions v3 as librdkafka 1.9 opens every connection: request header v2 (its client id is
// still a classic int16 string), a compact-string body and empty tagged-field sections.
const std::string kApiVersionsV3Header =
    b({0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07}) + "rdkafka" + b({0x00});
const std::string kApiVersionsV3Body = b({0x0b}) + "librdkafka" + b({0x06}) + "1.9.2" + b({0x00});
const std::string kApiVersionsV3Frame =
    b({0x00, 0x00, 0x00, 0x24}) + kApiVersionsV3Header + kApiVersionsV3Body;

TEST(KafkaGolden, ApiVersionsV3Request) {
  RequestHeader header;
  std::string_view body;
  ASSERT_TRUE(
      decode_request_header(std::string_view(kApiVersionsV3Frame).substr(4), header, body).ok());
  EXPECT_EQ(header.request_api_key, 18);
  EXPECT_EQ(header.request_api_version, 3);
  EXPECT_EQ(header.correlation_id, 1);
  EXPECT_EQ(header.client_id, "rdkafka");
  EXPECT_EQ(body, kApiVersionsV3Body);

  ApiVersionsRequest request;
  ASSERT_TRUE(decode_message(body, 3, request).ok());
  EXPECT_EQ(request.client_software_name, "librdkafka");
  EXPECT_EQ(request.client_software_version, "1.9.2");
  EXPECT_EQ(encode_message(request, 3), kApiVersionsV3Body);
  EXPECT_EQ(request.encoded_size(3), kApiVersionsV3Body.size());

  std::string frame;
  append_request_frame(request, 3, 1, std::string("rdkafka"), frame);
  EXPECT_EQ(frame, kApiVersionsV3Frame);
}

TEST(KafkaGolden, ApiVersionsV0RequestIsEmpty) {
  ApiVersionsRequest request;
  ASSERT_TRUE(decode_message("", 0, request).ok());
  EXPECT_EQ(request.client_software_name, "");
  EXPECT_EQ(encode_message(request, 0), "");
}

// The broker's answer at v3: header v0 even though the body is flexible (a client must read it
// before it knows the broker's versions), and a known tagged field (FinalizedFeaturesEpoch, tag 1).
TEST(KafkaGolden, ApiVersionsV3ResponseWithTaggedField) {
  const std::string body = b({0x00, 0x00,                                      // error_code
                              0x03,                                            // 2 api keys
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00,        // Produce 0-9
                              0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,        // ApiVersions 0-3
                              0x00, 0x00, 0x00, 0x00,                          // throttle_time_ms
                              0x01,                                            // 1 tagged field
                              0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // tag 1, 8 bytes
                              0x00, 0x05});
  ApiVersionsResponse response;
  ASSERT_TRUE(decode_message(body, 3, response).ok());
  EXPECT_EQ(response.error_code, 0);
  ASSERT_EQ(response.api_keys.size(), 2u);
  EXPECT_EQ(response.api_keys[0].api_key, 0);
  EXPECT_EQ(response.api_keys[0].max_version, 9);
  EXPECT_EQ(response.api_keys[1].api_key, 18);
  EXPECT_EQ(response.api_keys[1].max_version, 3);
  EXPECT_EQ(response.finalized_features_epoch, 5);
  EXPECT_TRUE(response.supported_features.empty());
  EXPECT_EQ(encode_message(response, 3), body);

  std::string frame;
  append_response_frame(response, 3, 1, frame);
  EXPECT_EQ(frame, b({0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x01}) + body);
}

// Metadata v1 for two topics, as kcat asks: classic header v1 and int16 strings.
TEST(KafkaGolden, MetadataV1RequestWithTwoTopics) {
  const std::string header =
      b({0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x04}) + "kcat";
  const std::string body =
      b({0x00, 0x00, 0x00, 0x02, 0x00, 0x03}) + "foo" + b({0x00, 0x03}) + "bar";
  const std::string frame = b({0x00, 0x00, 0x00, 0x1c}) + header + body;

  RequestHeader h;
  std::string_view rest;
  ASSERT_TRUE(decode_request_header(std::string_view(frame).substr(4), h, rest).ok());
  EXPECT_EQ(h.request_api_key, 3);
  EXPECT_EQ(h.request_api_version, 1);
  EXPECT_EQ(h.correlation_id, 7);
  EXPECT_EQ(h.client_id, "kcat");

  MetadataRequest request;
  ASSERT_TRUE(decode_message(rest, 1, request).ok());
  ASSERT_TRUE(request.topics.has_value());
  ASSERT_EQ(request.topics->size(), 2u);
  EXPECT_EQ((*request.topics)[0].name, "foo");
  EXPECT_EQ((*request.topics)[1].name, "bar");
  EXPECT_TRUE(request.allow_auto_topic_creation);  // not in v1: the schema's default
  EXPECT_EQ(encode_message(request, 1), body);

  std::string again;
  append_request_frame(request, 1, 7, std::string("kcat"), again);
  EXPECT_EQ(again, frame);
}

// Metadata v9, the first flexible version: compact arrays and strings, a tagged-field section
// closing every struct, nested ones included.
TEST(KafkaGolden, MetadataV9RequestIsCompact) {
  const std::string body = b({0x03,                       // 2 topics
                              0x04, 'f', 'o', 'o', 0x00,  // "foo", no tagged fields
                              0x04, 'b', 'a', 'r', 0x00,  // "bar"
                              0x00,                       // allow_auto_topic_creation
                              0x01,                       // include_cluster_authorized_operations
                              0x00,                       // include_topic_authorized_operations
                              0x00});                     // no tagged fields
  MetadataRequest request;
  ASSERT_TRUE(decode_message(body, 9, request).ok());
  ASSERT_TRUE(request.topics.has_value());
  ASSERT_EQ(request.topics->size(), 2u);
  EXPECT_EQ((*request.topics)[1].name, "bar");
  EXPECT_FALSE(request.allow_auto_topic_creation);
  EXPECT_TRUE(request.include_cluster_authorized_operations);
  EXPECT_FALSE(request.include_topic_authorized_operations);
  EXPECT_EQ(encode_message(request, 9), body);
  // A compact null array is a 0 length.
  request.topics.reset();
  EXPECT_EQ(encode_message(request, 9), b({0x00, 0x00, 0x01, 0x00, 0x00}));
}

// CreateTopics v5 response: nullable compact string and array as nulls, and a known tagged field
// inside a nested struct (TopicConfigErrorCode, tag 0).
TEST(KafkaGolden, CreateTopicsV5ResponseWithNestedTaggedField) {
  const std::string body = b({0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
                              0x02,                    // 1 topic
                              0x04, 'f',  'o',  'o',   // name
                              0x00, 0x00,              // error_code
                              0x00,                    // error_message: null
                              0x00, 0x00, 0x00, 0x03,  // num_partitions
                              0x00, 0x01,              // replication_factor
                              0x00,                    // configs: null
                              0x01, 0x00, 0x02,        // 1 tagged field: tag 0, 2 bytes
                              0x00, 0x28,              // topic_config_error_code: 40
                              0x00});                  // no tagged fields
  CreateTopicsResponse response;
  ASSERT_TRUE(decode_message(body, 5, response).ok());
  ASSERT_EQ(response.topics.size(), 1u);
  const auto& topic = response.topics[0];
  EXPECT_EQ(topic.name, "foo");
  EXPECT_EQ(topic.error_message, std::nullopt);
  EXPECT_EQ(topic.num_partitions, 3);
  EXPECT_EQ(topic.replication_factor, 1);
  EXPECT_EQ(topic.configs, std::nullopt);
  EXPECT_EQ(topic.topic_config_error_code, 40);
  EXPECT_EQ(error_name(static_cast<ErrorCode>(topic.topic_config_error_code)), "INVALID_CONFIG");
  EXPECT_EQ(encode_message(response, 5), body);
}

TEST(KafkaGolden, MetadataNullTopicsMeansAllFromV1ButIsInvalidInV0) {
  const std::string all = b({0xff, 0xff, 0xff, 0xff});
  MetadataRequest request;
  ASSERT_TRUE(decode_message(all, 1, request).ok());
  EXPECT_FALSE(request.topics.has_value());
  EXPECT_EQ(encode_message(request, 1), all);

  const absl::Status v0 = decode_message(all, 0, request);
  EXPECT_FALSE(v0.ok());
  EXPECT_NE(v0.message().find("topics"), std::string_view::npos) << v0;
  EXPECT_NE(v0.message().find("not nullable"), std::string_view::npos) << v0;
}

// Produce v3 (the first with a transactional id) with one partition and an opaque records blob.
const std::string kRecordsBlob = b({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x01, 0x02});
const std::string kProduceV3Body = b({0xff, 0xff,              // transactional_id: null
                                      0xff, 0xff,              // acks: -1
                                      0x00, 0x00, 0x75, 0x30,  // timeout_ms: 30000
                                      0x00, 0x00, 0x00, 0x01,  // 1 topic
                                      0x00, 0x05}) +
                                   "topic" +
                                   b({0x00, 0x00, 0x00, 0x01,     // 1 partition
                                      0x00, 0x00, 0x00, 0x00,     // index 0
                                      0x00, 0x00, 0x00, 0x0a}) +  // 10 bytes of records
                                   kRecordsBlob;

TEST(KafkaGolden, ProduceV3RequestRecordsViewTheInput) {
  ProduceRequest request;
  ASSERT_TRUE(decode_message(kProduceV3Body, 3, request).ok());
  EXPECT_FALSE(request.transactional_id.has_value());
  EXPECT_EQ(request.acks, -1);
  EXPECT_EQ(request.timeout_ms, 30000);
  ASSERT_EQ(request.topic_data.size(), 1u);
  EXPECT_EQ(request.topic_data[0].name, "topic");
  ASSERT_EQ(request.topic_data[0].partition_data.size(), 1u);
  const auto& partition = request.topic_data[0].partition_data[0];
  EXPECT_EQ(partition.index, 0);
  EXPECT_FALSE(partition.records.is_null);
  EXPECT_EQ(partition.records.bytes, kRecordsBlob);
  // Not a copy: the view points into the frame.
  EXPECT_EQ(partition.records.bytes.data(), kProduceV3Body.data() + kProduceV3Body.size() - 10);
  EXPECT_EQ(encode_message(request, 3), kProduceV3Body);
}

TEST(KafkaGolden, ProduceTruncatedNamesTheField) {
  ProduceRequest request;
  const absl::Status s = decode_message(
      std::string_view(kProduceV3Body).substr(0, kProduceV3Body.size() - 3), 3, request);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(),
            "kafka: ProduceRequest: topic_data[0]: partition_data[0]: records: length 10 "
            "exceeds the 7 bytes remaining (at byte 31)");
  const absl::Status cut =
      decode_message(std::string_view(kProduceV3Body).substr(0, 18), 3, request);
  EXPECT_NE(cut.message().find("topic_data[0]: name"), std::string_view::npos) << cut;
}

TEST(KafkaGolden, ProduceTrailingBytesAreAnError) {
  ProduceRequest request;
  const std::string longer = kProduceV3Body + "x";
  const absl::Status s = decode_message(longer, 3, request);
  EXPECT_NE(s.message().find("trailing"), std::string_view::npos) << s;
}

// Fetch v4 as a consumer sends it: replica -1, read_committed, one partition.
TEST(KafkaGolden, FetchV4Request) {
  const std::string body = b({0xff, 0xff, 0xff, 0xff,  // replica_id: -1
                              0x00, 0x00, 0x01, 0xf4,  // max_wait_ms: 500
                              0x00, 0x00, 0x00, 0x01,  // min_bytes: 1
                              0x03, 0x20, 0x00, 0x00,  // max_bytes: 52428800
                              0x01,                    // isolation_level: read_committed
                              0x00, 0x00, 0x00, 0x01,  // 1 topic
                              0x00, 0x05}) +
                           "topic" +
                           b({0x00, 0x00, 0x00, 0x01,                          // 1 partition
                              0x00, 0x00, 0x00, 0x02,                          // partition 2
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // offset 100
                              0x00, 0x10, 0x00, 0x00});  // partition_max_bytes: 1048576
  FetchRequest request;
  ASSERT_TRUE(decode_message(body, 4, request).ok());
  EXPECT_EQ(request.replica_id, -1);
  EXPECT_EQ(request.max_wait_ms, 500);
  EXPECT_EQ(request.min_bytes, 1);
  EXPECT_EQ(request.max_bytes, 52428800);
  EXPECT_EQ(request.isolation_level, 1);
  EXPECT_EQ(request.session_epoch, -1);  // v7+: the schema's default
  ASSERT_EQ(request.topics.size(), 1u);
  EXPECT_EQ(request.topics[0].topic, "topic");
  ASSERT_EQ(request.topics[0].partitions.size(), 1u);
  const auto& p = request.topics[0].partitions[0];
  EXPECT_EQ(p.partition, 2);
  EXPECT_EQ(p.fetch_offset, 100);
  EXPECT_EQ(p.partition_max_bytes, 1048576);
  EXPECT_EQ(p.current_leader_epoch, -1);  // v9+
  EXPECT_EQ(p.log_start_offset, -1);      // v5+
  EXPECT_EQ(encode_message(request, 4), body);
}

TEST(KafkaGolden, DescribeClusterV0IsFlexibleFromTheStart) {
  const std::string body = b({0x01, 0x00});
  DescribeClusterRequest request;
  ASSERT_TRUE(decode_message(body, 0, request).ok());
  EXPECT_TRUE(request.include_cluster_authorized_operations);
  EXPECT_EQ(encode_message(request, 0), body);
  EXPECT_EQ(request_header_version(ApiKey::kDescribeCluster, 0), 2);
  EXPECT_EQ(response_header_version(ApiKey::kDescribeCluster, 0), 1);
}

// kafka-reassign-partitions.sh --execute: one partition moved, one reassignment cancelled (a
// null replica list, which is what "cancel" means in KIP-455).
TEST(KafkaGolden, AlterPartitionReassignmentsV0NullReplicasCancel) {
  const std::string body = b({0x00, 0x00, 0x75, 0x30,                    // timeout 30000 ms
                              0x02, 0x02, 't',                           // 1 topic "t"
                              0x03,                                      // 2 partitions
                              0x00, 0x00, 0x00, 0x00,                    // partition 0
                              0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,  // replicas [1, 2]
                              0x00, 0x02, 0x00,                          //
                              0x00, 0x00, 0x00, 0x01, 0x00, 0x00,        // partition 1, null
                              0x00, 0x00});                              // tags
  AlterPartitionReassignmentsRequest request;
  ASSERT_TRUE(decode_message(body, 0, request).ok());
  EXPECT_EQ(request.timeout_ms, 30000);
  ASSERT_EQ(request.topics.size(), 1u);
  EXPECT_EQ(request.topics[0].name, "t");
  ASSERT_EQ(request.topics[0].partitions.size(), 2u);
  EXPECT_EQ(request.topics[0].partitions[0].replicas, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(request.topics[0].partitions[1].partition_index, 1);
  EXPECT_FALSE(request.topics[0].partitions[1].replicas.has_value());
  EXPECT_EQ(encode_message(request, 0), body);
  EXPECT_EQ(request_header_version(ApiKey::kAlterPartitionReassignments, 0), 2);
}

TEST(KafkaGolden, ListPartitionReassignmentsV0NullTopicsMeansAll) {
  const std::string body = b({0x00, 0x00, 0xea, 0x60, 0x00, 0x00});  // 60000 ms, null, tags
  ListPartitionReassignmentsRequest request;
  ASSERT_TRUE(decode_message(body, 0, request).ok());
  EXPECT_EQ(request.timeout_ms, 60000);
  EXPECT_FALSE(request.topics.has_value());
  EXPECT_EQ(encode_message(request, 0), body);
}

// An idempotent producer's InitProducerId: v0 (a classic nullable string, -1 for null) and v4
// (compact: 0 for null), where v3+ also carries the id and epoch it had (-1 for none).
TEST(KafkaGolden, InitProducerIdV0AndV4NullTransactionalId) {
  const std::string v0 = b({0xff, 0xff, 0x00, 0x00, 0xea, 0x60});  // null, 60000 ms
  InitProducerIdRequest request;
  ASSERT_TRUE(decode_message(v0, 0, request).ok());
  EXPECT_FALSE(request.transactional_id.has_value());
  EXPECT_EQ(request.transaction_timeout_ms, 60000);
  EXPECT_EQ(request.producer_id, -1);  // v3+: the default
  EXPECT_EQ(encode_message(request, 0), v0);
  const std::string v4 = b({0x00, 0x00, 0x00, 0xea, 0x60,                    // null
                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // id -1
                            0xff, 0xff, 0x00});                              // epoch -1
  InitProducerIdRequest flexible;
  ASSERT_TRUE(decode_message(v4, 4, flexible).ok());
  EXPECT_FALSE(flexible.transactional_id.has_value());
  EXPECT_EQ(flexible.producer_epoch, -1);
  EXPECT_EQ(encode_message(flexible, 4), v4);
  EXPECT_EQ(request_header_version(ApiKey::kInitProducerId, 1), 1);
  EXPECT_EQ(request_header_version(ApiKey::kInitProducerId, 2), 2);

  InitProducerIdResponse response;
  response.producer_id = 1000;
  response.producer_epoch = 0;
  EXPECT_EQ(encode_message(response, 4),
            b({0x00, 0x00, 0x00, 0x00, 0x00, 0x00,              // throttle 0, error 0
               0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // producer id 1000
               0x00, 0x00, 0x00}));                             // epoch 0, tags
}

// ---- edges ----------------------------------------------------------------------------------

TEST(KafkaEdges, VersionOutsideTheRangeIsRefused) {
  ProduceRequest request;
  const absl::Status s = decode_message(kProduceV3Body, 10, request);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "kafka: ProduceRequest: version 10: outside the supported range 0-9 (at byte 0)");
  EXPECT_FALSE(decode_message("", -1, request).ok());
  // Encoding at a version Weir does not serve writes nothing rather than something wrong.
  EXPECT_EQ(encode_message(request, 10), "");
  EXPECT_EQ(request.encoded_size(10), 0u);
}

TEST(KafkaEdges, UnknownTaggedFieldsAreSkipped) {
  const std::string body = b({0x02, 'a', 0x02, 'b',  // names
                              0x02,                  // 2 tagged fields
                              0x05, 0x03, 'x', 'y', 'z', 0x07, 0x00});
  ApiVersionsRequest request;
  ASSERT_TRUE(decode_message(body, 3, request).ok());
  EXPECT_EQ(request.client_software_name, "a");
  EXPECT_EQ(request.client_software_version, "b");
  EXPECT_EQ(encode_message(request, 3), b({0x02, 'a', 0x02, 'b', 0x00}));
}

TEST(KafkaEdges, TaggedFieldsMustAscend) {
  const std::string body = b({0x02, 'a', 0x02, 'b', 0x02, 0x07, 0x00, 0x05, 0x00});
  ApiVersionsRequest request;
  const absl::Status s = decode_message(body, 3, request);
  EXPECT_NE(s.message().find("ascending"), std::string_view::npos) << s;
  const std::string twice = b({0x02, 'a', 0x02, 'b', 0x02, 0x05, 0x00, 0x05, 0x00});
  EXPECT_FALSE(decode_message(twice, 3, request).ok());
}

TEST(KafkaEdges, KnownTaggedFieldMustFillItsSize) {
  // FinalizedFeaturesEpoch (int64) declared as 4 bytes.
  const std::string body = b({0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x04, 0x00,
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05});
  ApiVersionsResponse response;
  const absl::Status s = decode_message(body, 3, response);
  EXPECT_NE(s.message().find("declared 4 bytes but used 8"), std::string_view::npos) << s;
}

TEST(KafkaEdges, HugeClaimedCountsFailWithoutAllocating) {
  // 2^31-1 topics in a 12-byte frame.
  const std::string body = b({0xff, 0xff,                // acks
                              0x00, 0x00, 0x00, 0x01,    // timeout_ms
                              0x7f, 0xff, 0xff, 0xff});  // topic count
  ProduceRequest request;
  const absl::Status s = decode_message(body, 2, request);
  EXPECT_NE(s.message().find("topic_data: element count 2147483647"), std::string_view::npos) << s;
}

TEST(KafkaEdges, CompactStringLongerThanInt16IsRefused) {
  // A compact length of 40000 + 1 (varint 0xc1 0xb8 0x02), though the bytes are there.
  std::string body = b({0xc1, 0xb8, 0x02}) + std::string(40000, 'x') + b({0x01, 0x00});
  ApiVersionsRequest request;
  const absl::Status s = decode_message(body, 3, request);
  EXPECT_NE(s.message().find("client_software_name: string length 40000"), std::string_view::npos)
      << s;
}

TEST(KafkaEdges, OverlongStringsAreCutWhenEncoding) {
  ApiVersionsRequest request;
  request.client_software_name = std::string(40000, 'x');
  const std::string bytes = encode_message(request, 3);
  EXPECT_EQ(bytes.size(), request.encoded_size(3));
  ApiVersionsRequest decoded;
  ASSERT_TRUE(decode_message(bytes, 3, decoded).ok());
  EXPECT_EQ(decoded.client_software_name.size(), wire::kMaxStringLength);
}

TEST(KafkaEdges, NullWhereAVersionCannotCarryItIsWrittenEmpty) {
  // DeleteTopicsResponse names are nullable only from v6: a caller's null at v5 is its bug, and
  // the encoding stays well-formed (an empty name) instead of crashing.
  DeleteTopicsResponse response;
  response.responses.emplace_back().name = std::nullopt;
  const std::string v5 = encode_message(response, 5);
  EXPECT_EQ(v5.size(), response.encoded_size(5));
  DeleteTopicsResponse decoded;
  ASSERT_TRUE(decode_message(v5, 5, decoded).ok());
  EXPECT_EQ(decoded.responses.at(0).name, "");
  const std::string v6 = encode_message(response, 6);
  ASSERT_TRUE(decode_message(v6, 6, decoded).ok());
  EXPECT_EQ(decoded.responses.at(0).name, std::nullopt);
}

// ---- headers and tables ---------------------------------------------------------------------

TEST(KafkaTables, HeaderVersionsFollowFlexibleVersions) {
  EXPECT_EQ(request_header_version(ApiKey::kApiVersions, 2), 1);
  EXPECT_EQ(request_header_version(ApiKey::kApiVersions, 3), 2);
  EXPECT_EQ(request_header_version(ApiKey::kApiVersions, 4), 2);   // not served: still readable
  EXPECT_EQ(response_header_version(ApiKey::kApiVersions, 3), 0);  // always v0
  EXPECT_EQ(request_header_version(ApiKey::kProduce, 8), 1);
  EXPECT_EQ(request_header_version(ApiKey::kProduce, 9), 2);
  EXPECT_EQ(response_header_version(ApiKey::kProduce, 8), 0);
  EXPECT_EQ(response_header_version(ApiKey::kProduce, 9), 1);
  EXPECT_EQ(response_header_version(ApiKey::kFetch, 11), 0);
  EXPECT_EQ(response_header_version(ApiKey::kFetch, 12), 1);
  EXPECT_EQ(request_header_version(static_cast<ApiKey>(24), 0), 1);  // not served
  // Kafka's exception: ControlledShutdown v0 predates client ids.
  EXPECT_EQ(request_header_version(ApiKey::kControlledShutdown, 0), 0);
  EXPECT_EQ(request_header_version(ApiKey::kControlledShutdown, 1), 1);
}

TEST(KafkaTables, ApiTable) {
  EXPECT_EQ(kApis.size(), 31u);
  EXPECT_EQ(api_name(ApiKey::kProduce), "Produce");
  EXPECT_EQ(api_name(ApiKey::kDescribeCluster), "DescribeCluster");
  EXPECT_EQ(api_name(static_cast<ApiKey>(24)), "Unknown");  // AddPartitionsToTxn, not served
  EXPECT_EQ(api_name(ApiKey::kOffsetCommit), "OffsetCommit");
  EXPECT_EQ(api_name(ApiKey::kLeaderAndIsr), "LeaderAndIsr");
  EXPECT_EQ(api_key_from_int(46), ApiKey::kListPartitionReassignments);
  EXPECT_EQ(api_key_from_int(44), std::nullopt);
  EXPECT_EQ(api_key_from_int(18), ApiKey::kApiVersions);
  EXPECT_EQ(api_key_from_int(22), ApiKey::kInitProducerId);
  EXPECT_EQ(api_key_from_int(24), std::nullopt);
  EXPECT_EQ(api_key_from_int(47), ApiKey::kOffsetDelete);
  ASSERT_NE(find_api(1), nullptr);
  EXPECT_EQ(find_api(1)->max_version, 12);
  EXPECT_EQ(find_api(ApiKey::kMetadata)->first_flexible_request, 9);
  EXPECT_EQ(find_api(ApiKey::kListOffsets)->first_flexible_response, 6);
  EXPECT_EQ(ProduceRequest::kApiKey, ApiKey::kProduce);
  EXPECT_EQ(FetchResponse::kMaxVersion, 12);
  EXPECT_EQ(MetadataRequest::kMaxVersion, 11);
  for (const ApiInfo& api : kApis) EXPECT_LE(api.min_version, api.max_version) << api.name;
}

TEST(KafkaTables, ErrorCodes) {
  EXPECT_EQ(error_code_value(ErrorCode::kNone), 0);
  EXPECT_EQ(error_code_value(ErrorCode::kUnknownServerError), -1);
  EXPECT_EQ(error_code_value(ErrorCode::kOffsetOutOfRange), 1);
  EXPECT_EQ(error_code_value(ErrorCode::kCorruptMessage), 2);
  EXPECT_EQ(error_code_value(ErrorCode::kUnknownTopicOrPartition), 3);
  EXPECT_EQ(error_code_value(ErrorCode::kNotLeaderOrFollower), 6);
  EXPECT_EQ(error_code_value(ErrorCode::kUnsupportedVersion), 35);
  EXPECT_EQ(error_code_value(ErrorCode::kTopicAlreadyExists), 36);
  EXPECT_EQ(error_code_value(ErrorCode::kUnknownTopicId), 100);
  EXPECT_EQ(error_name(ErrorCode::kUnknownTopicOrPartition), "UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT_EQ(error_name(ErrorCode::kNone), "NONE");
  EXPECT_EQ(error_name(static_cast<ErrorCode>(999)), "UNKNOWN_ERROR_CODE");
  EXPECT_TRUE(is_retriable(ErrorCode::kNotLeaderOrFollower));
  EXPECT_TRUE(is_retriable(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_TRUE(is_retriable(ErrorCode::kNotEnoughReplicas));
  EXPECT_FALSE(is_retriable(ErrorCode::kNone));
  EXPECT_FALSE(is_retriable(ErrorCode::kTopicAuthorizationFailed));
  EXPECT_FALSE(is_retriable(ErrorCode::kOffsetOutOfRange));
  std::ostringstream os;
  os << ErrorCode::kLeaderNotAvailable << ' ' << ApiKey::kFetch;
  EXPECT_EQ(os.str(), "LEADER_NOT_AVAILABLE(5) Fetch(1)");
}

TEST(KafkaTables, PrinterShowsEveryField) {
  ProduceRequest request;
  ASSERT_TRUE(decode_message(kProduceV3Body, 3, request).ok());
  std::ostringstream os;
  os << request;
  EXPECT_EQ(os.str(),
            "ProduceRequest{transactional_id=null, acks=-1, timeout_ms=30000, "
            "topic_data=[TopicProduceData{name=\"topic\", "
            "partition_data=[PartitionProduceData{index=0, records=<10 bytes>}]}]}");
}

}  // namespace
}  // namespace weir::kafka
