// One client connection to a Kafka broker (Weir's or anyone's), on the runtime's INetwork:
// requests are framed with the header version their api and version call for, pipelined (up
// to in_flight_max outstanding), and matched to their responses by correlation id. The
// versions used are negotiated once with ApiVersions, as librdkafka does: the newest version
// both sides serve. It exists so that Weir's producer, consumer, benchmarks and tests speak
// the protocol through the same generated codecs the broker uses.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/kafka/protocol/protocol.h"
#include "runtime/actor_collection.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/sync.h"

namespace weir::broker::client {

struct KafkaConnectionOptions {
  std::string client_id = "weir";
  size_t in_flight_max = 5;  // librdkafka's max.in.flight default
  size_t response_bytes_max = 128 << 20;
  // connect() gives up (DeadlineExceeded) when ApiVersions is not answered within this: a
  // broker that accepted the connection and then froze, or whose answers a partition drops,
  // must not hold the caller forever (it would hold every caller waiting for this connection).
  Duration negotiate_timeout = std::chrono::seconds(30);
};

class KafkaConnection : public std::enable_shared_from_this<KafkaConnection> {
 public:
  // Connects and negotiates versions (ApiVersions v3, falling back to v0 on
  // UNSUPPORTED_VERSION).
  static absl::StatusOr<std::shared_ptr<KafkaConnection>> connect(
      INetwork& network, const std::string& address, KafkaConnectionOptions options = {});
  ~KafkaConnection();
  KafkaConnection(const KafkaConnection&) = delete;
  KafkaConnection& operator=(const KafkaConnection&) = delete;

  // The newest version of `key` both sides serve, or nullopt.
  std::optional<int16_t> version_for(kafka::ApiKey key) const;

  // Sends `request` at `version` (default: the negotiated one) and returns the decoded
  // response. A request with acks=0 (a Produce that gets no response) must use send_only.
  // The response must not view its frame: a Fetch response (Records) needs call_framed.
  template <class Rsp, class Req>
  absl::StatusOr<Rsp> call(const Req& request, std::optional<int16_t> version = std::nullopt) {
    auto framed = call_framed<Rsp>(request, version);
    if (!framed.ok()) return framed.status();
    return std::move(framed->body);
  }
  // Like call(), but keeps the response frame alive next to the decoded body, whose Records
  // fields view it (a FetchResponse's records point into `frame`).
  template <class Rsp>
  struct Framed {
    std::shared_ptr<const std::string> frame;
    Rsp body;
  };
  template <class Rsp, class Req>
  absl::StatusOr<Framed<Rsp>> call_framed(const Req& request,
                                          std::optional<int16_t> version = std::nullopt) {
    const std::optional<int16_t> v = version ? version : version_for(Req::kApiKey);
    if (!v) return absl::UnimplementedError("the broker does not serve this api");
    auto frame = await(send(request, *v, true));
    if (!frame.ok()) return frame.status();
    Framed<Rsp> out{std::make_shared<const std::string>(std::move(*frame)), Rsp{}};
    const int16_t header_version = kafka::response_header_version(Req::kApiKey, *v);
    ByteReader r(*out.frame, "kafka");
    kafka::ResponseHeader header;
    header.decode(r, header_version);
    if (!r.ok()) return r.status();
    if (auto s = kafka::decode_message(r.rest(), *v, out.body); !s.ok()) return s;
    return out;
  }
  // Sends without expecting a response (Produce with acks=0).
  template <class Req>
  absl::Status send_only(const Req& request, int16_t version) {
    return await(send(request, version, false)).status();
  }

  bool closed() const { return closed_; }
  void close();
  const std::string& address() const { return address_; }

 private:
  KafkaConnection(std::shared_ptr<IConnection> io, std::string address,
                  KafkaConnectionOptions options);
  template <class Req>
  Future<std::string> send(const Req& request, int16_t version, bool expect_response) {
    std::string out;
    const int32_t correlation = next_correlation_++;
    kafka::append_request_frame(request, version, correlation, options_.client_id, out);
    return send_frame(std::move(out), correlation, expect_response);
  }
  Future<std::string> send_frame(std::string frame, int32_t correlation, bool expect_response);
  // The reader holds the connection only while it handles bytes, never while it waits for
  // them: dropping the last handle closes the connection and ends the reader.
  // A large response is read straight into its own buffer, without a copy.
  static void read_loop(std::weak_ptr<KafkaConnection> weak, std::shared_ptr<IConnection> io,
                        size_t response_bytes_max);
  bool on_frame(std::string frame);
  void fail_all(const absl::Status& status);
  absl::Status negotiate();

  std::shared_ptr<IConnection> io_;
  std::string address_;
  KafkaConnectionOptions options_;
  ActorSemaphore in_flight_;
  ActorMutex write_lock_;
  std::map<int32_t, Promise<std::string>> pending_;
  std::map<int16_t, int16_t> versions_;  // api key -> version to use
  int32_t next_correlation_ = 1;
  bool closed_ = false;
  absl::Status error_;
  ActorCollection actors_;
};

}  // namespace weir::broker::client
