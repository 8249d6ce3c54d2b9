// Produce: each partition's batches are validated and appended by its log (offsets assigned in
// the batch headers, CRC checked, nothing re-encoded), with an error code per partition. acks=0
// gets no response at all, as Kafka; acks 1 and -1 are the same with one replica (the leader's
// append is the commit); replication (a later step) parks acks=-1 until the ISR has it.
#include "broker/kafka/handlers/handler.h"
#include "broker/kafka/handlers/log_errors.h"
#include "broker/log/legacy_records.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::ProduceRequest;
using kafka::ProduceResponse;

ProduceResponse::PartitionProduceResponse append_partition(
    BrokerCore& core, Request& request, const std::string& topic,
    const ProduceRequest::PartitionProduceData& data) {
  ProduceResponse::PartitionProduceResponse out;
  out.index = data.index;
  auto fail = [&](ErrorCode code, std::string message) {
    out.error_code = static_cast<int16_t>(code);
    out.base_offset = -1;
    out.error_message = std::move(message);
    return out;
  };
  std::shared_ptr<Partition> partition = core.topics.partition(topic, data.index);
  if (partition == nullptr || partition->closed())
    return fail(ErrorCode::kUnknownTopicOrPartition, "no such topic or partition");
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
  auto info = partition->append(records);
  if (!info.ok())
    return fail(error_for_log_status(info.status()), std::string(info.status().message()));
  ++core.counters.produce_batches;
  core.counters.produce_bytes += records.size();
  out.base_offset = info->first_offset.value();
  out.log_append_time_ms = info->log_append_time_ms;
  out.log_start_offset = info->log_start_offset.value();
  return out;
}

absl::StatusOr<framed::Reply> produce(BrokerCore& core, Request& request,
                                      const ProduceRequest& req) {
  ProduceResponse rsp;
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
      t.partition_responses.push_back(append_partition(core, request, topic.name, data));
    }
  }
  if (req.acks == 0) return framed::Reply{};  // no response, as Kafka
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
