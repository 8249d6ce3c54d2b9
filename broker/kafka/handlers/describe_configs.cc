// DescribeConfigs: a topic's every topic-level key (its override or the broker's default, with
// the source Kafka would report), or a broker's keys. configuration_keys narrows the list.
#include <set>

#include "broker/kafka/handlers/handler.h"

namespace weir::broker {
namespace {

using kafka::DescribeConfigsRequest;
using kafka::DescribeConfigsResponse;
using kafka::ErrorCode;

constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;

DescribeConfigsResponse::DescribeConfigsResult describe(
    BrokerCore& core, const DescribeConfigsRequest& req,
    const DescribeConfigsRequest::DescribeConfigsResource& res) {
  DescribeConfigsResponse::DescribeConfigsResult r;
  r.resource_type = res.resource_type;
  r.resource_name = res.resource_name;
  r.error_message = std::nullopt;
  std::vector<TopicConfigEntry> entries;
  if (res.resource_type == kTopicResource) {
    auto topic = core.store.get_topic(res.resource_name);
    auto overrides = core.store.get_topic_config(res.resource_name);
    if (!topic.ok() || !overrides.ok()) {
      r.error_code = static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition);
      r.error_message = "no topic " + res.resource_name;
      return r;
    }
    entries = describe_topic_config(core.config, *overrides);
  } else if (res.resource_type == kBrokerResource) {
    if (!res.resource_name.empty() && res.resource_name != std::to_string(core.broker_id)) {
      r.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequest);
      r.error_message = "not this broker: " + res.resource_name;
      return r;
    }
    entries = describe_broker_config(core.config);
  } else {
    r.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequest);
    r.error_message = "unsupported resource type " + std::to_string(res.resource_type);
    return r;
  }
  std::set<std::string> wanted;
  if (res.configuration_keys.has_value())
    wanted.insert(res.configuration_keys->begin(), res.configuration_keys->end());
  for (const TopicConfigEntry& e : entries) {
    if (!wanted.empty() && wanted.count(e.name) == 0) continue;
    auto& c = r.configs.emplace_back();
    c.name = e.name;
    c.value = e.value;
    c.read_only = e.read_only;
    c.is_default = e.source == ConfigSource::kDefault;
    c.config_source = static_cast<int8_t>(e.source);
    c.config_type = static_cast<int8_t>(e.type);
    c.documentation = std::nullopt;
    if (req.include_synonyms)
      c.synonyms.push_back(
          {.name = e.name, .value = e.value, .source = static_cast<int8_t>(e.source)});
  }
  return r;
}

}  // namespace

Future<framed::Reply> handle_describe_configs(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<DescribeConfigsRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-describe-configs",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       DescribeConfigsResponse rsp;
                       for (const auto& res : req->resources)
                         rsp.results.push_back(describe(core, *req, res));
                       return respond(*request, rsp);
                     });
}

}  // namespace weir::broker
