#include "runtime/framed/frame_decoder.h"

#include "absl/strings/str_cat.h"
#include "runtime/assert.h"

namespace weir::framed {
namespace {

int32_t load_length(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return static_cast<int32_t>(v);
}

}  // namespace

FrameDecoder::FrameDecoder(size_t max_frame_bytes, std::string_view protocol,
                           size_t min_frame_bytes)
    : max_frame_bytes_(max_frame_bytes), min_frame_bytes_(min_frame_bytes), protocol_(protocol) {
  // Lengths are 31-bit on both protocols.
  WEIR_ASSERT_MSG(max_frame_bytes >= min_frame_bytes && max_frame_bytes <= 0x7fffffff,
                  "max_frame_bytes out of range");
}

void append_length(std::string& out, uint32_t length) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(length >> shift));
}

absl::Status FrameDecoder::feed(std::string_view bytes) {
  if (failed()) return error_;
  // Drop popped frames first; what moves is at most one partial frame.
  if (head_ > 0) {
    buffer_.erase(0, head_);
    scan_ -= head_;
    head_ = 0;
  }
  // One huge frame should not pin a megabyte to every idle connection afterwards.
  constexpr size_t kIdleCapacityMax = 64 * 1024;
  if (buffer_.empty() && buffer_.capacity() > kIdleCapacityMax && bytes.size() < kIdleCapacityMax) {
    buffer_.shrink_to_fit();
  }
  buffer_.append(bytes);
  return check_lengths();
}

absl::Status FrameDecoder::feed(absl::Span<const uint8_t> bytes) {
  return feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

absl::Status FrameDecoder::check_lengths() {
  while (scan_ + kFrameLengthBytes <= buffer_.size()) {
    const int32_t length = load_length(buffer_.data() + scan_);
    if (length < 0) {
      error_ = absl::DataLossError(absl::StrCat(protocol_, ": negative length ", length));
    } else if (static_cast<size_t>(length) < min_frame_bytes_) {
      error_ = absl::DataLossError(absl::StrCat(protocol_, ": length ", length,
                                                " is below the minimum of ", min_frame_bytes_));
    } else if (static_cast<size_t>(length) > max_frame_bytes_) {
      error_ = absl::ResourceExhaustedError(absl::StrCat(
          protocol_, ": length ", length, " exceeds the limit of ", max_frame_bytes_, " bytes"));
    }
    if (failed()) {
      // Nothing after a broken length can be trusted, and nothing buffered is needed any more.
      buffer_.clear();
      buffer_.shrink_to_fit();
      head_ = scan_ = 0;
      return error_;
    }
    scan_ += kFrameLengthBytes + static_cast<size_t>(length);
  }
  return absl::OkStatus();
}

std::optional<std::string_view> FrameDecoder::pop() {
  if (failed() || buffer_.size() - head_ < kFrameLengthBytes) return std::nullopt;
  // check_lengths() has vetted this prefix: it ran over every complete prefix on feed().
  WEIR_ASSERT(scan_ > head_);
  const auto length = static_cast<size_t>(load_length(buffer_.data() + head_));
  if (buffer_.size() - head_ - kFrameLengthBytes < length) return std::nullopt;
  const std::string_view body(buffer_.data() + head_ + kFrameLengthBytes, length);
  head_ += kFrameLengthBytes + length;
  return body;
}

}  // namespace weir::framed
