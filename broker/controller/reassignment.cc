#include "broker/controller/reassignment.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/server/json.h"
#include "coord/client/errors.h"
#include "runtime/future.h"

namespace weir::broker::controller {
namespace {

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// `a` without the members of `b`, in `a`'s order.
std::vector<int32_t> minus(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  std::vector<int32_t> out;
  for (int32_t x : a) {
    if (!contains(b, x)) out.push_back(x);
  }
  return out;
}

}  // namespace

std::vector<int32_t> PartitionAssignment::target() const {
  return minus(replicas, removing);
}

std::vector<int32_t> PartitionAssignment::original() const {
  return minus(replicas, adding);
}

PartitionAssignment assignment_of(const TopicAssignment& topic, int32_t p) {
  auto get = [&](const std::map<int32_t, std::vector<int32_t>>& m) {
    auto it = m.find(p);
    return it == m.end() ? std::vector<int32_t>{} : it->second;
  };
  return {.replicas = get(topic.replicas),
          .adding = get(topic.adding),
          .removing = get(topic.removing)};
}

PartitionAssignment reassign_to(const PartitionAssignment& current,
                                const std::vector<int32_t>& target) {
  const std::vector<int32_t> original = current.original();
  PartitionAssignment next;
  // Target first: the preferred leader of the result is the target's first replica.
  next.replicas = target;
  for (int32_t r : original) {
    if (!contains(next.replicas, r)) next.replicas.push_back(r);
  }
  next.adding = minus(next.replicas, original);
  next.removing = minus(next.replicas, target);
  if (!next.reassigning()) next.replicas = target;  // back to the original, in its order
  return next;
}

bool reassignment_complete(const PartitionAssignment& assignment, const std::vector<int32_t>& isr) {
  for (int32_t r : assignment.target()) {
    if (!contains(isr, r)) return false;
  }
  return true;
}

std::optional<std::string> invalid_target(const std::vector<int32_t>& target,
                                          const std::set<int32_t>& brokers) {
  if (target.empty()) return "the replica list is empty";
  std::set<int32_t> seen;
  for (int32_t r : target) {
    if (!seen.insert(r).second) return absl::StrCat("broker ", r, " appears more than once");
    if (brokers.count(r) == 0) return absl::StrCat("broker ", r, " is not registered");
  }
  return std::nullopt;
}

absl::StatusOr<PendingReassignments> parse_reassignments_json(std::string_view text) {
  auto json = parse_json(text);
  if (!json.ok()) return json.status();
  const JsonValue* parts = json->find("partitions");
  if (parts == nullptr || parts->kind() != JsonValue::Kind::kArray)
    return absl::InvalidArgumentError("reassign_partitions: no partitions array");
  PendingReassignments out;
  for (const JsonValue& p : parts->items()) {
    auto topic = json_string(p, "topic");
    if (!topic.ok()) return topic.status();
    auto partition = json_int(p, "partition");
    if (!partition.ok()) return partition.status();
    const JsonValue* replicas = p.find("replicas");
    if (replicas == nullptr || replicas->kind() != JsonValue::Kind::kArray)
      return absl::InvalidArgumentError("reassign_partitions: an entry without replicas");
    std::vector<int32_t> ids;
    for (const JsonValue& r : replicas->items()) {
      if (r.kind() != JsonValue::Kind::kNumber)
        return absl::InvalidArgumentError("reassign_partitions: a non-integer replica");
      ids.push_back(static_cast<int32_t>(r.as_int()));
    }
    // A partition listed twice: the later entry wins, as Kafka's parser keeps the last.
    out[log::TopicPartition{*topic, static_cast<int32_t>(*partition)}] = std::move(ids);
  }
  return out;
}

std::string reassignments_json(const PendingReassignments& pending) {
  JsonValue parts = JsonValue::array();
  for (const auto& [tp, replicas] : pending) {
    JsonValue ids = JsonValue::array();
    for (int32_t r : replicas) ids.push(JsonValue::number(r));
    parts.push(JsonValue::object({{"topic", JsonValue::string(tp.topic)},
                                  {"partition", JsonValue::number(tp.partition)},
                                  {"replicas", std::move(ids)}}));
  }
  return JsonValue::object({{"version", JsonValue::number(1)}, {"partitions", std::move(parts)}})
      .dump();
}

absl::StatusOr<PendingZnode> read_pending_reassignments(ClusterStore& store) {
  auto data = await(store.coord().get_data(kReassignPartitionsPath));
  if (!data.ok()) {
    if (coord::client::zk_error(data.status()) == coord::client::ErrorCode::kNoNode)
      return PendingZnode{};
    return data.status();
  }
  PendingZnode out{.version = data->stat.version};
  if (auto parsed = parse_reassignments_json(data->data); parsed.ok())
    out.entries = *std::move(parsed);
  return out;
}

}  // namespace weir::broker::controller
