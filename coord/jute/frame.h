// Framing of the ZooKeeper client protocol: every packet, in both directions, is a 4-byte
// big-endian length followed by that many bytes of jute records. Pure code, no I/O, so the
// server and the client share it and tests can feed it anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "coord/jute/writer.h"
#include "runtime/framed/frame_decoder.h"

namespace weir::coord::jute {

// ZooKeeper's default jute.maxbuffer: the largest znode data a server accepts.
inline constexpr size_t kJuteMaxBuffer = 0xfffff;
// Room for the headers and path around a maximal buffer (ZooKeeper allows a similar extra).
inline constexpr size_t kFrameAllowance = 1024;
inline constexpr size_t kDefaultMaxFrameBytes = (size_t{1} << 20) + kFrameAllowance;
using framed::kFrameLengthBytes;

// ZooKeeper's framing: the shared length-prefixed decoder (runtime/framed/frame_decoder.h)
// with jute's default limit and its name in errors.
class FrameDecoder : public framed::FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame_bytes = kDefaultMaxFrameBytes)
      : framed::FrameDecoder(max_frame_bytes, "jute frame", /*min_frame_bytes=*/0) {}
};

// Appends one frame holding `parts` encoded back to back (each has encode(Writer&) and
// encoded_size()), reserving its exact size first.
template <class... Parts>
void append_frame(std::string& out, const Parts&... parts) {
  out.reserve(out.size() + kFrameLengthBytes + (size_t{0} + ... + parts.encoded_size()));
  Writer w(out);
  const size_t token = w.begin_frame();
  (parts.encode(w), ...);
  w.end_frame(token);
}

}  // namespace weir::coord::jute
