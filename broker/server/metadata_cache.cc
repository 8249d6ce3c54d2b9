#include "broker/server/metadata_cache.h"

#include "absl/strings/str_cat.h"

namespace weir::broker {

using kafka::ErrorCode;
using kafka::UpdateMetadataRequest;

std::string BrokerEndpoint::address() const {
  return absl::StrCat(host, ":", port);
}

const TopicMetadata* MetadataCache::find(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

const BrokerEndpoint* MetadataCache::broker(int32_t id) const {
  auto it = brokers_.find(id);
  return it == brokers_.end() ? nullptr : &it->second;
}

bool MetadataCache::has_leaders(const std::string& topic) const {
  const TopicMetadata* t = find(topic);
  if (t == nullptr || t->partitions.empty()) return false;
  for (const PartitionMetadata& p : t->partitions) {
    if (p.leader < 0) return false;
  }
  return true;
}

void MetadataCache::apply_partition(const std::string& topic, const Uuid16& id, int32_t index,
                                    PartitionMetadata partition, bool deleted) {
  if (deleted) {
    topics_.erase(topic);
    return;
  }
  if (index < 0) return;
  TopicMetadata& t = topics_[topic];
  t.name = topic;
  if (!id.is_zero()) t.id = id;
  if (t.partitions.size() <= static_cast<size_t>(index))
    t.partitions.resize(static_cast<size_t>(index) + 1);
  t.partitions[static_cast<size_t>(index)] = std::move(partition);
}

ErrorCode MetadataCache::apply(const UpdateMetadataRequest& update, int16_t version) {
  if (ControllerEpoch(update.controller_epoch) < controller_epoch_)
    return ErrorCode::kStaleControllerEpoch;
  controller_epoch_ = ControllerEpoch(update.controller_epoch);
  controller_id_ = update.controller_id;
  brokers_.clear();
  for (const auto& b : update.live_brokers) {
    BrokerEndpoint e{.id = b.id, .rack = b.rack.value_or("")};
    if (version == 0) {
      e.host = b.v0_host;
      e.port = b.v0_port;
    } else if (!b.endpoints.empty()) {
      e.host = b.endpoints.front().host;
      e.port = b.endpoints.front().port;
    }
    brokers_[b.id] = std::move(e);
  }
  // Weir's controller sends every UpdateMetadata as a snapshot of all partitions (as Kafka's
  // v8 Type=2): what it leaves out is gone, even when this broker missed the deletion's
  // UpdateMetadata (it was cut off, and the controller that deleted the topic was replaced).
  topics_.clear();
  auto one = [&](const std::string& topic, const Uuid16& id,
                 const UpdateMetadataRequest::UpdateMetadataPartitionState& s) {
    apply_partition(topic, id, s.partition_index,
                    PartitionMetadata{.leader = s.leader,
                                      .leader_epoch = LeaderEpoch(s.leader_epoch),
                                      .replicas = s.replicas,
                                      .isr = s.isr,
                                      .offline_replicas = s.offline_replicas},
                    s.leader == kLeaderDuringDelete);
  };
  for (const auto& s : update.ungrouped_partition_states) one(s.topic_name, Uuid16{}, s);
  for (const auto& t : update.topic_states) {
    Uuid16 id;
    id.bytes = t.topic_id.bytes;
    for (const auto& s : t.partition_states) one(t.topic_name, id, s);
  }
  ++generation_;
  changed_.fire_all();
  return ErrorCode::kNone;
}

}  // namespace weir::broker
