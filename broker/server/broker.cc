#include "broker/server/broker.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/client/kafka_connection.h"
#include "broker/server/topic_config.h"
#include "runtime/future.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

using coord::client::SessionState;

constexpr char kMetaProperties[] = "meta.properties";
constexpr char kCleanShutdown[] = ".kafka_cleanshutdown";
// The boot the broker last started in: a restart within the same boot lost nothing unsynced.
constexpr char kBootId[] = ".weir_boot_id";
// This broker lost unflushed data and the controller has not yet acted on it. Durable, so that a
// restart before then (even within the same boot, even after a clean stop) still says so.
constexpr char kUnflushedLost[] = ".weir_unflushed_data_lost";

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
                        .rack = config_.broker_rack,
                        .unflushed_data_lost = unflushed_data_lost_};
  // A previous incarnation's session ends up to a coord tick after its timeout (a tick is at
  // most half of it): wait out twice the timeout before calling the id taken.
  auto epoch = store_->register_broker(me, 2 * int64_t{config_.zookeeper_session_timeout_ms});
  if (!epoch.ok()) return epoch.status();
  replicas_->set_broker_epoch(*epoch);
  return absl::OkStatus();
}

absl::StatusOr<bool> Broker::take_clean_shutdown_markers() {
  IFileSystem& fs = *context_.fs;
  bool clean = true;
  for (const std::string& dir : config_.log_dirs) {
    // A crash of the process alone keeps the page cache: same boot, nothing unsynced lost.
    const std::string boot_path = dir + "/" + kBootId;
    bool same_boot = false;
    if (!context_.boot_id.empty() && fs.exists(boot_path)) {
      auto bytes = read_file(fs, boot_path, 4096);
      same_boot = bytes.ok() && std::string(bytes->begin(), bytes->end()) == context_.boot_id;
    }
    if (!same_boot) {
      auto file = fs.open(boot_path + ".tmp", OpenMode::kCreate);
      if (!file.ok()) return file.status();
      const std::string& id = context_.boot_id;
      if (auto s = (*file)->truncate(0); !s.ok()) return s;
      if (auto s = (*file)->write(
              0, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(id.data()), id.size()));
          !s.ok())
        return s;
      if (auto s = (*file)->sync(); !s.ok()) return s;
      file->reset();
      if (auto s = fs.rename(boot_path + ".tmp", boot_path); !s.ok()) return s;
      if (auto s = fs.sync_directory(dir); !s.ok()) return s;
    }
    const std::string path = dir + "/" + kCleanShutdown;
    if (!fs.exists(path)) {
      clean = clean && same_boot;
      continue;
    }
    if (auto s = fs.remove(path); !s.ok()) return s;
    if (auto s = fs.sync_directory(dir); !s.ok()) return s;
  }
  return clean;
}

void Broker::write_clean_shutdown_markers() {
  IFileSystem& fs = *context_.fs;
  for (const std::string& dir : config_.log_dirs) {
    auto file = fs.open(dir + "/" + kCleanShutdown, OpenMode::kCreate);
    if (!file.ok() || !(*file)->sync().ok() || !fs.sync_directory(dir).ok())
      TraceEvent(Severity::kWarn, "BrokerCleanShutdownMarkerFailed").detail("Dir", dir);
  }
}

absl::StatusOr<bool> Broker::note_unflushed_data_lost(bool lost_now) {
  IFileSystem& fs = *context_.fs;
  bool lost = lost_now;
  for (const std::string& dir : config_.log_dirs) lost |= fs.exists(dir + "/" + kUnflushedLost);
  if (!lost) return false;
  for (const std::string& dir : config_.log_dirs) {
    const std::string path = dir + "/" + kUnflushedLost;
    if (fs.exists(path)) continue;
    auto file = fs.open(path, OpenMode::kCreate);
    if (!file.ok()) return file.status();
    if (auto s = (*file)->sync(); !s.ok()) return s;
    file->reset();
    if (auto s = fs.sync_directory(dir); !s.ok()) return s;
  }
  return true;
}

