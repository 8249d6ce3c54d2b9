#include "broker/server/topic_config.h"

#include <functional>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/assert.h"

namespace weir::broker {
namespace {

// One topic-level key: its type, its default from the broker's configuration, its valid range
// (integers), and where its value goes in LogConfig (nullptr: accepted and reported only).
struct KeySpec {
  const char* name;
  ConfigType type;
  std::function<std::string(const BrokerConfig&)> broker_default;
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
  std::function<void(log::LogConfig&, int64_t)> apply;
};

std::string str(int64_t v) {
  return absl::StrCat(v);
}

const std::vector<KeySpec>& key_specs() {
  using C = const BrokerConfig&;
  using L = log::LogConfig&;
  static const std::vector<KeySpec> specs = {
      {"cleanup.policy", ConfigType::kList, [](C c) { return c.log_cleanup_policy; }},
      {"compression.type", ConfigType::kString, [](C) { return std::string("producer"); }},
      {"delete.retention.ms", ConfigType::kLong,
       [](C c) { return str(c.log_cleaner_delete_retention_ms); }, 0,
       std::numeric_limits<int64_t>::max(), [](L l, int64_t v) { l.delete_retention_ms = v; }},
      {"file.delete.delay.ms", ConfigType::kLong, [](C) { return str(60000); }, 0},
      {"flush.messages", ConfigType::kLong, [](C c) { return str(c.log_flush_interval_messages); },
       1, std::numeric_limits<int64_t>::max(),
       [](L l, int64_t v) { l.flush_interval_messages = v; }},
      {"flush.ms", ConfigType::kLong, [](C c) { return str(c.log_flush_interval_ms); }, 0,
       std::numeric_limits<int64_t>::max(), [](L l, int64_t v) { l.flush_interval_ms = v; }},
      {"index.interval.bytes", ConfigType::kInt,
       [](C c) { return str(c.log_index_interval_bytes); }, 0, INT32_MAX,
       [](L l, int64_t v) { l.index_interval_bytes = static_cast<int32_t>(v); }},
      {"max.message.bytes", ConfigType::kInt, [](C c) { return str(c.message_max_bytes); }, 0,
       INT32_MAX, [](L l, int64_t v) { l.max_message_bytes = static_cast<int32_t>(v); }},
      {"message.timestamp.difference.max.ms", ConfigType::kLong,
       [](C) { return str(std::numeric_limits<int64_t>::max()); }, 0},
      {"message.timestamp.type", ConfigType::kString,
       [](C c) {
         return std::string(c.log_message_timestamp_type_log_append ? "LogAppendTime"
                                                                    : "CreateTime");
       }},
      {"min.cleanable.dirty.ratio", ConfigType::kDouble,
       [](C c) { return absl::StrCat(c.log_cleaner_min_cleanable_ratio); }},
      {"min.compaction.lag.ms", ConfigType::kLong,
       [](C c) { return str(c.log_cleaner_min_compaction_lag_ms); }, 0,
       std::numeric_limits<int64_t>::max(), [](L l, int64_t v) { l.min_compaction_lag_ms = v; }},
      {"min.insync.replicas", ConfigType::kInt, [](C c) { return str(c.min_insync_replicas); }, 1,
       INT32_MAX},
      {"preallocate", ConfigType::kBoolean, [](C) { return std::string("false"); }},
      {"retention.bytes", ConfigType::kLong, [](C c) { return str(c.log_retention_bytes); }, -1,
       std::numeric_limits<int64_t>::max(), [](L l, int64_t v) { l.retention_bytes = v; }},
      {"retention.ms", ConfigType::kLong, [](C c) { return str(c.log_retention_ms); }, -1,
       std::numeric_limits<int64_t>::max(), [](L l, int64_t v) { l.retention_ms = v; }},
      {"segment.bytes", ConfigType::kInt, [](C c) { return str(c.log_segment_bytes); }, 14,
       INT32_MAX, [](L l, int64_t v) { l.segment_bytes_max = v; }},
      {"segment.index.bytes", ConfigType::kInt, [](C) { return str(10485760); }, 8, INT32_MAX},
      {"segment.jitter.ms", ConfigType::kLong, [](C) { return str(0); }, 0},
      {"segment.ms", ConfigType::kLong, [](C c) { return str(c.log_roll_ms); }, 1,
       std::numeric_limits<int64_t>::max(),
       [](L l, int64_t v) { l.segment_ms = std::chrono::milliseconds(v); }},
      {"unclean.leader.election.enable", ConfigType::kBoolean,
       [](C c) { return std::string(c.unclean_leader_election_enable ? "true" : "false"); }},
  };
  return specs;
}

const KeySpec* find_spec(const std::string& name) {
  for (const KeySpec& s : key_specs()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

absl::Status check_value(const KeySpec& spec, const std::string& value) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"", value, "\" for topic config ", spec.name, ": ", std::string(why)));
  };
  switch (spec.type) {
    case ConfigType::kBoolean:
      if (value != "true" && value != "false") return bad("must be true or false");
      return absl::OkStatus();
    case ConfigType::kInt:
    case ConfigType::kLong: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(value, &v)) return bad("not an integer");
      if (v < spec.min || v > spec.max)
        return bad(absl::StrCat("must be in [", spec.min, ", ", spec.max, "]"));
      return absl::OkStatus();
    }
    default:
      break;
  }
  const std::string name = spec.name;
  if (name == "message.timestamp.type" && value != "CreateTime" && value != "LogAppendTime")
    return bad("must be CreateTime or LogAppendTime");
  if (name == "cleanup.policy" && !parse_cleanup_policy(value).has_value())
    return bad("must be delete, compact or compact,delete");
  if (name == "min.cleanable.dirty.ratio") {
    double v = 0;
    if (!absl::SimpleAtod(value, &v) || !(v >= 0 && v <= 1)) return bad("must be in [0, 1]");
  }
  if (name == "compression.type" && value != "producer")
    return bad("only \"producer\" is served: batches are stored as producers send them");
  return absl::OkStatus();
}

}  // namespace

