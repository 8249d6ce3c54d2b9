// Whole requests and replies of the ZooKeeper client protocol: which body follows a
// RequestHeader or ReplyHeader for each op code, the multi framing, and one-call decoding of a
// frame into a typed message. It exists so that the server and the client dispatch on a
// std::variant instead of each re-deriving the op-to-record table, and so that an unknown op
// or a malformed body is an error status, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "coord/jute/constants.h"
#include "coord/jute/reader.h"
#include "coord/jute/records.h"
#include "coord/jute/writer.h"

namespace weir::coord::jute {

// The body of a message that has none (ping, closeSession, whoAmI requests; delete, setWatches
// and every error replies): lets every op map to exactly one body type.
struct EmptyBody {
  static constexpr std::string_view kName = "EmptyBody";
  static constexpr size_t kMinBytes = 0;
  void encode(Writer&) const {}
  void decode(Reader&) {}
  size_t encoded_size() const { return 0; }
  friend bool operator==(const EmptyBody&, const EmptyBody&) = default;
};
std::ostream& operator<<(std::ostream& os, const EmptyBody&);

// ---- multi ----------------------------------------------------------------------------------
// A multi is a sequence of (MultiHeader{type, done=false, err=-1}, op body) ended by
// MultiHeader{-1, true, -1}; its reply is (MultiHeader{type, false, err}, result body) ended
// the same way. A failed op's result has type kError and an ErrorResponse body.

using MultiOpBody = std::variant<CreateRequest, CreateTTLRequest, DeleteRequest, SetDataRequest,
                                 CheckVersionRequest, GetChildrenRequest, GetDataRequest>;

// One op of a multi (or multiRead). `type` matters beyond the body: create, create2 and
// createContainer share CreateRequest.
struct MultiOp {
  OpCode type{};
  MultiOpBody body;
  friend bool operator==(const MultiOp&, const MultiOp&) = default;
};
std::ostream& operator<<(std::ostream& os, const MultiOp& op);

// The body of a multi or multiRead request.
struct MultiRequest {
  static constexpr std::string_view kName = "MultiRequest";
  static constexpr size_t kMinBytes = 9;  // the end marker alone
  std::vector<MultiOp> ops;
  void encode(Writer& w) const;
  void decode(Reader& r);
  size_t encoded_size() const;
  friend bool operator==(const MultiRequest&, const MultiRequest&) = default;
};
std::ostream& operator<<(std::ostream& os, const MultiRequest& m);

using MultiResultBody = std::variant<EmptyBody, CreateResponse, Create2Response, SetDataResponse,
                                     GetChildrenResponse, GetDataResponse, ErrorResponse>;

// One result of a multi. Delete and check results have an EmptyBody; failed ops have type
// kError and an ErrorResponse (whose err also goes into the MultiHeader).
struct MultiResult {
  OpCode type{};
  MultiResultBody body;
  friend bool operator==(const MultiResult&, const MultiResult&) = default;
};
std::ostream& operator<<(std::ostream& os, const MultiResult& result);

// The body of a multi or multiRead reply.
struct MultiResponse {
  static constexpr std::string_view kName = "MultiResponse";
  static constexpr size_t kMinBytes = 9;
  std::vector<MultiResult> results;
  void encode(Writer& w) const;
  void decode(Reader& r);
  size_t encoded_size() const;
  friend bool operator==(const MultiResponse&, const MultiResponse&) = default;
};
std::ostream& operator<<(std::ostream& os, const MultiResponse& m);

// Whether `body` is the record that op `type` carries inside a multi.
bool multi_op_matches(OpCode type, const MultiOpBody& body);
bool multi_result_matches(OpCode type, const MultiResultBody& body);

// ---- requests -------------------------------------------------------------------------------

using RequestBody =
    std::variant<EmptyBody, CreateRequest, CreateTTLRequest, DeleteRequest, ExistsRequest,
                 GetDataRequest, SetDataRequest, GetACLRequest, SetACLRequest, GetChildrenRequest,
                 GetChildren2Request, SyncRequest, CheckVersionRequest, MultiRequest,
                 ReconfigRequest, CheckWatchesRequest, RemoveWatchesRequest, AuthPacket, SetWatches,
                 SetWatches2, GetSASLRequest, GetEphemeralsRequest, GetAllChildrenNumberRequest,
                 AddWatchRequest>;

// A request after the handshake: what the header's op code says, decoded.
struct Request {
  RequestHeader header;
  RequestBody body;
  // Bytes after the body. ZooKeeper ignores them and so do we; a server may trace them.
  size_t trailing_bytes = 0;
};

// Whether clients may send `op` (and so whether decode_request_body knows its body).
bool is_client_request_op(OpCode op);
// Whether `body` is the record `op` carries.
bool request_body_matches(OpCode op, const RequestBody& body);

// Decodes the body of a request with op code `op` from `r`. Unimplemented for op codes that
// clients do not send (unknown ones, notification, createSession, deleteContainer, error);
// DataLoss, naming the field, for a malformed body.
absl::StatusOr<RequestBody> decode_request_body(OpCode op, Reader& r);
// Decodes a whole frame body: RequestHeader, then the body its op code calls for. On an
// Unimplemented error a server still owes the client a reply: decode_prefix<RequestHeader>
// gives the xid to answer with ErrorCode::kUnimplemented.
absl::StatusOr<Request> decode_request(std::string_view frame);
// Appends one frame: length, header, body. The body must match header.type.
void encode_request(const RequestHeader& header, const RequestBody& body, std::string& out);

// ---- replies --------------------------------------------------------------------------------

using ResponseBody =
    std::variant<EmptyBody, CreateResponse, Create2Response, ExistsResponse, GetDataResponse,
                 SetDataResponse, GetACLResponse, SetACLResponse, GetChildrenResponse,
                 GetChildren2Response, SyncResponse, MultiResponse, SetSASLResponse,
                 GetEphemeralsResponse, GetAllChildrenNumberResponse, WhoAmIResponse, WatcherEvent>;

struct Reply {
  ReplyHeader header;
  ResponseBody body;
  size_t trailing_bytes = 0;
};

// Whether `body` is the record a successful reply to `op` carries (a watch notification is
// the reply to kNotification). Replies with a non-Ok err carry EmptyBody.
bool response_body_matches(OpCode op, const ResponseBody& body);

// Decodes the body of a reply to `op` whose header said `err`. Per the protocol a reply with
// an error has no body: EmptyBody, whatever follows. Unimplemented for ops with no reply.
absl::StatusOr<ResponseBody> decode_response_body(OpCode op, ErrorCode err, Reader& r);
// Decodes a whole reply frame, given the op of the request it answers (the client finds it
// from the xid, see peek_xid; kNotification when the xid is kNotificationXid).
absl::StatusOr<Reply> decode_reply(std::string_view frame, OpCode op);
// The xid at the start of a request or reply frame body.
absl::StatusOr<int32_t> peek_xid(std::string_view frame);
// Appends one frame: length, header, body. The body must be EmptyBody when header.err is not
// Ok, and otherwise match `op`.
void encode_reply(OpCode op, const ReplyHeader& header, const ResponseBody& body, std::string& out);

std::ostream& operator<<(std::ostream& os, const RequestBody& body);
std::ostream& operator<<(std::ostream& os, const ResponseBody& body);

}  // namespace weir::coord::jute