void Broker::clear_lost_flag_when_seen() {
  MetadataCache& metadata = replicas_->metadata();
  wait_for(metadata.changed(), [&] { return stopping_ || metadata.generation() > 0; });
  if (stopping_ || !unflushed_data_lost_) return;
  BrokerRegistration me{.id = broker_id_,
                        .host = core_->advertised_host,
                        .port = core_->advertised_port,
                        .rack = config_.broker_rack};
  auto updated =
      await(store_->coord().set_data(absl::StrCat("/brokers/ids/", broker_id_),
                                     ClusterStore::broker_json(me, context_.clock->wall_ms())));
  if (!updated.ok()) return;  // the next incarnation says it again
  // The controller has removed this broker from every ISR and ELR: the marker has done its job.
  IFileSystem& fs = *context_.fs;
  for (const std::string& dir : config_.log_dirs) {
    const std::string path = dir + "/" + kUnflushedLost;
    if (fs.exists(path) && fs.remove(path).ok()) (void)fs.sync_directory(dir);
  }
  unflushed_data_lost_ = false;
}

void Broker::controlled_shutdown() {
  const int attempts = std::max(1, config_.controlled_shutdown_max_retries + 1);
  for (int i = 0; i < attempts; ++i) {
    const MetadataCache& m = replicas_->metadata();
    const BrokerEndpoint* controller = m.broker(m.controller_id());
    if (controller != nullptr) {
      auto c = client::KafkaConnection::connect(*context_.network, controller->address(),
                                                {.client_id = "controlled-shutdown"});
      if (c.ok()) {
        kafka::ControlledShutdownRequest req{.broker_id = broker_id_,
                                             .broker_epoch = replicas_->broker_epoch()};
        auto call = spawn("controlled-shutdown-call", [conn = *c, req] {
          return conn->call<kafka::ControlledShutdownResponse>(req, 3);
        });
        auto rsp =
            await(timeout(call, std::chrono::milliseconds(config_.controller_socket_timeout_ms)));
        (*c)->close();
        if (rsp.ok() && rsp->error_code == 0 && rsp->remaining_partitions.empty()) {
          TraceEvent(Severity::kInfo, "BrokerControlledShutdown").detail("Attempts", i + 1);
          return;
        }
      }
    }
    delay(std::chrono::milliseconds(
        std::min<int64_t>(config_.controlled_shutdown_retry_backoff_ms, 10000)));
  }
  TraceEvent(Severity::kWarn, "BrokerControlledShutdownIncomplete").detail("BrokerId", broker_id_);
}

// Retention, the flush policy and the checkpoint files, on Kafka's schedule keys.
void Broker::run_housekeeping() {
  const int64_t tick_ms = std::min<int64_t>({config_.log_retention_check_interval_ms,
                                             config_.log_flush_offset_checkpoint_interval_ms,
                                             config_.replica_high_watermark_checkpoint_interval_ms,
                                             config_.log_flush_scheduler_interval_ms, 1000});
  Schedule schedule{.next_retention = context_.clock->now(),
                    .next_checkpoint = context_.clock->now(),
                    .next_high_watermarks = context_.clock->now()};
  while (!stopping_) {
    delay(std::chrono::milliseconds(std::max<int64_t>(tick_ms, 10)));
    if (stopping_) break;
    housekeeping_busy_ = true;
    housekeeping_pass(schedule);
    housekeeping_busy_ = false;
    state_changed_.fire_all();
  }
}

void Broker::run_log_cleaner() {
  while (!stopping_) {
    delay(std::chrono::milliseconds(config_.log_cleaner_backoff_ms));
    if (stopping_) break;
    cleaner_busy_ = true;
    for (int pass = 0; pass < 64 && !stopping_; ++pass) {
      auto cleaned =
          logs_->clean_one(context_.clock->wall_ms(),
                           static_cast<size_t>(config_.log_cleaner_dedupe_buffer_size), &stopping_);
      if (!cleaned.ok()) {
        // Aborted: the log went while it was cleaned; Cancelled: stopping.
        if (!stopping_ && !absl::IsAborted(cleaned.status()) &&
            !absl::IsCancelled(cleaned.status()))
          TraceEvent(Severity::kWarn, "BrokerLogCleanerFailed")
              .detail("Error", cleaned.status().ToString());
        break;
      }
      if (!cleaned->has_value()) break;
      const log::CompactionReport& r = (*cleaned)->report;
      TraceEvent(Severity::kInfo, "BrokerLogCleaned")
          .detail("Partition", (*cleaned)->partition.dir_name())
          .detail("FirstDirty", r.first_dirty)
          .detail("BytesBefore", r.bytes_before)
          .detail("BytesAfter", r.bytes_after)
          .detail("SegmentsBefore", r.segments_before)
          .detail("SegmentsAfter", r.segments_after);
    }
    cleaner_busy_ = false;
    state_changed_.fire_all();
  }
}

