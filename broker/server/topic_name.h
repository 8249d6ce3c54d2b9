// Kafka's rules for topic names, so that a name Kafka refuses is refused here too (and a
// name Kafka accepts maps to the same `<topic>-<partition>` directory on disk).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace weir::broker {

constexpr size_t kTopicNameBytesMax = 249;

// InvalidArgument naming the problem: empty, "." or "..", longer than 249 characters, or a
// character outside [a-zA-Z0-9._-].
absl::Status validate_topic_name(std::string_view name);

// Kafka refuses two topics whose names differ only in '.' versus '_' (their metrics collide).
std::string topic_collision_key(std::string_view name);

// Names starting with "__" are Kafka's internal topics (__consumer_offsets).
inline bool is_internal_topic(std::string_view name) {
  return name == "__consumer_offsets" || name == "__transaction_state";
}

}  // namespace weir::broker
