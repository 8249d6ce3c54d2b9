#include "broker/client/kafka_connection.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/client/client_cluster.h"
#include "buggify/code_probe.h"

namespace weir::broker::client {

KafkaConnection::KafkaConnection(std::shared_ptr<IConnection> io, std::string address,
                                 KafkaConnectionOptions options)
    : io_(std::move(io)),
      address_(std::move(address)),
      options_(std::move(options)),
      in_flight_(options_.in_flight_max) {}

KafkaConnection::~KafkaConnection() {
  close();
}

absl::StatusOr<std::shared_ptr<KafkaConnection>> KafkaConnection::connect(
    INetwork& network, const std::string& address, KafkaConnectionOptions options) {
  auto io = network.connect(address);
  if (!io.ok()) return io.status();
  std::shared_ptr<KafkaConnection> c(new KafkaConnection(*io, address, std::move(options)));
  std::weak_ptr<KafkaConnection> weak = c;
  c->actors_.add(spawn(
      "kafka-client-reader",
      [weak, io = c->io_, max = c->options_.response_bytes_max] { read_loop(weak, io, max); }));
  // RAII, never a timer capturing this frame: negotiate() throws Cancelled when the caller is
  // cancelled, and a timer left behind fired into a stack another actor had by then (GroupChurn
  // static seeds 738 and 805: one byte of a framed connection's return address).
  const ConnectionDeadline deadline(c, c->options_.negotiate_timeout);
  const absl::Status s = c->negotiate();
  if (!s.ok()) {
    c->close();
    CODE_PROBE(deadline.expired(), "kafka_client.negotiation_timed_out");
    if (deadline.expired()) {
      return absl::DeadlineExceededError(
          absl::StrCat(address, ": ApiVersions not answered within the negotiation timeout"));
    }
    return s;
  }
  return c;
}

absl::Status KafkaConnection::negotiate() {
  kafka::ApiVersionsRequest req;
  req.client_software_name = "weir";
  req.client_software_version = "1";
  auto rsp = call<kafka::ApiVersionsResponse>(req, int16_t{3});
  if (rsp.ok() && rsp->error_code == static_cast<int16_t>(kafka::ErrorCode::kUnsupportedVersion))
    rsp = call<kafka::ApiVersionsResponse>(kafka::ApiVersionsRequest{}, int16_t{0});
  if (!rsp.ok()) return rsp.status();
  if (rsp->error_code != 0)
    return absl::UnavailableError(absl::StrCat("ApiVersions error ", rsp->error_code));
  for (const auto& a : rsp->api_keys) {
    const kafka::ApiInfo* ours = kafka::find_api(a.api_key);
    if (ours == nullptr) continue;
    const int16_t hi = std::min(a.max_version, ours->max_version);
    const int16_t lo = std::max(a.min_version, ours->min_version);
    if (lo <= hi) versions_[a.api_key] = hi;
  }
  return absl::OkStatus();
}

std::optional<int16_t> KafkaConnection::version_for(kafka::ApiKey key) const {
  auto it = versions_.find(static_cast<int16_t>(key));
  if (it == versions_.end()) return std::nullopt;
  return it->second;
}

Future<std::string> KafkaConnection::send_frame(std::string frame, int32_t correlation,
                                                bool expect_response) {
  if (closed_) return Future<std::string>::ready(absl::UnavailableError("connection closed"));
  Future<std::string> result;
  if (expect_response) {
    in_flight_.acquire();
    Promise<std::string> p;
    result = p.future();
    pending_.emplace(correlation, std::move(p));
  } else {
    result = Future<std::string>::ready(std::string());
  }
  absl::Status s;
  {
    // A guard: an actor cancelled in the middle of its write must not keep the lock.
    ActorMutex::Guard guard(write_lock_);
    s = io_->write(
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
  }
  if (!s.ok()) fail_all(s);
  return result;
}

namespace {

// Splits the response stream into frames. Small frames are read in bulk into a staging
// buffer and copied out; a frame above kDirectBytes gets a buffer of its own that the rest of
// it is read into directly, so a large fetch response is copied once (by the kernel).
class ResponseReader {
 public:
  static constexpr size_t kStagingBytes = 256 << 10;
  static constexpr size_t kDirectBytes = 64 << 10;

  explicit ResponseReader(size_t frame_bytes_max)
      : frame_bytes_max_(frame_bytes_max), staging_(kStagingBytes) {}

  // Where the next read should put its bytes.
  absl::Span<uint8_t> space() {
    if (big_active_) {
      return absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(big_.data()) + big_filled_,
                                 big_.size() - big_filled_);
    }
    if (end_ == staging_.size()) {  // compact: the partial frame to the front
      std::memmove(staging_.data(), staging_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return absl::Span<uint8_t>(staging_.data() + end_, staging_.size() - end_);
  }

  // `n` bytes arrived in space(); every frame they complete is appended to `out`.
  absl::Status commit(size_t n, std::vector<std::string>& out) {
    if (big_active_) {
      big_filled_ += n;
      if (big_filled_ == big_.size()) {
        out.push_back(std::move(big_));
        big_ = std::string();
        big_active_ = false;
      }
      return absl::OkStatus();
    }
    end_ += n;
    while (end_ - begin_ >= 4) {
      const uint8_t* p = staging_.data() + begin_;
      const int32_t length = static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                                                  (uint32_t{p[2]} << 8) | uint32_t{p[3]});
      if (length < 4 || static_cast<size_t>(length) > frame_bytes_max_) {
        return absl::DataLossError(absl::StrCat("kafka frame: response length ", length,
                                                " outside 4..", frame_bytes_max_));
      }
      const auto len = static_cast<size_t>(length);
      const size_t have = end_ - begin_ - 4;
      if (have >= len) {
        out.emplace_back(reinterpret_cast<const char*>(p + 4), len);
        begin_ += 4 + len;
        continue;
      }
      if (len > kDirectBytes) {
        big_.resize(len);
        std::memcpy(big_.data(), p + 4, have);
        big_filled_ = have;
        big_active_ = true;
        begin_ = end_ = 0;
      }
      break;
    }
    if (begin_ == end_) begin_ = end_ = 0;
    return absl::OkStatus();
  }

 private:
  size_t frame_bytes_max_;
  std::vector<uint8_t> staging_;
  size_t begin_ = 0;
  size_t end_ = 0;
  std::string big_;
  size_t big_filled_ = 0;
  bool big_active_ = false;
};

}  // namespace

// The buffers live on this actor's stack, never in the connection: the connection may go
// away while a read is pending.
void KafkaConnection::read_loop(std::weak_ptr<KafkaConnection> weak,
                                std::shared_ptr<IConnection> io, size_t response_bytes_max) {
  ResponseReader reader(response_bytes_max);
  std::vector<std::string> frames;
  while (true) {
    auto n = io->read(reader.space());
    auto self = weak.lock();
    if (self == nullptr || self->closed_) return;
    if (!n.ok() || *n == 0) {
      self->fail_all(n.ok() ? absl::UnavailableError("broker closed the connection") : n.status());
      return;
    }
    frames.clear();
    if (auto s = reader.commit(*n, frames); !s.ok()) {
      self->fail_all(s);
      return;
    }
    for (std::string& frame : frames) {
      if (!self->on_frame(std::move(frame))) return;
    }
  }
}

// Completes the call `frame` answers; false once the connection failed.
bool KafkaConnection::on_frame(std::string frame) {
  ByteReader r(frame, "kafka");
  const int32_t correlation = r.read_i32("correlation_id");
  auto it = pending_.find(correlation);
  if (!r.ok() || it == pending_.end()) {
    fail_all(
        absl::DataLossError(absl::StrCat("response with unknown correlation id ", correlation)));
    return false;
  }
  Promise<std::string> p = std::move(it->second);
  pending_.erase(it);
  in_flight_.release();
  // The header's correlation id stays in: call() decodes the header at its own version.
  p.set(std::move(frame));
  return !closed_;
}

void KafkaConnection::fail_all(const absl::Status& status) {
  if (error_.ok()) error_ = status;
  closed_ = true;
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [c, p] : pending) {
    p.try_set(status);
    in_flight_.release();
  }
  io_->close();
}

void KafkaConnection::close() {
  if (closed_) return;
  fail_all(absl::CancelledError("connection closed by the client"));
}

}  // namespace weir::broker::client
