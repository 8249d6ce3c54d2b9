#include "broker/server/broker_config.h"

#include <functional>
#include <limits>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace weir::broker {
namespace {

absl::string_view sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

absl::Status bad(std::string_view key, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", sv(value), "\" for ", sv(key), ": ", sv(why)));
}

template <class Int>
absl::Status parse_int(std::string_view key, std::string_view value, Int& out, int64_t min,
                       int64_t max = std::numeric_limits<Int>::max()) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(sv(value), &v)) return bad(key, value, "not an integer");
  if (v < min || v > max) return bad(key, value, absl::StrCat("must be in [", min, ", ", max, "]"));
  out = static_cast<Int>(v);
  return absl::OkStatus();
}

absl::Status parse_bool(std::string_view key, std::string_view value, bool& out) {
  const std::string lower = absl::AsciiStrToLower(sv(value));
  if (lower == "true") {
    out = true;
  } else if (lower == "false") {
    out = false;
  } else {
    return bad(key, value, "must be true or false");
  }
  return absl::OkStatus();
}

using Setter =
    std::function<absl::Status(std::string_view key, std::string_view value, BrokerConfig& config)>;

template <class Int>
Setter int_key(Int BrokerConfig::*field, int64_t min, int64_t max = std::numeric_limits<Int>::max(),
               int64_t scale = 1) {
  return [=](std::string_view key, std::string_view value, BrokerConfig& c) {
    Int v{};
    if (auto s = parse_int(key, value, v, min, max / scale); !s.ok()) return s;
    // -1 means "unlimited" for Kafka's time and size keys: it is never scaled.
    c.*field = v == -1 ? v : static_cast<Int>(v * scale);
    return absl::OkStatus();
  };
}

Setter bool_key(bool BrokerConfig::*field) {
  return [=](std::string_view key, std::string_view value, BrokerConfig& c) {
    return parse_bool(key, value, c.*field);
  };
}

// Keys Kafka reads that have no meaning in Weir (thread pools, the cleaner, the transaction
// coordinator, JMX): accepted as Kafka accepts them.
const std::set<std::string>& accepted_keys() {
  static const std::set<std::string> keys = {"num.network.threads",
                                             "num.io.threads",
                                             "num.replica.fetchers",
                                             "num.recovery.threads.per.data.dir",
                                             "background.threads",
                                             "socket.send.buffer.bytes",
                                             "socket.receive.buffer.bytes",
                                             "queued.max.requests",
                                             "log.cleaner.threads",
                                             "log.cleaner.io.buffer.size",
                                             "log.cleaner.io.max.bytes.per.second",
                                             "offsets.topic.replication.factor",
                                             "offsets.topic.num.partitions",
                                             "transaction.state.log.replication.factor",
                                             "transaction.state.log.min.isr",
                                             "compression.type",
                                             "inter.broker.listener.name",
                                             "listener.security.protocol.map",
                                             "security.inter.broker.protocol",
                                             "jmx.port",
                                             "zookeeper.set.acl",
                                             "confluent.support.metrics.enable",
                                             "broker.id.generation.enable",
                                             "reserved.broker.max.id",
                                             "log.preallocate",
                                             "log.index.size.max.bytes"};
  return keys;
}

std::map<std::string, Setter> make_setters();

}  // namespace

std::string Listener::address() const {
  return absl::StrCat(host.empty() ? "0.0.0.0" : host, ":", port);
}

