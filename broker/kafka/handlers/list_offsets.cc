// ListOffsets: earliest (-2: the log start offset), latest (-1: the high watermark, also the
// last stable offset without transactions), the record with the largest timestamp (-3, v7+,
// KIP-734), or the first offset whose timestamp is at least the one asked for (with that
// record's timestamp, found inside its batch). v0 answers with Kafka's old offsets list.
#include "broker/kafka/handlers/handler.h"
#include "broker/kafka/handlers/log_errors.h"
#include "broker/log/records.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::ListOffsetsRequest;
using kafka::ListOffsetsResponse;

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
constexpr size_t kDecompressedBytesMax = 64 << 20;

// The timestamp of the record at `offset` (its batch read and, if need be, decompressed), or
// the batch's max timestamp when the records cannot be read.
int64_t timestamp_at(Partition& p, Offset offset) {
  auto read = p.log().read(offset, 1, p.high_watermark(), true);
  if (!read.ok() || read->records.empty()) return -1;
  auto batch = log::BatchView::parse(read->records);
  if (!batch.ok()) return -1;
  const log::BatchHeader& h = batch->header();
  if (h.timestamp_type() == log::TimestampType::kLogAppendTime) return h.max_timestamp;
  std::string storage;
  auto records = log::read_records(*batch, storage, kDecompressedBytesMax);
  if (!records.ok()) return h.max_timestamp;
  for (const log::Record& r : *records) {
    if (h.base_offset + r.offset_delta == offset.value())
      return h.base_timestamp + r.timestamp_delta;
  }
  return h.max_timestamp;
}

ListOffsetsResponse::ListOffsetsPartitionResponse list_partition(
    BrokerCore& core, const std::string& topic, const ListOffsetsRequest::ListOffsetsPartition& lp,
    int16_t version, bool client_request) {
  ListOffsetsResponse::ListOffsetsPartitionResponse out;
  out.partition_index = lp.partition_index;
  ErrorCode error = ErrorCode::kNone;
  std::shared_ptr<Partition> p = leader_partition(core, topic, lp.partition_index, error);
  if (p != nullptr) error = check_leader_epoch(*p, lp.current_leader_epoch);
  if (error != ErrorCode::kNone) {
    out.error_code = static_cast<int16_t>(error);
    return out;
  }
  out.leader_epoch = p->leader_epoch().value();
  // While a new leader's high watermark lags its epoch's start, the latest offset (or a
  // timestamp's, at or past the high watermark) would come from before the election and send
  // a consumer back in time: Kafka's OFFSET_NOT_AVAILABLE, for consumers' requests only, and
  // LEADER_NOT_AVAILABLE before v5 (as Kafka: older clients, kafka-python 2.0.2 among them, do
  // not know code 78 and would not retry it).
  const bool lagging = client_request && p->high_watermark_lagging();
  const auto not_available = [&out, version] {
    out.error_code = static_cast<int16_t>(version >= 5 ? ErrorCode::kOffsetNotAvailable
                                                       : ErrorCode::kLeaderNotAvailable);
    return out;
  };
  if (lp.timestamp == kLatest) {
    if (lagging) return not_available();
    out.offset = p->high_watermark().value();
  } else if (lp.timestamp == kEarliest) {
    out.offset = p->log_start_offset().value();
  } else if (lp.timestamp == kMaxTimestamp && version >= 7) {
    // From the segments' bookkeeping: a request never reads the log for it.
    if (auto best = p->log().max_timestamp(); best && best->second < p->high_watermark()) {
      out.timestamp = best->first;
      out.offset = best->second.value();
    }
  } else if (lp.timestamp < 0) {
    out.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequest);
    return out;
  } else {
    auto found = p->log().offset_for_timestamp(lp.timestamp);
    if (!found.ok()) {
      out.error_code = static_cast<int16_t>(error_for_log_status(found.status()));
      return out;
    }
    if (found->has_value() && **found >= p->high_watermark() && lagging) return not_available();
    if (found->has_value() && **found < p->high_watermark()) {
      out.offset = (*found)->value();
      out.timestamp = timestamp_at(*p, **found);
    }
  }
  if (version == 0) {
    out.old_style_offsets = {out.offset};
    if (lp.timestamp >= 0 && out.offset < 0) out.old_style_offsets.clear();
  }
  return out;
}

}  // namespace

Future<framed::Reply> handle_list_offsets(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<ListOffsetsRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(
      core, "kafka-list-offsets", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
        ListOffsetsResponse rsp;
        for (const auto& topic : req->topics) {
          auto& t = rsp.topics.emplace_back();
          t.name = topic.name;
          for (const auto& lp : topic.partitions)
            t.partitions.push_back(
                list_partition(core, topic.name, lp, request->version(), req->replica_id == -1));
        }
        return respond(*request, rsp);
      });
}

}  // namespace weir::broker
