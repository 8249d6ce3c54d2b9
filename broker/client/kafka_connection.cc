#include "broker/client/kafka_connection.h"

#include "absl/strings/str_cat.h"

namespace weir::broker::client {

KafkaConnection::KafkaConnection(std::shared_ptr<IConnection> io, std::string address,
                                 KafkaConnectionOptions options)
    : io_(std::move(io)),
      address_(std::move(address)),
      options_(std::move(options)),
      decoder_(options_.response_bytes_max, "kafka frame", 4),
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
  c->actors_.add(spawn("kafka-client-reader", [weak] {
    if (auto self = weak.lock()) self->read_loop();
  }));
  if (auto s = c->negotiate(); !s.ok()) {
    c->close();
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
  write_lock_.lock();
  const absl::Status s = io_->write(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
  write_lock_.unlock();
  if (!s.ok()) fail_all(s);
  return result;
}

void KafkaConnection::read_loop() {
  std::vector<uint8_t> buf(256 << 10);
  while (!closed_) {
    auto n = io_->read(absl::Span<uint8_t>(buf));
    if (!n.ok() || *n == 0) {
      fail_all(n.ok() ? absl::UnavailableError("broker closed the connection") : n.status());
      return;
    }
    if (auto s = decoder_.feed(absl::Span<const uint8_t>(buf.data(), *n)); !s.ok()) {
      fail_all(s);
      return;
    }
    while (auto frame = decoder_.pop()) {
      ByteReader r(*frame, "kafka");
      const int32_t correlation = r.read_i32("correlation_id");
      auto it = pending_.find(correlation);
      if (!r.ok() || it == pending_.end()) {
        fail_all(absl::DataLossError(
            absl::StrCat("response with unknown correlation id ", correlation)));
        return;
      }
      Promise<std::string> p = std::move(it->second);
      pending_.erase(it);
      in_flight_.release();
      // The header's correlation id stays in: call() decodes the header at its own version.
      p.set(std::string(*frame));
    }
  }
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
