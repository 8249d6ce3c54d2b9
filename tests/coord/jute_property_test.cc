// RapidCheck properties of the jute codec: every record round-trips, and no input (random or a
// mutated valid encoding) crashes a decoder, makes it allocate by a peer-chosen length, or
// decodes to something that does not re-encode consistently.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "coord/jute/jute.h"

namespace weir::coord::jute {
namespace testing {
void start_allocation_tracking();
size_t stop_allocation_tracking();
}  // namespace testing

namespace {

// ---- generators -----------------------------------------------------------------------------

template <class T>
concept Record = requires(T t) {
  T::kMinBytes;
  t.for_each_field([](std::string_view, auto&) {});
};

template <class T>
inline constexpr bool kIsJuteEnum =
    std::is_same_v<T, OpCode> || std::is_same_v<T, ErrorCode> || std::is_same_v<T, CreateMode> ||
    std::is_same_v<T, KeeperState> || std::is_same_v<T, EventType> ||
    std::is_same_v<T, WatcherType> || std::is_same_v<T, AddWatchMode>;

template <Record T>
void fill(T& record);
void fill(MultiRequest& multi);
void fill(MultiResponse& multi);

// Small vectors keep cases fast; arbitrary bytes in strings exercise escaping and lengths.
template <class T>
void fill_value(T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    v = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
  } else if constexpr (std::is_same_v<T, bool>) {
    v = *rc::gen::arbitrary<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    v = *rc::gen::arbitrary<T>();
  } else if constexpr (std::is_same_v<T, Zxid> || std::is_same_v<T, SessionId>) {
    v = T(*rc::gen::arbitrary<int64_t>());
  } else if constexpr (kIsJuteEnum<T>) {
    v = static_cast<T>(*rc::gen::arbitrary<int32_t>());
  } else if constexpr (Record<T>) {
    fill(v);
  } else {
    static_assert(sizeof(T) == 0, "no generator for this field type");
  }
}
template <class T>
void fill_value(std::vector<T>& v) {
  v.resize(*rc::gen::inRange<size_t>(0, 4));
  for (T& item : v) fill_value(item);
}
void fill_value(std::optional<bool>& v) {
  v.reset();
  if (*rc::gen::arbitrary<bool>()) v = *rc::gen::arbitrary<bool>();
}

template <Record T>
void fill(T& record) {
  record.for_each_field([](std::string_view, auto& field) { fill_value(field); });
}

template <Record T>
rc::Gen<T> arbitrary_record() {
  return rc::gen::exec([] {
    T t;
    fill(t);
    return t;
  });
}

// A value of the variant alternative for which `matches` holds, with arbitrary fields.
template <class Variant, class Pred, size_t I = 0>
Variant arbitrary_matching(const Pred& matches) {
  if constexpr (I == std::variant_size_v<Variant>) {
    RC_FAIL("no alternative matches");
    return Variant{};
  } else {
    Variant v(std::in_place_index<I>);
    if (!matches(v)) return arbitrary_matching<Variant, Pred, I + 1>(matches);
    if constexpr (requires { fill(std::get<I>(v)); }) fill(std::get<I>(v));
    return v;
  }
}

const std::vector<OpCode> kMultiOps = {
    OpCode::kCreate,    OpCode::kCreate2,     OpCode::kCreateContainer,
    OpCode::kCreateTTL, OpCode::kDelete,      OpCode::kSetData,
    OpCode::kCheck,     OpCode::kGetChildren, OpCode::kGetData};
const std::vector<OpCode> kMultiResults = {OpCode::kCreate,  OpCode::kCreate2, OpCode::kDelete,
                                           OpCode::kCheck,   OpCode::kSetData, OpCode::kGetChildren,
                                           OpCode::kGetData, OpCode::kError};

void fill(MultiRequest& multi) {
  multi.ops.resize(*rc::gen::inRange<size_t>(0, 5));
  for (MultiOp& op : multi.ops) {
    op.type = *rc::gen::elementOf(kMultiOps);
    op.body = arbitrary_matching<MultiOpBody>(
        [&](const MultiOpBody& b) { return multi_op_matches(op.type, b); });
  }
}

void fill(MultiResponse& multi) {
  multi.results.resize(*rc::gen::inRange<size_t>(0, 5));
  for (MultiResult& result : multi.results) {
    result.type = *rc::gen::elementOf(kMultiResults);
    result.body = arbitrary_matching<MultiResultBody>(
        [&](const MultiResultBody& b) { return multi_result_matches(result.type, b); });
  }
}

// Every op code the protocol names, plus a few it does not.
std::vector<OpCode> all_op_codes() {
  std::vector<OpCode> ops;
  for (int32_t v = -12; v <= 110; ++v) ops.push_back(static_cast<OpCode>(v));
  ops.push_back(static_cast<OpCode>(INT32_MIN));
  ops.push_back(static_cast<OpCode>(INT32_MAX));
  return ops;
}

std::vector<OpCode> client_request_ops() {
  std::vector<OpCode> ops;
  for (OpCode op : all_op_codes()) {
    if (is_client_request_op(op)) ops.push_back(op);
  }
  return ops;
}

std::vector<OpCode> reply_ops() {
  std::vector<OpCode> ops;
  for (OpCode op : all_op_codes()) {
    Reader r(std::string_view{});
    if (decode_response_body(op, ErrorCode::kSystemError, r).ok()) ops.push_back(op);
  }
  return ops;
}

}  // namespace
}  // namespace weir::coord::jute

