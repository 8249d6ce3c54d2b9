// A follower's fetcher of every partition it replicates from one leader broker (Kafka's
// ReplicaFetcherThread): one Fetch request (replica_id = this broker) carries all of them, so
// many partitions replicate in few requests, and the batches are appended as the leader sent
// them, never re-encoded. A partition added to it is first truncated by leader epoch
// (OffsetsForLeaderEpoch; KIP-101, with KIP-279's walk back to the largest common epoch),
// never by its high watermark, so a follower's log never diverges from its leader's.
//
// Log I/O is never cancelled midway: stop() asks the loop to end at its next network wait,
// and done() is ready once it has.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/client/kafka_connection.h"
#include "broker/log/log_manager.h"
#include "broker/server/broker_config.h"
#include "broker/server/partition.h"
#include "broker/server/truncation.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/wait_list.h"

namespace weir::broker {

struct FetcherCounters {
  uint64_t fetches = 0;
  uint64_t bytes = 0;
  uint64_t truncations = 0;
  uint64_t errors = 0;
};

class ReplicaFetcher {
 public:
  ReplicaFetcher(const BrokerConfig& config, INetwork& network, int32_t broker_id,
                 int32_t leader_id, std::string leader_address);
  ~ReplicaFetcher();
  ReplicaFetcher(const ReplicaFetcher&) = delete;
  ReplicaFetcher& operator=(const ReplicaFetcher&) = delete;

  void start();
  // Replicates `partition` (a follower of this leader at `generation`) from its log end,
  // after truncating it by leader epoch.
  void add(std::shared_ptr<Partition> partition, uint64_t generation);
  void remove(const log::TopicPartition& tp);
  bool empty() const { return partitions_.empty(); }
  int32_t leader_id() const { return leader_id_; }
  const std::string& leader_address() const { return leader_address_; }
  void stop();
  Future<void> done() const { return done_; }
  const FetcherCounters& counters() const { return counters_; }

 private:
  // Shared: a truncation or an append that waits (for the partition's lock, for the disk)
  // keeps its entry and partition alive while StopReplica or a new role removes them.
  struct Entry {
    std::shared_ptr<Partition> partition;
    uint64_t generation = 0;
    bool truncating = true;
    bool removed = false;  // no longer this fetcher's: whoever holds it must let it be
    // After the leader could not answer OffsetsForLeaderEpoch for it: not asked again (nor
    // fetched) before this, while the fetcher's other partitions go on.
    TimePoint epoch_retry_at{};
  };
  void run();
  absl::Status ensure_connection();
  absl::Status truncate_pending();
  absl::Status apply_epoch_answer(std::shared_ptr<Entry> entry, EpochAnswer answer,
                                  LeaderEpoch asked);
  absl::Status fetch_once();
  void apply_fetched(std::shared_ptr<Entry> entry, const kafka::FetchResponse::PartitionData& data);
  // The entries as they are now, for a pass that may wait (and so see entries come and go).
  std::vector<std::pair<log::TopicPartition, std::shared_ptr<Entry>>> snapshot() const;
  bool current(const Entry& entry) const;
  void backoff();

  const BrokerConfig& config_;
  INetwork& network_;
  int32_t broker_id_;
  int32_t leader_id_;
  std::string leader_address_;
  std::map<log::TopicPartition, std::shared_ptr<Entry>> partitions_;
  std::shared_ptr<client::KafkaConnection> connection_;
  WaitList changed_;
  bool stopping_ = false;
  Future<void> done_;
  FetcherCounters counters_;
};

}  // namespace weir::broker
