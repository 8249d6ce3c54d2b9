// The one table from api key to handler.
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

ApiHandler find_handler(kafka::ApiKey key) {
  using kafka::ApiKey;
  switch (key) {
    case ApiKey::kProduce:
      return handle_produce;
    case ApiKey::kFetch:
      return handle_fetch;
    case ApiKey::kListOffsets:
      return handle_list_offsets;
    case ApiKey::kMetadata:
      return handle_metadata;
    case ApiKey::kApiVersions:
      return handle_api_versions;
    case ApiKey::kCreateTopics:
      return handle_create_topics;
    case ApiKey::kDeleteTopics:
      return handle_delete_topics;
    case ApiKey::kDeleteRecords:
      return handle_delete_records;
    case ApiKey::kDescribeConfigs:
      return handle_describe_configs;
    case ApiKey::kCreatePartitions:
      return handle_create_partitions;
    case ApiKey::kDescribeCluster:
      return handle_describe_cluster;
  }
  return nullptr;
}

}  // namespace weir::broker
