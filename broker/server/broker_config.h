// A broker's configuration, read from a Kafka server.properties file. It exists so that an
// operator's existing file works unchanged: the keys are Kafka's, with Kafka's defaults, and a
// bad value is refused naming its key (and line). Keys Kafka has but Weir does not need
// (thread counts, the cleaner, the transaction log) are accepted silently; keys neither knows
// are reported as warnings, as Kafka logs "unknown configuration" and carries on.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace weir::broker {

// One `listeners` / `advertised.listeners` entry: NAME://host:port.
struct Listener {
  std::string name = "PLAINTEXT";
  std::string host;  // empty: every interface (listeners) / this host (advertised)
  int32_t port = 9092;
  std::string address() const;  // host:port, with 0.0.0.0 for an empty host
};

struct BrokerConfig {
  int32_t broker_id = -1;  // -1: generated from coord's /brokers/seqid, as Kafka does
  std::vector<Listener> listeners = {Listener{}};
  std::vector<Listener> advertised_listeners;  // empty: the listeners
  std::vector<std::string> log_dirs = {"/tmp/kafka-logs"};
  std::string zookeeper_connect;  // host:port[,host:port...][/chroot]; required
  int32_t zookeeper_session_timeout_ms = 18000;
  int32_t zookeeper_connection_timeout_ms = 18000;
  std::string broker_rack;

  int32_t num_partitions = 1;
  int16_t default_replication_factor = 1;
  bool auto_create_topics_enable = true;
  bool delete_topic_enable = true;
  int32_t message_max_bytes = 1048588;
  int32_t socket_request_max_bytes = 104857600;
  int32_t min_insync_replicas = 1;

  int64_t log_segment_bytes = 1073741824;
  int64_t log_roll_ms = 168LL * 3600 * 1000;
  int64_t log_retention_ms = 168LL * 3600 * 1000;  // -1: forever
  int64_t log_retention_bytes = -1;
  int64_t log_retention_check_interval_ms = 300000;
  int64_t producer_id_expiration_ms = 86400000;  // producer.id.expiration.ms
  int32_t log_index_interval_bytes = 4096;
  int64_t log_flush_interval_messages = INT64_MAX;
  int64_t log_flush_interval_ms = INT64_MAX;  // Kafka: unset, the scheduler interval applies
  int64_t log_flush_scheduler_interval_ms = INT64_MAX;
  int64_t log_flush_offset_checkpoint_interval_ms = 60000;
  bool log_message_timestamp_type_log_append = false;  // log.message.timestamp.type
  // The log cleaner (compaction) and the defaults of its topic keys.
  bool log_cleaner_enable = true;
  int64_t log_cleaner_backoff_ms = 15000;
  int64_t log_cleaner_dedupe_buffer_size = 134217728;
  int64_t log_cleaner_delete_retention_ms = 86400000;
  int64_t log_cleaner_min_compaction_lag_ms = 0;
  double log_cleaner_min_cleanable_ratio = 0.5;
  std::string log_cleanup_policy = "delete";  // delete | compact | compact,delete

  int32_t connections_max = 2147483647;      // max.connections
  int64_t connections_max_idle_ms = 600000;  // connections.max.idle.ms
  int32_t request_in_flight_max = 100;       // per connection (Weir's own bound)
  int32_t group_initial_rebalance_delay_ms = 3000;

  // Groups and the offsets topic (Kafka's keys and defaults).
  int32_t offsets_topic_num_partitions = 50;
  int32_t offsets_topic_replication_factor = 3;
  int64_t offsets_topic_segment_bytes = 104857600;
  int32_t offsets_commit_timeout_ms = 5000;
  int32_t offsets_commit_required_acks = -1;
  int32_t offset_metadata_max_bytes = 4096;
  int64_t offsets_retention_minutes = 10080;
  int64_t offsets_retention_check_interval_ms = 600000;
  int32_t group_min_session_timeout_ms = 6000;
  int32_t group_max_session_timeout_ms = 1800000;
  int32_t group_max_size = 2147483647;

  // Replication and the controller (Kafka's keys and defaults).
  int64_t replica_lag_time_max_ms = 30000;
  int64_t replica_high_watermark_checkpoint_interval_ms = 5000;
  int32_t replica_fetch_wait_max_ms = 500;
  int32_t replica_fetch_min_bytes = 1;
  int32_t replica_fetch_max_bytes = 1048576;
  int32_t replica_fetch_response_max_bytes = 10485760;
  int32_t replica_fetch_backoff_ms = 1000;
  int32_t replica_socket_timeout_ms = 30000;
  int32_t controller_socket_timeout_ms = 30000;
  bool unclean_leader_election_enable = false;
  bool controlled_shutdown_enable = true;
  int32_t controlled_shutdown_max_retries = 3;
  int64_t controlled_shutdown_retry_backoff_ms = 5000;
  bool auto_leader_rebalance_enable = true;
  int64_t leader_imbalance_check_interval_seconds = 300;
  int32_t leader_imbalance_per_broker_percentage = 10;
  // Kafka's broker-side default for a produce's request.timeout.ms is the client's; this bounds
  // how long a parked acks=all produce may wait whatever the client asked.
  int32_t produce_purgatory_timeout_ms_max = 300000;
  // A deliberately broken replication rule, for the simulator's broken variants only (every
  // checker must be able to fail): "high_watermark_from_leader" (the ISR ignored),
  // "truncate_to_high_watermark" (followers cut at their high watermark, before KIP-101),
  // "unfenced_controller" (controller writes without the /controller_epoch check, and a
  // controller that keeps acting after its session was replaced), "ignore_unflushed_data_lost"
  // (a broker that lost unflushed data registers as complete: Kafka's ZooKeeper mode) or
  // "isr_write_unconditional" (a leader's ISR write without its version check).
  std::string weir_bug;

  // Keys neither Kafka nor Weir knows, to be logged as warnings.
  std::vector<std::string> unknown_keys;

  const std::vector<Listener>& advertised() const {
    return advertised_listeners.empty() ? listeners : advertised_listeners;
  }
};

// Java properties syntax (`key=value`, `key: value`, `#`/`!` comments, `\` continuations).
// Errors name the key and the line.
// cleanup.policy / log.cleanup.policy: a comma-separated list of "delete" and "compact";
// nullopt for anything else.
struct CleanupPolicy {
  bool delete_policy = false;
  bool compact = false;
};
std::optional<CleanupPolicy> parse_cleanup_policy(std::string_view value);

absl::StatusOr<std::map<std::string, std::string>> parse_properties(std::string_view text);
absl::StatusOr<BrokerConfig> parse_broker_config(std::string_view text);
// The same from already-split properties (tests, `--override key=value`).
absl::StatusOr<BrokerConfig> broker_config_from(const std::map<std::string, std::string>& props);
absl::StatusOr<std::vector<Listener>> parse_listeners(std::string_view key, std::string_view value);

}  // namespace weir::broker
