// Known-answer and unit tests of the jute codec: exact bytes for hand-built messages, the
// error messages of malformed input, the frame decoder, and the op tables.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <variant>

#include "coord/jute/jute.h"

namespace weir::coord::jute {
namespace testing {
void start_allocation_tracking();
size_t stop_allocation_tracking();
}  // namespace testing

namespace {

// Builds bytes from a mix of byte values and string pieces, so expected encodings read like
// the wire: bytes({0, 0, 0, 2}, "/a").
class Bytes {
 public:
  Bytes& b(std::initializer_list<int> values) {
    for (int v : values) s_.push_back(static_cast<char>(v));
    return *this;
  }
  Bytes& str(std::string_view text) {
    s_.append(text);
    return *this;
  }
  Bytes& i32(int32_t v) {
    for (int i = 3; i >= 0; --i)
      s_.push_back(static_cast<char>(static_cast<uint32_t>(v) >> (8 * i)));
    return *this;
  }
  const std::string& get() const { return s_; }

 private:
  std::string s_;
};

std::string framed(const std::string& body) {
  return Bytes().i32(static_cast<int32_t>(body.size())).str(body).get();
}

// ---- known answers --------------------------------------------------------------------------

TEST(JuteKnownAnswer, ConnectRequest) {
  ConnectRequest req;
  req.protocolVersion = 0;
  req.lastZxidSeen = make_zxid(0x11223344, 0x55667788);
  req.timeOut = 30000;
  req.sessionId = SessionId(0);
  req.passwd = std::string(16, '\0');
  req.readOnly = false;
  const std::string expected = Bytes()
                                   .b({0, 0, 0, 0})
                                   .b({0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88})
                                   .b({0, 0, 0x75, 0x30})
                                   .b({0, 0, 0, 0, 0, 0, 0, 0})
                                   .b({0, 0, 0, 16})
                                   .str(std::string(16, '\0'))
                                   .b({0})
                                   .get();
  EXPECT_EQ(encode_to_string(req), expected);
  std::string frame;
  append_frame(frame, req);
  EXPECT_EQ(frame, framed(expected));
  EXPECT_EQ(frame.substr(0, 4), std::string("\0\0\0\x2d", 4));  // 45 bytes

  auto decoded = decode_exact<ConnectRequest>(expected);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, req);

  // Old clients stop after passwd: readOnly is then absent, not an error.
  auto old = decode_exact<ConnectRequest>(expected.substr(0, expected.size() - 1));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_FALSE(old->readOnly.has_value());
  EXPECT_EQ(old->passwd, req.passwd);
}

TEST(JuteKnownAnswer, CreateRequestWithAcl) {
  CreateRequest create;
  create.path = "/a";
  create.data = "hi";
  create.acl = {ACL{.perms = perms::kAll, .id = Id{.scheme = "world", .id = "anyone"}}};
  create.flags = CreateMode::kEphemeralSequential;
  // clang-format off: one wire field per line
  const std::string body = Bytes()
                               .b({0, 0, 0, 2})
                               .str("/a")  // path
                               .b({0, 0, 0, 2})
                               .str("hi")           // data
                               .b({0, 0, 0, 1})     // acl: one entry
                               .b({0, 0, 0, 0x1f})  //   perms
                               .b({0, 0, 0, 5})
                               .str("world")  //   id.scheme
                               .b({0, 0, 0, 6})
                               .str("anyone")    //   id.id
                               .b({0, 0, 0, 3})  // flags
                               .get();
  // clang-format on
  EXPECT_EQ(encode_to_string(create), body);
  EXPECT_EQ(create.encoded_size(), body.size());

  std::string frame;
  encode_request(RequestHeader{.xid = 7, .type = OpCode::kCreate}, create, frame);
  EXPECT_EQ(frame, framed(Bytes().b({0, 0, 0, 7, 0, 0, 0, 1}).str(body).get()));

  auto request = decode_request(frame.substr(4));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->header.xid, 7);
  EXPECT_EQ(request->header.type, OpCode::kCreate);
  ASSERT_TRUE(std::holds_alternative<CreateRequest>(request->body));
  EXPECT_EQ(std::get<CreateRequest>(request->body), create);
  EXPECT_EQ(request->trailing_bytes, 0u);
}

