#include "coord/jute/messages.h"

#include <optional>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "coord/jute/frame.h"
#include "runtime/assert.h"

namespace weir::coord::jute {
namespace {

// ---- variant plumbing: the op tables below name record types, these turn them into
// alternative indexes and decode "the alternative at index i" without a switch per variant.

template <class T, class Variant>
struct IndexOf;
template <class T, class... Ts>
struct IndexOf<T, std::variant<Ts...>> {
  static constexpr size_t value = [] {
    size_t i = 0;
    const bool found = ((std::is_same_v<T, Ts> ? true : (++i, false)) || ...);
    return found ? i : sizeof...(Ts);
  }();
  static_assert(value < sizeof...(Ts), "type is not an alternative of the variant");
};
template <class T, class Variant>
constexpr std::optional<size_t> index_of() {
  return IndexOf<T, Variant>::value;
}

template <class Variant, size_t... I>
void decode_alternative(Variant& v, size_t index, Reader& r, std::index_sequence<I...>) {
  (void)((index == I && (v.template emplace<I>().decode(r), true)) || ...);
}
template <class Variant>
void decode_alternative(Variant& v, size_t index, Reader& r) {
  WEIR_ASSERT(index < std::variant_size_v<Variant>);
  decode_alternative(v, index, r, std::make_index_sequence<std::variant_size_v<Variant>>{});
}

template <class Variant>
void encode_variant(const Variant& v, Writer& w) {
  std::visit([&](const auto& body) { body.encode(w); }, v);
}
template <class Variant>
size_t variant_encoded_size(const Variant& v) {
  return std::visit([](const auto& body) { return body.encoded_size(); }, v);
}
template <class Variant>
std::ostream& print_variant(std::ostream& os, const Variant& v) {
  std::visit([&](const auto& body) { os << body; }, v);
  return os;
}

// ---- op tables --------------------------------------------------------------------------

std::optional<size_t> multi_op_alternative(OpCode op) {
  using V = MultiOpBody;
  switch (op) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
      return index_of<CreateRequest, V>();
    case OpCode::kCreateTTL:
      return index_of<CreateTTLRequest, V>();
    case OpCode::kDelete:
      return index_of<DeleteRequest, V>();
    case OpCode::kSetData:
      return index_of<SetDataRequest, V>();
    case OpCode::kCheck:
      return index_of<CheckVersionRequest, V>();
    case OpCode::kGetChildren:
      return index_of<GetChildrenRequest, V>();
    case OpCode::kGetData:
      return index_of<GetDataRequest, V>();
    default:
      return std::nullopt;
  }
}

// As ZooKeeper decodes multi results: the server reports createTTL and createContainer
// results as create2.
std::optional<size_t> multi_result_alternative(OpCode op) {
  using V = MultiResultBody;
  switch (op) {
    case OpCode::kCreate:
      return index_of<CreateResponse, V>();
    case OpCode::kCreate2:
      return index_of<Create2Response, V>();
    case OpCode::kDelete:
    case OpCode::kCheck:
      return index_of<EmptyBody, V>();
    case OpCode::kSetData:
      return index_of<SetDataResponse, V>();
    case OpCode::kGetChildren:
      return index_of<GetChildrenResponse, V>();
    case OpCode::kGetData:
      return index_of<GetDataResponse, V>();
    case OpCode::kError:
      return index_of<ErrorResponse, V>();
    default:
      return std::nullopt;
  }
}

std::optional<size_t> request_alternative(OpCode op) {
  using V = RequestBody;
  switch (op) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
      return index_of<CreateRequest, V>();
    case OpCode::kCreateTTL:
      return index_of<CreateTTLRequest, V>();
    case OpCode::kDelete:
      return index_of<DeleteRequest, V>();
    case OpCode::kExists:
      return index_of<ExistsRequest, V>();
    case OpCode::kGetData:
      return index_of<GetDataRequest, V>();
    case OpCode::kSetData:
      return index_of<SetDataRequest, V>();
    case OpCode::kGetACL:
      return index_of<GetACLRequest, V>();
    case OpCode::kSetACL:
      return index_of<SetACLRequest, V>();
    case OpCode::kGetChildren:
      return index_of<GetChildrenRequest, V>();
    case OpCode::kGetChildren2:
      return index_of<GetChildren2Request, V>();
    case OpCode::kSync:
      return index_of<SyncRequest, V>();
    case OpCode::kCheck:
      return index_of<CheckVersionRequest, V>();
    case OpCode::kMulti:
    case OpCode::kMultiRead:
      return index_of<MultiRequest, V>();
    case OpCode::kReconfig:
      return index_of<ReconfigRequest, V>();
    case OpCode::kCheckWatches:
      return index_of<CheckWatchesRequest, V>();
    case OpCode::kRemoveWatches:
      return index_of<RemoveWatchesRequest, V>();
    case OpCode::kAuth:
      return index_of<AuthPacket, V>();
    case OpCode::kSetWatches:
      return index_of<SetWatches, V>();
    case OpCode::kSetWatches2:
      return index_of<SetWatches2, V>();
    case OpCode::kSasl:
      return index_of<GetSASLRequest, V>();
    case OpCode::kGetEphemerals:
      return index_of<GetEphemeralsRequest, V>();
    case OpCode::kGetAllChildrenNumber:
      return index_of<GetAllChildrenNumberRequest, V>();
    case OpCode::kAddWatch:
      return index_of<AddWatchRequest, V>();
    case OpCode::kPing:
    case OpCode::kCloseSession:
    case OpCode::kWhoAmI:
      return index_of<EmptyBody, V>();
    default:
      return std::nullopt;
  }
}

