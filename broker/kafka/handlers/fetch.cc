// Fetch: whole batches from each partition's log, as stored (never decompressed or
// re-encoded), below the high watermark. Limits as Kafka (KIP-74): partition_max_bytes per
// partition, max_bytes for the response, and the first batch of the first partition that has
// data returned even when larger than both, so a consumer can never be stuck behind a big
// batch. Long poll: with less than min_bytes available the request waits for appends until
// max_wait_ms. Fetch sessions (KIP-227) are not kept: every answer says session 0, which
// tells a client to keep sending full requests.
//
// A follower's fetch (replica_id >= 0) reads up to the log end rather than the high watermark,
// and tells the leader where the follower's log ends (its fetch offset), which is what moves
// the high watermark and the ISR. Only the leader serves a partition; a current_leader_epoch
// older or newer than the leader's is FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH.
#include <deque>
#include <iterator>

#include "broker/kafka/handlers/handler.h"
#include "broker/kafka/handlers/log_errors.h"
#include "broker/log/legacy_records.h"
#include "runtime/sync.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::FetchRequest;
using kafka::FetchResponse;

struct FetchState {
  FetchResponse rsp;
  // The bytes the response's Records view: a deque, whose elements never move.
  std::deque<std::string> owned;
  // The file ranges the response's Records name (Fetch v4+), in response order; the encoder
  // fills in each one's position (Records::external_at), so a deque too.
  std::deque<framed::FilePiece> files;
  int64_t bytes = 0;
  bool any_error = false;
};

// A partition's records sent from the segment file: the encoder writes their length and leaves
// their bytes out, and respond_with_files splices the range in where they belong.
void attach_file_range(const log::ReadResult& read, kafka::Records& records, FetchState& state) {
  state.bytes += static_cast<int64_t>(read.size_bytes);
  framed::FilePiece& piece = state.files.emplace_back();
  piece.range =
      framed::FileRange{.file = read.file, .offset = read.file_position, .length = read.size_bytes};
  records.external_bytes = read.size_bytes;
  records.external_at = &piece.at;
}

// The framed response with the file ranges in place.
framed::Reply respond_with_files(const Request& request, FetchState& state) {
  framed::Reply reply = respond(request, state.rsp);
  reply.files.assign(std::make_move_iterator(state.files.begin()),
                     std::make_move_iterator(state.files.end()));
  return reply;
}

FetchResponse::PartitionData fetch_partition(BrokerCore& core, const std::string& topic,
                                             const FetchRequest::FetchPartition& fp,
                                             int32_t bytes_left, bool min_one_batch,
                                             int16_t version, int32_t replica_id,
                                             FetchState& state) {
  FetchResponse::PartitionData out;
  out.partition_index = fp.partition;
  ErrorCode error = ErrorCode::kNone;
  std::shared_ptr<Partition> p = leader_partition(core, topic, fp.partition, error);
  if (p != nullptr) error = check_leader_epoch(*p, fp.current_leader_epoch);
  if (error != ErrorCode::kNone) {
    out.error_code = static_cast<int16_t>(error);
    out.high_watermark = -1;
    state.any_error = true;
    return out;
  }
  const Offset hw = p->high_watermark();
  // A follower reads what the leader has; a consumer what is committed.
  const Offset readable = replica_id >= 0 ? p->log_end_offset() : hw;
  out.high_watermark = hw.value();
  out.last_stable_offset = hw.value();
  out.log_start_offset = p->log_start_offset().value();
  const Offset start(fp.fetch_offset);
  if (start < p->log_start_offset() || start > p->log_end_offset()) {
    out.error_code = static_cast<int16_t>(ErrorCode::kOffsetOutOfRange);
    state.any_error = true;
    return out;
  }
  if (start >= readable || bytes_left <= 0) return out;
  const int32_t limit = std::min(fp.partition_max_bytes, bytes_left);
  // v0-v3 are down-converted, which needs the bytes in memory.
  const auto mode = version >= 4 ? log::ReadMode::kFileRange : log::ReadMode::kCopy;
  // A follower copies the log as it is; a consumer's read passes over the cleaner's empty
  // batches as the offset gaps they stand for (PartitionLog::read).
  auto read = p->log().read(start, limit, readable, min_one_batch, mode,
                            /*skip_empty_batches=*/replica_id < 0);
  if (!read.ok()) {
    out.error_code = static_cast<int16_t>(error_for_log_status(read.status()));
    state.any_error = true;
    return out;
  }
  if (read->file != nullptr) {
    attach_file_range(*read, out.records, state);
  } else if (!read->records.empty()) {
    state.bytes += static_cast<int64_t>(read->records.size());
    if (version <= 3) {
      // Fetch v0-v3 cannot carry RecordBatch v2: down to magic 0 (v0-v1) or 1 (v2-v3), as Kafka.
      auto down = log::downconvert_batches(read->records, version <= 1 ? 0 : 1, 64 << 20);
      if (!down.ok()) {
        out.error_code = static_cast<int16_t>(ErrorCode::kCorruptMessage);
        state.any_error = true;
        return out;
      }
      read->records = *std::move(down);
    }
    state.owned.push_back(std::move(read->records));
    out.records.bytes = state.owned.back();
  }
  return out;
}

