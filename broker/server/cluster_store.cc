#include "broker/server/cluster_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/server/json.h"
#include "buggify/code_probe.h"
#include "runtime/future.h"

namespace weir::broker {
namespace {

using coord::client::CreateMode;
using coord::client::ErrorCode;
using coord::client::open_acl_unsafe;
using coord::client::zk_error;

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr int32_t kReservedBrokerIdMax = 1000;

JsonValue int_array(const std::vector<int32_t>& ids) {
  JsonValue a = JsonValue::array();
  for (int32_t id : ids) a.push(JsonValue::number(id));
  return a;
}

absl::StatusOr<std::vector<int32_t>> parse_int_array(const JsonValue* v, std::string_view what) {
  if (v == nullptr || v->kind() != JsonValue::Kind::kArray)
    return absl::InvalidArgumentError(
        absl::StrCat("json: ", std::string(what), " is not an array"));
  std::vector<int32_t> out;
  for (const JsonValue& item : v->items()) {
    if (item.kind() != JsonValue::Kind::kNumber)
      return absl::InvalidArgumentError(
          absl::StrCat("json: ", std::string(what), " holds a non-integer"));
    out.push_back(static_cast<int32_t>(item.as_int()));
  }
  return out;
}

std::string config_json(const std::map<std::string, std::string>& config) {
  JsonValue c = JsonValue::object();
  for (const auto& [k, v] : config) c.add(k, JsonValue::string(v));
  return JsonValue::object({{"version", JsonValue::number(1)}, {"config", std::move(c)}}).dump();
}

}  // namespace

absl::Status multi_status(const absl::StatusOr<std::vector<coord::client::OpResult>>& results) {
  if (!results.ok()) return results.status();
  for (const auto& r : *results) {
    if (r.error != ErrorCode::kOk && r.error != ErrorCode::kRuntimeInconsistency)
      return coord::client::zk_status(r.error, "multi");
  }
  for (const auto& r : *results) {
    if (r.error != ErrorCode::kOk) return coord::client::zk_status(r.error, "multi");
  }
  return absl::OkStatus();
}

std::string ClusterStore::topic_path(const std::string& topic) {
  return "/brokers/topics/" + topic;
}
std::string ClusterStore::state_path(const std::string& topic, int32_t partition) {
  return absl::StrCat("/brokers/topics/", topic, "/partitions/", partition, "/state");
}

Uuid16 Uuid16::random(IRandom& random) {
  Uuid16 id;
  while (id.is_zero()) {
    for (size_t i = 0; i < 16; i += 8) {
      const uint64_t v = random.next_u64();
      for (size_t j = 0; j < 8; ++j) id.bytes[i + j] = static_cast<uint8_t>(v >> (8 * j));
    }
    id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40);  // version 4, as Java's
    id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80);
  }
  return id;
}

bool Uuid16::is_zero() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

std::string Uuid16::to_base64() const {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(acc << (6 - bits)) & 63]);
  return out;  // 22 characters, no padding
}

