// The rebalance protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and the timer that
// expires sessions and rebalances. Offsets are in group_offsets.cc, the log in group_load.cc.
#include "broker/group/group_coordinator.h"
#include "buggify/code_probe.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::broker::group {

using kafka::ErrorCode;

namespace {

// The UTF-16 code units of UTF-8 text, as Java holds a String; a byte that does not start a
// well-formed sequence stands for itself (Java would hold U+FFFD: ids are valid UTF-8 anyway).
template <class F>
void for_each_utf16_unit(std::string_view text, F&& unit) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<uint8_t>(text[i]);
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    uint32_t cp = len == 4 ? c & 0x07u : len == 3 ? c & 0x0Fu : len == 2 ? c & 0x1Fu : c;
    if (i + len > text.size()) len = 1, cp = c;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3Fu);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800u + (cp >> 10));
      unit(0xDC00u + (cp & 0x3FFu));
    } else {
      unit(cp);
    }
    i += len;
  }
}

}  // namespace

int32_t partition_for_group(std::string_view group_id, int32_t partitions) {
  WEIR_ASSERT(partitions > 0);
  uint32_t h = 0;  // Java's int arithmetic, wrapping
  for_each_utf16_unit(group_id, [&h](uint32_t unit) { h = 31u * h + unit; });
  // Kafka's Utils.abs: the sign bit cleared (so Integer.MIN_VALUE maps to 0).
  return static_cast<int32_t>((h & 0x7fffffffu) % static_cast<uint32_t>(partitions));
}

GroupCoordinator::GroupCoordinator(const GroupConfig& config, GroupLog& log, IClock& clock,
                                   IRandom& random)
    : config_(config), log_(log), clock_(clock), random_(random) {}

GroupCoordinator::~GroupCoordinator() = default;

void GroupCoordinator::start() {
  next_retention_ = now() + std::chrono::milliseconds(config_.offsets_retention_check_interval_ms);
  actors_.add(spawn("group-coordinator-timer", [this] { run_timer(); }));
}

void GroupCoordinator::stop() {
  stopping_ = true;
  std::vector<int32_t> partitions;
  for (const auto& [p, owned] : owned_) partitions.push_back(p);
  for (int32_t p : partitions) drop_partition(p);
  wake_timer();
  actors_.clear();
}

TimePoint GroupCoordinator::now() const {
  return clock_.now();
}

