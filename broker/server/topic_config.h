// Per-topic configuration: Kafka's topic-level keys (retention.ms, segment.bytes, ...), their
// defaults taken from the broker's server.properties, validation of the overrides a
// CreateTopics request or /config/topics/<t> carries, and the LogConfig a partition's log
// runs with. DescribeConfigs lists every key with its value and where it came from, as Kafka's
// does, so `kafka-configs --describe` style tools show what an operator expects.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "broker/log/log_config.h"
#include "broker/server/broker_config.h"

namespace weir::broker {

using TopicOverrides = std::map<std::string, std::string>;

// Kafka's DescribeConfigs ConfigSource and ConfigType values.
enum class ConfigSource : int8_t {
  kDynamicTopic = 1,
  kStaticBroker = 4,
  kDefault = 5,
};
enum class ConfigType : int8_t {
  kBoolean = 1,
  kString = 2,
  kInt = 3,
  kShort = 4,
  kLong = 5,
  kDouble = 6,
  kList = 7,
};

struct TopicConfigEntry {
  std::string name;
  std::string value;
  ConfigSource source = ConfigSource::kDefault;
  ConfigType type = ConfigType::kString;
  bool read_only = false;
};

// InvalidArgument naming the key: unknown keys and values out of range are refused, as
// Kafka's CreateTopics refuses them with INVALID_CONFIG.
absl::Status validate_topic_overrides(const TopicOverrides& overrides);
log::LogConfig log_config_for(const BrokerConfig& broker, const TopicOverrides& overrides);
// A topic-level key's value: the override, else the broker's default.
std::string topic_config_value(const BrokerConfig& broker, const TopicOverrides& overrides,
                               const std::string& key);
int32_t topic_min_insync_replicas(const BrokerConfig& broker, const TopicOverrides& overrides);
bool topic_unclean_leader_election(const BrokerConfig& broker, const TopicOverrides& overrides);
// Every topic-level key, sorted by name.
std::vector<TopicConfigEntry> describe_topic_config(const BrokerConfig& broker,
                                                    const TopicOverrides& overrides);
// The broker's own keys for a BROKER resource (those Weir reads, with their values).
std::vector<TopicConfigEntry> describe_broker_config(const BrokerConfig& broker);

}  // namespace weir::broker
