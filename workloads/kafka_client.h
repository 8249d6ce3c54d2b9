// What the Kafka workloads share to talk to their brokers: a cluster client that knows a
// topic's leaders, and the connection to the leader of one of its partitions. They exist so
// that every workload reaches leaders (and waits when there is none) the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "broker/client/client_cluster.h"
#include "broker/client/kafka_connection.h"

namespace weir::workloads {

// A cluster client (inside a process of the cluster) that knows `topic`'s leaders. Asking for
// the topic's metadata creates it, as every Kafka client's first Metadata request does
// (auto.create.topics.enable).
std::shared_ptr<broker::client::ClientCluster> make_workload_cluster(const std::string& bootstrap,
                                                                     const std::string& client_id,
                                                                     const std::string& topic);

// The connection to the leader of `topic`/`partition`, or nullptr (after asking for a refresh,
// or a short pause when the leader cannot be reached). `leader_out` gets the leader's id.
std::shared_ptr<broker::client::KafkaConnection> leader_connection(
    broker::client::ClientCluster& cluster, const std::string& topic, int32_t partition,
    int32_t* leader_out = nullptr);

}  // namespace weir::workloads