void Broker::housekeeping_pass(Schedule& schedule) {
  const TimePoint now = context_.clock->now();
  const bool retention_due = now >= schedule.next_retention;
  std::vector<std::shared_ptr<Partition>> partitions;
  for (const auto& [tp, p] : replicas_->partitions()) partitions.push_back(p);
  for (const auto& p : partitions) {
    if (p->closed()) continue;
    if (auto s = p->log().maybe_flush(); !s.ok())
      TraceEvent(Severity::kWarnAlways, "BrokerFlushFailed").detail("Error", s.ToString());
    // Retention is the leader's: a follower's log start follows the leader's (Kafka 3.x
    // followers also apply retention; they never serve below the leader's start).
    if (retention_due) (void)p->log().apply_retention(context_.clock->wall_ms());
  }
  if (retention_due) {
    schedule.next_retention =
        now + std::chrono::milliseconds(config_.log_retention_check_interval_ms);
  }
  if (now >= schedule.next_checkpoint) {
    if (auto s = logs_->checkpoint(); !s.ok())
      TraceEvent(Severity::kWarnAlways, "BrokerCheckpointFailed").detail("Error", s.ToString());
    schedule.next_checkpoint =
        now + std::chrono::milliseconds(config_.log_flush_offset_checkpoint_interval_ms);
    // written with the others just now
    schedule.next_high_watermarks =
        now + std::chrono::milliseconds(config_.replica_high_watermark_checkpoint_interval_ms);
  }
  if (now >= schedule.next_high_watermarks) {
    if (auto s = logs_->checkpoint_high_watermarks(); !s.ok())
      TraceEvent(Severity::kWarnAlways, "BrokerCheckpointFailed").detail("Error", s.ToString());
    schedule.next_high_watermarks =
        now + std::chrono::milliseconds(config_.replica_high_watermark_checkpoint_interval_ms);
  }
}

void Broker::watch_session() {
  while (!stopping_) {
    auto expired = await(coord_->await_state(SessionState::kExpired, std::chrono::hours(24)));
    if (!expired.ok() || stopping_) continue;
    TraceEvent(Severity::kWarnAlways, "BrokerSessionExpired").detail("BrokerId", broker_id_);
    // /controller went with the session: whatever this broker's controller held is gone.
    controller_->on_session_replaced();
    retired_coords_.push_back(std::move(coord_));
    while (!stopping_) {
      absl::Status s = open_session();
      if (s.ok()) {
        store_->set_client(*coord_);
        s = register_self();
      }
      if (s.ok()) {
        controller_->on_session_replaced();
        TraceEvent(Severity::kInfo, "BrokerReregistered").detail("BrokerId", broker_id_);
        break;
      }
      TraceEvent(Severity::kWarnAlways, "BrokerReregisterFailed").detail("Error", s.ToString());
      if (coord_ != nullptr) {
        // Its session may be alive (only a reply was lost): close it, or the registration it
        // may hold would block every later attempt as "another live broker with this id".
        (void)await(timeout(coord_->close(), std::chrono::seconds(5)));
        retired_coords_.push_back(std::move(coord_));
      }
      delay(1s);
    }
  }
}

group::GroupConfig Broker::group_config() const {
  return group::GroupConfig{
      .offsets_topic_partitions = config_.offsets_topic_num_partitions,
      .session_timeout_min_ms = config_.group_min_session_timeout_ms,
      .session_timeout_max_ms = config_.group_max_session_timeout_ms,
      .initial_rebalance_delay_ms = config_.group_initial_rebalance_delay_ms,
      .group_max_size = config_.group_max_size,
      .offset_metadata_max_bytes = config_.offset_metadata_max_bytes,
      .offsets_retention_ms = config_.offsets_retention_minutes * 60000,
      .offsets_retention_check_interval_ms = config_.offsets_retention_check_interval_ms,
      .offsets_commit_timeout_ms = config_.offsets_commit_timeout_ms,
      .bug = config_.weir_bug};
}