namespace rc {

template <class T>
struct Arbitrary<T, std::enable_if_t<weir::coord::jute::Record<T>>> {
  static Gen<T> arbitrary() { return weir::coord::jute::arbitrary_record<T>(); }
};

template <class T>
struct Arbitrary<T, std::enable_if_t<std::is_same_v<T, weir::coord::jute::MultiRequest> ||
                                     std::is_same_v<T, weir::coord::jute::MultiResponse>>> {
  static Gen<T> arbitrary() {
    return gen::exec([] {
      T t;
      weir::coord::jute::fill(t);
      return t;
    });
  }
};

}  // namespace rc

namespace weir::coord::jute {
namespace {

// ---- round trips ----------------------------------------------------------------------------

std::set<std::string_view>& round_tripped() {
  static std::set<std::string_view> names;
  return names;
}

template <class T>
bool register_round_trip() {
  round_tripped().insert(T::kName);
  return true;
}

template <class T>
void check_round_trip(const T& value) {
  const std::string bytes = encode_to_string(value);
  RC_ASSERT(bytes.size() == value.encoded_size());
  RC_ASSERT(bytes.size() >= T::kMinBytes);
  absl::StatusOr<T> decoded = decode_exact<T>(bytes);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == value);
}

// One property per record, so a failure names the record and shrinks within it.
#define JUTE_ROUND_TRIP(T)                                               \
  [[maybe_unused]] const bool kRegistered##T = register_round_trip<T>(); \
  RC_GTEST_PROP(JuteRoundTrip, T, (const T& value)) {                    \
    check_round_trip(value);                                             \
  }

JUTE_ROUND_TRIP(Id)
JUTE_ROUND_TRIP(ACL)
JUTE_ROUND_TRIP(Stat)
JUTE_ROUND_TRIP(StatPersisted)
JUTE_ROUND_TRIP(ClientInfo)
JUTE_ROUND_TRIP(ConnectRequest)
JUTE_ROUND_TRIP(ConnectResponse)
JUTE_ROUND_TRIP(SetWatches)
JUTE_ROUND_TRIP(SetWatches2)
JUTE_ROUND_TRIP(RequestHeader)
JUTE_ROUND_TRIP(MultiHeader)
JUTE_ROUND_TRIP(AuthPacket)
JUTE_ROUND_TRIP(ReplyHeader)
JUTE_ROUND_TRIP(GetDataRequest)
JUTE_ROUND_TRIP(SetDataRequest)
JUTE_ROUND_TRIP(ReconfigRequest)
JUTE_ROUND_TRIP(SetDataResponse)
JUTE_ROUND_TRIP(GetSASLRequest)
JUTE_ROUND_TRIP(SetSASLRequest)
JUTE_ROUND_TRIP(SetSASLResponse)
JUTE_ROUND_TRIP(CreateRequest)
JUTE_ROUND_TRIP(CreateTTLRequest)
JUTE_ROUND_TRIP(DeleteRequest)
JUTE_ROUND_TRIP(GetChildrenRequest)
JUTE_ROUND_TRIP(GetAllChildrenNumberRequest)
JUTE_ROUND_TRIP(GetChildren2Request)
JUTE_ROUND_TRIP(CheckVersionRequest)
JUTE_ROUND_TRIP(GetMaxChildrenRequest)
JUTE_ROUND_TRIP(GetMaxChildrenResponse)
JUTE_ROUND_TRIP(SetMaxChildrenRequest)
JUTE_ROUND_TRIP(SyncRequest)
JUTE_ROUND_TRIP(SyncResponse)
JUTE_ROUND_TRIP(GetACLRequest)
JUTE_ROUND_TRIP(SetACLRequest)
JUTE_ROUND_TRIP(SetACLResponse)
JUTE_ROUND_TRIP(AddWatchRequest)
JUTE_ROUND_TRIP(WatcherEvent)
JUTE_ROUND_TRIP(ErrorResponse)
JUTE_ROUND_TRIP(CreateResponse)
JUTE_ROUND_TRIP(Create2Response)
JUTE_ROUND_TRIP(ExistsRequest)
JUTE_ROUND_TRIP(ExistsResponse)
JUTE_ROUND_TRIP(GetDataResponse)
JUTE_ROUND_TRIP(GetChildrenResponse)
JUTE_ROUND_TRIP(GetAllChildrenNumberResponse)
JUTE_ROUND_TRIP(GetChildren2Response)
JUTE_ROUND_TRIP(GetACLResponse)
JUTE_ROUND_TRIP(CheckWatchesRequest)
JUTE_ROUND_TRIP(RemoveWatchesRequest)
JUTE_ROUND_TRIP(GetEphemeralsRequest)
JUTE_ROUND_TRIP(GetEphemeralsResponse)
JUTE_ROUND_TRIP(WhoAmIResponse)
JUTE_ROUND_TRIP(MultiRequest)
JUTE_ROUND_TRIP(MultiResponse)

template <class... T>
std::vector<std::string_view> names_of(TypeList<T...>) {
  return {T::kName...};
}

TEST(JuteRoundTrip, EveryGeneratedRecordHasAProperty) {
  for (std::string_view name : names_of(AllRecords{})) {
    EXPECT_TRUE(round_tripped().count(name)) << name << " has no JUTE_ROUND_TRIP";
  }
}

RC_GTEST_PROP(JuteRoundTrip, RequestFrames, ()) {
  const RequestHeader header{.xid = *rc::gen::arbitrary<int32_t>(),
                             .type = *rc::gen::elementOf(client_request_ops())};
  const auto body = arbitrary_matching<RequestBody>(
      [&](const RequestBody& b) { return request_body_matches(header.type, b); });
  std::string stream;
  encode_request(header, body, stream);
  FrameDecoder decoder;
  RC_ASSERT(decoder.feed(stream).ok());
  const std::optional<std::string_view> frame = decoder.pop();
  RC_ASSERT(frame.has_value());
  RC_ASSERT(decoder.idle());
  absl::StatusOr<Request> decoded = decode_request(*frame);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(decoded->header == header);
  RC_ASSERT(decoded->body == body);
  RC_ASSERT(decoded->trailing_bytes == 0u);
}

RC_GTEST_PROP(JuteRoundTrip, ReplyFrames, ()) {
  const OpCode op = *rc::gen::elementOf(reply_ops());
  ReplyHeader header;
  fill(header);
  if (*rc::gen::arbitrary<bool>()) header.err = ErrorCode::kOk;
  ResponseBody body;  // EmptyBody: what an error reply carries
  if (header.err == ErrorCode::kOk) {
    body = arbitrary_matching<ResponseBody>(
        [&](const ResponseBody& b) { return response_body_matches(op, b); });
  }
  std::string stream;
  encode_reply(op, header, body, stream);
  absl::StatusOr<Reply> decoded = decode_reply(std::string_view(stream).substr(4), op);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(decoded->header == header);
  RC_ASSERT(decoded->body == body);
}

// ---- hostile input --------------------------------------------------------------------------

// Decoding may build in-memory structures larger than their encoding (a 4-byte empty string on
// the wire is a 32-byte std::string; a 9-byte delete result is a variant of ~120 bytes, and a
// growing vector doubles), but never in proportion to a length the input merely claims.
constexpr size_t kExpansionMax = 32;
constexpr size_t kSlackBytes = 1024;

// Tracks allocations for its lifetime, and stops even when an RC_ASSERT throws.
class Tracking {
 public:
  Tracking() { testing::start_allocation_tracking(); }
  ~Tracking() { stop(); }
  size_t stop() {
    if (!stopped_) largest_ = testing::stop_allocation_tracking();
    stopped_ = true;
    return largest_;
  }