Group* GroupCoordinator::group(const std::string& group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const Group* GroupCoordinator::find_group(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

Group& GroupCoordinator::get_or_create(const std::string& group_id) {
  auto& slot = groups_[group_id];
  if (slot == nullptr) {
    slot = std::make_shared<Group>(
        group_id, partition_for_group(group_id, config_.offsets_topic_partitions), now(), now_ms());
  }
  return *slot;
}

ErrorCode GroupCoordinator::check_coordinator(const std::string& group_id) const {
  if (stopping_) return ErrorCode::kNotCoordinator;
  auto it = owned_.find(partition_for_group(group_id, config_.offsets_topic_partitions));
  if (it == owned_.end()) return ErrorCode::kNotCoordinator;
  if (it->second.state == PartitionState::kLoading) return ErrorCode::kCoordinatorLoadInProgress;
  return ErrorCode::kNone;
}

uint64_t GroupCoordinator::owner_generation(const Group& g) const {
  auto it = owned_.find(g.offsets_partition());
  return it == owned_.end() ? 0 : it->second.generation;
}

bool GroupCoordinator::still_owned(const Group& g, uint64_t generation) const {
  auto it = owned_.find(g.offsets_partition());
  if (it == owned_.end() || it->second.generation != generation) return false;
  auto git = groups_.find(g.id());
  return git != groups_.end() && git->second.get() == &g;
}

void GroupCoordinator::touch(Member& m, std::string_view connection) {
  m.heartbeat_deadline = now() + std::chrono::milliseconds(m.session_timeout_ms);
  if (!connection.empty()) {
    m.connection = std::string(connection);
    m.disconnected = false;
  }
  wake_timer();
}

void GroupCoordinator::on_connection_closed(std::string_view connection) {
  if (connection.empty()) return;
  for (auto& [id, g] : groups_) {
    for (auto& [mid, m] : g->members) {
      if (m.connection != connection || m.group_instance_id.has_value() || m.disconnected) continue;
      m.disconnected = true;
      const TimePoint sooner = now() + std::chrono::milliseconds(m.session_timeout_ms / 3);
      m.heartbeat_deadline = std::min(m.heartbeat_deadline, sooner);
    }
  }
  wake_timer();
}

ErrorCode GroupCoordinator::validate_member(const Group& g, const std::string& member_id,
                                            const std::optional<std::string>& instance_id) const {
  if (instance_id.has_value()) {
    auto it = g.static_members.find(*instance_id);
    if (it != g.static_members.end() && it->second != member_id)
      return ErrorCode::kFencedInstanceId;
  }
  if (!g.has_member(member_id)) return ErrorCode::kUnknownMemberId;
  return ErrorCode::kNone;
}

// ---- JoinGroup ----

namespace {

constexpr size_t kPendingMembersMax = 10000;

std::string new_member_id(IRandom& random, std::string_view prefix) {
  const uint64_t hi = random.next_u64();
  const uint64_t lo = random.next_u64();
  return absl::StrFormat("%s-%08x-%04x-%04x-%04x-%012x", prefix.empty() ? "member" : prefix,
                         hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                         lo & 0xffffffffffffULL);
}

JoinResult join_error(ErrorCode error, std::string member_id = {}) {
  JoinResult r;
  r.error = error;
  r.member_id = std::move(member_id);
  return r;
}

}  // namespace

JoinResult GroupCoordinator::join(const JoinRequest& req) {
  if (req.group_id.empty()) return join_error(ErrorCode::kInvalidGroupId, req.member_id);
  if (ErrorCode e = check_coordinator(req.group_id); e != ErrorCode::kNone)
    return join_error(e, req.member_id);
  if (req.session_timeout_ms < config_.session_timeout_min_ms ||
      req.session_timeout_ms > config_.session_timeout_max_ms)
    return join_error(ErrorCode::kInvalidSessionTimeout, req.member_id);
  Group* existing = group(req.group_id);
  if (existing == nullptr && !req.member_id.empty())
    return join_error(ErrorCode::kUnknownMemberId, req.member_id);
  Group& g = existing != nullptr ? *existing : get_or_create(req.group_id);
  if (g.is(GroupState::kDead)) return join_error(ErrorCode::kCoordinatorNotAvailable);
  ++counters_.joins;
  if (!g.supports_protocols(req.protocol_type, req.protocols))
    return join_error(ErrorCode::kInconsistentGroupProtocol, req.member_id);
  if (req.member_id.empty()) return join_new_member(g, req);
  return join_known_member(g, req);
}

JoinResult GroupCoordinator::join_new_member(Group& g, const JoinRequest& req) {
  if (req.group_instance_id.has_value() && g.static_members.count(*req.group_instance_id) > 0)
    return replace_static_member(g, req);
  if (static_cast<int64_t>(g.members.size() + g.pending_members.size()) >= config_.group_max_size)
    return join_error(ErrorCode::kGroupMaxSizeReached);
  // KIP-394 member ids handed out and not yet used live a session timeout each: a client
  // looping on empty-id joins must not grow them without bound (group.max.size defaults to
  // unlimited, as in Kafka).
  if (g.pending_members.size() >= kPendingMembersMax)
    return join_error(ErrorCode::kGroupMaxSizeReached);
  const std::string prefix = req.group_instance_id.value_or(req.client_id);
  std::string member_id = new_member_id(random_, prefix);
  if (req.require_known_member_id && !req.group_instance_id.has_value()) {
    // KIP-394: the client rejoins with this id; until then it counts as joining.
    g.pending_members[member_id] = now() + std::chrono::milliseconds(req.session_timeout_ms);
    wake_timer();
    return join_error(ErrorCode::kMemberIdRequired, member_id);
  }
  return add_member_and_rebalance(g, req, std::move(member_id));
}

JoinResult GroupCoordinator::join_known_member(Group& g, const JoinRequest& req) {
  if (g.pending_members.erase(req.member_id) > 0)
    return add_member_and_rebalance(g, req, req.member_id);
  if (ErrorCode e = validate_member(g, req.member_id, req.group_instance_id); e != ErrorCode::kNone)
    return join_error(e, req.member_id);
  Member& m = g.members.at(req.member_id);
  const bool same_protocols = m.protocols == req.protocols;
  switch (g.state()) {
    case GroupState::kPreparingRebalance:
      return update_member_and_rebalance(g, m, req);
    case GroupState::kCompletingRebalance:
      // Its join answer was lost: the same answer again, unless it changed its protocols.
      if (same_protocols) {
        touch(m, req.connection);
        return current_generation_result(g, m);
      }
      return update_member_and_rebalance(g, m, req);
    case GroupState::kStable:
      if (g.leader_id == m.member_id || !same_protocols)
        return update_member_and_rebalance(g, m, req);
      touch(m, req.connection);
      return current_generation_result(g, m);
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
  return join_error(ErrorCode::kUnknownMemberId, req.member_id);
}

// A static member (group.instance.id) rejoining without its member id: it takes over the old
// member's place under a new id, fencing the old one, without a rebalance when the group is
// stable and its protocols did not change (KIP-345).
JoinResult GroupCoordinator::replace_static_member(Group& g, const JoinRequest& req) {
  const std::string old_id = g.static_members.at(*req.group_instance_id);
  Member old = g.members.at(old_id);
  CODE_PROBE(true, "group.static_member_replaced");
  TraceEvent(Severity::kInfo, "GroupStaticMemberReplaced")
      .detail("Group", g.id())
      .detail("Instance", *req.group_instance_id)
      .detail("Fenced", old_id);
  if (old.awaiting_join != nullptr) {
    old.awaiting_join->value = join_error(ErrorCode::kFencedInstanceId, old_id);
    old.awaiting_join->done = true;
  }
  if (old.awaiting_sync != nullptr) {
    old.awaiting_sync->value.error = ErrorCode::kFencedInstanceId;
    old.awaiting_sync->done = true;
  }
  g.answered.fire_all();
  g.members.erase(old_id);
  Member m = old;
  m.member_id = new_member_id(random_, *req.group_instance_id);
  m.awaiting_join = nullptr;
  m.awaiting_sync = nullptr;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  g.static_members[*req.group_instance_id] = m.member_id;
  if (g.leader_id == old_id) g.leader_id = m.member_id;
  const bool same_protocols = old.protocols == req.protocols;
  Member& placed = g.members.emplace(m.member_id, std::move(m)).first->second;
  touch(placed, req.connection);
  if (g.is(GroupState::kStable) && same_protocols) {
    JoinResult r = current_generation_result(g, placed);
    if (g.leader_id == placed.member_id) r.members.clear();  // keeps the old assignment
    return r;
  }
  return update_member_and_rebalance(g, placed, req);
}

JoinResult GroupCoordinator::add_member_and_rebalance(Group& g, const JoinRequest& req,
                                                      std::string member_id) {
  Member m;
  m.member_id = member_id;
  m.group_instance_id = req.group_instance_id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.protocols = req.protocols;
  m.joined_seq = ++join_seq_;
  m.connection = req.connection;
  m.awaiting_join = std::make_shared<Slot<JoinResult>>();
  if (m.group_instance_id.has_value()) g.static_members[*m.group_instance_id] = member_id;
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  auto slot = m.awaiting_join;
  g.members.emplace(member_id, std::move(m));
  if (g.is(GroupState::kPreparingRebalance) && g.initial_delay) {
    // Another member joined during the initial delay: wait one more delay, within bounds.
    g.rebalance_deadline =
        std::min(g.initial_delay_end_max,
                 now() + std::chrono::milliseconds(config_.initial_rebalance_delay_ms));
  }
  if (!g.is(GroupState::kPreparingRebalance)) prepare_rebalance(g, "a member joined");
  maybe_complete_join(g);
  return await_join(g, std::move(slot));
}

JoinResult GroupCoordinator::update_member_and_rebalance(Group& g, Member& m,
                                                         const JoinRequest& req) {
  m.protocols = req.protocols;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.joined_seq = ++join_seq_;
  if (!req.connection.empty()) m.connection = req.connection;
  m.disconnected = false;
  if (m.awaiting_join != nullptr) {
    // A second join while the first is parked: the first is superseded.
    m.awaiting_join->value = join_error(ErrorCode::kUnknownMemberId, m.member_id);
    m.awaiting_join->done = true;
    g.answered.fire_all();
  }
  m.awaiting_join = std::make_shared<Slot<JoinResult>>();
  auto slot = m.awaiting_join;
  if (!g.is(GroupState::kPreparingRebalance)) prepare_rebalance(g, "a member rejoined");
  maybe_complete_join(g);
  return await_join(g, std::move(slot));
}

JoinResult GroupCoordinator::await_join(Group& g, std::shared_ptr<Slot<JoinResult>> slot) {
  // The group may be dropped while this waits: hold it.
  std::shared_ptr<Group> hold = groups_.at(g.id());
  wait_for(hold->answered, [&] { return slot->done; });
  return slot->value;
}

JoinResult GroupCoordinator::current_generation_result(const Group& g, const Member& m) const {
  JoinResult r;
  r.generation = g.generation;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol_name;
  r.leader = g.leader_id.value_or("");
  r.member_id = m.member_id;
  if (g.leader_id == m.member_id && g.protocol_name.has_value()) {
    for (const auto& [id, other] : g.members) {
      const std::string* md = other.metadata_for(*g.protocol_name);
      r.members.push_back({id, other.group_instance_id, md != nullptr ? *md : std::string()});
    }
  }
  return r;
}

void GroupCoordinator::prepare_rebalance(Group& g, std::string_view reason) {
  if (g.is(GroupState::kCompletingRebalance))
    reset_assignments_and_answer_syncs(g, ErrorCode::kRebalanceInProgress);
  const bool first = g.is(GroupState::kEmpty);
  g.initial_delay = first && config_.initial_rebalance_delay_ms > 0;
  if (g.initial_delay) {
    g.rebalance_deadline = now() + std::chrono::milliseconds(config_.initial_rebalance_delay_ms);
    g.initial_delay_end_max = now() + std::chrono::milliseconds(g.rebalance_timeout_ms());
  } else {
    g.rebalance_deadline = now() + std::chrono::milliseconds(g.rebalance_timeout_ms());
  }
  g.transition_to(GroupState::kPreparingRebalance, now(), now_ms());
  ++g.rebalances;
  ++counters_.rebalances;
  TraceEvent(Severity::kInfo, "GroupPreparingRebalance")
      .detail("Group", g.id())
      .detail("Generation", g.generation)
      .detail("Members", g.members.size())
      .detail("Reason", reason);
  wake_timer();
}

void GroupCoordinator::maybe_complete_join(Group& g) {
  if (!g.is(GroupState::kPreparingRebalance) || g.initial_delay) return;
  if (g.all_members_joined()) complete_join(g);
}

void GroupCoordinator::complete_join(Group& g) {
  WEIR_ASSERT(g.is(GroupState::kPreparingRebalance));
  g.initial_delay = false;
  // Members that did not rejoin in time are out.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members)
    if (m.awaiting_join == nullptr) gone.push_back(id);
  for (const std::string& id : gone) remove_member(g, id, ErrorCode::kNone);
  g.pending_members.clear();
  // Broken variant: a rebalance that keeps its generation number gives two members the same
  // partition in "one" generation.
  if (config_.bug != "group_reuse_generation" || g.generation == 0 || g.members.empty())
    ++g.generation;
  if (g.members.empty()) {
    g.protocol_name.reset();
    g.leader_id.reset();
    g.transition_to(GroupState::kEmpty, now(), now_ms());
    persist_group_async(g);
    return;
  }
  g.protocol_name = g.select_protocol();
  if (!g.leader_id.has_value() || !g.has_member(*g.leader_id)) {
    auto first = std::min_element(g.members.begin(), g.members.end(), [](auto& a, auto& b) {
      return a.second.joined_seq < b.second.joined_seq;
    });
    g.leader_id = first->first;
  }
  g.transition_to(GroupState::kCompletingRebalance, now(), now_ms());
  TraceEvent(Severity::kInfo, "GroupJoinCompleted")
      .detail("Group", g.id())
      .detail("Generation", g.generation)
      .detail("Protocol", *g.protocol_name)
      .detail("Leader", *g.leader_id)
      .detail("Members", g.members.size());
  for (auto& [id, m] : g.members) {
    m.awaiting_join->value = current_generation_result(g, m);
    m.awaiting_join->done = true;
    m.awaiting_join = nullptr;
    touch(m);
  }
  g.answered.fire_all();
}

void GroupCoordinator::remove_member(Group& g, const std::string& member_id, ErrorCode answer) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  Member& m = it->second;
  if (m.awaiting_join != nullptr) {
    m.awaiting_join->value =
        join_error(answer == ErrorCode::kNone ? ErrorCode::kUnknownMemberId : answer, member_id);
    m.awaiting_join->done = true;
  }
  if (m.awaiting_sync != nullptr) {
    m.awaiting_sync->value.error = ErrorCode::kUnknownMemberId;
    m.awaiting_sync->done = true;
  }
  if (m.group_instance_id.has_value()) {
    auto s = g.static_members.find(*m.group_instance_id);
    if (s != g.static_members.end() && s->second == member_id) g.static_members.erase(s);
  }
  g.members.erase(it);
  if (g.leader_id == member_id) g.leader_id.reset();
  g.answered.fire_all();
}

void GroupCoordinator::reset_assignments_and_answer_syncs(Group& g, ErrorCode error) {
  for (auto& [id, m] : g.members) {
    m.assignment.clear();
    if (m.awaiting_sync != nullptr) {
      m.awaiting_sync->value.error = error;
      m.awaiting_sync->done = true;
      m.awaiting_sync = nullptr;
    }
  }
  g.answered.fire_all();
}

// ---- SyncGroup ----

SyncResult GroupCoordinator::sync(const SyncRequest& req) {
  SyncResult r;
  auto fail = [&](ErrorCode e) {
    r.error = e;
    return r;
  };
  if (req.group_id.empty()) return fail(ErrorCode::kInvalidGroupId);
  if (ErrorCode e = check_coordinator(req.group_id); e != ErrorCode::kNone) return fail(e);
  Group* g = group(req.group_id);
  if (g == nullptr || g->is(GroupState::kDead)) return fail(ErrorCode::kUnknownMemberId);
  if (ErrorCode e = validate_member(*g, req.member_id, req.group_instance_id);
      e != ErrorCode::kNone)
    return fail(e);
  if (req.generation != g->generation) return fail(ErrorCode::kIllegalGeneration);
  if ((req.protocol_type.has_value() && req.protocol_type != g->protocol_type) ||
      (req.protocol_name.has_value() && req.protocol_name != g->protocol_name))
    return fail(ErrorCode::kInconsistentGroupProtocol);
  Member& m = g->members.at(req.member_id);
  switch (g->state()) {
    case GroupState::kEmpty:
    case GroupState::kDead:
      return fail(ErrorCode::kUnknownMemberId);
    case GroupState::kPreparingRebalance:
      return fail(ErrorCode::kRebalanceInProgress);
    case GroupState::kStable:
      touch(m, req.connection);
      r.protocol_type = g->protocol_type;
      r.protocol_name = g->protocol_name;
      r.assignment = m.assignment;
      return r;
    case GroupState::kCompletingRebalance:
      break;
  }
  touch(m, req.connection);
  auto slot = std::make_shared<Slot<SyncResult>>();
  if (m.awaiting_sync != nullptr) {
    m.awaiting_sync->value.error = ErrorCode::kRebalanceInProgress;
    m.awaiting_sync->done = true;
  }
  m.awaiting_sync = slot;
  std::shared_ptr<Group> hold = groups_.at(g->id());
  if (g->leader_id == req.member_id) return complete_sync_as_leader(*g, req, slot);
  wait_for(hold->answered, [&] { return slot->done; });
  return slot->value;
}

SyncResult GroupCoordinator::complete_sync_as_leader(Group& g, const SyncRequest& req,
                                                     std::shared_ptr<Slot<SyncResult>> slot) {
  std::shared_ptr<Group> hold = groups_.at(g.id());
  const uint64_t owner = owner_generation(g);
  const int32_t generation = g.generation;
  for (auto& [id, m] : g.members) m.assignment.clear();
  for (const auto& [id, assignment] : req.assignments) {
    auto it = g.members.find(id);
    if (it != g.members.end()) it->second.assignment = assignment;
  }
  const ErrorCode e = persist_group(g);
  if (!still_owned(g, owner)) {
    if (!slot->done) slot->value.error = ErrorCode::kNotCoordinator;
    return slot->value;
  }
  if (g.generation == generation && g.is(GroupState::kCompletingRebalance)) {
    if (e != ErrorCode::kNone) {
      reset_assignments_and_answer_syncs(g, e);
      prepare_rebalance(g, "the assignment could not be written");
    } else {
      g.transition_to(GroupState::kStable, now(), now_ms());
      for (auto& [id, m] : g.members) {
        if (m.awaiting_sync == nullptr) continue;
        m.awaiting_sync->value =
            SyncResult{ErrorCode::kNone, g.protocol_type, g.protocol_name, m.assignment};
        m.awaiting_sync->done = true;
        m.awaiting_sync = nullptr;
      }
      g.answered.fire_all();
    }
  }
  wait_for(hold->answered, [&] { return slot->done; });
  return slot->value;
}

// ---- Heartbeat and LeaveGroup ----

ErrorCode GroupCoordinator::heartbeat(const std::string& group_id, const std::string& member_id,
                                      const std::optional<std::string>& instance_id,
                                      int32_t generation, std::string_view connection) {
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::kNone) return e;
  Group* g = group(group_id);
  if (g == nullptr || g->is(GroupState::kEmpty)) return ErrorCode::kUnknownMemberId;
  if (g->is(GroupState::kDead)) return ErrorCode::kCoordinatorNotAvailable;
  if (ErrorCode e = validate_member(*g, member_id, instance_id); e != ErrorCode::kNone) return e;
  if (generation != g->generation) return ErrorCode::kIllegalGeneration;
  touch(g->members.at(member_id), connection);
  if (g->is(GroupState::kPreparingRebalance)) return ErrorCode::kRebalanceInProgress;
  return ErrorCode::kNone;
}

std::vector<ErrorCode> GroupCoordinator::leave(const std::string& group_id,
                                               const std::vector<MemberIdentity>& members,
                                               ErrorCode& group_error) {
  std::vector<ErrorCode> out(members.size(), ErrorCode::kNone);
  group_error = check_coordinator(group_id);
  Group* g = group_error == ErrorCode::kNone ? group(group_id) : nullptr;
  if (group_error == ErrorCode::kNone && (g == nullptr || g->is(GroupState::kDead)))
    group_error = g == nullptr ? ErrorCode::kUnknownMemberId : ErrorCode::kCoordinatorNotAvailable;
  if (group_error != ErrorCode::kNone) return out;
  bool removed = false;
  for (size_t i = 0; i < members.size(); ++i) {
    std::string id = members[i].member_id;
    if (id.empty() && members[i].group_instance_id.has_value()) {
      auto s = g->static_members.find(*members[i].group_instance_id);
      if (s != g->static_members.end()) id = s->second;
    }
    if (g->pending_members.erase(id) > 0) {
      removed = true;
      continue;
    }
    out[i] = validate_member(*g, id, members[i].group_instance_id);
    if (out[i] != ErrorCode::kNone) continue;
    remove_member(*g, id, ErrorCode::kUnknownMemberId);
    removed = true;
  }
  if (removed) {
    if (g->is(GroupState::kStable) || g->is(GroupState::kCompletingRebalance))
      prepare_rebalance(*g, "a member left");
    maybe_complete_join(*g);
  }
  return out;
}

// ---- The timer ----

TimePoint GroupCoordinator::next_deadline() const {
  TimePoint next = next_retention_;
  for (const auto& [id, g] : groups_) {
    if (g->is(GroupState::kPreparingRebalance)) next = std::min(next, g->rebalance_deadline);
    for (const auto& [mid, deadline] : g->pending_members) next = std::min(next, deadline);
    for (const auto& [mid, m] : g->members) {
      if ((m.awaiting_join == nullptr && m.awaiting_sync == nullptr) || m.disconnected)
        next = std::min(next, m.heartbeat_deadline);
    }
  }
  return next;
}

void GroupCoordinator::expire(TimePoint t) {
  std::vector<std::shared_ptr<Group>> groups;
  for (const auto& [id, g] : groups_) groups.push_back(g);
  for (const auto& g : groups) {
    std::vector<std::string> pending_gone;
    for (const auto& [mid, deadline] : g->pending_members)
      if (deadline <= t) pending_gone.push_back(mid);
    for (const auto& mid : pending_gone) g->pending_members.erase(mid);
    std::vector<std::string> expired;
    for (const auto& [mid, m] : g->members) {
      const bool kept_alive =
          (m.awaiting_join != nullptr || m.awaiting_sync != nullptr) && !m.disconnected;
      if (!kept_alive && m.heartbeat_deadline <= t) expired.push_back(mid);
    }
    for (const auto& mid : expired) {
      CODE_PROBE(g->members.at(mid).disconnected,
                 "group.member_expired_after_its_connection_closed");
      ++counters_.members_expired;
      TraceEvent(Severity::kInfo, "GroupMemberExpired")
          .detail("Group", g->id())
          .detail("Member", mid);
      remove_member(*g, mid, ErrorCode::kUnknownMemberId);
    }
    if (!expired.empty() && (g->is(GroupState::kStable) || g->is(GroupState::kCompletingRebalance)))
      prepare_rebalance(*g, "a member's session expired");
    if (g->is(GroupState::kPreparingRebalance) && g->rebalance_deadline <= t) {
      complete_join(*g);
    } else {
      maybe_complete_join(*g);
    }
  }
}

void GroupCoordinator::run_timer() {
  while (!stopping_) {
    const TimePoint deadline = next_deadline();
    const TimePoint local_now = now();
    if (deadline > local_now) {
      Scheduler& s = Scheduler::current();
      const TimePoint wake = s.now() + clock_.to_scheduler(deadline - local_now);
      // Any change that may move a deadline earlier calls wake_timer().
      const uint64_t seen = timer_changes_;
      (void)wait_until(
          timer_wake_, [&] { return timer_changes_ != seen || stopping_; }, wake);
      if (stopping_) break;
      if (timer_changes_ != seen) continue;
    }
    expire(now());
    if (now() >= next_retention_) {
      if (!retention_running_) {
        retention_running_ = true;
        actors_.add(spawn("group-retention", [this] {
          expire_offsets();
          retention_running_ = false;
        }));
      }
      next_retention_ =
          now() + std::chrono::milliseconds(config_.offsets_retention_check_interval_ms);
    }
  }
}

}  // namespace weir::broker::group
