#include "runtime/framed/framed_server.h"

#include <algorithm>
#include <utility>

#include "runtime/actor_collection.h"
#include "runtime/assert.h"
#include "runtime/framed/frame_decoder.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::framed {
namespace {

// How long a connection that closes after its last reply waits for that reply to be written.
constexpr Duration kFlushGrace = std::chrono::seconds(2);
// A write batch above this size is freed after use, so one huge reply does not pin its memory
// for the life of the connection.
constexpr size_t kKeepBatchBytes = 1 << 20;

}  // namespace

const char* close_reason_name(CloseReason reason) {
  switch (reason) {
    case CloseReason::kPeerClosed:
      return "peer_closed";
    case CloseReason::kBadFrame:
      return "bad_frame";
    case CloseReason::kSlowReader:
      return "slow_reader";
    case CloseReason::kIdle:
      return "idle";
    case CloseReason::kHandlerClosed:
      return "handler_closed";
    case CloseReason::kServerStopped:
      return "server_stopped";
  }
  return "unknown";
}

FramedConnection::FramedConnection(uint64_t id, std::shared_ptr<IConnection> io,
                                   size_t send_queue_bytes_max)
    : id_(id),
      io_(std::move(io)),
      peer_(io_->peer_address()),
      send_queue_bytes_max_(send_queue_bytes_max) {}

bool FramedConnection::send(std::string_view bytes) {
  return send_encoded([bytes](std::string& out) { out.append(bytes); });
}

bool FramedConnection::send_reply(Reply reply) {
  if (closed_) return false;
  const size_t before = send_queue_.size();
  size_t file_bytes = 0;
  size_t previous_at = 0;
  for (FilePiece& piece : reply.files) {
    WEIR_ASSERT_MSG(piece.at >= previous_at && piece.at <= reply.bytes.size(),
                    "Reply::files out of order or past the bytes");
    WEIR_ASSERT(piece.range.file != nullptr);
    previous_at = piece.at;
    if (piece.range.length == 0) continue;
    file_bytes += piece.range.length;
    piece.at += before;
    send_files_.push_back(std::move(piece));
  }
  send_queue_.append(reply.bytes);
  return account_sent(before, file_bytes);
}

bool FramedConnection::account_sent(size_t before, size_t file_bytes) {
  WEIR_ASSERT(send_queue_.size() >= before);
  const size_t n = send_queue_.size() - before + file_bytes;
  // A reader is slow when bytes already wait for it; one reply larger than the bound on an
  // empty queue (a Fetch response up to fetch.max.bytes) is no sign of that.
  if (stats_.send_queue_bytes > 0 && stats_.send_queue_bytes + n > send_queue_bytes_max_) {
    TraceEvent(Severity::kWarn, "FramedSlowReader")
        .detail("Peer", peer_)
        .detail("QueuedBytes", stats_.send_queue_bytes);
    close(CloseReason::kSlowReader);  // drops the queue, the new bytes with it
    return false;
  }
  stats_.send_queue_bytes += n;
  stats_.send_queue_bytes_peak = std::max(stats_.send_queue_bytes_peak, stats_.send_queue_bytes);
  send_changed_.fire_all();
  return true;
}

void FramedConnection::close(CloseReason reason) {
  if (closed_) return;
  closed_ = true;
  reason_ = reason;
  io_->close();
  send_queue_.clear();
  send_queue_.shrink_to_fit();
  send_files_.clear();  // closes files nobody else holds
  // Dropping the pending replies cancels the requests still being handled.
  replies_.clear();
  send_changed_.fire_all();
  state_changed_.fire_all();
}

void FramedConnection::close_after_flush() {
  closing_after_flush_ = true;
  state_changed_.fire_all();
}