 private:
  bool stopped_ = false;
  size_t largest_ = 0;
};

template <class Decode>
void check_bounded(const std::string& input, const Decode& decode) {
  Tracking tracking;
  decode();
  RC_ASSERT(tracking.stop() <= kExpansionMax * input.size() + kSlackBytes);
}

// Feeds `input` to every decoder. Whatever decodes must re-encode to something that decodes to
// the same value (decoding may normalise: null buffers become empty, non-zero booleans true).
template <class T>
void decode_as(const std::string& input) {
  check_bounded(input, [&] {
    absl::StatusOr<T> decoded = decode_prefix<T>(input);
    if (!decoded.ok()) return;
    const std::string again = encode_to_string(*decoded);
    absl::StatusOr<T> redecoded = decode_exact<T>(again);
    RC_ASSERT(redecoded.ok());
    RC_ASSERT(*redecoded == *decoded);
  });
  check_bounded(input, [&] { (void)decode_exact<T>(input); });
}

template <class... T>
void decode_as_every_record(const std::string& input, TypeList<T...>) {
  (decode_as<T>(input), ...);
}

void decode_as_everything(const std::string& input) {
  decode_as_every_record(input, AllRecords{});
  decode_as<MultiRequest>(input);
  decode_as<MultiResponse>(input);
  check_bounded(input, [&] { (void)decode_request(input); });
  for (OpCode op : all_op_codes()) {
    check_bounded(input, [&] {
      Reader r(input);
      (void)decode_request_body(op, r);
    });
    check_bounded(input, [&] { (void)decode_reply(input, op); });
  }
}

// Arbitrary bytes, biased towards small ints so lengths and counts are often plausible.
rc::Gen<std::string> hostile_bytes() {
  return rc::gen::container<std::string>(rc::gen::arbitrary<char>());
}

RC_GTEST_PROP(JuteHostile, ArbitraryBytesNeverCrashDecoders, ()) {
  decode_as_everything(*hostile_bytes());
}

// A valid encoding with a few bytes overwritten, a cut, or a length field forced huge:
// close enough to valid that decoders get deep before failing.
std::string mutate(std::string bytes) {
  const int edits = *rc::gen::inRange(1, 4);
  for (int i = 0; i < edits && !bytes.empty(); ++i) {
    const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
    switch (*rc::gen::inRange(0, 4)) {
      case 0:
        bytes[at] = *rc::gen::arbitrary<char>();
        break;
      case 1:
        bytes.resize(at);
        break;
      case 2:  // a big-endian 0x7fffffff or 0xffffffff where a length might be
        bytes.replace(
            at, std::min<size_t>(4, bytes.size() - at),
            *rc::gen::element(std::string("\x7f\xff\xff\xff"), std::string("\xff\xff\xff\xff"),
                              std::string("\xff\xff\xff\xfe")));
        break;
      default:
        bytes.insert(at, 1, *rc::gen::arbitrary<char>());
        break;
    }
  }
  return bytes;
}

RC_GTEST_PROP(JuteHostile, MutatedRequestsNeverCrashDecoders, ()) {
  const RequestHeader header{.xid = 1, .type = *rc::gen::elementOf(client_request_ops())};
  const auto body = arbitrary_matching<RequestBody>(
      [&](const RequestBody& b) { return request_body_matches(header.type, b); });
  std::string frame;
  encode_request(header, body, frame);
  decode_as_everything(mutate(frame.substr(4)));
}

RC_GTEST_PROP(JuteHostile, MutatedMultisNeverCrashDecoders,
              (const MultiRequest& request, const MultiResponse& response)) {
  decode_as_everything(mutate(encode_to_string(request)));
  decode_as_everything(mutate(encode_to_string(response)));
}

RC_GTEST_PROP(JuteHostile, MutatedConnectRequestsNeverCrashDecoders,
              (const ConnectRequest& request)) {
  decode_as<ConnectRequest>(mutate(encode_to_string(request)));
}

// The frame decoder on arbitrary streams cut into arbitrary reads: it never crashes, never
// allocates by a claimed length, every frame it returns is within the limit and exactly what
// the stream held, and it fails exactly when a length prefix is out of range.
RC_GTEST_PROP(JuteHostile, FrameDecoderOnArbitraryStreams, ()) {
  const size_t max = *rc::gen::inRange<size_t>(8, 200);
  std::string stream;
  const int frames = *rc::gen::inRange(0, 6);
  for (int i = 0; i < frames; ++i) {
    std::string body = *rc::gen::resize(250, hostile_bytes());
    Writer w(stream);
    const size_t token = w.begin_frame();
    stream += body;
    w.end_frame(token);
  }
  if (*rc::gen::arbitrary<bool>()) stream = mutate(stream);

  const auto reads =
      *rc::gen::nonEmpty(rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(1, 64)));
  FrameDecoder decoder(max);
  std::string reassembled;
  reassembled.reserve(stream.size());
  size_t pos = 0;
  absl::Status status;
  Tracking tracking;
  for (size_t i = 0; pos < stream.size() && status.ok(); ++i) {
    const size_t n = std::min(stream.size() - pos, reads[i % reads.size()]);
    status = decoder.feed(std::string_view(stream).substr(pos, n));
    pos += n;
    while (auto frame = decoder.pop()) {
      RC_ASSERT(frame->size() <= max);
      Writer w(reassembled);
      const size_t token = w.begin_frame();
      reassembled += *frame;
      w.end_frame(token);
    }
  }
  RC_ASSERT(tracking.stop() <= 2 * stream.size() + kSlackBytes);
  RC_ASSERT(stream.compare(0, reassembled.size(), reassembled) == 0);

  // Walk the stream's own length prefixes to predict the verdict.
  size_t at = 0;
  bool bad = false;
  while (at + 4 <= stream.size()) {
    const auto length =
        static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint8_t>(stream[at])) << 24) |
                             (static_cast<uint32_t>(static_cast<uint8_t>(stream[at + 1])) << 16) |
                             (static_cast<uint32_t>(static_cast<uint8_t>(stream[at + 2])) << 8) |
                             static_cast<uint32_t>(static_cast<uint8_t>(stream[at + 3])));
    if (length < 0 || static_cast<size_t>(length) > max) {
      bad = true;
      break;
    }
    at += 4 + static_cast<size_t>(length);
  }
  RC_ASSERT(decoder.failed() == bad);
  if (!bad) {
    RC_ASSERT(reassembled.size() + decoder.buffered_bytes() == stream.size());
    RC_ASSERT(decoder.idle() == (reassembled.size() == stream.size()));
  }
}

}  // namespace
}  // namespace weir::coord::jute
