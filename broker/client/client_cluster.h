// What Weir's producer and consumer both need from a Kafka cluster: the metadata (brokers,
// each partition's leader), refreshed in the background on demand and at most once per
// retry backoff, and the connections to the brokers, one per broker and purpose, opened on
// first use and dropped when they fail. It exists so that both clients bootstrap, find leaders
// and recover from a moved leader or a dead broker the same way, as Kafka's NetworkClient and
// Metadata do for the Java clients.
//
// Metadata requests go over their own connection (to a bootstrap server first, later to any
// broker the metadata names), so that they never queue behind a long-polling fetch: a broker
// answers the requests of one connection in order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/client/kafka_connection.h"
#include "broker/kafka/protocol/protocol.h"
#include "runtime/actor_collection.h"
#include "runtime/clock.h"
#include "runtime/network.h"
#include "runtime/scheduler.h"
#include "runtime/wait_list.h"

namespace weir::broker::client {

struct ClientClusterOptions {
  std::string bootstrap_servers;  // host:port[,host:port...]
  std::string client_id = "weir";
  size_t in_flight_max = 5;  // per connection
  Duration request_timeout = 30s;
  Duration retry_backoff = 100ms;    // between metadata refreshes, and reconnects to a broker
  Duration metadata_max_age = 300s;  // a refresh at least this often
  bool allow_auto_topic_creation = true;
};

struct PartitionMetadata {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  int32_t leader = -1;  // node id, -1: none
  int32_t leader_epoch = -1;
};

struct TopicMetadata {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  std::vector<PartitionMetadata> partitions;  // by index
  std::vector<int32_t> available;             // partitions with a leader, ascending
};

// Which connection to a broker: produce and fetch requests (which may wait at the broker) go
// on the data connection, short requests (ListOffsets) on the control one.
enum class ConnectionPurpose { kData, kControl };

// Closes `connection` unless destroyed within `timeout`: the request timeout of one call. The
// timer callback runs in scheduler context and only closes (which fails the pending calls).
class ConnectionDeadline {
 public:
  ConnectionDeadline(const std::shared_ptr<KafkaConnection>& connection, Duration timeout);
  ~ConnectionDeadline();
  ConnectionDeadline(const ConnectionDeadline&) = delete;
  ConnectionDeadline& operator=(const ConnectionDeadline&) = delete;
  bool expired() const { return expired_; }

 private:
  TimerKey key_;
  bool expired_ = false;
};

// A call that fails with DeadlineExceeded (and closes the connection, as Kafka's clients do)
// when no response arrives within `timeout`.
template <class Rsp, class Req>
absl::StatusOr<KafkaConnection::Framed<Rsp>> call_with_deadline(
    const std::shared_ptr<KafkaConnection>& connection, const Req& request, Duration timeout,
    std::optional<int16_t> version = std::nullopt) {
  ConnectionDeadline deadline(connection, timeout);
  auto result = connection->call_framed<Rsp>(request, version);
  if (!result.ok() && deadline.expired()) {
    return absl::DeadlineExceededError(
        absl::StrCat("no response from ", connection->address(), " within the request timeout"));
  }
  return result;
}

class ClientCluster : public std::enable_shared_from_this<ClientCluster> {
 public:
  // Starts the metadata refresher (no request is sent before someone asks for a topic).
  static absl::StatusOr<std::shared_ptr<ClientCluster>> create(INetwork& network, IClock& clock,
                                                               ClientClusterOptions options);
  ~ClientCluster();
  ClientCluster(const ClientCluster&) = delete;
  ClientCluster& operator=(const ClientCluster&) = delete;

  // Stops the refresher and closes every connection; calls fail afterwards. The refresher
  // holds the cluster while it runs, so an owner must call this (its destructor does too).
  void shutdown();

  // Adds `topic` to the topics every refresh asks about (asking for a refresh when new).
  void add_topic(std::string_view topic);
  // Asks the refresher for a refresh (at most one per retry_backoff).
  void request_refresh();
  // Suspends until a refresh after this call has completed (successful or not), or until
  // `deadline` (scheduler time); false on the deadline. Throws Cancelled.
  bool await_refresh(TimePoint deadline);

  const TopicMetadata* topic(std::string_view name) const;
  std::optional<std::string> broker_address(int32_t node) const;
  // The brokers the last metadata named, ascending.
  std::vector<int32_t> node_ids() const;
  // Bumped by every completed refresh (and connection loss); `changed` fires with it.
  uint64_t version() const { return version_; }
  WaitList& changed() { return changed_; }
  // The error of the last refresh (OK when it succeeded).
  const absl::Status& last_refresh_error() const { return last_refresh_error_; }

  // The connection to `node`, opened if need be (suspends). Unavailable when the node is
  // unknown, or its last connect failed less than retry_backoff ago.
  absl::StatusOr<std::shared_ptr<KafkaConnection>> connection(
      int32_t node, ConnectionPurpose purpose = ConnectionPurpose::kData);
  // A request on `connection` failed: closes and forgets it and asks for a refresh.
  void connection_failed(int32_t node, const std::shared_ptr<KafkaConnection>& connection);

  const ClientClusterOptions& options() const { return options_; }
  IClock& clock() { return clock_; }
  // Scheduler time `local` of this process's clock from now.
  TimePoint deadline_after(Duration local) const;

 private:
  struct NodeConnection {
    std::shared_ptr<KafkaConnection> connection;
    bool connecting = false;
    TimePoint retry_at{};  // scheduler time
    WaitList connected;
  };

  ClientCluster(INetwork& network, IClock& clock, ClientClusterOptions options,
                std::vector<std::string> bootstrap);
  void run_refresher();
  absl::Status refresh_once();
  absl::StatusOr<std::shared_ptr<KafkaConnection>> metadata_connection();
  void apply(const kafka::MetadataResponse& rsp);
  void bump();

  INetwork& network_;
  IClock& clock_;
  ClientClusterOptions options_;
  std::vector<std::string> bootstrap_;
  size_t next_metadata_address_ = 0;
  std::shared_ptr<KafkaConnection> metadata_connection_;
  std::set<std::string, std::less<>> wanted_topics_;
  std::map<std::string, TopicMetadata, std::less<>> topics_;
  std::map<int32_t, std::string> brokers_;  // node id -> host:port
  std::map<std::pair<int32_t, ConnectionPurpose>, NodeConnection> connections_;
  bool refresh_wanted_ = false;
  bool refresh_in_flight_ = false;
  uint64_t refreshes_completed_ = 0;
  uint64_t version_ = 0;
  absl::Status last_refresh_error_;
  bool shut_down_ = false;
  WaitList changed_;
  WaitList refresh_wanted_changed_;
  ActorCollection actors_;
};

// Splits "host:port,host:port"; InvalidArgument when empty or an entry has no port.
absl::StatusOr<std::vector<std::string>> parse_bootstrap_servers(std::string_view servers);

}  // namespace weir::broker::client
