// RapidCheck properties of the generated Kafka codecs, over every message at every version Weir
// serves: random messages round-trip and report their exact size; every strict prefix of an
// encoding fails and names a field; and no input (random bytes, or a valid encoding mutated or
// cut) crashes a decoder, makes it allocate beyond a small multiple of its input, or decodes to
// something that does not re-encode consistently.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "broker/kafka/protocol/protocol.h"
#include "tests/kafka_protocol/alloc_tracker.h"

namespace weir::kafka {
namespace {

// ---- generators -----------------------------------------------------------------------------

template <class T>
concept Message = requires(T& t) {
  T::kName;
  T::kMinVersion;
  T::min_encoded_size(int16_t{0});
};

// Owns the bytes that generated Records fields view.
using Arena = std::deque<std::string>;

template <Message T>
void fill(T& message, int16_t version, Arena& arena);

rc::Gen<std::string> small_string() {
  return rc::gen::resize(12, rc::gen::container<std::string>(rc::gen::arbitrary<char>()));
}

// One value of a field present at `version`; null only where the version allows it.
template <class T>
void fill_value(T& v, const FieldInfo& info, int16_t version, Arena& arena) {
  if constexpr (std::is_same_v<T, bool> || std::is_integral_v<T>) {
    v = *rc::gen::arbitrary<T>();
  } else if constexpr (std::is_same_v<T, double>) {
    v = *rc::gen::arbitrary<int32_t>() / 8.0;  // finite: NaN != NaN
  } else if constexpr (std::is_same_v<T, std::string>) {
    v = *small_string();
  } else if constexpr (std::is_same_v<T, Uuid>) {
    for (uint8_t& byte : v.bytes) byte = *rc::gen::arbitrary<uint8_t>();
  } else if constexpr (std::is_same_v<T, Records>) {
    if (info.nullable.contains(version) && *rc::gen::inRange(0, 4) == 0) {
      v = Records{.bytes = {}, .is_null = true};
    } else {
      v = Records{.bytes =
                      arena.emplace_back(*rc::gen::resize(40, rc::gen::string<std::string>()))};
    }
  } else if constexpr (Message<T>) {
    fill(v, version, arena);
  } else {
    static_assert(sizeof(T) == 0, "no generator for this field type");
  }
}

template <class T>
void fill_value(std::vector<T>& v, const FieldInfo& info, int16_t version, Arena& arena) {
  v.resize(*rc::gen::inRange<size_t>(0, 4));
  for (T& item : v) fill_value(item, info, version, arena);
}

template <class T>
void fill_value(std::optional<T>& v, const FieldInfo& info, int16_t version, Arena& arena) {
  if (info.nullable.contains(version) && *rc::gen::inRange(0, 4) == 0) {
    v.reset();
    return;
  }
  fill_value(v.emplace(), info, version, arena);
}

// Fields absent at `version` keep their defaults, which is what decoding leaves in them.
template <Message T>
void fill(T& message, int16_t version, Arena& arena) {
  for_each_field(message, [&](const FieldInfo& info, auto& field) {
    if (info.versions.contains(version)) fill_value(field, info, version, arena);
  });
}

std::vector<int16_t> versions_of(int16_t lo, int16_t hi) {
  std::vector<int16_t> out;
  for (int v = lo; v <= hi; ++v) out.push_back(static_cast<int16_t>(v));
  return out;
}

template <Message T>
std::vector<int16_t> versions_of() {
  return versions_of(T::kMinVersion, T::kMaxVersion);
}

// ---- round trips ----------------------------------------------------------------------------

std::set<std::string_view>& round_tripped() {
  static std::set<std::string_view> names;
  return names;
}

template <Message T>
bool register_round_trip() {
  round_tripped().insert(T::kName);
  return true;
}

template <Message T>
void check_round_trip(int16_t version) {
  Arena arena;
  T value;
  fill(value, version, arena);
  const std::string bytes = encode_message(value, version);
  RC_ASSERT(bytes.size() == value.encoded_size(version));
  RC_ASSERT(bytes.size() >= T::min_encoded_size(version));
  T decoded;
  const absl::Status status = decode_message(bytes, version, decoded);
  RC_ASSERT(status.ok());
  RC_ASSERT(decoded == value);
  // Every strict prefix fails, and says which field it ran out in.
  const size_t cut = *rc::gen::inRange<size_t>(0, bytes.size() + 1);
  if (cut < bytes.size()) {
    const absl::Status truncated =
        decode_message(std::string_view(bytes).substr(0, cut), version, decoded);
    RC_ASSERT(!truncated.ok());
    RC_ASSERT(std::string(truncated.message()).find(T::kName) != std::string::npos);
  }
}

// One property per message, each case covering every version, so a failure names the message.
#define KAFKA_ROUND_TRIP(T)                                                \
  [[maybe_unused]] const bool kRegistered##T = register_round_trip<T>();   \
  RC_GTEST_PROP(KafkaRoundTrip, T, ()) {                                   \
    for (int16_t version : versions_of<T>()) check_round_trip<T>(version); \
  }

KAFKA_ROUND_TRIP(RequestHeader)
KAFKA_ROUND_TRIP(ResponseHeader)
KAFKA_ROUND_TRIP(ProduceRequest)
KAFKA_ROUND_TRIP(ProduceResponse)
KAFKA_ROUND_TRIP(FetchRequest)
KAFKA_ROUND_TRIP(FetchResponse)
KAFKA_ROUND_TRIP(ListOffsetsRequest)
KAFKA_ROUND_TRIP(ListOffsetsResponse)
KAFKA_ROUND_TRIP(MetadataRequest)
KAFKA_ROUND_TRIP(MetadataResponse)
KAFKA_ROUND_TRIP(ApiVersionsRequest)
KAFKA_ROUND_TRIP(ApiVersionsResponse)
KAFKA_ROUND_TRIP(CreateTopicsRequest)
KAFKA_ROUND_TRIP(CreateTopicsResponse)
KAFKA_ROUND_TRIP(DeleteTopicsRequest)
KAFKA_ROUND_TRIP(DeleteTopicsResponse)
KAFKA_ROUND_TRIP(DeleteRecordsRequest)
KAFKA_ROUND_TRIP(DeleteRecordsResponse)
KAFKA_ROUND_TRIP(DescribeConfigsRequest)
KAFKA_ROUND_TRIP(DescribeConfigsResponse)
KAFKA_ROUND_TRIP(CreatePartitionsRequest)
KAFKA_ROUND_TRIP(CreatePartitionsResponse)
KAFKA_ROUND_TRIP(DescribeClusterRequest)
KAFKA_ROUND_TRIP(DescribeClusterResponse)
KAFKA_ROUND_TRIP(LeaderAndIsrRequest)
KAFKA_ROUND_TRIP(LeaderAndIsrResponse)
KAFKA_ROUND_TRIP(StopReplicaRequest)
KAFKA_ROUND_TRIP(StopReplicaResponse)
KAFKA_ROUND_TRIP(UpdateMetadataRequest)
KAFKA_ROUND_TRIP(UpdateMetadataResponse)
KAFKA_ROUND_TRIP(ControlledShutdownRequest)
KAFKA_ROUND_TRIP(ControlledShutdownResponse)
KAFKA_ROUND_TRIP(OffsetForLeaderEpochRequest)
KAFKA_ROUND_TRIP(OffsetForLeaderEpochResponse)
KAFKA_ROUND_TRIP(ElectLeadersRequest)
KAFKA_ROUND_TRIP(ElectLeadersResponse)
KAFKA_ROUND_TRIP(AlterPartitionReassignmentsRequest)
KAFKA_ROUND_TRIP(AlterPartitionReassignmentsResponse)
KAFKA_ROUND_TRIP(ListPartitionReassignmentsRequest)
KAFKA_ROUND_TRIP(ListPartitionReassignmentsResponse)
KAFKA_ROUND_TRIP(OffsetCommitRequest)
KAFKA_ROUND_TRIP(OffsetCommitResponse)
KAFKA_ROUND_TRIP(OffsetFetchRequest)
KAFKA_ROUND_TRIP(OffsetFetchResponse)
KAFKA_ROUND_TRIP(FindCoordinatorRequest)
KAFKA_ROUND_TRIP(FindCoordinatorResponse)
KAFKA_ROUND_TRIP(JoinGroupRequest)
KAFKA_ROUND_TRIP(JoinGroupResponse)
KAFKA_ROUND_TRIP(HeartbeatRequest)
KAFKA_ROUND_TRIP(HeartbeatResponse)
KAFKA_ROUND_TRIP(LeaveGroupRequest)
KAFKA_ROUND_TRIP(LeaveGroupResponse)
KAFKA_ROUND_TRIP(SyncGroupRequest)
KAFKA_ROUND_TRIP(SyncGroupResponse)
KAFKA_ROUND_TRIP(DescribeGroupsRequest)
KAFKA_ROUND_TRIP(DescribeGroupsResponse)
KAFKA_ROUND_TRIP(ListGroupsRequest)
KAFKA_ROUND_TRIP(ListGroupsResponse)
KAFKA_ROUND_TRIP(DeleteGroupsRequest)
KAFKA_ROUND_TRIP(DeleteGroupsResponse)
KAFKA_ROUND_TRIP(OffsetDeleteRequest)
KAFKA_ROUND_TRIP(OffsetDeleteResponse)
KAFKA_ROUND_TRIP(InitProducerIdRequest)
KAFKA_ROUND_TRIP(InitProducerIdResponse)

template <class... T>
std::vector<std::string_view> names_of(TypeList<T...>) {
  return {T::kName...};
}

TEST(KafkaRoundTrip, EveryGeneratedMessageHasAProperty) {
  std::vector<std::string_view> all = names_of(AllRequests{});
  for (std::string_view name : names_of(AllResponses{})) all.push_back(name);
  for (std::string_view name : names_of(AllHeaders{})) all.push_back(name);
  EXPECT_EQ(all.size(), 2 * kApis.size() + 2);
  for (std::string_view name : all) {
    EXPECT_TRUE(round_tripped().count(name)) << name << " has no KAFKA_ROUND_TRIP";
  }
}

// Whole frames: header at the version the api calls for, then the body.
RC_GTEST_PROP(KafkaRoundTrip, RequestFrames, ()) {
  const int16_t version = *rc::gen::elementOf(versions_of<ProduceRequest>());
  Arena arena;
  ProduceRequest body;
  fill(body, version, arena);
  const auto client_id = *rc::gen::maybe(small_string());
  const auto correlation_id = *rc::gen::arbitrary<int32_t>();
  std::string frame;
  append_request_frame(body, version, correlation_id,
                       client_id ? std::optional<std::string>(*client_id) : std::nullopt, frame);
  RequestHeader header;
  std::string_view rest;
  RC_ASSERT(decode_request_header(std::string_view(frame).substr(4), header, rest).ok());
  RC_ASSERT(header.request_api_key == 0);
  RC_ASSERT(header.request_api_version == version);
  RC_ASSERT(header.correlation_id == correlation_id);
  RC_ASSERT(header.client_id ==
            (client_id ? std::optional<std::string>(*client_id) : std::nullopt));
  ProduceRequest decoded;
  RC_ASSERT(decode_message(rest, version, decoded).ok());
  RC_ASSERT(decoded == body);
}

// ---- hostile input --------------------------------------------------------------------------

// A decoded message is bigger in memory than on the wire (an empty compact string is 1 byte on
// the wire and a 32-byte std::string in a vector; a struct's sizeof against its smallest
// encoding), but only by a bounded factor per input byte, since every element a count admits
// must really be in the input (check_count) and vectors are reserved exactly. On top of that
// ratio: string contents (at most the input again) and the error message, whose path grows by
// one context per nesting level (at most a few hundred bytes, copied a few times).
constexpr size_t kExpansionMax = 64;
constexpr size_t kSlackBytes = 4096;

// The largest memory-per-wire-byte ratio of any array element type of T, over the versions
// that carry the array; the bound above holds only if this stays below kExpansionMax (checked
// by a test).
template <class T>
size_t element_ratio(int16_t version, bool flexible) {
  if constexpr (wire::Struct<T>) {
    return sizeof(T) / std::max<size_t>(1, T::min_encoded_size(version));
  } else {
    return sizeof(T) / wire::Element<T>::min_size(flexible);
  }
}

template <class T>
size_t max_ratio(const T&, int16_t, bool);

template <class T>
size_t field_ratio(const T& field, int16_t version, bool flexible) {
  if constexpr (Message<T>) {
    return max_ratio(field, version, flexible);
  } else {
    return 0;
  }
}
template <class T>
size_t field_ratio(const std::vector<T>&, int16_t version, bool flexible) {
  size_t ratio = element_ratio<T>(version, flexible);
  if constexpr (Message<T>) ratio = std::max(ratio, max_ratio(T{}, version, flexible));
  return ratio;
}
template <class T>
size_t field_ratio(const std::optional<T>& field, int16_t version, bool flexible) {
  return field_ratio(field.value_or(T{}), version, flexible);
}

template <class T>
size_t max_ratio(const T& message, int16_t version, bool flexible) {
  size_t ratio = 0;
  for_each_field(message, [&](const FieldInfo& info, const auto& field) {
    if (info.versions.contains(version)) {
      ratio = std::max(ratio, field_ratio(field, version, flexible));
    }
  });
  return ratio;
}

template <class... T>
size_t max_ratio_of(TypeList<T...>) {
  size_t ratio = 0;
  (
      [&] {
        for (int16_t v : versions_of<T>()) {
          ratio = std::max(ratio, max_ratio(T{}, v, T::kFlexibleVersions.contains(v)));
        }
      }(),
      ...);
  return ratio;
}

TEST(KafkaHostile, ExpansionBoundCoversEveryType) {
  const size_t ratio = std::max(
      {max_ratio_of(AllRequests{}), max_ratio_of(AllResponses{}), max_ratio_of(AllHeaders{})});
  // Two more per byte: string contents (n + 1 bytes for n + 1 on the wire at least).
  EXPECT_LE(ratio + 2, kExpansionMax) << "largest element expansion " << ratio;
}

// Decodes `input` as T at `version`: never a crash, allocation bounded by the input, and a
// success re-encodes to bytes that decode to the same value (decoding normalises: unknown
// tagged fields vanish, a non-zero bool byte is true).
template <Message T>
void decode_hostile(std::string_view input, int16_t version) {
  T decoded;
  testing::AllocationScope scope;
  const absl::Status status = decode_message(input, version, decoded);
  const testing::Allocations allocated = scope.stop();
  RC_ASSERT(allocated.total_bytes <= kExpansionMax * input.size() + kSlackBytes);
  if (!status.ok()) {
    RC_ASSERT(status.code() == absl::StatusCode::kDataLoss);
    return;
  }
  const std::string again = encode_message(decoded, version);
  RC_ASSERT(again.size() == decoded.encoded_size(version));
  T redecoded;
  RC_ASSERT(decode_message(again, version, redecoded).ok());
  RC_ASSERT(redecoded == decoded);
}

template <Message T>
void decode_hostile_every_version(std::string_view input) {
  // One below and one above the range too: refused, cleanly.
  for (int v = T::kMinVersion - 1; v <= T::kMaxVersion + 1; ++v) {
    decode_hostile<T>(input, static_cast<int16_t>(v));
  }
}

template <class... T>
void decode_as_all(std::string_view input, TypeList<T...>) {
  (decode_hostile_every_version<T>(input), ...);
}

void decode_as_everything(std::string_view input) {
  decode_as_all(input, AllRequests{});
  decode_as_all(input, AllResponses{});
  decode_as_all(input, AllHeaders{});
  RequestHeader header;
  std::string_view body;
  testing::AllocationScope scope;
  (void)decode_request_header(input, header, body);
  RC_ASSERT(scope.stop().total_bytes <= kExpansionMax * input.size() + kSlackBytes);
}

// Arbitrary bytes, biased towards small values so that lengths and counts are often plausible.
RC_GTEST_PROP(KafkaHostile, ArbitraryBytesNeverCrashDecoders, ()) {
  const auto input = *rc::gen::container<std::string>(rc::gen::weightedOneOf<char>(
      {{3, rc::gen::inRange<char>(0, 4)}, {1, rc::gen::arbitrary<char>()}}));
  decode_as_everything(input);
}

// A valid encoding with a few bytes overwritten, cut, inserted, or a length forced huge: close
// enough to valid that decoders get deep before failing.
std::string mutate(std::string bytes) {
  const int edits = *rc::gen::inRange(1, 4);
  for (int i = 0; i < edits && !bytes.empty(); ++i) {
    const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
    switch (*rc::gen::inRange(0, 5)) {
      case 0:
        bytes[at] = *rc::gen::arbitrary<char>();
        break;
      case 1:
        bytes.resize(at);
        break;
      case 2:  // a big-endian int32 or varint that claims a lot
        bytes.replace(
            at, std::min<size_t>(4, bytes.size() - at),
            *rc::gen::element(std::string("\x7f\xff\xff\xff"), std::string("\xff\xff\xff\xfe"),
                              std::string("\xff\xff\xff\x0f"), std::string("\x80\x80")));
        break;
      case 3:
        bytes.insert(at, 1, *rc::gen::arbitrary<char>());
        break;
      default:
        bytes.erase(at, 1);
        break;
    }
  }
  return bytes;
}

template <Message T>
void check_mutations() {
  for (int16_t version : versions_of<T>()) {
    Arena arena;
    T value;
    fill(value, version, arena);
    const std::string mutated = mutate(encode_message(value, version));
    decode_hostile<T>(mutated, version);
  }
}

template <class... T>
void check_mutations_of(TypeList<T...>) {
  (check_mutations<T>(), ...);
}

RC_GTEST_PROP(KafkaHostile, MutatedRequestsNeverCrashDecoders, ()) {
  check_mutations_of(AllRequests{});
  check_mutations_of(AllHeaders{});
}

RC_GTEST_PROP(KafkaHostile, MutatedResponsesNeverCrashDecoders, ()) {
  check_mutations_of(AllResponses{});
}

// A huge claimed count must not even cost a large allocation.
TEST(KafkaHostile, ClaimedCountsDoNotAllocate) {
  const std::string body("\xff\xff\x00\x00\x00\x01\x7f\xff\xff\xff", 10);
  ProduceRequest request;
  testing::AllocationScope scope;
  EXPECT_FALSE(decode_message(body, 2, request).ok());
  EXPECT_LE(scope.stop().largest_bytes, kSlackBytes);
}

}  // namespace
}  // namespace weir::kafka