std::optional<size_t> response_alternative(OpCode op) {
  using V = ResponseBody;
  switch (op) {
    case OpCode::kCreate:
      return index_of<CreateResponse, V>();
    case OpCode::kCreate2:
    case OpCode::kCreateTTL:
    case OpCode::kCreateContainer:
      return index_of<Create2Response, V>();
    case OpCode::kExists:
      return index_of<ExistsResponse, V>();
    case OpCode::kGetData:
    case OpCode::kReconfig:
      return index_of<GetDataResponse, V>();
    case OpCode::kSetData:
      return index_of<SetDataResponse, V>();
    case OpCode::kGetACL:
      return index_of<GetACLResponse, V>();
    case OpCode::kSetACL:
      return index_of<SetACLResponse, V>();
    case OpCode::kGetChildren:
      return index_of<GetChildrenResponse, V>();
    case OpCode::kGetChildren2:
      return index_of<GetChildren2Response, V>();
    case OpCode::kSync:
      return index_of<SyncResponse, V>();
    case OpCode::kMulti:
    case OpCode::kMultiRead:
      return index_of<MultiResponse, V>();
    case OpCode::kSasl:
      return index_of<SetSASLResponse, V>();
    case OpCode::kGetEphemerals:
      return index_of<GetEphemeralsResponse, V>();
    case OpCode::kGetAllChildrenNumber:
      return index_of<GetAllChildrenNumberResponse, V>();
    case OpCode::kWhoAmI:
      return index_of<WhoAmIResponse, V>();
    case OpCode::kNotification:
      return index_of<WatcherEvent, V>();
    case OpCode::kDelete:
    case OpCode::kCheck:
    case OpCode::kPing:
    case OpCode::kCloseSession:
    case OpCode::kAuth:
    case OpCode::kSetWatches:
    case OpCode::kSetWatches2:
    case OpCode::kCheckWatches:
    case OpCode::kRemoveWatches:
    case OpCode::kAddWatch:
      return index_of<EmptyBody, V>();
    default:
      return std::nullopt;
  }
}

// The literal ZooKeeper writes in a multi's request headers and end marker.
constexpr int32_t kMultiUnused = -1;

void write_multi_end(Writer& w) {
  MultiHeader{.type = OpCode::kError, .done = true, .err = static_cast<ErrorCode>(kMultiUnused)}
      .encode(w);
}

