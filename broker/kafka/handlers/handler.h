// The Kafka API handlers: one file per API (broker/kafka/handlers/<api>.cc), one table
// (handlers.cc) from api key to handler. Adding an API is its handler, its table line and its
// row in the protocol generator's table; nothing else changes.
//
// A handler receives the decoded request header and the frame it came in (owned, so a handler
// that waits, for the log or for more data, keeps its bytes), and returns the future of the
// whole framed response. A request it cannot decode fails the future, which closes the
// connection, as Kafka closes connections that send malformed requests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "broker/kafka/protocol/protocol.h"
#include "broker/server/broker_core.h"
#include "runtime/framed/framed_server.h"
#include "runtime/future.h"

namespace weir::broker {

struct Request {
  kafka::RequestHeader header;
  std::string frame;       // the request frame without its size prefix
  size_t body_offset = 0;  // where the body starts in `frame`
  std::string peer;        // the client's address, for traces

  int16_t version() const { return header.request_api_version; }
  std::string_view body() const { return std::string_view(frame).substr(body_offset); }
  // The mutable bytes of the body (a produce's records are stamped in place).
  char* body_data() { return frame.data() + body_offset; }
};
using RequestPtr = std::shared_ptr<Request>;

using ApiHandler = Future<framed::Reply> (*)(BrokerCore& core, RequestPtr request);

// The handler of an api key, or nullptr for an api Weir does not serve.
ApiHandler find_handler(kafka::ApiKey key);

// Decodes the body as T, or returns the error that closes the connection.
template <class T>
absl::Status decode_body(const Request& request, T& out) {
  return kafka::decode_message(request.body(), request.version(), out);
}

// The framed response to `request`.
template <class T>
framed::Reply respond(const Request& request, const T& response) {
  framed::Reply reply;
  kafka::append_response_frame(response, request.version(), request.header.correlation_id,
                               reply.bytes);
  return reply;
}

// Runs `fn` (returning absl::StatusOr<framed::Reply>) as its own actor, kept in
// core.requests so that a closed connection never cancels it in the middle of its I/O.
template <class F>
Future<framed::Reply> run_request(BrokerCore& core, std::string_view name, F&& fn) {
  Future<framed::Reply> f = spawn(name, std::forward<F>(fn));
  core.requests.add(f);
  return f;
}

template <class T>
Future<framed::Reply> respond_now(const Request& request, const T& response) {
  return Future<framed::Reply>::ready(respond(request, response));
}

Future<framed::Reply> handle_api_versions(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_metadata(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_produce(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_fetch(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_list_offsets(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_create_topics(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_delete_topics(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_delete_records(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_create_partitions(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_describe_configs(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_describe_cluster(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_leader_and_isr(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_update_metadata(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_stop_replica(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_controlled_shutdown(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_offset_for_leader_epoch(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_elect_leaders(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_alter_partition_reassignments(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_list_partition_reassignments(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_find_coordinator(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_join_group(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_sync_group(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_heartbeat(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_leave_group(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_offset_commit(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_offset_fetch(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_list_groups(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_describe_groups(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_delete_groups(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_offset_delete(BrokerCore& core, RequestPtr request);
Future<framed::Reply> handle_init_producer_id(BrokerCore& core, RequestPtr request);

// The partition `topic`/`index` if this broker leads it; else nullptr with the error a client
// must see: UNKNOWN_TOPIC_OR_PARTITION when the cluster has no such partition,
// NOT_LEADER_OR_FOLLOWER when another broker (or nobody, for now) leads it.
std::shared_ptr<Partition> leader_partition(BrokerCore& core, const std::string& topic,
                                            int32_t index, kafka::ErrorCode& error);
// Kafka's check of a request's current_leader_epoch against the partition's: older is
// FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH (this broker has not heard yet), -1 none.
kafka::ErrorCode check_leader_epoch(const Partition& partition, int32_t current_leader_epoch);

// The ApiVersions v0 answer a client gets when it asked with a version this broker does not
// serve (UNSUPPORTED_VERSION plus the versions, so it can retry with one it knows).
framed::Reply unsupported_api_versions_reply(const kafka::RequestHeader& header);

}  // namespace weir::broker
