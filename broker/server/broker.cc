#include "broker/server/broker.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/server/topic_config.h"
#include "runtime/future.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

using coord::client::SessionState;

constexpr char kMetaProperties[] = "meta.properties";

}  // namespace

absl::StatusOr<std::optional<MetaProperties>> read_meta_properties(IFileSystem& fs,
                                                                   const std::string& dir) {
  const std::string path = dir + "/" + kMetaProperties;
  if (!fs.exists(path)) return std::optional<MetaProperties>();
  auto bytes = read_file(fs, path, 64 << 10);
  if (!bytes.ok()) return bytes.status();
  auto props = parse_properties(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  if (!props.ok()) return props.status();
  MetaProperties meta;
  auto id = props->find("broker.id");
  if (id == props->end() || !absl::SimpleAtoi(id->second, &meta.broker_id))
    return absl::DataLossError(absl::StrCat(path, ": no broker.id"));
  auto cluster = props->find("cluster.id");
  if (cluster != props->end()) meta.cluster_id = cluster->second;
  return std::optional<MetaProperties>(meta);
}

absl::Status write_meta_properties(IFileSystem& fs, const std::string& dir,
                                   const MetaProperties& meta) {
  const std::string text =
      absl::StrCat("#\n# written by weir broker\nversion=0\nbroker.id=", meta.broker_id,
                   "\ncluster.id=", meta.cluster_id, "\n");
  const std::string tmp = absl::StrCat(dir, "/", kMetaProperties, ".tmp");
  {
    auto file = fs.open(tmp, OpenMode::kCreate);
    if (!file.ok()) return file.status();
    if (auto s = (*file)->truncate(0); !s.ok()) return s;
    if (auto s = (*file)->write(
            0, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
        !s.ok())
      return s;
    if (auto s = (*file)->sync(); !s.ok()) return s;
  }
  if (auto s = fs.rename(tmp, dir + "/" + kMetaProperties); !s.ok()) return s;
  return fs.sync_directory(dir);
}

Broker::Broker(BrokerConfig config, ProcessContext& context)
    : config_(std::move(config)), context_(context) {}

Broker::~Broker() {
  if (server_ != nullptr) server_->stop();
}

std::string Broker::bound_address() const {
  return server_ != nullptr ? server_->address() : std::string();
}

absl::Status Broker::open_session() {
  coord::client::CoordClientOptions options;
  options.session_timeout = std::chrono::milliseconds(config_.zookeeper_session_timeout_ms);
  auto parsed = coord::client::parse_connect_string(config_.zookeeper_connect);
  if (!parsed.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("zookeeper.connect: ", parsed.status().message()));
  coord_ = std::make_unique<coord::client::CoordClient>(
      *context_.network, *context_.random, *context_.clock, *std::move(parsed), options);
  auto connected = await(
      coord_->await_state(SessionState::kConnected,
                          std::chrono::milliseconds(config_.zookeeper_connection_timeout_ms)));
  if (!connected.ok())
    return absl::UnavailableError(
        absl::StrCat("no coord session with ", config_.zookeeper_connect,
                     " within zookeeper.connection.timeout.ms: ", connected.message()));
  return absl::OkStatus();
}

absl::Status Broker::connect_coord() {
  if (auto s = open_session(); !s.ok()) return s;
  store_ = std::make_unique<ClusterStore>(*coord_, *context_.clock, *context_.random);
  if (auto s = store_->ensure_layout(); !s.ok()) return s;
  auto cluster = store_->ensure_cluster_id();
  if (!cluster.ok()) return cluster.status();
  cluster_id_ = *cluster;
  TraceEvent(Severity::kInfo, "BrokerCoordConnected")
      .detail("Coord", coord_->connected_server())
      .detail("ClusterId", cluster_id_);
  return absl::OkStatus();
}

// broker.id from server.properties, else from the log dirs' meta.properties, else generated;
// every log dir must agree and belong to this cluster.
absl::Status Broker::resolve_identity() {
  IFileSystem& fs = *context_.fs;
  int32_t found_id = -1;
  for (const std::string& dir : config_.log_dirs) {
    if (auto s = fs.create_directories(dir); !s.ok()) return s;
    auto meta = read_meta_properties(fs, dir);
    if (!meta.ok()) return meta.status();
    if (!meta->has_value()) continue;
    if (!(*meta)->cluster_id.empty() && (*meta)->cluster_id != cluster_id_)
      return absl::FailedPreconditionError(absl::StrCat(
          "log dir ", dir, " belongs to cluster ", (*meta)->cluster_id,
          ", but coord's /cluster/id is ", cluster_id_, " (InconsistentClusterIdException)"));
    if (found_id != -1 && found_id != (*meta)->broker_id)
      return absl::FailedPreconditionError("log dirs disagree on broker.id");
    found_id = (*meta)->broker_id;
  }
  if (config_.broker_id >= 0 && found_id >= 0 && found_id != config_.broker_id)
    return absl::FailedPreconditionError(absl::StrCat(
        "broker.id ", config_.broker_id, " does not match ", found_id, " in meta.properties"));
  broker_id_ = config_.broker_id >= 0 ? config_.broker_id : found_id;
  if (broker_id_ < 0) {
    auto generated = store_->generate_broker_id();
    if (!generated.ok()) return generated.status();
    broker_id_ = *generated;
  }
  config_.broker_id = broker_id_;
  for (const std::string& dir : config_.log_dirs) {
    if (auto s = write_meta_properties(fs, dir, {broker_id_, cluster_id_}); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Broker::start_listener() {
  handler_ = std::make_unique<KafkaListener>(*core_);
  server_ = std::make_unique<framed::FramedServer>(*context_.network, *handler_,
                                                   KafkaListener::server_options(config_));
  const Listener& listener = config_.listeners.front();
  if (auto s = server_->start(listener.address()); !s.ok()) return s;
  // With port 0 the advertised port is the one actually bound.
  const std::string bound = server_->address();
  const Listener& adv = config_.advertised().front();
  core_->advertised_host = adv.host.empty() || adv.host == "0.0.0.0" ? "127.0.0.1" : adv.host;
  int32_t port = adv.port;
  if (port == 0) (void)absl::SimpleAtoi(bound.substr(bound.rfind(':') + 1), &port);
  core_->advertised_port = port;
  return absl::OkStatus();
}

absl::Status Broker::register_self() {
  BrokerRegistration me{.id = broker_id_,
                        .host = core_->advertised_host,
                        .port = core_->advertised_port,
                        .rack = config_.broker_rack};
  return store_->register_broker(me, config_.zookeeper_session_timeout_ms);
}

// Retention, the flush policy and the checkpoint files, on Kafka's schedule keys.
void Broker::run_housekeeping() {
  const int64_t tick_ms = std::min<int64_t>({config_.log_retention_check_interval_ms,
                                             config_.log_flush_offset_checkpoint_interval_ms,
                                             config_.log_flush_scheduler_interval_ms, 1000});
  TimePoint next_retention = context_.clock->now();
  TimePoint next_checkpoint = context_.clock->now();
  while (!stopping_) {
    delay(std::chrono::milliseconds(std::max<int64_t>(tick_ms, 10)));
    if (stopping_) break;
    housekeeping_busy_ = true;
    housekeeping_pass(next_retention, next_checkpoint);
    housekeeping_busy_ = false;
    state_changed_.fire_all();
  }
}

void Broker::housekeeping_pass(TimePoint& next_retention, TimePoint& next_checkpoint) {
  const TimePoint now = context_.clock->now();
  const bool retention_due = now >= next_retention;
  for (const auto& [name, topic] : topics_->topics()) {
    for (const auto& p : topic.partitions) {
      if (p->closed()) continue;
      if (auto s = p->log().maybe_flush(); !s.ok())
        TraceEvent(Severity::kWarnAlways, "BrokerFlushFailed").detail("Error", s.ToString());
      if (retention_due) (void)p->log().apply_retention(context_.clock->wall_ms());
    }
  }
  if (retention_due)
    next_retention = now + std::chrono::milliseconds(config_.log_retention_check_interval_ms);
  if (now >= next_checkpoint) {
    if (auto s = logs_->checkpoint(); !s.ok())
      TraceEvent(Severity::kWarnAlways, "BrokerCheckpointFailed").detail("Error", s.ToString());
    next_checkpoint =
        now + std::chrono::milliseconds(config_.log_flush_offset_checkpoint_interval_ms);
  }
}

void Broker::watch_session() {
  while (!stopping_) {
    auto expired = await(coord_->await_state(SessionState::kExpired, std::chrono::hours(24)));
    if (!expired.ok() || stopping_) continue;
    TraceEvent(Severity::kWarnAlways, "BrokerSessionExpired").detail("BrokerId", broker_id_);
    retired_coords_.push_back(std::move(coord_));
    while (!stopping_) {
      absl::Status s = open_session();
      if (s.ok()) {
        store_->set_client(*coord_);
        s = register_self();
      }
      if (s.ok()) {
        auto controller = store_->try_become_controller(broker_id_);
        if (controller.ok() && controller->has_value()) controller_epoch_ = **controller;
        TraceEvent(Severity::kInfo, "BrokerReregistered").detail("BrokerId", broker_id_);
        break;
      }
      TraceEvent(Severity::kWarnAlways, "BrokerReregisterFailed").detail("Error", s.ToString());
      if (coord_ != nullptr) retired_coords_.push_back(std::move(coord_));
      delay(1s);
    }
  }
}

absl::Status Broker::run() {
  for (const std::string& key : config_.unknown_keys)
    TraceEvent(Severity::kWarnAlways, "BrokerUnknownConfig").detail("Key", key);
  if (auto s = connect_coord(); !s.ok()) return s;
  if (auto s = resolve_identity(); !s.ok()) return s;
  auto logs = log::LogManager::open(*context_.fs, *context_.clock, config_.log_dirs,
                                    log_config_for(config_, {}));
  if (!logs.ok()) return logs.status();
  logs_ = *std::move(logs);
  auto controller = store_->try_become_controller(broker_id_);
  if (!controller.ok()) return controller.status();
  controller_epoch_ = controller->value_or(0);
  topics_ = std::make_unique<TopicRegistry>(config_, *store_, *logs_, *context_.random, broker_id_,
                                            controller_epoch_);
  if (auto s = topics_->load(); !s.ok()) return s;
  core_.reset(new BrokerCore{.config = config_,
                             .broker_id = broker_id_,
                             .cluster_id = cluster_id_,
                             .controller_id = broker_id_,
                             .topics = *topics_,
                             .clock = *context_.clock});
  if (auto s = start_listener(); !s.ok()) return s;
  if (auto s = register_self(); !s.ok()) return s;
  serving_ = true;
  TraceEvent(Severity::kInfo, "BrokerServing")
      .detail("BrokerId", broker_id_)
      .detail("Address", server_->address())
      .detail("Advertised", absl::StrCat(core_->advertised_host, ":", core_->advertised_port))
      .detail("Topics", topics_->topics().size())
      .detail("ControllerEpoch", controller_epoch_);
  background_.add(spawn("broker-housekeeping", [this] { run_housekeeping(); }));
  background_.add(spawn("broker-session", [this] { watch_session(); }));
  // Serves until cancelled (the caller's stop), stopped, or a log fails for good; only this
  // wait is cancelled.
  StorageHealth& health = topics_->health();
  health.notify = &state_changed_;
  wait_for(state_changed_, [&] { return stopping_ || !health.failure.ok(); });
  if (!health.failure.ok()) {
    TraceEvent(Severity::kWarnAlways, "BrokerStorageFailed")
        .detail("Error", health.failure.ToString());
    return absl::UnavailableError(absl::StrCat(
        "a log failed; stopping for a restart and recovery: ", health.failure.message()));
  }
  return absl::OkStatus();
}

absl::Status Broker::stop() {
  if (stopped_) return absl::OkStatus();
  stopped_ = true;
  serving_ = false;
  stopping_ = true;
  state_changed_.fire_all();
  // Nothing is cancelled in the middle of log I/O: housekeeping finishes its pass, requests
  // already handed to a log finish (fetch long polls wake up and answer at once).
  wait_for(state_changed_, [this] { return !housekeeping_busy_; });
  background_.clear();
  if (server_ != nullptr) server_->stop();
  absl::Status result;
  if (topics_ != nullptr) {
    topics_->close_all();
    topics_->appended().fire();
  }
  if (core_ != nullptr) {
    const TimePoint deadline = Scheduler::current().now() + to_scheduler_duration(10s);
    while (core_->requests.size() > 0 && Scheduler::current().now() < deadline) delay(5ms);
    core_->requests.clear();
  }
  if (logs_ != nullptr) result = logs_->close();
  if (coord_ != nullptr) (void)await(coord_->close());
  TraceEvent(Severity::kInfo, "BrokerStopped").detail("Status", result.ToString());
  return result;
}

}  // namespace weir::broker
