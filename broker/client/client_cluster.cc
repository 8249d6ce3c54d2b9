#include "broker/client/client_cluster.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/future.h"
#include "runtime/sync.h"

namespace weir::broker::client {

using kafka::ErrorCode;

// Abseil here has its own string_view: std::string_view must be converted for StrCat.
absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

ConnectionDeadline::ConnectionDeadline(const std::shared_ptr<KafkaConnection>& connection,
                                       Duration timeout) {
  Scheduler& s = Scheduler::current();
  std::weak_ptr<KafkaConnection> weak = connection;
  key_ = s.add_timer(s.now() + to_scheduler_duration(timeout), [this, weak] {
    expired_ = true;
    if (auto c = weak.lock()) c->close();
  });
}

ConnectionDeadline::~ConnectionDeadline() {
  Scheduler::current().cancel_timer(key_);
}

absl::StatusOr<std::vector<std::string>> parse_bootstrap_servers(std::string_view servers) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(av(servers), ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    const size_t colon = part.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == part.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bootstrap server \"", part, "\" is not host:port"));
    }
    out.emplace_back(part.data(), part.size());
  }
  if (out.empty()) return absl::InvalidArgumentError("no bootstrap servers");
  return out;
}

absl::StatusOr<std::shared_ptr<ClientCluster>> ClientCluster::create(INetwork& network,
                                                                     IClock& clock,
                                                                     ClientClusterOptions options) {
  auto bootstrap = parse_bootstrap_servers(options.bootstrap_servers);
  if (!bootstrap.ok()) return bootstrap.status();
  std::shared_ptr<ClientCluster> c(
      new ClientCluster(network, clock, std::move(options), std::move(*bootstrap)));
  std::weak_ptr<ClientCluster> weak = c;
  c->actors_.add(spawn("kafka-client-metadata", [weak] {
    if (auto self = weak.lock()) self->run_refresher();
  }));
  return c;
}

ClientCluster::ClientCluster(INetwork& network, IClock& clock, ClientClusterOptions options,
                             std::vector<std::string> bootstrap)
    : network_(network),
      clock_(clock),
      options_(std::move(options)),
      bootstrap_(std::move(bootstrap)) {}

ClientCluster::~ClientCluster() {
  shutdown();
}

void ClientCluster::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  actors_.clear();
  if (metadata_connection_ != nullptr) metadata_connection_->close();
  metadata_connection_.reset();
  for (auto& [key, nc] : connections_) {
    if (nc.connection != nullptr) nc.connection->close();
    nc.connection.reset();
    nc.connected.fire_all();
  }
  refresh_wanted_changed_.fire_all();
  bump();
}

TimePoint ClientCluster::deadline_after(Duration local) const {
  return Scheduler::current().now() + clock_.to_scheduler(local);
}

void ClientCluster::bump() {
  ++version_;
  changed_.fire_all();
}

void ClientCluster::add_topic(std::string_view topic) {
  if (wanted_topics_.contains(topic)) return;
  wanted_topics_.emplace(topic);
  request_refresh();
}

void ClientCluster::request_refresh() {
  refresh_wanted_ = true;
  refresh_wanted_changed_.fire_all();
}

bool ClientCluster::await_refresh(TimePoint deadline) {
  // A refresh already on the wire may have been asked before what the caller wants to see.
  const uint64_t target = refreshes_completed_ + (refresh_in_flight_ ? 2 : 1);
  request_refresh();
  return wait_until(
      changed_, [&] { return refreshes_completed_ >= target || shut_down_; }, deadline);
}

