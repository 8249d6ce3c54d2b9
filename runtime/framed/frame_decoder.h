// Length-prefixed framing as ZooKeeper and Kafka both use it: a 4-byte big-endian signed
// length, then that many bytes of body. Shared by every wire protocol Weir serves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace weir::framed {

inline constexpr size_t kFrameLengthBytes = 4;

// Incremental frame splitter for one connection. It exists so that a connection loop can hand
// it whatever byte ranges the socket returns and take out whole frames, while no input, however
// hostile, makes it crash or allocate by a peer-chosen length: a negative or oversize length
// prefix fails the decoder as soon as its 4 bytes arrive, and memory only ever holds bytes that
// were actually fed. Pop every ready frame after each feed() and the buffer stays within one
// maximal frame plus one read.
//
// After the first bad length the decoder stays failed: feed() returns the same error and pop()
// returns nothing, because the stream has lost its framing and the connection must close.
class FrameDecoder {
 public:
  // `protocol` names the stream in errors ("jute frame", "kafka frame"); a length below
  // `min_frame_bytes` (a body too short to hold the protocol's header) fails the stream too.
  explicit FrameDecoder(size_t max_frame_bytes, std::string_view protocol = "frame",
                        size_t min_frame_bytes = 0);

  // Buffers `bytes`. ResourceExhausted for a length above max_frame_bytes(), DataLoss for a
  // negative one or one below the minimum; the message gives the length and the limit.
  absl::Status feed(absl::Span<const uint8_t> bytes);
  absl::Status feed(std::string_view bytes);

  // The next complete frame's body (without its length prefix), if one is complete. The view
  // stays valid until the next feed().
  std::optional<std::string_view> pop();

  bool failed() const { return !error_.ok(); }
  const absl::Status& error() const { return error_; }
  // True when no partial frame is buffered: a clean place for the stream to end.
  bool idle() const { return head_ == buffer_.size(); }
  // Bytes fed but not yet popped.
  size_t buffered_bytes() const { return buffer_.size() - head_; }
  size_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  // Checks every length prefix that is complete in the buffer and not yet checked.
  absl::Status check_lengths();

  size_t max_frame_bytes_;
  size_t min_frame_bytes_;
  std::string protocol_;
  std::string buffer_;
  size_t head_ = 0;  // start of the first frame not yet popped
  size_t scan_ = 0;  // start of the first frame whose length prefix is not yet checked
  absl::Status error_;
};

// Appends the 4-byte big-endian length prefix of a `length`-byte body.
void append_length(std::string& out, uint32_t length);

}  // namespace weir::framed
