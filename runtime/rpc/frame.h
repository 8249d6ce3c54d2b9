// The RPC wire format: length-prefixed, CRC32C-checked frames that carry one serialized
// Protobuf message each (layout in runtime/rpc/README.md). Everything here is pure: no I/O,
// no actors, so the codec can be tested and fuzzed on its own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/rpc/rpc.pb.h"

namespace weir::rpc {

// [u32 payload length][u32 crc32c][u64 token][u64 request id][u8 kind], little-endian.
inline constexpr size_t kFrameHeaderBytes = 25;
inline constexpr size_t kDefaultFrameBytesMax = 16 * 1024 * 1024;

enum class FrameKind : uint8_t { kRequest = 1, kReply = 2, kError = 3 };
std::string_view frame_kind_name(FrameKind kind);

// One decoded frame. For kError the payload is a serialized RpcError.
struct Frame {
  FrameKind kind = FrameKind::kRequest;
  uint64_t token = 0;
  uint64_t request_id = 0;
  std::string payload;
};

// The stable wire identity of an endpoint name: the same in every process, build and run
// (an unsalted hash, never a pointer), so that any two Weir binaries agree on it.
uint64_t endpoint_token(std::string_view endpoint);

// Appends one frame to `out`. The payload must fit a frame (checked by callers, who know
// their peer's limit; see frame_fits()).
void encode_frame(FrameKind kind, uint64_t token, uint64_t request_id, std::string_view payload,
                  std::string& out);
inline bool frame_fits(size_t payload_bytes, size_t frame_bytes_max) {
  return payload_bytes <= frame_bytes_max - kFrameHeaderBytes;
}

// Errors as they travel in kError frames. Codes outside absl's range, and OK (an error frame
// must carry an error), become kUnknown, so a peer can never make us return "OK" by mistake.
RpcError to_rpc_error(const absl::Status& status);
absl::Status from_rpc_error(const RpcError& error);

// An incremental frame decoder for one connection. It exists so that a reader can hand it
// whatever byte ranges the network returns, stop after each frame (backpressure), and be sure
// that no input, however hostile, makes it allocate more than frame_bytes_max or crash: the
// declared length is checked against the limit before any payload memory is reserved.
//
// Usage: feed() bytes; when frame_ready(), take() the frame before feeding more. After the
// first malformed frame the decoder stays failed and returns the same DataLoss status.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t frame_bytes_max = kDefaultFrameBytesMax);

  // Consumes bytes until one frame is complete or `data` is exhausted; returns how many bytes
  // it consumed. DataLoss (with the reason) for a malformed frame.
  absl::StatusOr<size_t> feed(absl::Span<const uint8_t> data);
  bool frame_ready() const { return state_ == State::kReady; }
  Frame take();

  bool failed() const { return state_ == State::kFailed; }
  const absl::Status& error() const { return error_; }
  // True between frames (no partial frame buffered): a clean place for a stream to end.
  bool idle() const { return state_ == State::kHeader && header_filled_ == 0; }
  size_t frame_bytes_max() const { return frame_bytes_max_; }
  // Bytes of payload memory currently reserved (for tests of the allocation bound).
  size_t payload_capacity() const { return frame_.payload.capacity(); }

 private:
  enum class State { kHeader, kPayload, kReady, kFailed };

  absl::Status fail(std::string reason);
  absl::Status on_header_complete();
  absl::Status on_payload_complete();

  size_t frame_bytes_max_;
  State state_ = State::kHeader;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  size_t header_filled_ = 0;
  uint32_t payload_length_ = 0;
  uint32_t expected_crc_ = 0;
  Frame frame_;
  absl::Status error_;
};

}  // namespace weir::rpc