TEST(JuteKnownAnswer, ReplyHeader) {
  const ReplyHeader header{.xid = kPingXid, .zxid = make_zxid(1, 5), .err = ErrorCode::kNoNode};
  const std::string expected = Bytes()
                                   .b({0xff, 0xff, 0xff, 0xfe})
                                   .b({0, 0, 0, 1, 0, 0, 0, 5})
                                   .b({0xff, 0xff, 0xff, 0x9b})
                                   .get();
  EXPECT_EQ(encode_to_string(header), expected);
  auto decoded = decode_exact<ReplyHeader>(expected);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, header);
  EXPECT_EQ(zxid_epoch(decoded->zxid), 1u);
  EXPECT_EQ(zxid_counter(decoded->zxid), 5u);
}

TEST(JuteKnownAnswer, WatcherEventNotification) {
  const WatcherEvent event{
      .type = EventType::kNodeDataChanged, .state = KeeperState::kSyncConnected, .path = "/x"};
  const std::string event_bytes = Bytes().b({0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 2}).str("/x").get();
  EXPECT_EQ(encode_to_string(event), event_bytes);

  std::string frame;
  encode_reply(OpCode::kNotification,
               ReplyHeader{.xid = kNotificationXid, .zxid = Zxid(-1), .err = ErrorCode::kOk}, event,
               frame);
  const std::string header_bytes = Bytes()
                                       .b({0xff, 0xff, 0xff, 0xff})
                                       .b({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
                                       .b({0, 0, 0, 0})
                                       .get();
  EXPECT_EQ(frame, framed(header_bytes + event_bytes));

  const std::string_view body = std::string_view(frame).substr(4);
  ASSERT_EQ(*peek_xid(body), kNotificationXid);
  auto reply = decode_reply(body, OpCode::kNotification);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(std::get<WatcherEvent>(reply->body), event);
}

std::string multi_header(int32_t type, bool done, int32_t err) {
  return Bytes().i32(type).b({done ? 1 : 0}).i32(err).get();
}

// Built in place: GCC 12 sees a braced temporary MultiOp/MultiResult's variant as
// maybe-uninitialized when it is copied into the vector.
template <class Body>
void add_op(MultiRequest& multi, OpCode type, Body body) {
  MultiOp& op = multi.ops.emplace_back();
  op.type = type;
  op.body = std::move(body);
}
template <class Body>
void add_result(MultiResponse& multi, OpCode type, Body body) {
  MultiResult& result = multi.results.emplace_back();
  result.type = type;
  result.body = std::move(body);
}

TEST(JuteKnownAnswer, MultiRequest) {
  MultiRequest multi;
  add_op(multi, OpCode::kCreate, CreateRequest{.path = "/m"});
  add_op(multi, OpCode::kDelete, DeleteRequest{.path = "/d", .version = -1});
  add_op(multi, OpCode::kCheck, CheckVersionRequest{.path = "/c", .version = 5});
  const std::string expected =
      multi_header(1, false, -1) + Bytes().b({0, 0, 0, 2}).str("/m").i32(0).i32(0).i32(0).get() +
      multi_header(2, false, -1) + Bytes().b({0, 0, 0, 2}).str("/d").i32(-1).get() +
      multi_header(13, false, -1) + Bytes().b({0, 0, 0, 2}).str("/c").i32(5).get() +
      multi_header(-1, true, -1);
  EXPECT_EQ(encode_to_string(multi), expected);
  EXPECT_EQ(multi.encoded_size(), expected.size());
  auto decoded = decode_exact<MultiRequest>(expected);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, multi);
}

TEST(JuteKnownAnswer, MultiResponseWithError) {
  MultiResponse multi;
  add_result(multi, OpCode::kCreate, CreateResponse{.path = "/m"});
  add_result(multi, OpCode::kDelete, EmptyBody{});
  add_result(multi, OpCode::kError, ErrorResponse{.err = ErrorCode::kNoNode});
  const std::string expected = multi_header(1, false, 0) + Bytes().i32(2).str("/m").get() +
                               multi_header(2, false, 0) + multi_header(-1, false, -101) +
                               Bytes().i32(-101).get() + multi_header(-1, true, -1);
  EXPECT_EQ(encode_to_string(multi), expected);
  auto decoded = decode_exact<MultiResponse>(expected);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, multi);

  std::string frame;
  encode_reply(OpCode::kMulti, ReplyHeader{.xid = 3, .zxid = Zxid(9), .err = ErrorCode::kOk}, multi,
               frame);
  auto reply = decode_reply(std::string_view(frame).substr(4), OpCode::kMulti);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(std::get<MultiResponse>(reply->body), multi);
}

