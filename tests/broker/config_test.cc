// server.properties as Kafka reads it, Kafka's znode JSON, topic names and topic configs.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "broker/server/broker_config.h"
#include "broker/server/cluster_store.h"
#include "broker/server/json.h"
#include "broker/server/topic_config.h"
#include "broker/server/topic_name.h"

namespace weir::broker {
namespace {

TEST(BrokerConfig, KafkasOwnServerPropertiesParses) {
  // The shape of Kafka's shipped config/server.properties.
  const std::string text =
      "# Licensed to the Apache Software Foundation\n"
      "broker.id=0\n"
      "listeners=PLAINTEXT://127.0.0.1:9092\n"
      "num.network.threads=3\n"
      "num.io.threads=8\n"
      "socket.send.buffer.bytes=102400\n"
      "socket.request.max.bytes=104857600\n"
      "log.dirs=/tmp/kafka-logs\n"
      "num.partitions=1\n"
      "offsets.topic.replication.factor=1\n"
      "log.retention.hours=168\n"
      "log.segment.bytes=1073741824\n"
      "log.retention.check.interval.ms=300000\n"
      "zookeeper.connect=localhost:2181\n"
      "zookeeper.connection.timeout.ms=18000\n"
      "group.initial.rebalance.delay.ms=0\n";
  auto c = parse_broker_config(text);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->broker_id, 0);
  EXPECT_EQ(c->listeners.at(0).host, "127.0.0.1");
  EXPECT_EQ(c->listeners.at(0).port, 9092);
  EXPECT_EQ(c->log_dirs, std::vector<std::string>{"/tmp/kafka-logs"});
  EXPECT_EQ(c->log_retention_ms, 168LL * 3600 * 1000);
  EXPECT_EQ(c->zookeeper_connect, "localhost:2181");
  EXPECT_TRUE(c->unknown_keys.empty()) << c->unknown_keys.front();
}

TEST(BrokerConfig, ErrorsNameTheKey) {
  auto bad = [](const std::string& text) {
    auto c = parse_broker_config("zookeeper.connect=z:2181\n" + text);
    EXPECT_FALSE(c.ok()) << text;
    return c.ok() ? std::string() : std::string(c.status().message());
  };
  EXPECT_NE(bad("num.partitions=zero\n").find("num.partitions"), std::string::npos);
  EXPECT_NE(bad("num.partitions=0\n").find("must be in"), std::string::npos);
  EXPECT_NE(bad("listeners=127.0.0.1:9092\n").find("NAME://host:port"), std::string::npos);
  EXPECT_NE(bad("listeners=PLAINTEXT://:99999\n").find("listeners"), std::string::npos);
  EXPECT_NE(bad("listeners=SSL://:9093\n").find("only PLAINTEXT"), std::string::npos);
  EXPECT_NE(bad("auto.create.topics.enable=yes\n").find("true or false"), std::string::npos);
  EXPECT_NE(bad("log.message.timestamp.type=Now\n").find("LogAppendTime"), std::string::npos);
  EXPECT_NE(bad("log.cleanup.policy=squash\n").find("log.cleanup.policy"), std::string::npos);
  EXPECT_NE(bad("log.cleaner.min.cleanable.ratio=2\n").find("[0, 1]"), std::string::npos);
  EXPECT_NE(bad("log.cleaner.dedupe.buffer.size=10\n").find("log.cleaner.dedupe.buffer.size"),
            std::string::npos);
  EXPECT_NE(bad("advertised.listeners=PLAINTEXT://0.0.0.0:9092\n").find("a host clients"),
            std::string::npos);
  auto missing = parse_broker_config("broker.id=1\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("zookeeper.connect"), std::string::npos);
}

TEST(BrokerConfig, UnknownKeysAreWarningsAndPreciseRetentionWins) {
  auto c = parse_broker_config(
      "zookeeper.connect=z:2181\nlog.retention.hours=1\nlog.retention.minutes=2\n"
      "log.retention.ms=3\nno.such.key=1\nlog.roll.hours=1\nlog.roll.ms=5\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->log_retention_ms, 3);
  EXPECT_EQ(c->log_roll_ms, 5);
  EXPECT_EQ(c->unknown_keys, std::vector<std::string>{"no.such.key"});
  auto forever = parse_broker_config("zookeeper.connect=z:2181\nlog.retention.hours=-1\n");
  ASSERT_TRUE(forever.ok());
  EXPECT_EQ(forever->log_retention_ms, -1);
}

TEST(BrokerConfig, JavaPropertiesSyntax) {
  auto p = parse_properties("! comment\n# comment\n  a = 1 \nb: two\nc=x\\\n  y\n\nd\n");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->at("a"), "1");
  EXPECT_EQ(p->at("b"), "two");
  EXPECT_EQ(p->at("c"), "xy");
  EXPECT_EQ(p->at("d"), "");
}

TEST(TopicName, KafkasRules) {
  EXPECT_TRUE(validate_topic_name("orders.v1_eu-2").ok());
  EXPECT_TRUE(validate_topic_name(std::string(249, 'a')).ok());
  EXPECT_FALSE(validate_topic_name(std::string(250, 'a')).ok());
  for (const char* bad : {"", ".", "..", "bad name", "a/b", "ü", "a\n"})
    EXPECT_FALSE(validate_topic_name(bad).ok()) << bad;
  EXPECT_EQ(topic_collision_key("a.b_c"), topic_collision_key("a_b.c"));
}

TEST(Json, RoundTripsKafkasZnodes) {
  const std::string broker = ClusterStore::broker_json({.id = 3, .host = "h", .port = 9092}, 7);
  auto parsed = parse_json(broker);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->dump(), broker);
  EXPECT_EQ(*json_string(*parsed, "host"), "h");
  EXPECT_EQ(*json_int(*parsed, "port"), 9092);
  EXPECT_EQ(parsed->find("endpoints")->items().at(0).as_string(), "PLAINTEXT://h:9092");

  TopicAssignment a;
  a.topic_id.bytes[0] = 1;
  a.replicas = {{0, {1, 2}}, {1, {2, 1}}};
  auto back = ClusterStore::parse_topic_json(ClusterStore::topic_json(a));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->replicas, a.replicas);
  EXPECT_EQ(back->topic_id, a.topic_id);
  // As Kafka writes it (2.8+), read back.
  auto kafkas = ClusterStore::parse_partition_state_json(
      R"({"controller_epoch":4,"leader":2,"version":1,"leader_epoch":7,"isr":[2,1]})");
  ASSERT_TRUE(kafkas.ok()) << kafkas.status();
  EXPECT_EQ(kafkas->leader, 2);
  EXPECT_EQ(kafkas->leader_epoch, 7);
  EXPECT_EQ(kafkas->isr, (std::vector<int32_t>{2, 1}));
}

