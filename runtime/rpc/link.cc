#include "runtime/rpc/link.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/trace.h"

namespace weir::rpc {
namespace {

// A writer's batch buffer above this size is freed after use rather than kept for the next
// batch: one huge frame must not pin its memory for the life of the connection.
constexpr size_t kKeepBatchBytes = 1 << 20;

}  // namespace

absl::Status connection_error(std::string_view what, const std::string& peer,
                              const absl::Status& cause) {
  std::string message = absl::StrCat(av(what), " ", peer, ": ", cause.message());
  if (absl::IsDataLoss(cause)) return absl::DataLossError(std::move(message));
  return absl::UnavailableError(std::move(message));
}

Link::Link(std::shared_ptr<IConnection> connection, LinkOptions options)
    : connection_(std::move(connection)), options_(options) {
  WEIR_ASSERT(connection_ != nullptr);
}

Link::~Link() {
  if (!closed_) connection_->close();
}

absl::Status Link::send(FrameKind kind, uint64_t token, uint64_t request_id,
                        std::string_view payload) {
  if (!frame_fits(payload.size(), options_.frame_bytes_max)) {
    return absl::InvalidArgumentError(absl::StrCat("rpc payload of ", payload.size(),
                                                   " bytes does not fit a frame of at most ",
                                                   options_.frame_bytes_max, " bytes"));
  }
  const size_t bytes = kFrameHeaderBytes + payload.size();
  // A frame larger than the whole buffer still goes out once the buffer is empty.
  while (!closed_ && queued_bytes() > 0 &&
         queued_bytes() + bytes > options_.send_buffer_bytes_max) {
    wait_on(space_waiters_);
  }
  if (closed_) return connection_error("rpc connection to", peer(), close_reason_);
  encode_frame(kind, token, request_id, payload, queue_);
  writer_waiters_.fire_all();
  return absl::OkStatus();
}

void Link::run_writer() {
  std::string batch;
  while (true) {
    while (!closed_ && queue_.empty()) wait_on(writer_waiters_);
    if (closed_) return;
    batch.swap(queue_);
    writing_bytes_ = batch.size();
    const absl::Status written = connection_->write(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(batch.data()), batch.size()));
    writing_bytes_ = 0;
    batch.clear();
    if (batch.capacity() > kKeepBatchBytes) std::string().swap(batch);
    space_waiters_.fire_all();
    if (!written.ok()) {
      close(absl::UnavailableError(absl::StrCat("write failed: ", written.message())));
      return;
    }
  }
}

absl::Status Link::run_reader(const std::function<absl::Status(Frame&&)>& on_frame) {
  absl::Status why = read_loop(on_frame);
  if (why.ok()) why = absl::UnavailableError("link closed");
  close(std::move(why));
  return close_reason_;
}

absl::Status Link::read_loop(const std::function<absl::Status(Frame&&)>& on_frame) {
  FrameDecoder decoder(options_.frame_bytes_max);
  std::vector<uint8_t> buffer(std::max<size_t>(options_.read_chunk_bytes, 1));
  size_t begin = 0;
  size_t end = 0;
  while (!closed_) {
    if (begin == end) {
      auto n = connection_->read(absl::MakeSpan(buffer));
      if (closed_) break;
      if (!n.ok()) return absl::UnavailableError(n.status().message());
      if (*n == 0) {
        return absl::UnavailableError(decoder.idle() ? "connection closed by peer"
                                                     : "connection closed by peer mid-frame");
      }
      begin = 0;
      end = *n;
    }
    auto used = decoder.feed(absl::MakeConstSpan(buffer.data() + begin, end - begin));
    if (!used.ok()) return used.status();
    begin += *used;
    if (decoder.frame_ready()) {
      if (absl::Status s = on_frame(decoder.take()); !s.ok()) return s;
    }
  }
  return close_reason_;
}

void Link::close(absl::Status why) {
  WEIR_ASSERT(!why.ok());
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::move(why);
  if (absl::IsDataLoss(close_reason_)) {
    // Warn, never error: a hostile or broken peer must not fail a simulation run.
    TraceEvent(Severity::kWarn, "RpcMalformedFrame")
        .detail("Side", options_.side)
        .detail("Peer", peer())
        .detail("Reason", close_reason_.message());
  }
  queue_.clear();
  connection_->close();
  writer_waiters_.fire_all();
  space_waiters_.fire_all();
}

}  // namespace weir::rpc