TEST(JuteKnownAnswer, GetDataResponseWithStat) {
  GetDataResponse response;
  response.data = "v";
  response.stat.czxid = Zxid(1);
  response.stat.mzxid = Zxid(2);
  response.stat.ctime = 3;
  response.stat.mtime = 4;
  response.stat.version = 5;
  response.stat.cversion = 6;
  response.stat.aversion = 7;
  response.stat.ephemeralOwner = SessionId(8);
  response.stat.dataLength = 1;
  response.stat.numChildren = 10;
  response.stat.pzxid = Zxid(11);
  const auto l64 = [](int v) { return Bytes().i32(0).i32(v).get(); };
  const std::string expected = Bytes().i32(1).str("v").get() + l64(1) + l64(2) + l64(3) + l64(4) +
                               Bytes().i32(5).i32(6).i32(7).get() + l64(8) +
                               Bytes().i32(1).i32(10).get() + l64(11);
  EXPECT_EQ(encode_to_string(response), expected);
  EXPECT_EQ(Stat::kMinBytes, 68u);
}

// ---- reader errors --------------------------------------------------------------------------

TEST(JuteReader, TruncationNamesTheField) {
  auto decoded = decode_exact<ReplyHeader>(std::string("\0\0\0\1\0\0", 6));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("ReplyHeader.zxid"), std::string::npos)
      << decoded.status();
}

TEST(JuteReader, HugeLengthIsAnErrorNotAnAllocation) {
  // A 10-byte frame whose passwd claims 2 GiB - 1.
  std::string bytes = Bytes().i32(0).i32(0x7fffffff).b({0, 0}).get();
  testing::start_allocation_tracking();
  Reader r(bytes);
  r.read_int("ConnectRequest.protocolVersion");
  r.read_buffer("ConnectRequest.passwd");
  const size_t largest = testing::stop_allocation_tracking();
  ASSERT_FALSE(r.ok());
  EXPECT_LT(largest, 1024u);
  EXPECT_NE(r.status().message().find("ConnectRequest.passwd"), std::string::npos);
  EXPECT_NE(r.status().message().find("2147483647"), std::string::npos) << r.status();

  // The same through a whole record decode.
  testing::start_allocation_tracking();
  auto decoded = decode_exact<ConnectRequest>(
      Bytes().i32(0).i32(0).i32(0).i32(0).i32(0).i32(0).i32(0x7fffffff).get());
  EXPECT_LT(testing::stop_allocation_tracking(), 1024u);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("ConnectRequest.passwd"), std::string::npos);
}

TEST(JuteReader, HugeVectorCountIsAnError) {
  const std::string bytes = Bytes().i32(0x10000000).i32(0).get();
  testing::start_allocation_tracking();
  auto decoded = decode_exact<GetChildrenResponse>(bytes);
  EXPECT_LT(testing::stop_allocation_tracking(), 1024u);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("GetChildrenResponse.children"), std::string::npos)
      << decoded.status();
}

TEST(JuteReader, NestedErrorsSayWhere) {
  // One ACL whose Id.id length overruns the input.
  const std::string bytes =
      Bytes().i32(2).str("/a").i32(0).i32(1).i32(31).i32(5).str("world").i32(100).get();
  auto decoded = decode_exact<CreateRequest>(bytes);
  ASSERT_FALSE(decoded.ok());
  const std::string message(decoded.status().message());
  EXPECT_NE(message.find("CreateRequest.acl[0]"), std::string::npos) << message;
  EXPECT_NE(message.find("Id.id"), std::string::npos) << message;
}

