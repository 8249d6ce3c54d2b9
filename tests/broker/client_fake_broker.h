// A scripted Kafka broker for the client tests, on a simulated machine: it answers ApiVersions,
// Metadata (one broker, itself, leading every partition of the topics it knows) and Produce,
// and records every batch it is sent with the simulated time it arrived, so a test can check
// how the producer batched (linger, batch size, stickiness) without a real broker's log in the
// way. Produce answers can be held back (to fill the producer's buffer) or given an error per
// batch (to make it retry). Requests of one connection are handled one at a time, in order.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/kafka/protocol/protocol.h"
#include "broker/log/record_batch.h"
#include "runtime/actor_collection.h"
#include "runtime/framed/frame_decoder.h"
#include "runtime/future.h"
#include "runtime/sync.h"
#include "sim/simulator.h"

namespace weir::broker::testing {

struct FakeBatch {
  TimePoint arrived{};  // scheduler time
  std::string topic;
  int32_t partition = 0;
  int16_t acks = 0;
  int32_t record_count = 0;
  size_t bytes = 0;
  int64_t base_offset = -1;  // assigned, -1 when refused
  log::Compression compression = log::Compression::kNone;
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  uint64_t request = 0;      // which produce request carried it (0, 1, ...)
  int64_t producer_id = -1;  // idempotence: the batch header's producer fields
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
};

class FakeBroker {
 public:
  static constexpr int kPort = 9092;

  FakeBroker(sim::Simulator& sim, std::map<std::string, int32_t> topics)
      : sim_(sim), topics_(std::move(topics)) {
    machine_ = sim.add_machine("fake-broker");
    process_ = sim.add_process(machine_, "fake-broker", kPort,
                               [this](ProcessContext& ctx) { serve(ctx); });
  }

  std::string address() const { return absl::StrCat(machine_->ip(), ":", kPort); }

  // Every batch seen, in arrival order.
  std::vector<FakeBatch> batches;
  uint64_t produce_requests = 0;
  uint64_t metadata_requests = 0;
  uint64_t init_producer_id_requests = 0;  // answered with ids 1000, 1001, ...
  // While true, produce requests are read but not answered (nor are later requests of the
  // same connection read).
  bool hold = false;
  // Called for each batch before it is accepted; a non-None code refuses it.
  std::function<kafka::ErrorCode(const FakeBatch&)> inject;
  // Release held requests.
  void release() {
    hold = false;
    hold_changed_.fire_all();
  }

 private:
  void serve(ProcessContext& ctx) {
    auto listener = ctx.network->listen(address());
    WEIR_ASSERT_MSG(listener.ok(), "fake broker cannot listen");
    ActorCollection connections;
    while (true) {
      auto conn = (*listener)->accept();
      if (!conn.ok()) return;
      connections.add(spawn("fake-broker-conn", [this, c = *conn] { handle(c); }));
    }
  }

  void handle(std::shared_ptr<IConnection> conn) {
    framed::FrameDecoder decoder(64 << 20, "kafka frame", 8);
    std::vector<uint8_t> buf(64 << 10);
    while (true) {
      auto n = conn->read(absl::Span<uint8_t>(buf));
      if (!n.ok() || *n == 0) return;
      if (!decoder.feed(absl::Span<const uint8_t>(buf.data(), *n)).ok()) return;
      while (auto frame = decoder.pop()) {
        std::string owned(*frame);
        std::string out = answer(owned);
        if (!out.empty() &&
            !conn->write(absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(out.data()),
                                                   out.size()))
                 .ok())
          return;
      }
    }
  }