std::optional<Uuid16> Uuid16::from_base64(std::string_view text) {
  if (text.size() != 22) return std::nullopt;
  Uuid16 id;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (char c : text) {
    const char* at = std::char_traits<char>::find(kBase64Url, 64, c);
    if (at == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(at - kBase64Url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < 16) id.bytes[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  return id;
}

ClusterStore::ClusterStore(coord::client::CoordClient& coord, IClock& clock, IRandom& random)
    : coord_(&coord), clock_(clock), random_(random) {}

absl::Status ClusterStore::create_if_missing(const std::string& path, std::string data) {
  auto r = await(coord_->create(path, std::move(data), open_acl_unsafe()));
  if (r.ok() || zk_error(r.status()) == ErrorCode::kNodeExists) return absl::OkStatus();
  return r.status();
}

absl::Status ClusterStore::ensure_layout() {
  for (const char* path :
       {"/brokers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config",
        "/config/topics", "/config/changes", "/config/brokers", "/config/clients", "/config/users",
        "/admin", "/admin/delete_topics", "/isr_change_notification", "/log_dir_event_notification",
        "/cluster", "/consumers"}) {
    if (auto s = create_if_missing(path); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ClusterStore::ensure_cluster_id() {
  const std::string fresh =
      JsonValue::object({{"version", JsonValue::string("1")},
                         {"id", JsonValue::string(Uuid16::random(random_).to_base64())}})
          .dump();
  if (auto s = create_if_missing("/cluster/id", fresh); !s.ok()) return s;
  auto data = await(coord_->get_data("/cluster/id"));
  if (!data.ok()) return data.status();
  auto json = parse_json(data->data);
  if (!json.ok()) return json.status();
  return json_string(*json, "id");
}

absl::StatusOr<int32_t> ClusterStore::generate_broker_id() {
  auto stat = await(coord_->set_data("/brokers/seqid", ""));
  if (!stat.ok()) return stat.status();
  return kReservedBrokerIdMax + stat->version;
}

std::string ClusterStore::broker_json(const BrokerRegistration& b, int64_t timestamp_ms) {
  JsonValue v = JsonValue::object();
  v.add("features", JsonValue::object());
  v.add("listener_security_protocol_map",
        JsonValue::object({{"PLAINTEXT", JsonValue::string("PLAINTEXT")}}));
  v.add("endpoints",
        JsonValue::array({JsonValue::string(absl::StrCat("PLAINTEXT://", b.host, ":", b.port))}));
  if (!b.rack.empty()) v.add("rack", JsonValue::string(b.rack));
  v.add("jmx_port", JsonValue::number(-1));
  v.add("port", JsonValue::number(b.port));
  v.add("host", JsonValue::string(b.host));
  v.add("version", JsonValue::number(5));
  v.add("timestamp", JsonValue::string(absl::StrCat(timestamp_ms)));
  if (b.unflushed_data_lost) v.add("unflushed_data_lost", JsonValue::boolean(true));
  return v.dump();
}

absl::StatusOr<BrokerRegistration> ClusterStore::parse_broker_json(int32_t id,
                                                                   std::string_view text) {
  auto json = parse_json(text);
  if (!json.ok()) return json.status();
  BrokerRegistration b{.id = id};
  auto host = json_string(*json, "host");
  auto port = json_int(*json, "port");
  if (const JsonValue* endpoints = json->find("endpoints");
      endpoints != nullptr && endpoints->kind() == JsonValue::Kind::kArray &&
      !endpoints->items().empty() && endpoints->items()[0].kind() == JsonValue::Kind::kString) {
    // PLAINTEXT://host:port
    const std::string& e = endpoints->items()[0].as_string();
    const size_t scheme = e.find("://");
    const size_t colon = e.rfind(':');
    if (scheme != std::string::npos && colon != std::string::npos && colon > scheme + 3) {
      b.host = e.substr(scheme + 3, colon - scheme - 3);
      (void)absl::SimpleAtoi(e.substr(colon + 1), &b.port);
    }
  }
  if (b.host.empty() && host.ok()) b.host = *host;
  if (b.port == 0 && port.ok()) b.port = static_cast<int32_t>(*port);
  if (b.host.empty() || b.port <= 0)
    return absl::InvalidArgumentError(
        absl::StrCat("broker ", id, ": registration has no endpoint"));
  if (auto rack = json_string(*json, "rack"); rack.ok()) b.rack = *rack;
  if (const JsonValue* lost = json->find("unflushed_data_lost");
      lost != nullptr && lost->kind() == JsonValue::Kind::kBool)
    b.unflushed_data_lost = lost->as_bool();
  return b;
}

absl::StatusOr<BrokerRegistration> ClusterStore::get_broker(int32_t id) {
  auto data = await(coord_->get_data(absl::StrCat("/brokers/ids/", id)));
  if (!data.ok()) return data.status();
  auto b = parse_broker_json(id, data->data);
  if (!b.ok()) return b.status();
  b->epoch = data->stat.czxid.value();
  return b;
}

absl::StatusOr<int32_t> ClusterStore::get_controller() {
  auto data = await(coord_->get_data("/controller"));
  if (!data.ok()) {
    if (zk_error(data.status()) == ErrorCode::kNoNode) return -1;
    return data.status();
  }
  auto json = parse_json(data->data);
  if (!json.ok()) return json.status();
  auto id = json_int(*json, "brokerid");
  if (!id.ok()) return id.status();
  return static_cast<int32_t>(*id);
}

absl::StatusOr<int64_t> ClusterStore::register_broker(const BrokerRegistration& broker,
                                                      int64_t wait_ms) {
  const std::string path = absl::StrCat("/brokers/ids/", broker.id);
  const std::string data = broker_json(broker, clock_.wall_ms());
  const TimePoint deadline = clock_.now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    auto r = await(coord_->create2(path, data, open_acl_unsafe(), CreateMode::kEphemeral));
    if (r.ok()) return r->stat.czxid.value();
    if (zk_error(r.status()) != ErrorCode::kNodeExists) return r.status();
    if (clock_.now() >= deadline) {
      return absl::AlreadyExistsError(
          absl::StrCat("broker id ", broker.id,
                       " is registered by a live session (another broker with this broker.id?)"));
    }
    delay(std::chrono::milliseconds(200));
  }
}

absl::StatusOr<std::optional<ControllerClaim>> ClusterStore::try_become_controller(
    int32_t broker_id) {
  const std::string me =
      JsonValue::object({{"version", JsonValue::number(1)},
                         {"brokerid", JsonValue::number(broker_id)},
                         {"timestamp", JsonValue::string(absl::StrCat(clock_.wall_ms()))}})
          .dump();
  auto created =
      await(coord_->create("/controller", me, open_acl_unsafe(), CreateMode::kEphemeral));
  if (!created.ok()) {
    if (zk_error(created.status()) != ErrorCode::kNodeExists) return created.status();
    // Ours already, when an earlier attempt's create went through but its reply was lost
    // (ConnectionLoss): without this check nobody would ever be controller while this
    // session lives.
    auto existing = await(coord_->exists("/controller"));
    if (!existing.ok()) return existing.status();
    if (!existing->has_value() || (*existing)->ephemeralOwner != coord_->session_id())
      return std::optional<ControllerClaim>();
    CODE_PROBE(true, "cluster_store.controller_znode_already_ours");
  }
  // Bump /controller_epoch with a version check so two controllers never share an epoch.
  while (true) {
    auto current = await(coord_->get_data("/controller_epoch"));
    if (!current.ok() && zk_error(current.status()) == ErrorCode::kNoNode) {
      auto c = await(coord_->create2("/controller_epoch", "1", open_acl_unsafe()));
      if (c.ok())
        return std::optional<ControllerClaim>(ControllerClaim{1, c->stat.version, c->stat.mzxid});
      if (zk_error(c.status()) != ErrorCode::kNodeExists) return c.status();
      continue;
    }
    if (!current.ok()) return current.status();
    int32_t epoch = 0;
    if (!absl::SimpleAtoi(current->data, &epoch))
      return absl::DataLossError("/controller_epoch is not a number");
    auto s = await(
        coord_->set_data("/controller_epoch", absl::StrCat(epoch + 1), current->stat.version));
    if (s.ok())
      return std::optional<ControllerClaim>(ControllerClaim{epoch + 1, s->version, s->mzxid});
    if (zk_error(s.status()) != ErrorCode::kBadVersion) return s.status();
  }
}

absl::StatusOr<std::vector<std::string>> ClusterStore::list_topics() {
  return await(coord_->get_children("/brokers/topics"));
}

absl::StatusOr<std::vector<int32_t>> ClusterStore::list_brokers() {
  auto children = await(coord_->get_children("/brokers/ids"));
  if (!children.ok()) return children.status();
  std::vector<int32_t> out;
  for (const std::string& c : *children) {
    int32_t id = 0;
    if (absl::SimpleAtoi(c, &id)) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ClusterStore::topic_json(const TopicAssignment& a) {
  auto by_partition = [](const std::map<int32_t, std::vector<int32_t>>& m, bool keep_empty) {
    JsonValue out = JsonValue::object();
    for (const auto& [p, ids] : m) {
      if (keep_empty || !ids.empty()) out.add(absl::StrCat(p), int_array(ids));
    }
    return out;
  };
  return JsonValue::object({{"partitions", by_partition(a.replicas, true)},
                            {"topic_id", JsonValue::string(a.topic_id.to_base64())},
                            {"adding_replicas", by_partition(a.adding, false)},
                            {"removing_replicas", by_partition(a.removing, false)},
                            {"version", JsonValue::number(3)}})
      .dump();
}

absl::StatusOr<TopicAssignment> ClusterStore::parse_topic_json(std::string_view text) {
  auto json = parse_json(text);
  if (!json.ok()) return json.status();
  TopicAssignment out;
  const JsonValue* partitions = json->find("partitions");
  if (partitions == nullptr || partitions->kind() != JsonValue::Kind::kObject)
    return absl::InvalidArgumentError("topic znode: no partitions object");
  for (const auto& [key, replicas] : partitions->members()) {
    int32_t p = 0;
    if (!absl::SimpleAtoi(key, &p) || p < 0)
      return absl::InvalidArgumentError(absl::StrCat("topic znode: bad partition \"", key, "\""));
    auto ids = parse_int_array(&replicas, "replicas");
    if (!ids.ok()) return ids.status();
    out.replicas[p] = *std::move(ids);
  }
  for (auto [key, out_map] :
       {std::pair{"adding_replicas", &out.adding}, std::pair{"removing_replicas", &out.removing}}) {
    const JsonValue* m = json->find(key);
    if (m == nullptr || m->kind() != JsonValue::Kind::kObject) continue;  // before version 2
    for (const auto& [p_key, ids] : m->members()) {
      int32_t p = 0;
      auto parsed = parse_int_array(&ids, key);
      if (!absl::SimpleAtoi(p_key, &p) || out.replicas.count(p) == 0 || !parsed.ok())
        return absl::InvalidArgumentError(
            absl::StrCat("topic znode: bad ", key, " entry \"", p_key, "\""));
      if (!parsed->empty()) (*out_map)[p] = *std::move(parsed);
    }
  }
  if (const JsonValue* id = json->find("topic_id");
      id != nullptr && id->kind() == JsonValue::Kind::kString) {
    auto parsed = Uuid16::from_base64(id->as_string());
    if (!parsed) return absl::InvalidArgumentError("topic znode: bad topic_id");
    out.topic_id = *parsed;
  }
  return out;
}

std::string ClusterStore::partition_state_json(const PartitionState& s) {
  JsonValue v = JsonValue::object({{"controller_epoch", JsonValue::number(s.controller_epoch)},
                                   {"leader", JsonValue::number(s.leader)},
                                   {"version", JsonValue::number(1)},
                                   {"leader_epoch", JsonValue::number(s.leader_epoch)},
                                   {"isr", int_array(s.isr)}});
  if (!s.elr.empty()) v.add("eligible_leader_replicas", int_array(s.elr));
  if (s.leader_recovery_state != 0)
    v.add("leader_recovery_state", JsonValue::number(s.leader_recovery_state));
  return v.dump();
}

absl::StatusOr<PartitionState> ClusterStore::parse_partition_state_json(std::string_view text) {
  auto json = parse_json(text);
  if (!json.ok()) return json.status();
  PartitionState s;
  auto leader = json_int(*json, "leader");
  auto epoch = json_int(*json, "leader_epoch");
  auto controller_epoch = json_int(*json, "controller_epoch");
  auto isr = parse_int_array(json->find("isr"), "isr");
  if (!leader.ok()) return leader.status();
  if (!epoch.ok()) return epoch.status();
  if (!controller_epoch.ok()) return controller_epoch.status();
  if (!isr.ok()) return isr.status();
  s.leader = static_cast<int32_t>(*leader);
  s.leader_epoch = static_cast<int32_t>(*epoch);
  s.controller_epoch = static_cast<int32_t>(*controller_epoch);
  s.isr = *std::move(isr);
  if (const JsonValue* elr = json->find("eligible_leader_replicas"); elr != nullptr) {
    auto ids = parse_int_array(elr, "eligible_leader_replicas");
    if (!ids.ok()) return ids.status();
    s.elr = *std::move(ids);
  }
  if (auto recovery = json_int(*json, "leader_recovery_state"); recovery.ok())
    s.leader_recovery_state = static_cast<int32_t>(*recovery);
  return s;
}

absl::StatusOr<TopicAssignment> ClusterStore::get_topic(const std::string& topic) {
  auto data = await(coord_->get_data(topic_path(topic)));
  if (!data.ok()) return data.status();
  return parse_topic_json(data->data);
}

absl::StatusOr<std::map<std::string, std::string>> ClusterStore::get_topic_config(
    const std::string& topic) {
  std::map<std::string, std::string> out;
  // A read is safe to repeat: a ConnectionLoss (the client reconnects within its session) is
  // retried a while, as Kafka's ZooKeeperClient does, rather than failing the partition's
  // LeaderAndIsr, which nobody resends (IsrShrinkUnclean seed 267: a connection reset while
  // the leader opened its partition left it leaderless for good).
  auto data = await(coord_->get_data("/config/topics/" + topic));
  for (int attempt = 1;
       !data.ok() && zk_error(data.status()) == ErrorCode::kConnectionLoss && attempt < 50;
       ++attempt) {
    CODE_PROBE(true, "broker.topic_config_read_retried");
    delay(std::chrono::milliseconds(100));
    data = await(coord_->get_data("/config/topics/" + topic));
  }
  if (!data.ok()) {
    if (zk_error(data.status()) == ErrorCode::kNoNode) return out;
    return data.status();
  }
  auto json = parse_json(data->data);
  if (!json.ok()) return json.status();
  const JsonValue* config = json->find("config");
  if (config == nullptr) return out;
  for (const auto& [k, v] : config->members()) {
    if (v.kind() == JsonValue::Kind::kString) out[k] = v.as_string();
  }
  return out;
}

absl::Status ClusterStore::create_topic(const std::string& topic, const TopicAssignment& a,
                                        const std::map<std::string, std::string>& config) {
  using coord::client::op_create;
  std::vector<coord::client::Op> ops;
  // The config first, as Kafka's AdminZkClient writes it, so a reader of the topic finds it.
  auto config_op = await(coord_->exists("/config/topics/" + topic));
  if (!config_op.ok()) return config_op.status();
  if (config_op->has_value()) {
    ops.push_back(coord::client::op_set_data("/config/topics/" + topic, config_json(config)));
  } else {
    ops.push_back(op_create("/config/topics/" + topic, config_json(config), open_acl_unsafe()));
  }
  ops.push_back(op_create(topic_path(topic), topic_json(a), open_acl_unsafe()));
  return multi_status(await(coord_->multi(std::move(ops))));
}

absl::StatusOr<std::pair<TopicAssignment, int32_t>> ClusterStore::get_topic_versioned(
    const std::string& topic) {
  auto data = await(coord_->get_data(topic_path(topic)));
  if (!data.ok()) return data.status();
  auto a = parse_topic_json(data->data);
  if (!a.ok()) return a.status();
  return std::make_pair(*std::move(a), data->stat.version);
}

absl::Status ClusterStore::add_partitions(const std::string& topic, const TopicAssignment& a,
                                          int32_t expected_version) {
  auto r = await(coord_->set_data(topic_path(topic), topic_json(a), expected_version));
  if (!r.ok()) return r.status();
  return absl::OkStatus();
}

absl::StatusOr<PartitionState> ClusterStore::get_partition_state(const std::string& topic,
                                                                 int32_t partition) {
  auto data = await(coord_->get_data(state_path(topic, partition)));
  if (!data.ok()) return data.status();
  auto s = parse_partition_state_json(data->data);
  if (!s.ok()) return s.status();
  s->version = data->stat.version;
  return s;
}

absl::Status ClusterStore::mark_for_deletion(const std::string& topic) {
  return create_if_missing("/admin/delete_topics/" + topic);
}

absl::StatusOr<std::vector<std::string>> ClusterStore::pending_deletions() {
  return await(coord_->get_children("/admin/delete_topics"));
}

absl::Status ClusterStore::delete_topic(const std::string& topic) {
  // Depth first: coord (like ZooKeeper) deletes only leaves.
  auto remove_tree = [this](auto& self, const std::string& path) -> absl::Status {
    auto children = await(coord_->get_children(path));
    if (!children.ok()) {
      return zk_error(children.status()) == ErrorCode::kNoNode ? absl::OkStatus()
                                                               : children.status();
    }
    for (const std::string& c : *children) {
      if (auto s = self(self, path + "/" + c); !s.ok()) return s;
    }
    auto r = await(coord_->remove(path));
    if (!r.ok() && zk_error(r) != ErrorCode::kNoNode) return r;
    return absl::OkStatus();
  };
  if (auto s = remove_tree(remove_tree, topic_path(topic)); !s.ok()) return s;
  if (auto s = remove_tree(remove_tree, "/config/topics/" + topic); !s.ok()) return s;
  return remove_tree(remove_tree, "/admin/delete_topics/" + topic);
}

}  // namespace weir::broker
