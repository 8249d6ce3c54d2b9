#include "broker/group/group.h"

#include <algorithm>

#include <cctype>
#include "runtime/assert.h"
#include "runtime/bytes/byte_reader.h"

namespace weir::broker::group {
namespace {

constexpr std::pair<GroupState, std::string_view> kNames[] = {
    {GroupState::kEmpty, "Empty"},
    {GroupState::kPreparingRebalance, "PreparingRebalance"},
    {GroupState::kCompletingRebalance, "CompletingRebalance"},
    {GroupState::kStable, "Stable"},
    {GroupState::kDead, "Dead"},
};

bool allowed(GroupState from, GroupState to) {
  using S = GroupState;
  switch (to) {
    case S::kEmpty:
      return from == S::kPreparingRebalance;
    case S::kPreparingRebalance:
      return from == S::kEmpty || from == S::kStable || from == S::kCompletingRebalance;
    case S::kCompletingRebalance:
      return from == S::kPreparingRebalance;
    case S::kStable:
      return from == S::kCompletingRebalance;
    case S::kDead:
      return from != S::kDead;
  }
  return false;
}

// The topics of a "consumer" protocol subscription (version, topics, ...); nullopt when the
// bytes are not one.
std::optional<std::vector<std::string>> consumer_topics(std::string_view metadata) {
  ByteReader r(metadata, "consumer subscription");
  (void)r.read_i16("version");
  const int32_t count = r.read_i32("topics");
  if (!r.ok() || !r.check_count(count, 2, "topics")) return std::nullopt;
  std::vector<std::string> topics;
  for (int32_t i = 0; i < count && r.ok(); ++i) {
    const int16_t n = r.read_i16("topic");
    if (!r.check_length(n, "topic")) break;
    topics.emplace_back(r.read_bytes(static_cast<size_t>(n), "topic"));
  }
  if (!r.ok()) return std::nullopt;
  return topics;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view state_name(GroupState state) {
  for (const auto& [s, name] : kNames)
    if (s == state) return name;
  return "Unknown";
}

std::optional<GroupState> parse_state_name(std::string_view name) {
  for (const auto& [s, n] : kNames)
    if (equal_ignoring_case(n, name)) return s;
  return std::nullopt;
}

const std::string* Member::metadata_for(std::string_view protocol) const {
  for (const auto& [name, metadata] : protocols)
    if (name == protocol) return &metadata;
  return nullptr;
}

void Group::transition_to(GroupState next, TimePoint now, int64_t now_ms) {
  WEIR_ASSERT_MSG(allowed(state_, next), "group state transition not allowed");
  state_ = next;
  state_since_ = now;
  state_since_ms_ = now_ms;
}

void Group::restore_state(GroupState state, int64_t since_ms) {
  WEIR_ASSERT_MSG(state_ == GroupState::kEmpty, "restore_state on a group already in use");
  WEIR_ASSERT(state == GroupState::kEmpty || state == GroupState::kStable);
  state_ = state;
  state_since_ms_ = since_ms;
}

bool Group::all_members_joined() const {
  if (!pending_members.empty()) return false;
  return std::all_of(members.begin(), members.end(),
                     [](const auto& m) { return m.second.awaiting_join != nullptr; });
}

int32_t Group::rebalance_timeout_ms() const {
  int32_t t = 0;
  for (const auto& [id, m] : members) t = std::max(t, m.rebalance_timeout_ms);
  return t;
}

bool Group::supports_protocols(
    std::string_view type,
    const std::vector<std::pair<std::string, std::string>>& protocols) const {
  if (type.empty() || protocols.empty()) return false;
  if (members.empty()) return true;
  if (protocol_type.has_value() && *protocol_type != type) return false;
  // Some protocol of the newcomer must be supported by every member.
  return std::any_of(protocols.begin(), protocols.end(), [&](const auto& p) {
    return std::all_of(members.begin(), members.end(),
                       [&](const auto& m) { return m.second.metadata_for(p.first) != nullptr; });
  });
}

std::string Group::select_protocol() const {
  WEIR_ASSERT(!members.empty());
  // Candidates: the protocols every member supports.
  std::vector<std::string> candidates;
  for (const auto& [name, metadata] : members.begin()->second.protocols) {
    const bool everyone = std::all_of(members.begin(), members.end(), [&](const auto& m) {
      return m.second.metadata_for(name) != nullptr;
    });
    if (everyone) candidates.push_back(name);
  }
  WEIR_ASSERT_MSG(!candidates.empty(), "members share no protocol");
  // Each member votes for the first candidate in its own preference order.
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members) {
    for (const auto& [name, metadata] : m.protocols) {
      if (std::find(candidates.begin(), candidates.end(), name) == candidates.end()) continue;
      ++votes[name];
      break;
    }
  }
  std::string best = candidates.front();
  for (const std::string& c : candidates)
    if (votes[c] > votes[best]) best = c;
  return best;
}

std::optional<std::set<std::string>> Group::subscribed_topics() const {
  if (protocol_type != "consumer" || !protocol_name.has_value()) return std::nullopt;
  std::set<std::string> topics;
  for (const auto& [id, m] : members) {
    const std::string* metadata = m.metadata_for(*protocol_name);
    if (metadata == nullptr) return std::nullopt;
    auto t = consumer_topics(*metadata);
    if (!t.has_value()) return std::nullopt;
    topics.insert(t->begin(), t->end());
  }
  return topics;
}

}  // namespace weir::broker::group