TEST(JuteReader, NullAndNegativeLengths) {
  // -1 is null: read as empty. Any other negative length is malformed.
  auto null_path = decode_exact<SyncRequest>(Bytes().i32(-1).get());
  ASSERT_TRUE(null_path.ok());
  EXPECT_EQ(null_path->path, "");
  auto null_children = decode_exact<GetChildrenResponse>(Bytes().i32(-1).get());
  ASSERT_TRUE(null_children.ok());
  EXPECT_TRUE(null_children->children.empty());
  EXPECT_FALSE(decode_exact<SyncRequest>(Bytes().i32(-2).get()).ok());
  EXPECT_FALSE(decode_exact<GetChildrenResponse>(Bytes().i32(-7).get()).ok());

  const std::string bytes = Bytes().i32(-1).i32(0).get();
  Reader r(bytes);
  bool is_null = false;
  EXPECT_EQ(r.read_buffer_view("a", &is_null), "");
  EXPECT_TRUE(is_null);
  EXPECT_EQ(r.read_buffer_view("b", &is_null), "");
  EXPECT_FALSE(is_null);
}

TEST(JuteReader, ErrorsAreSticky) {
  const std::string bytes = Bytes().b({0, 0}).get();
  Reader r(bytes);
  EXPECT_EQ(r.read_int("first"), 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.position(), 0u);
  EXPECT_EQ(r.read_bool("second"), false);  // a byte exists, but the reader has failed
  EXPECT_EQ(r.position(), 0u);
  EXPECT_NE(r.status().message().find("first"), std::string::npos);
}

TEST(JuteReader, BooleansAndTrailingBytes) {
  auto watch = decode_exact<ExistsRequest>(Bytes().i32(1).str("/").b({7}).get());
  ASSERT_TRUE(watch.ok());
  EXPECT_TRUE(watch->watch);  // any non-zero byte, as Java reads it
  auto trailing = decode_exact<SyncRequest>(Bytes().i32(1).str("/").b({0}).get());
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("trailing"), std::string::npos);
  size_t consumed = 0;
  auto prefix = decode_prefix<SyncRequest>(Bytes().i32(1).str("/").b({0}).get(), &consumed);
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(consumed, 5u);
}

// ---- frames ---------------------------------------------------------------------------------

TEST(JuteFrame, SplitsFramesFedByteByByte) {
  std::string stream;
  append_frame(stream, SyncRequest{.path = "/one"});
  append_frame(stream);  // an empty frame is legal framing
  append_frame(stream, RequestHeader{.xid = 1, .type = OpCode::kPing});
  FrameDecoder decoder;
  std::vector<std::string> frames;
  for (char c : stream) {
    ASSERT_TRUE(decoder.feed(std::string_view(&c, 1)).ok());
    while (auto frame = decoder.pop()) frames.emplace_back(*frame);
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], encode_to_string(SyncRequest{.path = "/one"}));
  EXPECT_EQ(frames[1], "");
  EXPECT_EQ(*decode_exact<RequestHeader>(frames[2]),
            (RequestHeader{.xid = 1, .type = OpCode::kPing}));
  EXPECT_TRUE(decoder.idle());
}

TEST(JuteFrame, ViewsStayValidUntilTheNextFeed) {
  std::string stream;
  append_frame(stream, SyncRequest{.path = "/a"});
  append_frame(stream, SyncRequest{.path = "/b"});
  FrameDecoder decoder;
  ASSERT_TRUE(decoder.feed(stream + std::string("\0\0", 2)).ok());
  const std::string_view first = *decoder.pop();
  const std::string_view second = *decoder.pop();
  EXPECT_FALSE(decoder.pop().has_value());
  EXPECT_FALSE(decoder.idle());
  EXPECT_EQ(decoder.buffered_bytes(), 2u);
  EXPECT_EQ(decode_exact<SyncRequest>(first)->path, "/a");
  EXPECT_EQ(decode_exact<SyncRequest>(second)->path, "/b");
}