// The coordinator follows this broker's roles for the partitions of __consumer_offsets.
void Broker::start_group_coordinator() {
  group_log_ = std::make_unique<PartitionGroupLog>(config_, *replicas_, *context_.clock);
  groups_ = std::make_unique<group::GroupCoordinator>(group_config(), *group_log_, *context_.clock,
                                                      *context_.random);
  replicas_->set_role_listener(
      [this](const log::TopicPartition& tp, ReplicaRole role, LeaderEpoch epoch) {
        if (tp.topic != group::kOffsetsTopic) return;
        if (const TopicMetadata* t = replicas_->metadata().find(group::kOffsetsTopic))
          groups_->set_partition_count(static_cast<int32_t>(t->partitions.size()));
        if (role == ReplicaRole::kLeader) {
          groups_->on_elected(tp.partition, epoch);
        } else {
          groups_->on_resigned(tp.partition);
        }
      });
  groups_->start();
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
  auto clean = take_clean_shutdown_markers();
  if (!clean.ok()) return clean.status();
  // Logs the flush policy leaves to replication lose their unflushed tail in a crash.
  auto lost = note_unflushed_data_lost(!*clean && !logs_->partitions().empty() &&
                                       config_.log_flush_interval_messages != 1);
  if (!lost.ok()) return lost.status();
  // The broken variant is Kafka's ZooKeeper mode: the loss is not told to the controller.
  unflushed_data_lost_ = *lost && config_.weir_bug != "ignore_unflushed_data_lost";
  replicas_ = std::make_unique<ReplicaManager>(config_, *store_, *logs_, *context_.network,
                                               *context_.clock, broker_id_);
  if (auto s = replicas_->load(); !s.ok()) return s;
  admin_ = std::make_unique<TopicAdmin>(config_, *store_, *context_.random);
  controller_ = std::make_unique<controller::Controller>(config_, broker_id_, *store_,
                                                         *context_.network, *context_.clock);
  start_group_coordinator();
  producer_ids_ = std::make_unique<ProducerIdManager>(*store_, broker_id_);
  core_.reset(new BrokerCore{.config = config_,
                             .broker_id = broker_id_,
                             .cluster_id = cluster_id_,
                             .replicas = *replicas_,
                             .admin = *admin_,
                             .store = *store_,
                             .controller = *controller_,
                             .groups = *groups_,
                             .producer_ids = *producer_ids_,
                             .clock = *context_.clock});
  if (auto s = start_listener(); !s.ok()) return s;
  if (auto s = register_self(); !s.ok()) return s;
  replicas_->start();
  controller_->start();
  serving_ = true;
  TraceEvent(Severity::kInfo, "BrokerServing")
      .detail("BrokerId", broker_id_)
      .detail("Address", server_->address())
      .detail("Advertised", absl::StrCat(core_->advertised_host, ":", core_->advertised_port))
      .detail("Partitions", logs_->partitions().size())
      .detail("UnflushedDataLost", unflushed_data_lost_);
  background_.add(spawn("broker-housekeeping", [this] { run_housekeeping(); }));
  if (config_.log_cleaner_enable)
    background_.add(spawn("broker-log-cleaner", [this] { run_log_cleaner(); }));
  background_.add(spawn("broker-lost-flag", [this] { clear_lost_flag_when_seen(); }));
  background_.add(spawn("broker-session", [this] { watch_session(); }));
  // Serves until cancelled (the caller's stop), stopped, or a log fails for good; only this
  // wait is cancelled.
  StorageHealth& health = replicas_->health();
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
  const bool was_serving = serving_;
  if (was_serving && config_.controlled_shutdown_enable && replicas_ != nullptr &&
      replicas_->health().failure.ok())
    controlled_shutdown();
  serving_ = false;
  stopping_ = true;
  state_changed_.fire_all();
  // Nothing is cancelled in the middle of log I/O: housekeeping finishes its pass, requests
  // already handed to a log finish (fetch long polls wake up and answer at once).
  wait_for(state_changed_, [this] { return !housekeeping_busy_ && !cleaner_busy_; });
  background_.clear();
  if (controller_ != nullptr) controller_->stop();
  if (groups_ != nullptr) groups_->stop();
  if (replicas_ != nullptr) replicas_->stop();
  if (server_ != nullptr) server_->stop();
  absl::Status result;
  if (replicas_ != nullptr) replicas_->close_all();
  if (core_ != nullptr) {
    const TimePoint deadline = Scheduler::current().now() + to_scheduler_duration(10s);
    while (core_->requests.size() > 0 && Scheduler::current().now() < deadline) delay(5ms);
    core_->requests.clear();
  }
  if (logs_ != nullptr) {
    result = logs_->close();
    if (result.ok() && replicas_ != nullptr && replicas_->health().failure.ok())
      write_clean_shutdown_markers();
  }
  if (coord_ != nullptr) (void)await(coord_->close());
  TraceEvent(Severity::kInfo, "BrokerStopped").detail("Status", result.ToString());
  return result;
}

}  // namespace weir::broker
