// DescribeCluster (KIP-700): the cluster id, the controller and the live brokers.
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_describe_cluster(BrokerCore& core, RequestPtr request) {
  kafka::DescribeClusterRequest req;
  if (auto s = decode_body(*request, req); !s.ok()) return Future<framed::Reply>::ready(s);
  kafka::DescribeClusterResponse rsp;
  rsp.cluster_id = core.cluster_id;
  rsp.controller_id = core.metadata().controller_id();
  for (const auto& [id, b] : core.metadata().brokers()) {
    rsp.brokers.push_back(
        {.broker_id = id,
         .host = b.host,
         .port = b.port,
         .rack = b.rack.empty() ? std::nullopt : std::optional<std::string>(b.rack)});
  }
  return respond_now(*request, rsp);
}

}  // namespace weir::broker
