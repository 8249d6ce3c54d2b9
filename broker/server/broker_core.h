// What the Kafka API handlers see of their broker: its identity, its configuration, the
// partitions it hosts, its view of the cluster and its controller. It exists so that a
// handler (broker/kafka/handlers/<api>.cc) depends on this one small struct, not on the
// Broker that owns processes, listeners and coord sessions.
#pragma once

#include <cstdint>
#include <string>

#include "broker/controller/controller.h"
#include "broker/group/group_coordinator.h"
#include "broker/server/broker_config.h"
#include "broker/server/cluster_store.h"
#include "broker/server/producer_id_manager.h"
#include "broker/server/replica_manager.h"
#include "broker/server/topic_admin.h"
#include "runtime/actor_collection.h"
#include "runtime/clock.h"

namespace weir::broker {

struct BrokerCounters {
  uint64_t requests = 0;
  uint64_t produce_batches = 0;
  uint64_t produce_bytes = 0;
  uint64_t fetch_bytes = 0;
  uint64_t request_errors = 0;  // frames refused (bad header, unknown api or version)
  uint64_t produce_timeouts = 0;
  uint64_t produce_duplicates = 0;  // idempotent retries answered with their original offsets
};

struct BrokerCore {
  const BrokerConfig& config;
  int32_t broker_id = -1;
  std::string cluster_id;
  std::string advertised_host;
  int32_t advertised_port = 0;
  ReplicaManager& replicas;
  TopicAdmin& admin;
  ClusterStore& store;
  controller::Controller& controller;
  group::GroupCoordinator& groups;
  ProducerIdManager& producer_ids;  // ids for InitProducerId
  IClock& clock;
  BrokerCounters counters;
  // Request actors that touch a log. A connection that closes drops its handle, but this one
  // keeps the actor running to the end of its I/O: cancelling an append midway would leave the
  // log failed (outcome unknown) until a restart. A clean stop waits for these to finish.
  ActorCollection requests;

  MetadataCache& metadata() { return replicas.metadata(); }
};

}  // namespace weir::broker
