// DeleteRecords: the log start offset of each partition moves up to the offset given (-1: the
// high watermark), whole segments below it are deleted, and the new low watermark is returned.
#include "broker/kafka/handlers/handler.h"
#include "broker/kafka/handlers/log_errors.h"

namespace weir::broker {

Future<framed::Reply> handle_delete_records(BrokerCore& core, RequestPtr request) {
  using kafka::ErrorCode;
  auto req = std::make_shared<kafka::DeleteRecordsRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(
      core, "kafka-delete-records", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
        kafka::DeleteRecordsResponse rsp;
        for (const auto& topic : req->topics) {
          auto& t = rsp.topics.emplace_back();
          t.name = topic.name;
          for (const auto& dp : topic.partitions) {
            auto& r = t.partitions.emplace_back();
            r.partition_index = dp.partition_index;
            r.low_watermark = -1;
            ErrorCode error = ErrorCode::kNone;
            std::shared_ptr<Partition> p =
                leader_partition(core, topic.name, dp.partition_index, error);
            if (p == nullptr) {
              r.error_code = static_cast<int16_t>(error);
              continue;
            }
            const Offset target = dp.offset == -1 ? p->high_watermark() : Offset(dp.offset);
            if (target < Offset(0) || target > p->high_watermark()) {
              r.error_code = static_cast<int16_t>(ErrorCode::kOffsetOutOfRange);
              continue;
            }
            auto moved = p->log().delete_records_before(target);
            if (!moved.ok()) {
              r.error_code = static_cast<int16_t>(error_for_log_status(moved.status()));
              continue;
            }
            r.low_watermark = moved->value();
          }
        }
        return respond(*request, rsp);
      });
}

}  // namespace weir::broker
