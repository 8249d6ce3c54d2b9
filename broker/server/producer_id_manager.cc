#include "broker/server/producer_id_manager.h"

#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/server/json.h"
#include "buggify/code_probe.h"
#include "coord/client/client.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

using coord::client::ErrorCode;
using coord::client::open_acl_unsafe;
using coord::client::zk_error;

// A coord answer after which reading again is the right move: another broker wrote first
// (BadVersion, NodeExists), or the connection dropped and the write may or may not have been
// applied (ConnectionLoss). Reading again is safe either way: a write of ours that went through
// is simply a block nobody uses, never a block two brokers use.
bool read_again(const absl::Status& status) {
  const ErrorCode e = zk_error(status);
  return e == ErrorCode::kBadVersion || e == ErrorCode::kNodeExists ||
         e == ErrorCode::kConnectionLoss;
}

absl::Status coord_unavailable(const absl::Status& status) {
  return absl::UnavailableError(
      absl::StrCat("claiming a producer id block in coord: ", status.message()));
}

absl::StatusOr<int64_t> id_field(const JsonValue& json, std::string_view key) {
  auto text = json_string(json, key);
  int64_t id = 0;
  if (!text.ok() || !absl::SimpleAtoi(*text, &id))
    return absl::DataLossError(absl::StrCat(ProducerIdManager::kPath, ": \"", std::string(key),
                                            "\" is not a decimal id in a string"));
  return id;
}

}  // namespace

ProducerIdManager::ProducerIdManager(ClusterStore& store, int32_t broker_id)
    : store_(store), broker_id_(broker_id) {}

std::string ProducerIdManager::block_json(const ProducerIdBlock& block) {
  return JsonValue::object({{"version", JsonValue::number(1)},
                            {"broker", JsonValue::number(block.broker_id)},
                            {"block_start", JsonValue::string(absl::StrCat(block.first.value()))},
                            {"block_end", JsonValue::string(absl::StrCat(block.last.value()))}})
      .dump();
}

absl::StatusOr<ProducerIdBlock> ProducerIdManager::parse_block_json(std::string_view text) {
  auto json = parse_json(text);
  if (!json.ok() || json->kind() != JsonValue::Kind::kObject) {
    return absl::DataLossError(
        absl::StrCat(kPath, ": not a JSON object",
                     json.ok() ? "" : absl::StrCat(" (", json.status().message(), ")")));
  }
  auto broker = json_int(*json, "broker");
  if (!broker.ok() || *broker < std::numeric_limits<int32_t>::min() ||
      *broker > std::numeric_limits<int32_t>::max())
    return absl::DataLossError(absl::StrCat(kPath, ": \"broker\" is not a broker id"));
  auto first = id_field(*json, "block_start");
  if (!first.ok()) return first.status();
  auto last = id_field(*json, "block_end");
  if (!last.ok()) return last.status();
  // Negative ids mean "none" on the wire; a block that ends before it starts was not written by
  // a broker. Continuing from either would hand out ids no client can use.
  if (*first < 0 || *last < *first)
    return absl::DataLossError(
        absl::StrCat(kPath, ": block ", *first, "..", *last, " is not a block of ids"));
  return ProducerIdBlock{.broker_id = static_cast<int32_t>(*broker),
                         .first = ProducerId(*first),
                         .last = ProducerId(*last)};
}

absl::StatusOr<ProducerIdBlock> ProducerIdManager::block_after(
    const std::optional<ProducerIdBlock>& last, int32_t broker_id) {
  if (!last.has_value())
    return ProducerIdBlock{
        .broker_id = broker_id, .first = ProducerId(0), .last = ProducerId(kBlockSize - 1)};
  // Kafka's check, so that the next block's end cannot overflow.
  if (last->last.value() > std::numeric_limits<int64_t>::max() - kBlockSize)
    return absl::ResourceExhaustedError(absl::StrCat(
        "every producer id is used: the last block claimed ends at ", last->last.value()));
  const int64_t first = last->last.value() + 1;
  return ProducerIdBlock{.broker_id = broker_id,
                         .first = ProducerId(first),
                         .last = ProducerId(first + kBlockSize - 1)};
}

absl::StatusOr<std::optional<ProducerIdBlock>> ProducerIdManager::try_claim() {
  coord::client::CoordClient& coord = store_.coord();
  auto current = await(coord.get_data(std::string(kPath)));
  if (!current.ok() && zk_error(current.status()) == ErrorCode::kNoNode) {
    // The first block of the cluster. Kafka's brokers create the node empty at start (one of
    // their persistent paths); Weir creates it with its first block.
    auto block = block_after(std::nullopt, broker_id_);
    auto created = await(coord.create(std::string(kPath), block_json(*block), open_acl_unsafe()));
    if (created.ok()) return std::optional<ProducerIdBlock>(*block);
    if (!read_again(created.status())) return coord_unavailable(created.status());
    CODE_PROBE(true, "producer_ids.first_block_raced");
    return std::optional<ProducerIdBlock>();
  }
  if (!current.ok()) {
    if (read_again(current.status())) return std::optional<ProducerIdBlock>();
    return coord_unavailable(current.status());
  }
  std::optional<ProducerIdBlock> last;
  if (!current->data.empty()) {  // empty: a node Kafka created, no block claimed yet
    auto parsed = parse_block_json(current->data);
    if (!parsed.ok()) return parsed.status();
    last = *parsed;
  }
  auto block = block_after(last, broker_id_);
  if (!block.ok()) return block.status();
  auto written =
      await(coord.set_data(std::string(kPath), block_json(*block), current->stat.version));
  if (written.ok()) return std::optional<ProducerIdBlock>(*block);
  if (!read_again(written.status())) return coord_unavailable(written.status());
  CODE_PROBE(zk_error(written.status()) == ErrorCode::kBadVersion,
             "producer_ids.block_claim_raced");
  return std::optional<ProducerIdBlock>();
}

absl::StatusOr<ProducerIdBlock> ProducerIdManager::claim_block() {
  for (int attempt = 1; attempt <= kClaimAttemptsMax; ++attempt) {
    auto claimed = try_claim();
    if (!claimed.ok()) {
      TraceEvent(Severity::kWarn, "ProducerIdBlockNotClaimed")
          .detail("BrokerId", broker_id_)
          .detail("Error", claimed.status().ToString());
      return claimed.status();
    }
    if (claimed->has_value()) {
      TraceEvent(Severity::kInfo, "ProducerIdBlockClaimed")
          .detail("BrokerId", broker_id_)
          .detail("First", (*claimed)->first.value())
          .detail("Last", (*claimed)->last.value())
          .detail("Attempts", attempt);
      return **claimed;
    }
  }
  TraceEvent(Severity::kWarn, "ProducerIdBlockContended").detail("BrokerId", broker_id_);
  return absl::UnavailableError(
      absl::StrCat("no producer id block claimed in ", kClaimAttemptsMax,
                   " attempts: other brokers kept writing first, or connections were lost"));
}

absl::StatusOr<ProducerId> ProducerIdManager::next() {
  ActorMutex::Guard guard(mutex_);
  // Counting what was handed out, rather than keeping the next id, cannot overflow past a
  // block that ends at INT64_MAX.
  if (!block_.has_value() || handed_out_ > block_->last.value() - block_->first.value()) {
    auto claimed = claim_block();
    if (!claimed.ok()) return claimed.status();
    block_ = *claimed;
    handed_out_ = 0;
  }
  return ProducerId(block_->first.value() + handed_out_++);
}

}  // namespace weir::broker