std::string describe_op(OpCode op) {
  return absl::StrCat(static_cast<int32_t>(op), " (", std::string(op_code_name(op)), ")");
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const EmptyBody&) {
  return os << "EmptyBody{}";
}

// ---- multi ----------------------------------------------------------------------------------

bool multi_op_matches(OpCode type, const MultiOpBody& body) {
  return multi_op_alternative(type) == body.index();
}
bool multi_result_matches(OpCode type, const MultiResultBody& body) {
  return multi_result_alternative(type) == body.index();
}

void MultiRequest::encode(Writer& w) const {
  for (const MultiOp& op : ops) {
    WEIR_ASSERT_MSG(multi_op_matches(op.type, op.body), "multi op body does not match its type");
    MultiHeader{.type = op.type, .done = false, .err = static_cast<ErrorCode>(kMultiUnused)}.encode(
        w);
    encode_variant(op.body, w);
  }
  write_multi_end(w);
}

void MultiRequest::decode(Reader& r) {
  ops.clear();
  MultiHeader header;
  read_record(r, header, "MultiRequest.header");
  // Each round consumes at least a 9-byte header, so the loop ends with the input.
  while (r.ok() && !header.done) {
    const std::optional<size_t> index = multi_op_alternative(header.type);
    if (!index.has_value()) {
      r.fail("MultiRequest.header.type",
             absl::StrCat("op ", describe_op(header.type), " cannot be part of a multi"));
      return;
    }
    MultiOp& op = ops.emplace_back();
    op.type = header.type;
    decode_alternative(op.body, *index, r);
    if (!r.ok()) {
      add_index_context(r, "MultiRequest.ops", ops.size() - 1);
      return;
    }
    read_record(r, header, "MultiRequest.header");
  }
}

size_t MultiRequest::encoded_size() const {
  size_t n = MultiHeader::kMinBytes;  // end marker
  for (const MultiOp& op : ops) n += MultiHeader::kMinBytes + variant_encoded_size(op.body);
  return n;
}

void MultiResponse::encode(Writer& w) const {
  for (const MultiResult& result : results) {
    WEIR_ASSERT_MSG(multi_result_matches(result.type, result.body),
                    "multi result body does not match its type");
    const ErrorCode err =
        result.type == OpCode::kError ? std::get<ErrorResponse>(result.body).err : ErrorCode::kOk;
    MultiHeader{.type = result.type, .done = false, .err = err}.encode(w);
    encode_variant(result.body, w);
  }
  write_multi_end(w);
}

void MultiResponse::decode(Reader& r) {
  results.clear();
  MultiHeader header;
  read_record(r, header, "MultiResponse.header");
  while (r.ok() && !header.done) {
    const std::optional<size_t> index = multi_result_alternative(header.type);
    if (!index.has_value()) {
      r.fail("MultiResponse.header.type",
             absl::StrCat("op ", describe_op(header.type), " cannot be a multi result"));
      return;
    }
    MultiResult& result = results.emplace_back();
    result.type = header.type;
    decode_alternative(result.body, *index, r);
    if (!r.ok()) {
      add_index_context(r, "MultiResponse.results", results.size() - 1);
      return;
    }
    read_record(r, header, "MultiResponse.header");
  }
}

size_t MultiResponse::encoded_size() const {
  size_t n = MultiHeader::kMinBytes;
  for (const MultiResult& result : results) {
    n += MultiHeader::kMinBytes + variant_encoded_size(result.body);
  }
  return n;
}

std::ostream& operator<<(std::ostream& os, const MultiOp& op) {
  os << "MultiOp{type=" << op.type << ", body=";
  return print_variant(os, op.body) << '}';
}
std::ostream& operator<<(std::ostream& os, const MultiResult& result) {
  os << "MultiResult{type=" << result.type << ", body=";
  return print_variant(os, result.body) << '}';
}
std::ostream& operator<<(std::ostream& os, const MultiRequest& m) {
  os << "MultiRequest{";
  for (size_t i = 0; i < m.ops.size(); ++i) os << (i > 0 ? ", " : "") << m.ops[i];
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const MultiResponse& m) {
  os << "MultiResponse{";
  for (size_t i = 0; i < m.results.size(); ++i) os << (i > 0 ? ", " : "") << m.results[i];
  return os << '}';
}