absl::StatusOr<std::vector<Listener>> parse_listeners(std::string_view key,
                                                      std::string_view value) {
  std::vector<Listener> out;
  std::set<std::string> names;
  for (absl::string_view item : absl::StrSplit(sv(value), ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    const size_t scheme = item.find("://");
    if (scheme == absl::string_view::npos)
      return bad(key, value, "each listener is NAME://host:port");
    Listener l;
    l.name = std::string(item.substr(0, scheme));
    absl::string_view host_port = item.substr(scheme + 3);
    const size_t colon = host_port.rfind(':');
    if (colon == absl::string_view::npos) return bad(key, value, "a listener needs a port");
    l.host = std::string(host_port.substr(0, colon));
    if (l.host.size() > 2 && l.host.front() == '[' && l.host.back() == ']')
      l.host = l.host.substr(1, l.host.size() - 2);
    if (auto s = parse_int(
            key, std::string_view(host_port.substr(colon + 1).data(), host_port.size() - colon - 1),
            l.port, 0, 65535);
        !s.ok())
      return s;
    if (l.name != "PLAINTEXT")
      return bad(key, value,
                 absl::StrCat("listener ", l.name, ": only PLAINTEXT is served by this build"));
    if (!names.insert(l.name).second)
      return bad(key, value, absl::StrCat("listener name ", l.name, " given twice"));
    out.push_back(std::move(l));
  }
  if (out.empty()) return bad(key, value, "no listener");
  return out;
}

namespace {

std::map<std::string, Setter> make_setters() {
  std::map<std::string, Setter> s;
  s["broker.id"] = int_key(&BrokerConfig::broker_id, -1);
  s["listeners"] = [](std::string_view k, std::string_view v, BrokerConfig& c) {
    auto l = parse_listeners(k, v);
    if (!l.ok()) return l.status();
    c.listeners = *std::move(l);
    return absl::OkStatus();
  };
  s["advertised.listeners"] = [](std::string_view k, std::string_view v, BrokerConfig& c) {
    auto l = parse_listeners(k, v);
    if (!l.ok()) return l.status();
    for (const Listener& a : *l) {
      if (a.host.empty() || a.host == "0.0.0.0")
        return bad(k, v, "an advertised listener needs a host clients can reach");
    }
    c.advertised_listeners = *std::move(l);
    return absl::OkStatus();
  };
  auto dirs = [](std::string_view k, std::string_view v, BrokerConfig& c) {
    c.log_dirs.clear();
    for (absl::string_view d : absl::StrSplit(sv(v), ',', absl::SkipWhitespace()))
      c.log_dirs.emplace_back(absl::StripAsciiWhitespace(d));
    if (c.log_dirs.empty()) return bad(k, v, "no directory");
    return absl::OkStatus();
  };
  s["log.dirs"] = dirs;
  s["log.dir"] = dirs;
  s["zookeeper.connect"] = [](std::string_view k, std::string_view v, BrokerConfig& c) {
    if (v.empty()) return bad(k, v, "empty");
    c.zookeeper_connect = std::string(v);
    return absl::OkStatus();
  };
  s["broker.rack"] = [](std::string_view, std::string_view v, BrokerConfig& c) {
    c.broker_rack = std::string(v);
    return absl::OkStatus();
  };
  s["zookeeper.session.timeout.ms"] = int_key(&BrokerConfig::zookeeper_session_timeout_ms, 1);
  s["zookeeper.connection.timeout.ms"] = int_key(&BrokerConfig::zookeeper_connection_timeout_ms, 1);
  s["num.partitions"] = int_key(&BrokerConfig::num_partitions, 1, 100000);
  s["default.replication.factor"] = int_key(&BrokerConfig::default_replication_factor, 1);
  s["auto.create.topics.enable"] = bool_key(&BrokerConfig::auto_create_topics_enable);
  s["delete.topic.enable"] = bool_key(&BrokerConfig::delete_topic_enable);
  s["message.max.bytes"] = int_key(&BrokerConfig::message_max_bytes, 0);
  s["socket.request.max.bytes"] = int_key(&BrokerConfig::socket_request_max_bytes, 1);
  s["min.insync.replicas"] = int_key(&BrokerConfig::min_insync_replicas, 1);
  s["replica.lag.time.max.ms"] = int_key(&BrokerConfig::replica_lag_time_max_ms, 1);
  s["replica.high.watermark.checkpoint.interval.ms"] =
      int_key(&BrokerConfig::replica_high_watermark_checkpoint_interval_ms, 1);
  s["weir.bug"] = [](std::string_view k, std::string_view v, BrokerConfig& c) {
    if (v != "high_watermark_from_leader" && v != "truncate_to_high_watermark" &&
        v != "unfenced_controller" && v != "ignore_unflushed_data_lost" &&
        v != "isr_write_unconditional" && v != "group_reuse_generation" &&
        v != "group_commit_any_generation" && v != "producer_accept_duplicates" &&
        v != "cleaner_drops_latest")
      return bad(k, v, "not a known broken variant");
    c.weir_bug = std::string(v);
    return absl::OkStatus();
  };
  s["replica.fetch.wait.max.ms"] = int_key(&BrokerConfig::replica_fetch_wait_max_ms, 0);
  s["replica.fetch.min.bytes"] = int_key(&BrokerConfig::replica_fetch_min_bytes, 1);
  s["replica.fetch.max.bytes"] = int_key(&BrokerConfig::replica_fetch_max_bytes, 1);
  s["replica.fetch.response.max.bytes"] =
      int_key(&BrokerConfig::replica_fetch_response_max_bytes, 1);
  s["replica.fetch.backoff.ms"] = int_key(&BrokerConfig::replica_fetch_backoff_ms, 0);
  s["replica.socket.timeout.ms"] = int_key(&BrokerConfig::replica_socket_timeout_ms, 1);
  s["controller.socket.timeout.ms"] = int_key(&BrokerConfig::controller_socket_timeout_ms, 1);
  s["unclean.leader.election.enable"] = bool_key(&BrokerConfig::unclean_leader_election_enable);
  s["controlled.shutdown.enable"] = bool_key(&BrokerConfig::controlled_shutdown_enable);
  s["controlled.shutdown.max.retries"] = int_key(&BrokerConfig::controlled_shutdown_max_retries, 0);
  s["controlled.shutdown.retry.backoff.ms"] =
      int_key(&BrokerConfig::controlled_shutdown_retry_backoff_ms, 0);
  s["auto.leader.rebalance.enable"] = bool_key(&BrokerConfig::auto_leader_rebalance_enable);
  s["leader.imbalance.check.interval.seconds"] =
      int_key(&BrokerConfig::leader_imbalance_check_interval_seconds, 1);
  s["leader.imbalance.per.broker.percentage"] =
      int_key(&BrokerConfig::leader_imbalance_per_broker_percentage, 0, 100);
  s["log.segment.bytes"] = int_key(&BrokerConfig::log_segment_bytes, 14, INT32_MAX);
  s["log.roll.ms"] = int_key(&BrokerConfig::log_roll_ms, 1);
  s["log.roll.hours"] = int_key(&BrokerConfig::log_roll_ms, 1, INT64_MAX, 3600 * 1000);
  s["log.retention.ms"] = int_key(&BrokerConfig::log_retention_ms, -1);
  s["log.retention.minutes"] = int_key(&BrokerConfig::log_retention_ms, -1, INT64_MAX, 60000);
  s["log.retention.hours"] = int_key(&BrokerConfig::log_retention_ms, -1, INT64_MAX, 3600000);
  s["log.retention.bytes"] = int_key(&BrokerConfig::log_retention_bytes, -1);
  s["producer.id.expiration.ms"] = int_key(&BrokerConfig::producer_id_expiration_ms, 1);
  s["log.retention.check.interval.ms"] = int_key(&BrokerConfig::log_retention_check_interval_ms, 1);
  s["log.index.interval.bytes"] = int_key(&BrokerConfig::log_index_interval_bytes, 0);
  s["log.flush.interval.messages"] = int_key(&BrokerConfig::log_flush_interval_messages, 1);
  s["log.flush.interval.ms"] = int_key(&BrokerConfig::log_flush_interval_ms, 0);
  s["log.flush.scheduler.interval.ms"] = int_key(&BrokerConfig::log_flush_scheduler_interval_ms, 0);
  s["log.flush.offset.checkpoint.interval.ms"] =
      int_key(&BrokerConfig::log_flush_offset_checkpoint_interval_ms, 0);
  s["log.cleaner.enable"] = bool_key(&BrokerConfig::log_cleaner_enable);
  s["log.cleaner.backoff.ms"] = int_key(&BrokerConfig::log_cleaner_backoff_ms, 1);
  // Kafka's floor is 1 MiB per cleaner thread; the map also needs room for one batch's keys.
  s["log.cleaner.dedupe.buffer.size"] =
      int_key(&BrokerConfig::log_cleaner_dedupe_buffer_size, 1 << 20);
  s["log.cleaner.delete.retention.ms"] = int_key(&BrokerConfig::log_cleaner_delete_retention_ms, 0);
  s["log.cleaner.min.compaction.lag.ms"] =
      int_key(&BrokerConfig::log_cleaner_min_compaction_lag_ms, 0);
  s["log.cleaner.min.cleanable.ratio"] = [](std::string_view k, std::string_view v,
                                            BrokerConfig& c) {
    double ratio = 0;
    if (!absl::SimpleAtod(sv(v), &ratio) || !(ratio >= 0 && ratio <= 1))
      return bad(k, v, "must be a number in [0, 1]");
    c.log_cleaner_min_cleanable_ratio = ratio;
    return absl::OkStatus();
  };
  s["log.cleanup.policy"] = [](std::string_view k, std::string_view v, BrokerConfig& c) {
    if (!parse_cleanup_policy(v).has_value())
      return bad(k, v, "must be delete, compact or compact,delete");
    c.log_cleanup_policy = std::string(v);
    return absl::OkStatus();
  };
  s["log.message.timestamp.type"] = [](std::string_view k, std::string_view v, BrokerConfig& c) {
    if (v == "CreateTime") {
      c.log_message_timestamp_type_log_append = false;
    } else if (v == "LogAppendTime") {
      c.log_message_timestamp_type_log_append = true;
    } else {
      return bad(k, v, "must be CreateTime or LogAppendTime");
    }
    return absl::OkStatus();
  };
  s["max.connections"] = int_key(&BrokerConfig::connections_max, 0);
  s["connections.max.idle.ms"] = int_key(&BrokerConfig::connections_max_idle_ms, -1);
  s["weir.request.in.flight.max"] = int_key(&BrokerConfig::request_in_flight_max, 1, 10000);
  s["group.initial.rebalance.delay.ms"] =
      int_key(&BrokerConfig::group_initial_rebalance_delay_ms, 0);
  s["offsets.topic.num.partitions"] =
      int_key(&BrokerConfig::offsets_topic_num_partitions, 1, 100000);
  s["offsets.topic.replication.factor"] =
      int_key(&BrokerConfig::offsets_topic_replication_factor, 1, INT16_MAX);
  s["offsets.topic.segment.bytes"] =
      int_key(&BrokerConfig::offsets_topic_segment_bytes, 14, INT32_MAX);
  s["offsets.commit.timeout.ms"] = int_key(&BrokerConfig::offsets_commit_timeout_ms, 1);
  s["offsets.commit.required.acks"] = int_key(&BrokerConfig::offsets_commit_required_acks, -1, 1);
  s["offset.metadata.max.bytes"] = int_key(&BrokerConfig::offset_metadata_max_bytes, 0);
  s["offsets.retention.minutes"] = int_key(&BrokerConfig::offsets_retention_minutes, 1);
  s["offsets.retention.check.interval.ms"] =
      int_key(&BrokerConfig::offsets_retention_check_interval_ms, 1);
  s["group.min.session.timeout.ms"] = int_key(&BrokerConfig::group_min_session_timeout_ms, 0);
  s["group.max.session.timeout.ms"] = int_key(&BrokerConfig::group_max_session_timeout_ms, 0);
  s["group.max.size"] = int_key(&BrokerConfig::group_max_size, 1);
  return s;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> parse_properties(std::string_view text) {
  std::map<std::string, std::string> out;
  std::string logical;
  int line_no = 0;
  int start_line = 0;
  for (absl::string_view raw : absl::StrSplit(sv(text), '\n')) {
    ++line_no;
    absl::string_view line = absl::StripLeadingAsciiWhitespace(raw);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (logical.empty()) {
      if (line.empty() || line.front() == '#' || line.front() == '!') continue;
      start_line = line_no;
    }
    if (!line.empty() && line.back() == '\\') {
      logical.append(line.data(), line.size() - 1);
      continue;
    }
    logical.append(line.data(), line.size());
    const size_t sep = logical.find_first_of("=:");
    std::string key(absl::StripAsciiWhitespace(logical.substr(0, sep)));
    std::string value =
        sep == std::string::npos
            ? ""
            : std::string(absl::StripAsciiWhitespace(absl::string_view(logical).substr(sep + 1)));
    logical.clear();
    if (key.empty())
      return absl::InvalidArgumentError(absl::StrCat("line ", start_line, ": no key"));
    out[key] = value;
  }
  return out;
}

absl::StatusOr<BrokerConfig> broker_config_from(const std::map<std::string, std::string>& props) {
  static const std::map<std::string, Setter> setters = make_setters();
  BrokerConfig config;
  for (const auto& [key, value] : props) {
    auto it = setters.find(key);
    if (it == setters.end()) {
      if (accepted_keys().count(key) == 0) config.unknown_keys.push_back(key);
      continue;
    }
    if (auto s = it->second(key, value, config); !s.ok()) return s;
  }
  // Kafka's most precise key wins (log.retention.ms over .minutes over .hours, log.roll.ms
  // over .hours): the map visits them in exactly that order, so the last write is the winner.
  if (config.zookeeper_connect.empty())
    return absl::InvalidArgumentError(
        "zookeeper.connect is required (this broker keeps its cluster state in weir coord)");
  return config;
}

absl::StatusOr<BrokerConfig> parse_broker_config(std::string_view text) {
  auto props = parse_properties(text);
  if (!props.ok()) return props.status();
  return broker_config_from(*props);
}

std::optional<CleanupPolicy> parse_cleanup_policy(std::string_view value) {
  CleanupPolicy out;
  for (absl::string_view item : absl::StrSplit(sv(value), ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item == "delete") {
      out.delete_policy = true;
    } else if (item == "compact") {
      out.compact = true;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace weir::broker