// The server's state, shared with its actors so that they can finish unwinding after the
// FramedServer object is gone.
class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(INetwork& network, FramedHandler& handler, FramedServerOptions options)
      : network_(network), handler_(handler), options_(std::move(options)) {
    WEIR_ASSERT(options_.in_flight_max > 0);
    WEIR_ASSERT(options_.connections_max > 0);
    WEIR_ASSERT(options_.read_chunk_bytes > 0);
  }

  absl::Status start(const std::string& address);
  void stop();
  const std::string& address() const { return address_; }
  const ListenerStats& stats() const { return stats_; }
  const FramedServerOptions& options() const { return options_; }
  std::vector<std::shared_ptr<FramedConnection>> connections() const;

 private:
  using Conn = std::shared_ptr<FramedConnection>;
  void accept_loop();
  void serve(const Conn& c);
  bool read_preamble(const Conn& c, FrameDecoder& decoder);
  void read_loop(const Conn& c, FrameDecoder& decoder, std::vector<uint8_t>& buf);
  void dispatch(const Conn& c, std::string_view frame);
  void respond_loop(const Conn& c);
  void write_loop(const Conn& c);
  void idle_loop(const Conn& c);
  void finish(const Conn& c);

  INetwork& network_;
  FramedHandler& handler_;
  FramedServerOptions options_;
  ListenerStats stats_;
  std::unique_ptr<IListener> listener_;
  std::string address_;
  std::map<uint64_t, Conn> connections_;  // by accept order
  ActorCollection actors_;
  uint64_t next_id_ = 1;
  bool started_ = false;
  bool stopped_ = false;
};

absl::Status ServerCore::start(const std::string& address) {
  WEIR_ASSERT_MSG(!started_ && !stopped_, "FramedServer started twice or after stop()");
  auto listener = network_.listen(address);
  if (!listener.ok()) return listener.status();
  listener_ = std::move(*listener);
  address_ = listener_->address();
  started_ = true;
  TraceEvent(Severity::kInfo, "FramedServerListening")
      .detail("Name", options_.name)
      .detail("Address", address_);
  actors_.add(spawn("framed-accept", [self = shared_from_this()] { self->accept_loop(); }));
  return absl::OkStatus();
}

void ServerCore::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (listener_ != nullptr) listener_->close();
  auto open = std::move(connections_);
  connections_.clear();
  for (auto& [id, c] : open) c->close(CloseReason::kServerStopped);
  actors_.clear();
}

std::vector<std::shared_ptr<FramedConnection>> ServerCore::connections() const {
  std::vector<Conn> out;
  out.reserve(connections_.size());
  for (const auto& [id, c] : connections_) out.push_back(c);
  return out;
}

void ServerCore::accept_loop() {
  while (!stopped_) {
    auto io = listener_->accept();
    if (!io.ok()) return;
    if (connections_.size() >= options_.connections_max) {
      ++stats_.rejected;
      TraceEvent(Severity::kWarn, "FramedConnectionRejected")
          .detail("Name", options_.name)
          .detail("Peer", (*io)->peer_address());
      (*io)->close();
      continue;
    }
    ++stats_.accepted;
    auto c = std::make_shared<FramedConnection>(next_id_++, std::move(*io),
                                                options_.send_queue_bytes_max);
    c->stats_.established = c->stats_.last_frame = Scheduler::current().now();
    connections_[c->id()] = c;
    actors_.add(spawn("framed-conn", [self = shared_from_this(), c] { self->serve(c); }));
  }
}

void ServerCore::serve(const Conn& c) {
  struct Finish {
    ServerCore* core;
    const Conn& c;
    ~Finish() { core->finish(c); }
  } finish{this, c};
  FrameDecoder decoder(options_.frame_bytes_max, options_.protocol);
  if (!read_preamble(c, decoder)) return;
  handler_.on_open(*c);
  auto self = shared_from_this();
  Future<void> writer = spawn("framed-writer", [self, c] { self->write_loop(c); });
  Future<void> responder = spawn("framed-responder", [self, c] { self->respond_loop(c); });
  Future<void> idle;
  if (options_.idle_timeout > Duration::zero()) {
    idle = spawn("framed-idle", [self, c] { self->idle_loop(c); });
  }
  std::vector<uint8_t> buf(options_.read_chunk_bytes);
  read_loop(c, decoder, buf);
  // The reader is done; the responder and writer still flush a close-after-flush, and close.
  wait_for(c->state_changed_, [&] { return c->closed_; });
}

