// The controller's requests to one broker (Kafka's ControllerChannelManager and its
// RequestSendThread): LeaderAndIsr, UpdateMetadata and StopReplica, sent in order on one
// connection, each retried on a fresh connection until the broker answers or the channel is
// dropped (the broker died, or this controller resigned). The queue is bounded: when it
// overflows, the queue is cleared and the channel asks for a full resync, which is always
// safe because every request carries whole partition states with their epochs.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <variant>

#include "broker/client/kafka_connection.h"
#include "broker/kafka/protocol/messages.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/wait_list.h"

namespace weir::broker::controller {

using ControllerRequest = std::variant<kafka::LeaderAndIsrRequest, kafka::UpdateMetadataRequest,
                                       kafka::StopReplicaRequest>;

class BrokerChannel {
 public:
  BrokerChannel(INetwork& network, int32_t controller_id, int32_t broker_id, std::string address,
                size_t queue_max);
  ~BrokerChannel();
  BrokerChannel(const BrokerChannel&) = delete;
  BrokerChannel& operator=(const BrokerChannel&) = delete;

  void start();
  void send(ControllerRequest request);
  // The queue overflowed since the last call: the controller sends full state.
  bool take_resync();
  int32_t broker_id() const { return broker_id_; }
  const std::string& address() const { return address_; }
  size_t queued() const { return queue_.size(); }
  uint64_t sent() const { return sent_; }

 private:
  void run();
  absl::Status send_one(const ControllerRequest& request);

  INetwork& network_;
  int32_t controller_id_;
  int32_t broker_id_;
  std::string address_;
  size_t queue_max_;
  std::deque<ControllerRequest> queue_;
  std::shared_ptr<client::KafkaConnection> connection_;
  WaitList changed_;
  bool resync_ = false;
  uint64_t clears_ = 0;
  uint64_t sent_ = 0;
  int stale_epoch_retries_ = 0;  // of the request at the front
  Future<void> actor_;
};

}  // namespace weir::broker::controller