TEST(JuteFrame, OversizeAndNegativeLengthsFail) {
  FrameDecoder decoder(100);
  EXPECT_TRUE(decoder.feed(framed(std::string(100, 'x'))).ok());
  EXPECT_EQ(decoder.pop()->size(), 100u);
  testing::start_allocation_tracking();
  absl::Status s = decoder.feed(Bytes().i32(101).get());
  EXPECT_LT(testing::stop_allocation_tracking(), 1024u);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("101"), std::string::npos) << s;
  EXPECT_TRUE(decoder.failed());
  EXPECT_EQ(decoder.feed(framed("ok")), s);  // stays failed
  EXPECT_FALSE(decoder.pop().has_value());

  FrameDecoder negative;
  s = negative.feed(Bytes().i32(-1).get());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);

  FrameDecoder huge;
  testing::start_allocation_tracking();
  s = huge.feed(Bytes().i32(0x7fffffff).str("abcdef").get());
  EXPECT_LT(testing::stop_allocation_tracking(), 1024u);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(huge.max_frame_bytes(), kDefaultMaxFrameBytes);
  EXPECT_GT(kDefaultMaxFrameBytes, kJuteMaxBuffer + 64);
}

TEST(JuteFrame, BadLengthAfterGoodFramesIsCaughtOnFeed) {
  std::string stream = framed("a") + Bytes().i32(-5).get();
  FrameDecoder decoder;
  EXPECT_FALSE(decoder.feed(stream).ok());
  EXPECT_FALSE(decoder.pop().has_value());
}

// ---- requests and replies -------------------------------------------------------------------

TEST(JuteMessages, UnknownOpIsUnimplemented) {
  std::string frame;
  Writer w(frame);
  RequestHeader{.xid = 12, .type = static_cast<OpCode>(77)}.encode(w);
  auto request = decode_request(frame);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(request.status().message().find("77"), std::string::npos);
  // The server can still answer the xid.
  EXPECT_EQ(decode_prefix<RequestHeader>(frame)->xid, 12);

  for (OpCode op :
       {OpCode::kNotification, OpCode::kCreateSession, OpCode::kDeleteContainer, OpCode::kError}) {
    EXPECT_FALSE(is_client_request_op(op)) << op;
  }
}

TEST(JuteMessages, EmptyBodiesAndTrailingBytes) {
  std::string frame;
  encode_request(RequestHeader{.xid = kPingXid, .type = OpCode::kPing}, EmptyBody{}, frame);
  EXPECT_EQ(frame, framed(Bytes().i32(-2).i32(11).get()));
  auto request = decode_request(std::string_view(frame).substr(4));
  ASSERT_TRUE(request.ok());
  EXPECT_TRUE(std::holds_alternative<EmptyBody>(request->body));

  // ZooKeeper ignores bytes past the body; we count them.
  auto with_tail = decode_request(Bytes().i32(1).i32(9).i32(1).str("/").b({1, 2, 3}).get());
  ASSERT_TRUE(with_tail.ok());
  EXPECT_EQ(with_tail->trailing_bytes, 3u);
}

TEST(JuteMessages, ErrorRepliesHaveNoBody) {
  std::string frame;
  encode_reply(OpCode::kGetData, ReplyHeader{.xid = 4, .zxid = Zxid(10), .err = ErrorCode::kNoNode},
               EmptyBody{}, frame);
  EXPECT_EQ(frame.size(), 4u + 16u);
  auto reply = decode_reply(std::string_view(frame).substr(4), OpCode::kGetData);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->header.err, ErrorCode::kNoNode);
  EXPECT_TRUE(std::holds_alternative<EmptyBody>(reply->body));
}

TEST(JuteMessages, MultiRejectsOpsThatCannotBeInAMulti) {
  const std::string bytes =
      multi_header(9, false, -1) + Bytes().i32(1).str("/").get() + multi_header(-1, true, -1);
  auto decoded = decode_exact<MultiRequest>(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("sync"), std::string::npos) << decoded.status();

  // An unterminated multi is truncated input, not a hang or a crash.
  auto unterminated =
      decode_exact<MultiRequest>(multi_header(2, false, -1) + Bytes().i32(1).str("/").i32(0).get());
  ASSERT_FALSE(unterminated.ok());
  EXPECT_NE(unterminated.status().message().find("MultiRequest.header"), std::string::npos);
}