// Hands the first preamble_bytes to the handler. False when the connection is done.
bool ServerCore::read_preamble(const Conn& c, FrameDecoder& decoder) {
  if (options_.preamble_bytes == 0) return true;
  std::string head(options_.preamble_bytes, '\0');
  auto span = absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(head.data()), head.size());
  if (!read_exact(*c->io_, span).ok()) {
    c->close(CloseReason::kPeerClosed);
    return false;
  }
  c->stats_.bytes_received += head.size();
  stats_.bytes_received += head.size();
  if (std::optional<std::string> answer = handler_.on_preamble(*c, head)) {
    auto out =
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(answer->data()), answer->size());
    if (c->io_->write(out).ok()) {
      c->stats_.bytes_sent += answer->size();
      stats_.bytes_sent += answer->size();
    }
    c->close(CloseReason::kHandlerClosed);
    return false;
  }
  if (!decoder.feed(head).ok()) {
    c->close(CloseReason::kBadFrame);
    return false;
  }
  return true;
}

// Takes frames out only while fewer than in_flight_max requests are being handled, and reads
// only when no complete frame is buffered: the decoder never holds more than one read plus
// one partial frame, and a client that floods requests is pushed back by TCP.
void ServerCore::read_loop(const Conn& c, FrameDecoder& decoder, std::vector<uint8_t>& buf) {
  while (!c->closed_ && !c->closing_after_flush_) {
    wait_for(c->state_changed_, [&] {
      return c->closed_ || c->closing_after_flush_ || c->stats_.in_flight < options_.in_flight_max;
    });
    if (c->closed_ || c->closing_after_flush_) return;
    if (std::optional<std::string_view> frame = decoder.pop()) {
      dispatch(c, *frame);
      continue;
    }
    auto n = c->io_->read(absl::Span<uint8_t>(buf));
    if (!n.ok() || *n == 0) {
      c->close(CloseReason::kPeerClosed);
      return;
    }
    c->stats_.bytes_received += *n;
    stats_.bytes_received += *n;
    if (absl::Status s = decoder.feed(absl::Span<const uint8_t>(buf.data(), *n)); !s.ok()) {
      TraceEvent(Severity::kWarn, "FramedBadFrame")
          .detail("Name", options_.name)
          .detail("Peer", c->peer())
          .detail("Reason", s.ToString());
      c->close(CloseReason::kBadFrame);
      return;
    }
  }
}

void ServerCore::dispatch(const Conn& c, std::string_view frame) {
  ++c->stats_.frames_received;
  ++stats_.frames_received;
  c->stats_.last_frame = Scheduler::current().now();
  ++c->stats_.in_flight;
  Future<Reply> reply = handler_.on_frame(*c, frame);
  WEIR_ASSERT_MSG(reply.valid(), "FramedHandler::on_frame returned no future");
  if (c->closed_) return;  // the handler closed the connection
  c->replies_.push_back(std::move(reply));
  c->state_changed_.fire_all();
}

// Queues replies strictly in request order, each once its future is ready.
void ServerCore::respond_loop(const Conn& c) {
  std::deque<Future<Reply>>& queue = c->replies_;
  while (true) {
    wait_for(c->state_changed_,
             [&] { return c->closed_ || !queue.empty() || c->closing_after_flush_; });
    if (c->closed_) return;
    if (queue.empty()) {  // closing after flush, and every reply is queued
      const TimePoint deadline = Scheduler::current().now() + kFlushGrace;
      (void)wait_until(
          c->state_changed_, [&] { return c->closed_ || c->stats_.send_queue_bytes == 0; },
          deadline);
      c->close(CloseReason::kHandlerClosed);
      return;
    }
    Future<Reply> head = queue.front();
    auto reply = await(head);
    if (c->closed_) return;
    queue.pop_front();
    --c->stats_.in_flight;
    c->state_changed_.fire_all();
    if (!reply.ok()) {
      TraceEvent(Severity::kInfo, "FramedRequestFailed")
          .detail("Name", options_.name)
          .detail("Peer", c->peer())
          .detail("Status", reply.status().ToString());
      c->close(CloseReason::kHandlerClosed);
      return;
    }
    const bool close_after = reply->close_after;
    if (!reply->bytes.empty() || !reply->files.empty()) {
      if (!c->send_reply(*std::move(reply))) return;
      ++c->stats_.replies_sent;
      ++stats_.replies_sent;
    }
    if (close_after) {
      // Requests after this one are dropped unanswered (their handlers cancelled).
      queue.clear();
      c->stats_.in_flight = 0;
      c->close_after_flush();
    }
  }
}

