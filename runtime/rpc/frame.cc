#include "runtime/rpc/frame.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/assert.h"
#include "runtime/crc32c.h"
#include "runtime/hash.h"

namespace weir::rpc {
namespace {

// Field offsets inside the header.
constexpr size_t kLengthOffset = 0;
constexpr size_t kCrcOffset = 4;
constexpr size_t kTokenOffset = 8;
constexpr size_t kRequestIdOffset = 16;
constexpr size_t kKindOffset = 24;

// Fixed, arbitrary: changing it changes every endpoint's wire identity.
constexpr uint64_t kEndpointTokenSeed = 0x7765697252504331ULL;  // "weirRPC1"

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool known_kind(uint8_t kind) {
  return kind >= static_cast<uint8_t>(FrameKind::kRequest) &&
         kind <= static_cast<uint8_t>(FrameKind::kError);
}

// The CRC covers every header field except itself, so a corrupted length, token, request id
// or kind is caught as surely as a corrupted payload.
uint32_t header_crc(const uint8_t* header) {
  uint32_t crc = crc32c_extend(0, header + kLengthOffset, kCrcOffset - kLengthOffset);
  return crc32c_extend(crc, header + kTokenOffset, kFrameHeaderBytes - kTokenOffset);
}

}  // namespace

std::string_view frame_kind_name(FrameKind kind) {
  switch (kind) {
    case FrameKind::kRequest:
      return "request";
    case FrameKind::kReply:
      return "reply";
    case FrameKind::kError:
      return "error";
  }
  return "unknown";
}

uint64_t endpoint_token(std::string_view endpoint) {
  return hash_bytes(kEndpointTokenSeed, endpoint);
}

void encode_frame(FrameKind kind, uint64_t token, uint64_t request_id, std::string_view payload,
                  std::string& out) {
  WEIR_ASSERT_MSG(payload.size() <= UINT32_MAX, "rpc payload too large for a frame");
  uint8_t header[kFrameHeaderBytes];
  put_u32(header + kLengthOffset, static_cast<uint32_t>(payload.size()));
  put_u64(header + kTokenOffset, token);
  put_u64(header + kRequestIdOffset, request_id);
  header[kKindOffset] = static_cast<uint8_t>(kind);
  const uint32_t crc = crc32c_extend(header_crc(header), payload.data(), payload.size());
  put_u32(header + kCrcOffset, crc);
  out.append(reinterpret_cast<const char*>(header), kFrameHeaderBytes);
  out.append(payload);
}

RpcError to_rpc_error(const absl::Status& status) {
  WEIR_ASSERT(!status.ok());
  RpcError error;
  error.set_code(static_cast<int32_t>(status.code()));
  error.set_message(std::string(status.message()));
  return error;
}

absl::Status from_rpc_error(const RpcError& error) {
  const int32_t code = error.code();
  // absl's codes are 1..16; anything else from the wire is not trusted to mean anything.
  if (code <= 0 || code > static_cast<int32_t>(absl::StatusCode::kUnauthenticated)) {
    return absl::UnknownError(absl::StrCat("peer sent error code ", code, ": ", error.message()));
  }
  return absl::Status(static_cast<absl::StatusCode>(code), error.message());
}

FrameDecoder::FrameDecoder(size_t frame_bytes_max) : frame_bytes_max_(frame_bytes_max) {
  WEIR_ASSERT_MSG(frame_bytes_max >= kFrameHeaderBytes, "frame_bytes_max below header size");
}

absl::StatusOr<size_t> FrameDecoder::feed(absl::Span<const uint8_t> data) {
  WEIR_ASSERT_MSG(state_ != State::kReady, "take() the ready frame before feeding more");
  if (state_ == State::kFailed) return error_;
  size_t used = 0;
  if (state_ == State::kHeader) {
    const size_t n = std::min(kFrameHeaderBytes - header_filled_, data.size());
    std::memcpy(header_.data() + header_filled_, data.data(), n);
    header_filled_ += n;
    used += n;
    if (header_filled_ < kFrameHeaderBytes) return used;
    if (absl::Status s = on_header_complete(); !s.ok()) return s;
    if (state_ == State::kReady) return used;
  }
  WEIR_ASSERT(state_ == State::kPayload);
  const size_t want = payload_length_ - frame_.payload.size();
  const size_t n = std::min(want, data.size() - used);
  frame_.payload.append(reinterpret_cast<const char*>(data.data() + used), n);
  used += n;
  if (frame_.payload.size() == payload_length_) {
    if (absl::Status s = on_payload_complete(); !s.ok()) return s;
  }
  return used;
}

absl::Status FrameDecoder::on_header_complete() {
  const uint8_t* h = header_.data();
  payload_length_ = get_u32(h + kLengthOffset);
  // Checked before reserving anything: the length is the one field an attacker picks freely.
  if (!frame_fits(payload_length_, frame_bytes_max_)) {
    return fail(absl::StrCat("frame too large: ", payload_length_, " payload bytes, limit ",
                             frame_bytes_max_ - kFrameHeaderBytes));
  }
  if (!known_kind(h[kKindOffset])) {
    return fail(absl::StrCat("unknown frame kind ", h[kKindOffset]));
  }
  expected_crc_ = get_u32(h + kCrcOffset);
  frame_.kind = static_cast<FrameKind>(h[kKindOffset]);
  frame_.token = get_u64(h + kTokenOffset);
  frame_.request_id = get_u64(h + kRequestIdOffset);
  frame_.payload.clear();
  frame_.payload.reserve(payload_length_);
  state_ = State::kPayload;
  if (payload_length_ == 0) return on_payload_complete();
  return absl::OkStatus();
}

absl::Status FrameDecoder::on_payload_complete() {
  const uint32_t crc =
      crc32c_extend(header_crc(header_.data()), frame_.payload.data(), frame_.payload.size());
  if (crc != expected_crc_) {
    return fail(absl::StrCat("crc mismatch: header says ", expected_crc_, ", data has ", crc));
  }
  state_ = State::kReady;
  return absl::OkStatus();
}

Frame FrameDecoder::take() {
  WEIR_ASSERT_MSG(state_ == State::kReady, "take() without a ready frame");
  Frame out = std::move(frame_);
  frame_ = Frame{};
  header_filled_ = 0;
  state_ = State::kHeader;
  return out;
}

absl::Status FrameDecoder::fail(std::string reason) {
  state_ = State::kFailed;
  frame_ = Frame{};  // release a partial payload at once
  error_ = absl::DataLossError(std::move(reason));
  return error_;
}

}  // namespace weir::rpc
