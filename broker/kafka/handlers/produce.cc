// Produce: each partition's batches are validated and appended by its leader's log (offsets
// assigned in the batch headers, CRC checked, nothing re-encoded), with an error code per
// partition. acks=0 gets no response at all, as Kafka; acks=1 is answered once the leader has
// appended; acks=-1 is refused NOT_ENOUGH_REPLICAS before the append when the ISR is below
// min.insync.replicas, and otherwise parked until the high watermark passes the batch (the
// ISR has it), the leadership moves (NOT_LEADER_OR_FOLLOWER), or the request's timeout ends
// (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below min.insync meanwhile, else
// REQUEST_TIMED_OUT). A retry of an idempotent producer's batch the log already holds is
// answered with the original's offsets, and with acks=-1 only once the original is committed.
#include "broker/kafka/handlers/handler.h"
#include "broker/kafka/handlers/log_errors.h"
#include "broker/log/legacy_records.h"
#include "runtime/sync.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::ProduceRequest;
using kafka::ProduceResponse;

// An acks=-1 append waiting for the ISR.
struct Parked {
  std::shared_ptr<Partition> partition;
  LeaderEpoch epoch;
  Offset committed_at;  // the high watermark that covers the batch
  size_t topic_at = 0;  // where its answer is in the response
  size_t partition_at = 0;
};

ProduceResponse::PartitionProduceResponse append_partition(
    BrokerCore& core, Request& request, const std::string& topic,
    const ProduceRequest::PartitionProduceData& data, int16_t acks, std::vector<Parked>& parked) {
  ProduceResponse::PartitionProduceResponse out;
  out.index = data.index;
  auto fail = [&](ErrorCode code, std::string message) {
    out.error_code = static_cast<int16_t>(code);
    out.base_offset = -1;
    out.error_message = std::move(message);
    return out;
  };
  ErrorCode error = ErrorCode::kNone;
  std::shared_ptr<Partition> partition = leader_partition(core, topic, data.index, error);
  if (partition == nullptr) return fail(error, "not the leader of this partition");
  if (acks == -1 &&
      static_cast<int32_t>(partition->state().isr.size()) < partition->min_insync_replicas())
    return fail(ErrorCode::kNotEnoughReplicas, "the ISR is smaller than min.insync.replicas");
  if (data.records.is_null || data.records.bytes.empty())
    return fail(ErrorCode::kInvalidRecord, "no records");
  // The records view points into request.frame, which this request owns: stamp it in place.
  const size_t at = static_cast<size_t>(data.records.bytes.data() - request.frame.data());
  absl::Span<uint8_t> records(reinterpret_cast<uint8_t*>(request.frame.data() + at),
                              data.records.bytes.size());
  // Produce v0-v2 carry Kafka's older message formats: converted up to one v2 batch, as a Kafka
  // 3.0 broker stores them.
  std::string converted;
  if (const int8_t magic = log::records_magic(data.records.bytes); magic == 0 || magic == 1) {
    auto up = log::upconvert_message_set(data.records.bytes,
                                         static_cast<size_t>(core.config.message_max_bytes) * 64);
    if (!up.ok()) return fail(ErrorCode::kCorruptMessage, std::string(up.status().message()));
    converted = *std::move(up);
    records = absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(converted.data()), converted.size());
  }
  auto info = partition->append_as_leader(records);
  if (!info.ok())
    return fail(error_for_log_status(info.status()), std::string(info.status().message()));
  if (info->duplicate) {
    ++core.counters.produce_duplicates;
  } else {
    ++core.counters.produce_batches;
    core.counters.produce_bytes += records.size();
  }
  out.base_offset = info->first_offset.value();
  out.log_append_time_ms = info->log_append_time_ms;
  out.log_start_offset = info->log_start_offset.value();
  if (acks == -1)
    parked.push_back({partition, partition->leader_epoch(), Offset(info->last_offset.value() + 1)});
  return out;
}

// Waits for each parked append until its partition's high watermark covers it.
void await_replication(BrokerCore& core, std::vector<Parked>& parked, int32_t timeout_ms,
                       ProduceResponse& rsp) {
  const int32_t limit = std::clamp(timeout_ms, 0, core.config.produce_purgatory_timeout_ms_max);
  const TimePoint deadline =
      Scheduler::current().now() + to_scheduler_duration(std::chrono::milliseconds(limit));
  for (Parked& w : parked) {
    Partition& p = *w.partition;
    auto settled = [&] {
      return p.closed() || !p.is_leader() || p.leader_epoch() != w.epoch ||
             p.high_watermark() >= w.committed_at;
    };
    (void)wait_until(p.changed(), settled, deadline);
    ErrorCode code = ErrorCode::kNone;
    if (p.high_watermark() >= w.committed_at && p.leader_epoch() == w.epoch) {
      code = ErrorCode::kNone;
    } else if (p.closed() || !p.is_leader() || p.leader_epoch() != w.epoch) {
      code = ErrorCode::kNotLeaderOrFollower;
    } else if (static_cast<int32_t>(p.state().isr.size()) < p.min_insync_replicas()) {
      code = ErrorCode::kNotEnoughReplicasAfterAppend;
    } else {
      code = ErrorCode::kRequestTimedOut;
      ++core.counters.produce_timeouts;
    }
    if (code != ErrorCode::kNone) {
      auto& out = rsp.responses[w.topic_at].partition_responses[w.partition_at];
      out.error_code = static_cast<int16_t>(code);
      out.base_offset = -1;
    }
  }
}

absl::StatusOr<framed::Reply> produce(BrokerCore& core, Request& request,
                                      const ProduceRequest& req) {
  ProduceResponse rsp;
  std::vector<Parked> parked;
  const bool acks_valid = req.acks == 0 || req.acks == 1 || req.acks == -1;
  for (const auto& topic : req.topic_data) {
    auto& t = rsp.responses.emplace_back();
    t.name = topic.name;
    for (const auto& data : topic.partition_data) {
      if (!acks_valid) {
        auto& p = t.partition_responses.emplace_back();
        p.index = data.index;
        p.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequiredAcks);
        p.base_offset = -1;
        continue;
      }
      const size_t before = parked.size();
      t.partition_responses.push_back(
          append_partition(core, request, topic.name, data, req.acks, parked));
      if (parked.size() > before) {
        parked.back().topic_at = rsp.responses.size() - 1;
        parked.back().partition_at = t.partition_responses.size() - 1;
      }
    }
  }
  if (req.acks == 0) return framed::Reply{};  // no response, as Kafka
  if (!parked.empty()) await_replication(core, parked, req.timeout_ms, rsp);
  return respond(request, rsp);
}

}  // namespace

Future<framed::Reply> handle_produce(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<ProduceRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  if (req->transactional_id.has_value()) {
    // Transactions are not served: answer as a broker without the transaction coordinator.
    ProduceResponse rsp;
    for (const auto& topic : req->topic_data) {
      auto& t = rsp.responses.emplace_back();
      t.name = topic.name;
      for (const auto& data : topic.partition_data) {
        auto& p = t.partition_responses.emplace_back();
        p.index = data.index;
        p.error_code = static_cast<int16_t>(ErrorCode::kTransactionalIdAuthorizationFailed);
        p.base_offset = -1;
      }
    }
    return respond_now(*request, rsp);
  }
  return run_request(core, "kafka-produce",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       return produce(core, *request, *req);
                     });
}

}  // namespace weir::broker