const TopicMetadata* ClientCluster::topic(std::string_view name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

std::vector<int32_t> ClientCluster::node_ids() const {
  std::vector<int32_t> out;
  for (const auto& [id, address] : brokers_) out.push_back(id);
  return out;
}

std::optional<std::string> ClientCluster::broker_address(int32_t node) const {
  auto it = brokers_.find(node);
  if (it == brokers_.end()) return std::nullopt;
  return it->second;
}

// Refreshes when asked (at most once per retry_backoff) and at least every metadata_max_age
// while some topic is wanted.
void ClientCluster::run_refresher() {
  Scheduler& s = Scheduler::current();
  TimePoint last{};  // scheduler time of the last refresh's start
  bool first = true;
  while (!shut_down_) {
    const TimePoint max_age_at = wanted_topics_.empty()
                                     ? TimePoint::max()
                                     : last + clock_.to_scheduler(options_.metadata_max_age);
    wait_until(
        refresh_wanted_changed_, [&] { return refresh_wanted_ || shut_down_; }, max_age_at);
    if (shut_down_) return;
    const TimePoint earliest = last + clock_.to_scheduler(options_.retry_backoff);
    if (!first && s.now() < earliest) {
      WakeTimer timer(earliest);
      while (!timer.expired()) s.suspend();
    }
    first = false;
    refresh_wanted_ = false;
    last = s.now();
    refresh_in_flight_ = true;
    last_refresh_error_ = refresh_once();
    refresh_in_flight_ = false;
    ++refreshes_completed_;
    bump();
  }
}

absl::Status ClientCluster::refresh_once() {
  auto conn = metadata_connection();
  if (!conn.ok()) return conn.status();
  kafka::MetadataRequest req;
  req.topics.emplace();
  for (const std::string& t : wanted_topics_) req.topics->push_back({.name = t});
  req.allow_auto_topic_creation = options_.allow_auto_topic_creation;
  auto rsp = call_with_deadline<kafka::MetadataResponse>(*conn, req, options_.request_timeout);
  if (!rsp.ok()) {
    (*conn)->close();
    if (metadata_connection_ == *conn) metadata_connection_.reset();
    return rsp.status();
  }
  apply(rsp->body);
  return absl::OkStatus();
}

// The bootstrap servers, then the brokers the metadata named, in turn from where the last
// failure left off.
absl::StatusOr<std::shared_ptr<KafkaConnection>> ClientCluster::metadata_connection() {
  if (metadata_connection_ != nullptr && !metadata_connection_->closed())
    return metadata_connection_;
  metadata_connection_.reset();
  std::vector<std::string> addresses = bootstrap_;
  for (const auto& [node, address] : brokers_) {
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end())
      addresses.push_back(address);
  }
  absl::Status last = absl::UnavailableError("no bootstrap server");
  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string& address = addresses[next_metadata_address_++ % addresses.size()];
    KafkaConnectionOptions o;
    o.client_id = options_.client_id;
    o.in_flight_max = 1;
    o.negotiate_timeout = options_.request_timeout;
    auto c = KafkaConnection::connect(network_, address, o);
    if (shut_down_) {
      if (c.ok()) (*c)->close();
      return absl::CancelledError("client shut down");
    }
    if (c.ok()) {
      --next_metadata_address_;  // stay with a server that works
      metadata_connection_ = *c;
      return metadata_connection_;
    }
    last = c.status();
  }
  return last;
}

void ClientCluster::apply(const kafka::MetadataResponse& rsp) {
  brokers_.clear();
  for (const auto& b : rsp.brokers) brokers_[b.node_id] = absl::StrCat(b.host, ":", b.port);
  for (const auto& t : rsp.topics) {
    TopicMetadata m;
    m.error = static_cast<ErrorCode>(t.error_code);
    int32_t count = 0;
    for (const auto& p : t.partitions) count = std::max(count, p.partition_index + 1);
    m.partitions.resize(static_cast<size_t>(count));
    for (const auto& p : t.partitions) {
      if (p.partition_index < 0) continue;
      PartitionMetadata& pm = m.partitions[static_cast<size_t>(p.partition_index)];
      pm.error = static_cast<ErrorCode>(p.error_code);
      pm.leader = p.leader_id;
      pm.leader_epoch = p.leader_epoch;
    }
    for (int32_t i = 0; i < count; ++i) {
      if (m.partitions[static_cast<size_t>(i)].leader >= 0) m.available.push_back(i);
    }
    topics_[t.name] = std::move(m);
  }
}

absl::StatusOr<std::shared_ptr<KafkaConnection>> ClientCluster::connection(
    int32_t node, ConnectionPurpose purpose) {
  NodeConnection& nc = connections_[{node, purpose}];
  while (nc.connecting && !shut_down_) wait_on(nc.connected);
  if (shut_down_) return absl::CancelledError("client shut down");
  if (nc.connection != nullptr && !nc.connection->closed()) return nc.connection;
  nc.connection.reset();
  if (Scheduler::current().now() < nc.retry_at)
    return absl::UnavailableError(absl::StrCat("broker ", node, ": waiting to reconnect"));
  const std::optional<std::string> address = broker_address(node);
  if (!address) {
    request_refresh();
    return absl::UnavailableError(absl::StrCat("broker ", node, " is not in the metadata"));
  }
  nc.connecting = true;
  struct Done {
    NodeConnection& nc;
    ~Done() {
      nc.connecting = false;
      nc.connected.fire_all();
    }
  } done{nc};
  KafkaConnectionOptions o;
  o.client_id = options_.client_id;
  o.in_flight_max = options_.in_flight_max;
  o.negotiate_timeout = options_.request_timeout;
  auto c = KafkaConnection::connect(network_, *address, o);
  if (shut_down_) {
    if (c.ok()) (*c)->close();
    return absl::CancelledError("client shut down");
  }
  if (!c.ok()) {
    nc.retry_at = deadline_after(options_.retry_backoff);
    request_refresh();
    return absl::UnavailableError(
        absl::StrCat("broker ", node, " at ", *address, ": ", c.status().message()));
  }
  nc.connection = *c;
  return nc.connection;
}

void ClientCluster::connection_failed(int32_t node,
                                      const std::shared_ptr<KafkaConnection>& connection) {
  if (connection != nullptr) connection->close();
  for (ConnectionPurpose p : {ConnectionPurpose::kData, ConnectionPurpose::kControl}) {
    auto it = connections_.find({node, p});
    if (it != connections_.end() && it->second.connection == connection)
      it->second.connection.reset();
  }
  request_refresh();
  bump();
}

}  // namespace weir::broker::client