  std::string answer(const std::string& frame) {
    kafka::RequestHeader header;
    std::string_view body;
    if (!kafka::decode_request_header(frame, header, body).ok()) return "";
    const int16_t v = header.request_api_version;
    std::string out;
    switch (static_cast<kafka::ApiKey>(header.request_api_key)) {
      case kafka::ApiKey::kApiVersions: {
        kafka::ApiVersionsResponse rsp;
        for (kafka::ApiKey k : {kafka::ApiKey::kProduce, kafka::ApiKey::kMetadata,
                                kafka::ApiKey::kApiVersions, kafka::ApiKey::kInitProducerId}) {
          const kafka::ApiInfo* api = kafka::find_api(k);
          rsp.api_keys.push_back({.api_key = static_cast<int16_t>(k),
                                  .min_version = api->min_version,
                                  .max_version = api->max_version});
        }
        kafka::append_response_frame(rsp, v, header.correlation_id, out);
        return out;
      }
      case kafka::ApiKey::kMetadata: {
        kafka::MetadataRequest req;
        if (!kafka::decode_message(body, v, req).ok()) return "";
        ++metadata_requests;
        kafka::append_response_frame(metadata(req), v, header.correlation_id, out);
        return out;
      }
      case kafka::ApiKey::kProduce: {
        kafka::ProduceRequest req;
        if (!kafka::decode_message(body, v, req).ok()) return "";
        kafka::ProduceResponse rsp = produce(req);
        wait_for(hold_changed_, [&] { return !hold; });
        if (req.acks == 0) return "";
        kafka::append_response_frame(rsp, v, header.correlation_id, out);
        return out;
      }
      case kafka::ApiKey::kInitProducerId: {
        kafka::InitProducerIdRequest req;
        if (!kafka::decode_message(body, v, req).ok()) return "";
        kafka::InitProducerIdResponse rsp;
        rsp.producer_id = 1000 + static_cast<int64_t>(init_producer_id_requests++);
        rsp.producer_epoch = 0;
        kafka::append_response_frame(rsp, v, header.correlation_id, out);
        return out;
      }
      default:
        return "";
    }
  }

  kafka::MetadataResponse metadata(const kafka::MetadataRequest& req) {
    kafka::MetadataResponse rsp;
    rsp.brokers.push_back({.node_id = 0, .host = machine_->ip(), .port = kPort});
    rsp.controller_id = 0;
    rsp.cluster_id = "fake";
    auto describe = [&](const std::string& name) {
      kafka::MetadataResponse::MetadataResponseTopic t;
      t.name = name;
      auto it = topics_.find(name);
      if (it == topics_.end()) {
        t.error_code = static_cast<int16_t>(kafka::ErrorCode::kUnknownTopicOrPartition);
        return t;
      }
      for (int32_t p = 0; p < it->second; ++p) {
        t.partitions.push_back({.partition_index = p,
                                .leader_id = 0,
                                .leader_epoch = 0,
                                .replica_nodes = {0},
                                .isr_nodes = {0}});
      }
      return t;
    };
    if (!req.topics) {
      for (const auto& [name, n] : topics_) rsp.topics.push_back(describe(name));
    } else {
      for (const auto& t : *req.topics) rsp.topics.push_back(describe(t.name.value_or("")));
    }
    return rsp;
  }

  kafka::ProduceResponse produce(const kafka::ProduceRequest& req) {
    kafka::ProduceResponse rsp;
    const uint64_t request = produce_requests++;
    for (const auto& t : req.topic_data) {
      auto& rt = rsp.responses.emplace_back();
      rt.name = t.name;
      for (const auto& p : t.partition_data) {
        FakeBatch b;
        b.arrived = sim_.now();
        b.topic = t.name;
        b.partition = p.index;
        b.acks = req.acks;
        b.bytes = p.records.bytes.size();
        b.request = request;
        auto view = log::BatchView::parse(p.records.bytes);
        WEIR_ASSERT_MSG(view.ok(), "the producer sent a malformed batch");
        b.record_count = view->header().record_count;
        b.compression = view->header().compression();
        b.producer_id = view->header().producer_id;
        b.producer_epoch = view->header().producer_epoch;
        b.base_sequence = view->header().base_sequence;
        if (inject) b.error = inject(b);
        auto& rp = rt.partition_responses.emplace_back();
        rp.index = p.index;
        if (b.error == kafka::ErrorCode::kNone) {
          int64_t& next = next_offset_[{t.name, p.index}];
          b.base_offset = next;
          next += b.record_count;
          rp.base_offset = b.base_offset;
        } else {
          rp.error_code = static_cast<int16_t>(b.error);
          rp.base_offset = -1;
        }
        batches.push_back(b);
      }
    }
    return rsp;
  }

  sim::Simulator& sim_;
  std::map<std::string, int32_t> topics_;
  sim::SimMachine* machine_ = nullptr;
  sim::SimProcess* process_ = nullptr;
  std::map<std::pair<std::string, int32_t>, int64_t> next_offset_;
  WaitList hold_changed_;
};

}  // namespace weir::broker::testing