// ---- requests -------------------------------------------------------------------------------

bool is_client_request_op(OpCode op) {
  return request_alternative(op).has_value();
}

bool request_body_matches(OpCode op, const RequestBody& body) {
  return request_alternative(op) == body.index();
}

absl::StatusOr<RequestBody> decode_request_body(OpCode op, Reader& r) {
  const std::optional<size_t> index = request_alternative(op);
  if (!index.has_value()) {
    return absl::UnimplementedError(
        absl::StrCat("jute: op code ", describe_op(op), " is not a client request"));
  }
  RequestBody body;
  decode_alternative(body, *index, r);
  if (!r.ok()) return r.status();
  return body;
}

absl::StatusOr<Request> decode_request(std::string_view frame) {
  Reader r(frame);
  Request request;
  request.header.decode(r);
  if (!r.ok()) return r.status();
  absl::StatusOr<RequestBody> body = decode_request_body(request.header.type, r);
  if (!body.ok()) return body.status();
  request.body = std::move(*body);
  request.trailing_bytes = r.remaining();
  return request;
}

void encode_request(const RequestHeader& header, const RequestBody& body, std::string& out) {
  WEIR_ASSERT_MSG(request_body_matches(header.type, body), "request body does not match its op");
  out.reserve(out.size() + kFrameLengthBytes + header.encoded_size() + variant_encoded_size(body));
  Writer w(out);
  const size_t token = w.begin_frame();
  header.encode(w);
  encode_variant(body, w);
  w.end_frame(token);
}

// ---- replies --------------------------------------------------------------------------------

bool response_body_matches(OpCode op, const ResponseBody& body) {
  return response_alternative(op) == body.index();
}

absl::StatusOr<ResponseBody> decode_response_body(OpCode op, ErrorCode err, Reader& r) {
  const std::optional<size_t> index = response_alternative(op);
  if (!index.has_value()) {
    return absl::UnimplementedError(
        absl::StrCat("jute: op code ", describe_op(op), " has no reply"));
  }
  ResponseBody body;
  if (err != ErrorCode::kOk) return body;  // EmptyBody
  decode_alternative(body, *index, r);
  if (!r.ok()) return r.status();
  return body;
}

absl::StatusOr<Reply> decode_reply(std::string_view frame, OpCode op) {
  Reader r(frame);
  Reply reply;
  reply.header.decode(r);
  if (!r.ok()) return r.status();
  absl::StatusOr<ResponseBody> body = decode_response_body(op, reply.header.err, r);
  if (!body.ok()) return body.status();
  reply.body = std::move(*body);
  reply.trailing_bytes = r.remaining();
  return reply;
}

absl::StatusOr<int32_t> peek_xid(std::string_view frame) {
  Reader r(frame);
  const int32_t xid = r.read_int("xid");
  if (!r.ok()) return r.status();
  return xid;
}

void encode_reply(OpCode op, const ReplyHeader& header, const ResponseBody& body,
                  std::string& out) {
  if (header.err != ErrorCode::kOk) {
    WEIR_ASSERT_MSG(std::holds_alternative<EmptyBody>(body), "an error reply carries no body");
  } else {
    WEIR_ASSERT_MSG(response_body_matches(op, body), "reply body does not match its op");
  }
  out.reserve(out.size() + kFrameLengthBytes + header.encoded_size() + variant_encoded_size(body));
  Writer w(out);
  const size_t token = w.begin_frame();
  header.encode(w);
  encode_variant(body, w);
  w.end_frame(token);
}

std::ostream& operator<<(std::ostream& os, const RequestBody& body) {
  return print_variant(os, body);
}
std::ostream& operator<<(std::ostream& os, const ResponseBody& body) {
  return print_variant(os, body);
}

}  // namespace weir::coord::jute