// Writes the bytes of `batch` with the file ranges of `files` spliced in, in order.
absl::Status write_pieces(IConnection& io, std::string_view batch,
                          const std::vector<FilePiece>& files) {
  const auto write_bytes = [&](size_t from, size_t to) {
    if (from == to) return absl::OkStatus();
    return io.write(absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(batch.data()) + from,
                                              to - from));
  };
  size_t at = 0;
  for (const FilePiece& piece : files) {
    if (auto s = write_bytes(at, piece.at); !s.ok()) return s;
    at = piece.at;
    const FileRange& r = piece.range;
    if (auto s = io.send_file(*r.file, r.offset, r.length); !s.ok()) return s;
  }
  return write_bytes(at, batch.size());
}

void ServerCore::write_loop(const Conn& c) {
  std::string batch;
  std::vector<FilePiece> files;
  while (true) {
    wait_for(c->send_changed_,
             [&] { return c->closed_ || !c->send_queue_.empty() || !c->send_files_.empty(); });
    if (c->closed_) return;
    batch.swap(c->send_queue_);
    files.swap(c->send_files_);
    size_t n = batch.size();
    for (const FilePiece& piece : files) n += piece.range.length;
    auto s = write_pieces(*c->io_, batch, files);
    files.clear();  // the ranges' files may close now
    if (!s.ok()) {
      // A peer that went away is routine; a file that could not be sent is worth a line.
      if (!c->closed_ && !absl::IsUnavailable(s) && !absl::IsFailedPrecondition(s)) {
        TraceEvent(Severity::kInfo, "FramedWriteFailed")
            .detail("Name", options_.name)
            .detail("Peer", c->peer())
            .detail("Status", s.ToString());
      }
      c->close(CloseReason::kPeerClosed);
      return;
    }
    // The batch counted in send_queue_bytes until it was written.
    c->stats_.send_queue_bytes -= n;
    c->stats_.bytes_sent += n;
    stats_.bytes_sent += n;
    batch.clear();
    if (batch.capacity() > kKeepBatchBytes) batch.shrink_to_fit();
    c->state_changed_.fire_all();
  }
}

void ServerCore::idle_loop(const Conn& c) {
  const Duration limit = options_.idle_timeout;
  while (!c->closed_) {
    delay(std::max<Duration>(limit / 4, std::chrono::milliseconds(1)));
    const bool busy = c->stats_.in_flight > 0 || c->stats_.send_queue_bytes > 0;
    if (!busy && Scheduler::current().now() - c->stats_.last_frame >= limit) {
      c->close(CloseReason::kIdle);
    }
  }
}

void ServerCore::finish(const Conn& c) {
  c->close(CloseReason::kPeerClosed);  // keeps an earlier reason
  ++stats_.closed[*c->close_reason()];
  if (stopped_) return;
  connections_.erase(c->id());
  handler_.on_close(*c);
}

FramedServer::FramedServer(INetwork& network, FramedHandler& handler, FramedServerOptions options)
    : core_(std::make_shared<ServerCore>(network, handler, std::move(options))) {}

FramedServer::~FramedServer() {
  core_->stop();
}

absl::Status FramedServer::start(const std::string& address) {
  return core_->start(address);
}
void FramedServer::stop() {
  core_->stop();
}
const std::string& FramedServer::address() const {
  return core_->address();
}
const ListenerStats& FramedServer::stats() const {
  return core_->stats();
}
const FramedServerOptions& FramedServer::options() const {
  return core_->options();
}
std::vector<std::shared_ptr<FramedConnection>> FramedServer::connections() const {
  return core_->connections();
}

}  // namespace weir::framed
