// The broker's cluster state in weir coord, in Kafka's ZooKeeper-mode layout and JSON:
//   /cluster/id                                  {"version":"1","id":"<base64 uuid>"}
//   /brokers/ids/<id>                  ephemeral
//   {"listener_security_protocol_map":..,"endpoints":..} /brokers/seqid its version generates
//   broker ids /brokers/topics/<t> {"partitions":{"0":[1]},"topic_id":..,"version":3}
//   /brokers/topics/<t>/partitions/<p>/state     {"controller_epoch":..,"leader":..,"isr":[..]}
//   /config/topics/<t>                           {"version":1,"config":{..}}
//   /admin/delete_topics/<t>                     a deletion Kafka's controller would carry out
//   /controller (ephemeral), /controller_epoch
// It exists so that an operator's zkCli (and Kafka's own tools) show what Kafka would show,
// and so that the controller (a later step) works on the same data. Every call suspends the
// calling actor on coord's client; errors are coord's statuses (NotFound, AlreadyExists, ...).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coord/client/client.h"
#include "runtime/clock.h"
#include "runtime/random.h"

namespace weir::broker {

// Kafka's 16-byte topic and cluster ids, shown as URL-safe base64 without padding.
struct Uuid16 {
  std::array<uint8_t, 16> bytes{};
  static Uuid16 random(IRandom& random);
  std::string to_base64() const;
  static std::optional<Uuid16> from_base64(std::string_view text);
  bool is_zero() const;
  friend bool operator==(const Uuid16&, const Uuid16&) = default;
};

struct BrokerRegistration {
  int32_t id = -1;
  std::string host;
  int32_t port = 0;
  std::string rack;
  // The process restarted after an unclean shutdown with logs the flush policy leaves to
  // replication: records it acknowledged may be gone, so the controller must not count it as
  // a complete replica until it has caught up again (broker/README.md).
  bool unflushed_data_lost = false;
  // Kafka's broker epoch: the czxid of the registration znode (set when read).
  int64_t epoch = -1;
};

struct TopicAssignment {
  Uuid16 topic_id;
  std::map<int32_t, std::vector<int32_t>> replicas;  // partition -> replica broker ids
  // KIP-455: while a partition is reassigned, `replicas` is the union of the original and the
  // target replicas, and these say which of them are being added and removed (the partitions
  // not being reassigned have no entry).
  std::map<int32_t, std::vector<int32_t>> adding;
  std::map<int32_t, std::vector<int32_t>> removing;
};

struct PartitionState {
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> isr;
  int32_t controller_epoch = 0;
  // Weir's additions (keys Kafka ignores): the eligible leader replicas, and 1 after an
  // unclean election until the ISR is full again (as KRaft's leader_recovery_state).
  std::vector<int32_t> elr;
  int32_t leader_recovery_state = 0;
  int32_t version = -1;  // the znode's version, for conditional updates
};

// The controller's claim: its epoch and /controller_epoch's version, which every write it
// makes checks (a multi with op_check), so a controller that lost the role changes nothing.
struct ControllerClaim {
  int32_t epoch = 0;
  int32_t epoch_zk_version = -1;
  coord::Zxid zxid{0};  // of the write that made the epoch (orders it among controller writes)
};

// The first failed op of a multi as a status (coord reports a failed multi per op).
absl::Status multi_status(const absl::StatusOr<std::vector<coord::client::OpResult>>& results);

class ClusterStore {
 public:
  ClusterStore(coord::client::CoordClient& coord, IClock& clock, IRandom& random);
  // After the old session expired: every later call goes through `coord`.
  void set_client(coord::client::CoordClient& coord) { coord_ = &coord; }

  // Creates Kafka's persistent top-level paths (idempotent).
  absl::Status ensure_layout();
  // Reads /cluster/id, creating it on first start.
  absl::StatusOr<std::string> ensure_cluster_id();
  // Kafka's generated broker ids: reserved.broker.max.id (1000) + /brokers/seqid's version.
  absl::StatusOr<int32_t> generate_broker_id();
  // Creates the ephemeral /brokers/ids/<id> and returns the broker epoch (its czxid). A node
  // left by this broker's previous session (kill -9, then restart before the session expired)
  // is waited out up to `wait_ms`.
  absl::StatusOr<int64_t> register_broker(const BrokerRegistration& broker, int64_t wait_ms);
  // A registration (NotFound when the broker is not live).
  absl::StatusOr<BrokerRegistration> get_broker(int32_t id);
  // Becomes controller if there is none: the ephemeral /controller and a bumped
  // /controller_epoch. Returns the claim, or nullopt if another broker is controller.
  absl::StatusOr<std::optional<ControllerClaim>> try_become_controller(int32_t broker_id);
  // The broker id in /controller, or -1 when there is none.
  absl::StatusOr<int32_t> get_controller();

  absl::StatusOr<std::vector<std::string>> list_topics();
  absl::StatusOr<std::vector<int32_t>> list_brokers();
  // NotFound if the topic does not exist.
  absl::StatusOr<TopicAssignment> get_topic(const std::string& topic);
  absl::StatusOr<std::map<std::string, std::string>> get_topic_config(const std::string& topic);
  // One multi: the config and the assignment (NodeExists if the topic exists), as Kafka's
  // AdminZkClient writes them; the controller creates the partitions' states.
  absl::Status create_topic(const std::string& topic, const TopicAssignment& assignment,
                            const std::map<std::string, std::string>& config);
  // Replaces the assignment (new partitions appended), conditional on the version read.
  absl::Status add_partitions(const std::string& topic, const TopicAssignment& assignment,
                              int32_t expected_version);
  // The assignment with its znode's version (for add_partitions).
  absl::StatusOr<std::pair<TopicAssignment, int32_t>> get_topic_versioned(const std::string& topic);
  absl::StatusOr<PartitionState> get_partition_state(const std::string& topic, int32_t partition);
  absl::Status mark_for_deletion(const std::string& topic);
  absl::StatusOr<std::vector<std::string>> pending_deletions();
  // Removes every znode of the topic and its /admin/delete_topics entry.
  absl::Status delete_topic(const std::string& topic);

  coord::client::CoordClient& coord() { return *coord_; }
  static std::string topic_path(const std::string& topic);
  static std::string state_path(const std::string& topic, int32_t partition);
  static std::string broker_json(const BrokerRegistration& broker, int64_t timestamp_ms);
  static absl::StatusOr<BrokerRegistration> parse_broker_json(int32_t id, std::string_view text);
  static std::string topic_json(const TopicAssignment& assignment);
  static absl::StatusOr<TopicAssignment> parse_topic_json(std::string_view text);
  static std::string partition_state_json(const PartitionState& state);
  static absl::StatusOr<PartitionState> parse_partition_state_json(std::string_view text);

 private:
  absl::Status create_if_missing(const std::string& path, std::string data = {});
  coord::client::CoordClient* coord_;
  IClock& clock_;
  IRandom& random_;
};

}  // namespace weir::broker