TEST(Json, RefusesMalformedAndDeepInput) {
  for (const char* bad : {"", "{", "[1,", "{\"a\"}", "{\"a\":1,}", "1.5", "\"\\x\"", "tru",
                          "{\"a\":1} x", "\"unterminated"})
    EXPECT_FALSE(parse_json(bad).ok()) << bad;
  EXPECT_FALSE(parse_json(std::string(1000, '[') + std::string(1000, ']')).ok());
  EXPECT_TRUE(parse_json(std::string(10, '[') + std::string(10, ']')).ok());
  EXPECT_FALSE(parse_json("\"x\"", {.depth_max = 32, .bytes_max = 2}).ok());
}

RC_GTEST_PROP(Json, RandomBytesNeverCrash, (std::string text)) {
  auto r = parse_json(text);
  if (r.ok()) RC_ASSERT(parse_json(r->dump()).ok());
}

TEST(Uuid16, KafkasBase64) {
  Uuid16 id;
  for (int i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(i * 17);
  const std::string text = id.to_base64();
  EXPECT_EQ(text.size(), 22u);
  EXPECT_EQ(text.find('='), std::string::npos);
  EXPECT_EQ(Uuid16::from_base64(text), id);
  EXPECT_FALSE(Uuid16::from_base64("short").has_value());
  EXPECT_FALSE(Uuid16::from_base64("!!!!!!!!!!!!!!!!!!!!!!").has_value());
}

TEST(TopicConfig, OverridesAreValidatedAndReachTheLog) {
  BrokerConfig broker;
  broker.log_segment_bytes = 1 << 20;
  EXPECT_TRUE(validate_topic_overrides({{"retention.ms", "1000"}, {"segment.bytes", "4096"}}).ok());
  EXPECT_FALSE(validate_topic_overrides({{"retention.ms", "soon"}}).ok());
  EXPECT_FALSE(validate_topic_overrides({{"no.such", "1"}}).ok());
  EXPECT_TRUE(validate_topic_overrides({{"cleanup.policy", "compact"}}).ok());
  EXPECT_TRUE(validate_topic_overrides({{"cleanup.policy", "compact,delete"}}).ok());
  EXPECT_FALSE(validate_topic_overrides({{"cleanup.policy", "squash"}}).ok());
  EXPECT_FALSE(validate_topic_overrides({{"cleanup.policy", ""}}).ok());
  EXPECT_FALSE(validate_topic_overrides({{"min.cleanable.dirty.ratio", "1.5"}}).ok());
  EXPECT_TRUE(validate_topic_overrides({{"min.cleanable.dirty.ratio", "0.25"}}).ok());
  const log::LogConfig compacted = log_config_for(broker, {{"cleanup.policy", "compact"},
                                                           {"delete.retention.ms", "5"},
                                                           {"min.compaction.lag.ms", "7"},
                                                           {"min.cleanable.dirty.ratio", "0.25"}});
  EXPECT_TRUE(compacted.compact);
  EXPECT_FALSE(compacted.delete_policy);
  EXPECT_EQ(compacted.delete_retention_ms, 5);
  EXPECT_EQ(compacted.min_compaction_lag_ms, 7);
  EXPECT_EQ(compacted.min_cleanable_dirty_ratio, 0.25);
  const log::LogConfig both = log_config_for(broker, {{"cleanup.policy", "delete, compact"}});
  EXPECT_TRUE(both.compact && both.delete_policy);
  EXPECT_FALSE(validate_topic_overrides({{"message.timestamp.type", "x"}}).ok());
  const log::LogConfig l = log_config_for(
      broker, {{"retention.ms", "1000"}, {"message.timestamp.type", "LogAppendTime"}});
  EXPECT_EQ(l.retention_ms, 1000);
  EXPECT_EQ(l.segment_bytes_max, 1 << 20);
  EXPECT_TRUE(l.log_append_time);
  bool saw_override = false;
  for (const TopicConfigEntry& e : describe_topic_config(broker, {{"retention.ms", "1000"}})) {
    if (e.name == "retention.ms") {
      saw_override = true;
      EXPECT_EQ(e.value, "1000");
      EXPECT_EQ(e.source, ConfigSource::kDynamicTopic);
    }
    if (e.name == "segment.bytes") {
      EXPECT_EQ(e.source, ConfigSource::kDefault);
    }
  }
  EXPECT_TRUE(saw_override);
}

}  // namespace
}  // namespace weir::broker