// The worst case for in-memory expansion: a maximal frame of the smallest possible ops. Memory
// stays a fixed multiple of the frame (no claimed length is ever trusted).
TEST(JuteMessages, MaximalMultiOfTinyOpsStaysBounded) {
  MultiRequest multi;
  constexpr size_t kDeleteOpBytes = MultiHeader::kMinBytes + DeleteRequest::kMinBytes;
  for (size_t size = MultiRequest::kMinBytes + RequestHeader::kMinBytes;
       size + kDeleteOpBytes <= kDefaultMaxFrameBytes; size += kDeleteOpBytes) {
    add_op(multi, OpCode::kDelete, DeleteRequest{});
  }
  std::string frame;
  encode_request(RequestHeader{.xid = 1, .type = OpCode::kMulti}, multi, frame);
  const std::string_view body = std::string_view(frame).substr(4);
  ASSERT_LE(body.size(), kDefaultMaxFrameBytes);
  testing::start_allocation_tracking();
  auto request = decode_request(body);
  const size_t largest = testing::stop_allocation_tracking();
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(std::get<MultiRequest>(request->body).ops.size(), multi.ops.size());
  EXPECT_LE(largest, 32 * body.size());
}

TEST(JuteMessages, CreateVariantsShareARecordButNotAReply) {
  for (OpCode op : {OpCode::kCreate, OpCode::kCreate2, OpCode::kCreateContainer}) {
    EXPECT_TRUE(request_body_matches(op, CreateRequest{})) << op;
  }
  EXPECT_TRUE(request_body_matches(OpCode::kCreateTTL, CreateTTLRequest{}));
  EXPECT_TRUE(response_body_matches(OpCode::kCreate, CreateResponse{}));
  EXPECT_TRUE(response_body_matches(OpCode::kCreate2, Create2Response{}));
  EXPECT_TRUE(response_body_matches(OpCode::kCreateTTL, Create2Response{}));
  EXPECT_FALSE(response_body_matches(OpCode::kCreate, Create2Response{}));
  EXPECT_TRUE(multi_op_matches(OpCode::kCreate2, CreateRequest{}));
  EXPECT_FALSE(multi_result_matches(OpCode::kCreateTTL, Create2Response{}));
}

// ---- constants and printing -----------------------------------------------------------------

TEST(JuteConstants, NamesAndCreateModes) {
  EXPECT_EQ(error_code_name(ErrorCode::kNoNode), "NoNode");
  EXPECT_EQ(error_code_name(static_cast<ErrorCode>(-9999)), "unknown");
  EXPECT_EQ(op_code_name(OpCode::kCreateTTL), "createTTL");
  EXPECT_TRUE(is_known_error_code(-127));
  EXPECT_FALSE(is_known_error_code(-126));
  EXPECT_TRUE(is_known_op_code(107));
  EXPECT_FALSE(is_known_op_code(10));

  EXPECT_TRUE(is_ephemeral(CreateMode::kEphemeralSequential));
  EXPECT_FALSE(is_ephemeral(CreateMode::kContainer));
  EXPECT_TRUE(is_sequential(CreateMode::kPersistentSequentialWithTtl));
  EXPECT_FALSE(is_sequential(CreateMode::kPersistentWithTtl));
  EXPECT_TRUE(is_container(CreateMode::kContainer));
  EXPECT_TRUE(is_ttl(CreateMode::kPersistentWithTtl));
  EXPECT_FALSE(is_ttl(CreateMode::kPersistent));
  EXPECT_TRUE(is_valid_create_mode(6));
  EXPECT_FALSE(is_valid_create_mode(7));
  EXPECT_FALSE(is_valid_create_mode(-1));
  EXPECT_EQ(perms::kAll, 31);
}

TEST(JuteConstants, PrintingEscapesBytes) {
  std::ostringstream os;
  os << CreateRequest{
      .path = "/a\"b", .data = std::string("\0\xff", 2), .flags = CreateMode::kEphemeral};
  EXPECT_EQ(os.str(),
            "CreateRequest{path=\"/a\\\"b\", data=\"\\x00\\xff\", acl=[], flags=EPHEMERAL(1)}");
  std::ostringstream long_data;
  long_data << SetSASLResponse{.token = std::string(1000, 'z')};
  EXPECT_NE(long_data.str().find("(1000 bytes)"), std::string::npos);
  EXPECT_LT(long_data.str().size(), 200u);
}

}  // namespace
}  // namespace weir::coord::jute