// One pass over every requested partition.
void fetch_once(BrokerCore& core, const FetchRequest& req, int16_t version, FetchState& state) {
  state = FetchState{};
  int64_t left = version >= 3 ? req.max_bytes : INT32_MAX;
  for (const auto& topic : req.topics) {
    auto& t = state.rsp.responses.emplace_back();
    t.topic = topic.topic;
    for (const auto& fp : topic.partitions) {
      // Before v3 every partition returns its first batch whatever its size; from v3 only the
      // first partition with data may exceed the limits.
      const bool min_one = version < 3 || state.bytes == 0;
      const int32_t bytes_left = static_cast<int32_t>(std::min<int64_t>(left, INT32_MAX));
      t.partitions.push_back(fetch_partition(core, topic.topic, fp, bytes_left, min_one, version,
                                             req.replica_id, state));
      left = (version >= 3 ? req.max_bytes : INT32_MAX) - state.bytes;
    }
  }
}

absl::StatusOr<framed::Reply> fetch(BrokerCore& core, Request& request, const FetchRequest& req) {
  Scheduler& s = Scheduler::current();
  if (req.replica_id >= 0) {
    // The follower's log ends at its fetch offset: the leader's bookkeeping comes first, so
    // the high watermark this answer carries already counts it.
    for (const auto& topic : req.topics) {
      for (const auto& fp : topic.partitions) {
        std::shared_ptr<Partition> p = core.replicas.partition(topic.topic, fp.partition);
        if (p != nullptr && p->is_leader() &&
            check_leader_epoch(*p, fp.current_leader_epoch) == ErrorCode::kNone)
          core.replicas.on_follower_fetch(*p, req.replica_id, Offset(fp.fetch_offset));
      }
    }
  }
  const TimePoint deadline =
      s.now() + to_scheduler_duration(std::chrono::milliseconds(std::max(0, req.max_wait_ms)));
  FetchState state;
  while (true) {
    const uint64_t seen = core.replicas.appended().generation;
    fetch_once(core, req, request.version(), state);
    if (state.any_error || state.bytes >= req.min_bytes || s.now() >= deadline) break;
    AppendSignal& signal = core.replicas.appended();
    if (!wait_until(
            signal.waiters, [&] { return signal.generation != seen; }, deadline)) {
      fetch_once(core, req, request.version(), state);
      break;
    }
  }
  core.counters.fetch_bytes += static_cast<uint64_t>(state.bytes);
  return respond_with_files(request, state);
}

}  // namespace

Future<framed::Reply> handle_fetch(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<FetchRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  if (request->version() >= 7 && req->session_epoch > 0) {
    FetchResponse rsp;
    rsp.error_code = static_cast<int16_t>(ErrorCode::kFetchSessionIdNotFound);
    return respond_now(*request, rsp);
  }
  return run_request(core, "kafka-fetch", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
    return fetch(core, *request, *req);
  });
}

}  // namespace weir::broker
