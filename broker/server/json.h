// A small JSON reader and writer for the znodes Kafka keeps in ZooKeeper (/brokers/ids/<id>,
// /brokers/topics/<t>, partition state, configs). The reader exists because those bytes are
// written by other programs (Kafka's own tools, an operator's zkCli): it is bounded in depth and
// size and refuses anything malformed with a message, never crashes. Objects keep their keys in
// the order written, as Kafka's own JSON does, so what Weir writes reads like what Kafka writes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace weir::broker {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;
  static JsonValue null() { return JsonValue(); }
  static JsonValue boolean(bool b);
  static JsonValue number(int64_t v);
  static JsonValue string(std::string s);
  static JsonValue array(std::vector<JsonValue> items = {});
  static JsonValue object(std::vector<Member> members = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool as_bool() const { return bool_; }
  int64_t as_int() const { return int_; }
  const std::string& as_string() const { return string_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }
  // The member named `key`, or nullptr (also when this is no object).
  const JsonValue* find(std::string_view key) const;

  JsonValue& add(std::string key, JsonValue value);  // objects
  JsonValue& push(JsonValue value);                  // arrays

  // Compact encoding, keys in insertion order.
  std::string dump() const;

 private:
  friend class JsonParser;
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
};

struct JsonLimits {
  size_t depth_max = 32;
  size_t bytes_max = 1 << 20;
};

// Parses one JSON value (numbers must be integers: Kafka's znodes hold no fractions).
absl::StatusOr<JsonValue> parse_json(std::string_view text, JsonLimits limits = {});

// Typed lookups with errors naming the key, for decoding znodes.
absl::StatusOr<int64_t> json_int(const JsonValue& object, std::string_view key);
absl::StatusOr<std::string> json_string(const JsonValue& object, std::string_view key);

}  // namespace weir::broker
