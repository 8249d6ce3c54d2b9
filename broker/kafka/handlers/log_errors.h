// The Kafka error code a log operation's status means, shared by every handler that touches a
// partition's log so that one failure gets one code everywhere.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "broker/kafka/protocol/error_codes.h"

namespace weir::broker {

inline kafka::ErrorCode error_for_log_status(const absl::Status& s) {
  using kafka::ErrorCode;
  const std::string_view message(s.message().data(), s.message().size());
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return ErrorCode::kNone;
    case absl::StatusCode::kDataLoss:
      return ErrorCode::kCorruptMessage;
    case absl::StatusCode::kInvalidArgument:
      return ErrorCode::kInvalidRecord;
    case absl::StatusCode::kOutOfRange:
      if (message.find("RECORD_LIST_TOO_LARGE") != std::string_view::npos)
        return ErrorCode::kRecordListTooLarge;
      if (message.find("MESSAGE_TOO_LARGE") != std::string_view::npos)
        return ErrorCode::kMessageTooLarge;
      if (message.find("OUT_OF_ORDER_SEQUENCE_NUMBER") != std::string_view::npos)
        return ErrorCode::kOutOfOrderSequenceNumber;
      return ErrorCode::kOffsetOutOfRange;
    case absl::StatusCode::kUnavailable:
      return ErrorCode::kNotLeaderOrFollower;
    case absl::StatusCode::kFailedPrecondition:
      if (message.find("NOT_LEADER_OR_FOLLOWER") != std::string_view::npos)
        return ErrorCode::kNotLeaderOrFollower;
      if (message.find("INVALID_PRODUCER_EPOCH") != std::string_view::npos)
        return ErrorCode::kInvalidProducerEpoch;
      if (message.find("UNKNOWN_PRODUCER_ID") != std::string_view::npos)
        return ErrorCode::kUnknownProducerId;
      return ErrorCode::kKafkaStorageError;
    default:
      return ErrorCode::kKafkaStorageError;
  }
}

}  // namespace weir::broker
