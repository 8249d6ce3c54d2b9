// Producer ids for idempotent producers (InitProducerId), unique across the cluster, handed out
// by each broker from blocks of 1000 that it claims in coord exactly as Kafka's ZooKeeper mode
// claims them (ZkProducerIdManager). The znode /latest_producer_id_block holds the last block
// any broker claimed,
//   {"version":1,"broker":<broker id>,"block_start":"<first id>","block_end":"<last id>"}
// (the ids are JSON strings of decimal int64, as Kafka writes them), and a broker takes the
// block after it with a write conditional on the version it read, so two brokers never hold the
// same block. Keeping Kafka's node and JSON means a cluster that ran Kafka brokers continues
// their sequence, and an operator's zkCli shows what it would show under Kafka. Ids of a block
// not used up before a restart are never handed out again, as in Kafka: a claim is only ever
// the block after the last one written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/ids.h"
#include "broker/server/cluster_store.h"
#include "runtime/sync.h"

namespace weir::broker {

// One claimed block: ids first..last (inclusive), claimed by broker `broker_id`.
struct ProducerIdBlock {
  int32_t broker_id = -1;
  ProducerId first{0};
  ProducerId last{0};
  friend bool operator==(const ProducerIdBlock&, const ProducerIdBlock&) = default;
};

class ProducerIdManager {
 public:
  static constexpr char kPath[] = "/latest_producer_id_block";
  // Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE.
  static constexpr int64_t kBlockSize = 1000;
  // Conditional writes lost to other brokers (or to lost connections) before a claim gives up
  // with Unavailable; the client retries InitProducerId.
  static constexpr int kClaimAttemptsMax = 10;

  // `store` (and its coord client, which it may swap after a session expiry) must outlive this.
  ProducerIdManager(ClusterStore& store, int32_t broker_id);
  ProducerIdManager(const ProducerIdManager&) = delete;
  ProducerIdManager& operator=(const ProducerIdManager&) = delete;

  // The next unused id of this broker's block, claiming the next block in coord when this one
  // is used up (the calling actor suspends; concurrent callers wait for one claim rather than
  // each claiming a block). Errors: Unavailable when coord fails or the claim stays contended,
  // DataLoss when the znode does not hold Kafka's JSON, ResourceExhausted when the int64 ids are
  // used up. A failed claim hands out nothing; the next call tries again.
  absl::StatusOr<ProducerId> next();

  // The block ids come from now (nullopt before the first claim).
  const std::optional<ProducerIdBlock>& block() const { return block_; }

  // Kafka's JSON for a block, and its parser (DataLoss for anything malformed).
  static std::string block_json(const ProducerIdBlock& block);
  static absl::StatusOr<ProducerIdBlock> parse_block_json(std::string_view text);
  // The block broker `broker_id` claims after `last` (0..999 when there is none yet);
  // ResourceExhausted when it would pass INT64_MAX.
  static absl::StatusOr<ProducerIdBlock> block_after(const std::optional<ProducerIdBlock>& last,
                                                     int32_t broker_id);

 private:
  absl::StatusOr<ProducerIdBlock> claim_block();
  // One read and one conditional write: the claimed block, nullopt when the write lost a race
  // (or its connection) and the claim should read again, or an error to give up with.
  absl::StatusOr<std::optional<ProducerIdBlock>> try_claim();

  ClusterStore& store_;
  const int32_t broker_id_;
  ActorMutex mutex_;  // held by next() across a claim
  std::optional<ProducerIdBlock> block_;
  int64_t handed_out_ = 0;  // ids of block_ handed out so far
};

}  // namespace weir::broker