absl::Status validate_topic_overrides(const TopicOverrides& overrides) {
  for (const auto& [key, value] : overrides) {
    const KeySpec* spec = find_spec(key);
    if (spec == nullptr)
      return absl::InvalidArgumentError(absl::StrCat("unknown topic config ", key));
    if (auto s = check_value(*spec, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

log::LogConfig log_config_for(const BrokerConfig& broker, const TopicOverrides& overrides) {
  log::LogConfig out;
  for (const KeySpec& spec : key_specs()) {
    if (!spec.apply) continue;
    auto it = overrides.find(spec.name);
    const std::string value = it != overrides.end() ? it->second : spec.broker_default(broker);
    int64_t v = 0;
    if (absl::SimpleAtoi(value, &v)) spec.apply(out, v);
  }
  auto ts = overrides.find("message.timestamp.type");
  out.log_append_time = ts != overrides.end() ? ts->second == "LogAppendTime"
                                              : broker.log_message_timestamp_type_log_append;
  out.producer_id_expiration_ms = broker.producer_id_expiration_ms;
  auto policy_value = overrides.find("cleanup.policy");
  const std::optional<CleanupPolicy> policy = parse_cleanup_policy(
      policy_value != overrides.end() ? policy_value->second : broker.log_cleanup_policy);
  if (policy.has_value()) {
    out.delete_policy = policy->delete_policy;
    out.compact = policy->compact;
  }
  auto ratio = overrides.find("min.cleanable.dirty.ratio");
  out.min_cleanable_dirty_ratio = broker.log_cleaner_min_cleanable_ratio;
  if (ratio != overrides.end())
    (void)absl::SimpleAtod(ratio->second, &out.min_cleanable_dirty_ratio);
  out.unsafe_accept_duplicates = broker.weir_bug == "producer_accept_duplicates";
  out.unsafe_cleaner_drops_latest = broker.weir_bug == "cleaner_drops_latest";
  return out;
}

std::string topic_config_value(const BrokerConfig& broker, const TopicOverrides& overrides,
                               const std::string& key) {
  if (auto it = overrides.find(key); it != overrides.end()) return it->second;
  const KeySpec* spec = find_spec(key);
  WEIR_ASSERT_MSG(spec != nullptr, "topic_config_value asks for a topic-level key");
  return spec->broker_default(broker);
}

int32_t topic_min_insync_replicas(const BrokerConfig& broker, const TopicOverrides& overrides) {
  int32_t v = broker.min_insync_replicas;
  (void)absl::SimpleAtoi(topic_config_value(broker, overrides, "min.insync.replicas"), &v);
  return std::max<int32_t>(v, 1);
}

bool topic_unclean_leader_election(const BrokerConfig& broker, const TopicOverrides& overrides) {
  return topic_config_value(broker, overrides, "unclean.leader.election.enable") == "true";
}

std::vector<TopicConfigEntry> describe_topic_config(const BrokerConfig& broker,
                                                    const TopicOverrides& overrides) {
  std::vector<TopicConfigEntry> out;
  for (const KeySpec& spec : key_specs()) {
    TopicConfigEntry e{.name = spec.name, .type = spec.type};
    auto it = overrides.find(spec.name);
    if (it != overrides.end()) {
      e.value = it->second;
      e.source = ConfigSource::kDynamicTopic;
    } else {
      e.value = spec.broker_default(broker);
      e.source = ConfigSource::kDefault;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<TopicConfigEntry> describe_broker_config(const BrokerConfig& c) {
  auto entry = [](std::string name, std::string value, ConfigType type) {
    return TopicConfigEntry{.name = std::move(name),
                            .value = std::move(value),
                            .source = ConfigSource::kStaticBroker,
                            .type = type,
                            .read_only = true};
  };
  std::vector<TopicConfigEntry> out = {
      entry("auto.create.topics.enable", c.auto_create_topics_enable ? "true" : "false",
            ConfigType::kBoolean),
      entry("broker.id", str(c.broker_id), ConfigType::kInt),
      entry("default.replication.factor", str(c.default_replication_factor), ConfigType::kInt),
      entry("delete.topic.enable", c.delete_topic_enable ? "true" : "false", ConfigType::kBoolean),
      entry("log.cleaner.backoff.ms", str(c.log_cleaner_backoff_ms), ConfigType::kLong),
      entry("log.cleaner.dedupe.buffer.size", str(c.log_cleaner_dedupe_buffer_size),
            ConfigType::kLong),
      entry("log.cleaner.delete.retention.ms", str(c.log_cleaner_delete_retention_ms),
            ConfigType::kLong),
      entry("log.cleaner.enable", c.log_cleaner_enable ? "true" : "false", ConfigType::kBoolean),
      entry("log.cleaner.min.cleanable.ratio", absl::StrCat(c.log_cleaner_min_cleanable_ratio),
            ConfigType::kDouble),
      entry("log.cleaner.min.compaction.lag.ms", str(c.log_cleaner_min_compaction_lag_ms),
            ConfigType::kLong),
      entry("log.cleanup.policy", c.log_cleanup_policy, ConfigType::kList),
      entry("log.dirs", absl::StrJoin(c.log_dirs, ","), ConfigType::kString),
      entry("log.flush.interval.messages", str(c.log_flush_interval_messages), ConfigType::kLong),
      entry("log.index.interval.bytes", str(c.log_index_interval_bytes), ConfigType::kInt),
      entry("log.message.timestamp.type",
            c.log_message_timestamp_type_log_append ? "LogAppendTime" : "CreateTime",
            ConfigType::kString),
      entry("log.retention.bytes", str(c.log_retention_bytes), ConfigType::kLong),
      entry("log.retention.check.interval.ms", str(c.log_retention_check_interval_ms),
            ConfigType::kLong),
      entry("log.retention.ms", str(c.log_retention_ms), ConfigType::kLong),
      entry("log.roll.ms", str(c.log_roll_ms), ConfigType::kLong),
      entry("log.segment.bytes", str(c.log_segment_bytes), ConfigType::kInt),
      entry("min.insync.replicas", str(c.min_insync_replicas), ConfigType::kInt),
      entry("message.max.bytes", str(c.message_max_bytes), ConfigType::kInt),
      entry("num.partitions", str(c.num_partitions), ConfigType::kInt),
      entry("socket.request.max.bytes", str(c.socket_request_max_bytes), ConfigType::kInt),
      entry("zookeeper.connect", c.zookeeper_connect, ConfigType::kString),
  };
  return out;
}

}  // namespace weir::broker
