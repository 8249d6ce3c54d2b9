#include "broker/client/assignors.h"

#include <algorithm>
#include <deque>
#include <iterator>
#include <limits>
#include <numeric>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/kafka/protocol/wire.h"
#include "runtime/bytes/byte_reader.h"
#include "runtime/bytes/byte_writer.h"

namespace weir::broker::client {
namespace {

namespace wire = kafka::wire;

using TopicSet = std::set<std::string, std::less<>>;

absl::Status check_unique_members(const std::vector<MemberSubscription>& members) {
  std::set<std::string_view> seen;
  for (const MemberSubscription& member : members) {
    if (!seen.insert(member.member_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("member id '", member.member_id, "' appears twice in the group"));
    }
  }
  return absl::OkStatus();
}

// Kafka's MemberInfo order (group.instance.id when both have one, members with one first, then
// member id), with equal instance ids ordered by member id.
bool member_before(const MemberSubscription* a, const MemberSubscription* b) {
  const auto& ia = a->group_instance_id;
  const auto& ib = b->group_instance_id;
  if (ia && ib && *ia != *ib) return *ia < *ib;
  if (ia.has_value() != ib.has_value()) return ia.has_value();
  return a->member_id < b->member_id;
}

std::vector<const MemberSubscription*> in_member_order(
    const std::vector<MemberSubscription>& members) {
  std::vector<const MemberSubscription*> order;
  order.reserve(members.size());
  for (const MemberSubscription& member : members) order.push_back(&member);
  std::sort(order.begin(), order.end(), member_before);
  return order;
}

int32_t partition_count(const PartitionCounts& partitions, std::string_view topic) {
  const auto it = partitions.find(topic);
  return it == partitions.end() ? 0 : std::max<int32_t>(it->second, 0);
}

TopicSet topic_set(const MemberSubscription& member) {
  return TopicSet(member.topics.begin(), member.topics.end());
}

// Every topic someone subscribes to that has partitions, sorted.
TopicSet assignable_topics(const PartitionCounts& partitions,
                           const std::vector<MemberSubscription>& members) {
  TopicSet topics;
  for (const MemberSubscription& member : members) {
    for (const std::string& topic : member.topics) {
      if (partition_count(partitions, topic) > 0) topics.insert(topic);
    }
  }
  return topics;
}

GroupAssignment empty_assignment(const std::vector<MemberSubscription>& members) {
  GroupAssignment assignment;
  for (const MemberSubscription& member : members) assignment[member.member_id];
  return assignment;
}

void sort_lists(GroupAssignment& assignment) {
  for (auto& [member, partitions] : assignment) std::sort(partitions.begin(), partitions.end());
}

// ---- cooperative-sticky ---------------------------------------------------------------------

// The sticky assignment under construction. Members are indexed in member id order and topics
// in name order, so every choice below (ties included) is a function of the input alone.
//
// Each partition has at most one owner (the winning claim, see keep_owned). The aim is the
// lexicographic minimum of (sum over members of their partition count squared, partitions not
// on their owner): a min-cost flow of partitions to eligible members, with a convex cost per
// member. It is reached in three steps:
// 1. owners keep their partitions, every other partition goes to its least loaded subscriber;
// 2. balance(): while a chain of moves exists from a member U to a member D with at least two
//    fewer partitions (U gives one to X1, X1 one to X2, ..., the last one to D, each receiver
//    eligible for what it receives), apply the one costing the fewest revocations, preferring
//    chains that move no partition away from its owner. Each lowers the sum of squares by at
//    least 2. With no chain left the sum of squares is minimal: the count vectors the members
//    can reach form an M-convex set (degree vectors of a bipartite assignment), on which a
//    separable convex function's local minimum under single exchanges is global (Murota).
//    This step is fast and usually final, but its choice of chains is greedy;
// 3. polish(): cancels negative cycles in the residual graph of the flow (Bellman-Ford over the
//    members, a sink and a node per topic) until there are none, which is exactly optimality.
//    Usually it only confirms what step 2 found.
// Consequences the tests rely on: when the owners' partitions are part of some optimal
// assignment (a stable group, or the follow-up round after revocations) nothing owned moves;
// when one member joins or leaves, exactly the fewest owned partitions move that any balanced
// assignment needs.
class StickyBalancer {
 public:
  StickyBalancer(const PartitionCounts& partitions, const std::vector<MemberSubscription>& members);

  void keep_owned();
  void place_unowned();
  void balance();
  void polish();
  // The assignment, and which of its partitions stay with the member that owned them.
  struct Target {
    GroupAssignment assignment;
    std::set<TopicPartition> kept;
  };
  Target target() const;

 private:
  static constexpr size_t kNobody = std::numeric_limits<size_t>::max();

  struct Topic {
    std::string_view name;
    int32_t count = 0;
    std::vector<size_t> subscribers;  // member indices, ascending
    std::vector<size_t> owner;        // per partition: member index or kNobody
    std::vector<bool> held;           // per partition
  };
  // A member's partitions of one topic: "sticky" ones it owns, "free" ones it does not (moving
  // a free partition again costs no revocation).
  struct Held {
    std::set<int32_t> free;
    std::set<int32_t> sticky;
  };
  struct Member {
    const MemberSubscription* subscription = nullptr;
    std::vector<bool> eligible;   // per topic index
    std::map<size_t, Held> held;  // topic index -> partitions
    size_t count = 0;
  };
  // One move of a chain: a partition of `topic` from `from` to `to`.
  struct Step {
    size_t from = 0;
    size_t to = 0;
    size_t topic = 0;
  };
  // A chain of moves and how many of them take a partition from its owner.
  struct Chain {
    std::vector<Step> steps;
    size_t cost = 0;
  };
  // An arc of the residual graph (see residual_arcs), carrying the partition it would move.
  struct Arc {
    size_t from = 0;
    size_t to = 0;
    int64_t weight = 0;
    size_t topic = 0;
    int32_t partition = 0;
  };

  void add(size_t member, size_t topic, int32_t partition);
  void remove(size_t member, size_t topic, int32_t partition);
  int32_t take(size_t member, size_t topic);
  std::optional<Chain> find_chain(size_t source, bool allow_sticky) const;
  bool improve(bool allow_sticky);
  std::vector<Arc> residual_arcs() const;
  std::optional<std::vector<Arc>> negative_cycle(const std::vector<Arc>& arcs) const;

  std::vector<Topic> topics_;
  std::map<std::string_view, size_t, std::less<>> topic_index_;
  std::vector<Member> members_;
  size_t total_partitions_ = 0;
};

StickyBalancer::StickyBalancer(const PartitionCounts& partitions,
                               const std::vector<MemberSubscription>& members) {
  for (const std::string& topic : assignable_topics(partitions, members)) {
    const auto& [name, count] = *partitions.find(topic);  // a key of `partitions`: outlives us
    const auto n = static_cast<size_t>(count);
    topic_index_.emplace(name, topics_.size());
    topics_.push_back(Topic{.name = name,
                            .count = count,
                            .subscribers = {},
                            .owner = std::vector<size_t>(n, kNobody),
                            .held = std::vector<bool>(n, false)});
    total_partitions_ += n;
  }
  std::vector<const MemberSubscription*> by_id;
  for (const MemberSubscription& member : members) by_id.push_back(&member);
  std::sort(by_id.begin(), by_id.end(),
            [](const auto* a, const auto* b) { return a->member_id < b->member_id; });
  for (const MemberSubscription* subscription : by_id) {
    Member& member = members_.emplace_back();
    member.subscription = subscription;
    member.eligible.assign(topics_.size(), false);
    for (const std::string& topic : subscription->topics) {
      const auto it = topic_index_.find(topic);
      if (it == topic_index_.end() || member.eligible[it->second]) continue;
      member.eligible[it->second] = true;
      topics_[it->second].subscribers.push_back(members_.size() - 1);
    }
  }
}

void StickyBalancer::add(size_t member, size_t topic, int32_t partition) {
  const auto p = static_cast<size_t>(partition);
  Held& held = members_[member].held[topic];
  (topics_[topic].owner[p] == member ? held.sticky : held.free).insert(partition);
  topics_[topic].held[p] = true;
  ++members_[member].count;
}

void StickyBalancer::remove(size_t member, size_t topic, int32_t partition) {
  Member& m = members_[member];
  const auto it = m.held.find(topic);
  it->second.free.erase(partition);
  it->second.sticky.erase(partition);
  if (it->second.free.empty() && it->second.sticky.empty()) m.held.erase(it);
  --m.count;
}

// Removes one of `member`'s partitions of `topic`, a free one if it has any.
int32_t StickyBalancer::take(size_t member, size_t topic) {
  const Held& held = members_[member].held.find(topic)->second;
  const int32_t partition = held.free.empty() ? *held.sticky.rbegin() : *held.free.rbegin();
  remove(member, topic, partition);
  return partition;
}

// Each valid claim (a member owning a partition of a topic it still subscribes to) competes
// with the other claims on the partition: the highest generation wins; two members at the same
// highest generation both lose it.
void StickyBalancer::keep_owned() {
  struct Claim {
    size_t member = 0;
    int32_t generation = 0;
    bool conflict = false;
  };
  std::map<std::pair<size_t, int32_t>, Claim> claims;
  for (size_t m = 0; m < members_.size(); ++m) {
    const MemberSubscription& subscription = *members_[m].subscription;
    for (const TopicPartition& owned : subscription.owned_partitions) {
      const auto t = topic_index_.find(owned.topic);
      if (t == topic_index_.end() || !members_[m].eligible[t->second]) continue;
      if (owned.partition < 0 || owned.partition >= topics_[t->second].count) continue;
      const Claim claim{.member = m, .generation = subscription.generation};
      const auto [it, inserted] = claims.try_emplace({t->second, owned.partition}, claim);
      if (inserted || it->second.member == m) continue;
      if (claim.generation > it->second.generation) {
        it->second = claim;
      } else if (claim.generation == it->second.generation) {
        it->second.conflict = true;
      }
    }
  }
  for (const auto& [partition, claim] : claims) {
    if (claim.conflict) continue;
    topics_[partition.first].owner[static_cast<size_t>(partition.second)] = claim.member;
    add(claim.member, partition.first, partition.second);
  }
}

// Every partition nobody keeps goes to its least loaded subscriber (the first one on a tie).
void StickyBalancer::place_unowned() {
  for (size_t t = 0; t < topics_.size(); ++t) {
    for (int32_t p = 0; p < topics_[t].count; ++p) {
      if (topics_[t].held[static_cast<size_t>(p)]) continue;
      size_t best = topics_[t].subscribers.front();
      for (size_t m : topics_[t].subscribers) {
        if (members_[m].count < members_[best].count) best = m;
      }
      add(best, t, p);
    }
  }
}

// A 0-1 breadth-first search from `source` over "X holds a partition of a topic Y subscribes
// to", an edge costing 0 when X holds a free partition of the topic and 1 when only sticky ones
// (then only if `allow_sticky`). Returns the cheapest chain to a member with at least two fewer
// partitions than `source` (then the least loaded, then the first), if any.
std::optional<StickyBalancer::Chain> StickyBalancer::find_chain(size_t source,
                                                                bool allow_sticky) const {
  constexpr size_t kUnreached = std::numeric_limits<size_t>::max();
  std::vector<size_t> cost(members_.size(), kUnreached);
  std::vector<Step> via(members_.size());
  std::vector<bool> done(members_.size(), false);
  // A topic's subscribers relaxed at some cost need no relaxing again at that cost or more:
  // the search costs O(members x topics), not O(members x topics x subscribers).
  std::vector<size_t> topic_cost(topics_.size(), kUnreached);
  std::deque<size_t> queue{source};
  cost[source] = 0;
  while (!queue.empty()) {
    const size_t x = queue.front();
    queue.pop_front();
    if (done[x]) continue;
    done[x] = true;
    for (const auto& [topic, held] : members_[x].held) {
      const size_t step = held.free.empty() ? 1 : 0;
      if ((step == 1 && !allow_sticky) || cost[x] + step >= topic_cost[topic]) continue;
      topic_cost[topic] = cost[x] + step;
      for (size_t y : topics_[topic].subscribers) {
        if (y == x || cost[x] + step >= cost[y]) continue;
        cost[y] = cost[x] + step;
        via[y] = Step{.from = x, .to = y, .topic = topic};
        if (step == 0) {
          queue.push_front(y);
        } else {
          queue.push_back(y);
        }
      }
    }
  }
  std::optional<size_t> target;
  for (size_t y = 0; y < members_.size(); ++y) {
    if (cost[y] == kUnreached || members_[y].count + 2 > members_[source].count) continue;
    if (!target || cost[y] < cost[*target] ||
        (cost[y] == cost[*target] && members_[y].count < members_[*target].count)) {
      target = y;
    }
  }
  if (!target) return std::nullopt;
  Chain chain{.steps = {}, .cost = cost[*target]};
  for (size_t y = *target; y != source; y = via[y].from) chain.steps.push_back(via[y]);
  std::reverse(chain.steps.begin(), chain.steps.end());
  return chain;
}

// Applies one improving chain: with free partitions only, the first found from the most loaded
// members down; with sticky ones too, the one costing the fewest revocations from any member
// (balance() only allows sticky ones once no free chain is left, so a chain costing 1 is the
// cheapest there can be).
bool StickyBalancer::improve(bool allow_sticky) {
  if (members_.empty()) return false;
  std::vector<size_t> order(members_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return members_[a].count > members_[b].count; });
  const size_t least = members_[order.back()].count;
  std::optional<Chain> best;
  for (size_t u : order) {
    if (members_[u].count < least + 2) break;
    std::optional<Chain> chain = find_chain(u, allow_sticky);
    if (chain && (!best || chain->cost < best->cost)) best = std::move(chain);
    if (best && best->cost <= (allow_sticky ? 1 : 0)) break;
  }
  if (!best) return false;
  for (const Step& step : best->steps) add(step.to, step.topic, take(step.from, step.topic));
  return true;
}

void StickyBalancer::balance() {
  while (improve(false) || improve(true)) {
  }
}

// The residual graph of the flow, over the members, a sink and a node per topic (node indices
// in that order). The sink's arcs carry the convex cost of the counts, scaled so that one unit
// of the sum of squares outweighs any number of moves: sink -> U (U loses a partition) weighs
// -big * (2 c(U) - 1), D -> sink (D gains one) big * (2 c(D) + 1). A move of one of X's
// partitions of topic t to Y is either X -> t -> Y, weighing 0 when X holds a partition of t it
// does not own and 1 when it must give up one it owns (a revocation), or X -> Y directly,
// weighing -1, when the partition goes back to its owner Y. Going through topic nodes keeps the
// graph at O(members x topics + partitions) arcs; a cycle visiting a topic twice is the sum of
// two cycles that each visit it once, so negative cycles are found all the same.
std::vector<StickyBalancer::Arc> StickyBalancer::residual_arcs() const {
  const size_t sink = members_.size();
  const auto big = static_cast<int64_t>(total_partitions_ + members_.size() + 1);
  std::vector<Arc> arcs;
  for (size_t x = 0; x < members_.size(); ++x) {
    const auto c = static_cast<int64_t>(members_[x].count);
    if (c > 0) arcs.push_back(Arc{.from = sink, .to = x, .weight = -big * (2 * c - 1)});
    arcs.push_back(Arc{.from = x, .to = sink, .weight = big * (2 * c + 1)});
    for (const auto& [topic, held] : members_[x].held) {
      const bool has_free = !held.free.empty();
      arcs.push_back(Arc{.from = x,
                         .to = sink + 1 + topic,
                         .weight = has_free ? 0 : 1,
                         .topic = topic,
                         .partition = has_free ? *held.free.rbegin() : *held.sticky.rbegin()});
      for (int32_t p : held.free) {
        const size_t owner = topics_[topic].owner[static_cast<size_t>(p)];
        if (owner == kNobody) continue;
        arcs.push_back(Arc{.from = x, .to = owner, .weight = -1, .topic = topic, .partition = p});
      }
    }
  }
  for (size_t t = 0; t < topics_.size(); ++t) {
    for (size_t y : topics_[t].subscribers) {
      arcs.push_back(Arc{.from = sink + 1 + t, .to = y, .weight = 0, .topic = t});
    }
  }
  return arcs;
}

// Bellman-Ford from a virtual source joined to every node: a cycle of negative weight, if any.
std::optional<std::vector<StickyBalancer::Arc>> StickyBalancer::negative_cycle(
    const std::vector<Arc>& arcs) const {
  const size_t n = members_.size() + 1 + topics_.size();
  std::vector<int64_t> dist(n, 0);
  std::vector<size_t> via(n, kNobody);  // the arc that last lowered each node
  size_t last = kNobody;
  for (size_t round = 0; round < n; ++round) {
    last = kNobody;
    for (size_t i = 0; i < arcs.size(); ++i) {
      const Arc& arc = arcs[i];
      if (dist[arc.from] + arc.weight >= dist[arc.to]) continue;
      dist[arc.to] = dist[arc.from] + arc.weight;
      via[arc.to] = i;
      last = arc.to;
    }
    if (last == kNobody) return std::nullopt;
  }
  // Still lowering after n rounds: walking back n arcs from `last` lands on a negative cycle
  // (every node on the way has an arc; checked all the same rather than trusted).
  for (size_t i = 0; i < n; ++i) {
    if (via[last] == kNobody) return std::nullopt;
    last = arcs[via[last]].from;
  }
  std::vector<Arc> cycle;
  size_t node = last;
  do {
    if (via[node] == kNobody || cycle.size() > n) return std::nullopt;
    cycle.push_back(arcs[via[node]]);
    node = cycle.back().from;
  } while (node != last);
  std::reverse(cycle.begin(), cycle.end());
  return cycle;
}

// Each cycle lowers the (integer) total cost, so this ends; then no cycle is left: optimal.
void StickyBalancer::polish() {
  const size_t sink = members_.size();
  while (auto cycle = negative_cycle(residual_arcs())) {
    // Start at an arc leaving a member, so that each X -> t arc comes before its t -> Y.
    const auto first =
        std::find_if(cycle->begin(), cycle->end(), [&](const Arc& arc) { return arc.from < sink; });
    std::rotate(cycle->begin(), first, cycle->end());
    const Arc* giving = nullptr;
    for (const Arc& arc : *cycle) {
      if (arc.from < sink && arc.to < sink) {  // back to its owner
        remove(arc.from, arc.topic, arc.partition);
        add(arc.to, arc.topic, arc.partition);
      } else if (arc.from < sink && arc.to > sink) {
        giving = &arc;
      } else if (arc.from > sink) {
        remove(giving->from, giving->topic, giving->partition);
        add(arc.to, giving->topic, giving->partition);
      }
    }
  }
}

StickyBalancer::Target StickyBalancer::target() const {
  Target target;
  for (const Member& member : members_) {
    std::vector<TopicPartition>& list = target.assignment[member.subscription->member_id];
    list.reserve(member.count);
    for (const auto& [topic, held] : member.held) {
      const std::string name(topics_[topic].name);
      for (int32_t p : held.sticky) target.kept.insert({name, p});
      std::vector<int32_t> partitions(held.free.begin(), held.free.end());
      partitions.insert(partitions.end(), held.sticky.begin(), held.sticky.end());
      std::sort(partitions.begin(), partitions.end());
      for (int32_t p : partitions) list.push_back({name, p});
    }
  }
  return target;
}

// The cooperative adjustment. A partition that does not stay with its owner, while another
// member reported owning it, is held back: that member may still be consuming it until it
// revokes. Kafka holds back a partition only when its new member did not report owning it;
// Weir also holds it back from a member whose own claim lost (an older generation, or a tie),
// so that no two members of the new generation are ever told they own the same partition.
CooperativeAssignment hold_back_transfers(const std::vector<MemberSubscription>& members,
                                          StickyBalancer::Target target) {
  std::map<TopicPartition, std::set<std::string_view>> reporters;
  for (const MemberSubscription& member : members) {
    for (const TopicPartition& tp : member.owned_partitions) {
      reporters[tp].insert(member.member_id);
    }
  }
  CooperativeAssignment out;
  for (auto& [id, list] : target.assignment) {
    std::vector<TopicPartition> keep;
    for (TopicPartition& tp : list) {
      const auto it = reporters.find(tp);
      const bool elsewhere =
          it != reporters.end() && (it->second.size() > 1 || !it->second.contains(id));
      (elsewhere && !target.kept.contains(tp) ? out.pending : keep).push_back(std::move(tp));
    }
    list = std::move(keep);
  }
  std::sort(out.pending.begin(), out.pending.end());
  for (const MemberSubscription& member : members) {
    std::vector<TopicPartition> owned = member.owned_partitions;
    std::sort(owned.begin(), owned.end());
    owned.erase(std::unique(owned.begin(), owned.end()), owned.end());
    const std::vector<TopicPartition>& assigned = target.assignment[member.member_id];
    std::vector<TopicPartition> revoked;
    std::set_difference(owned.begin(), owned.end(), assigned.begin(), assigned.end(),
                        std::back_inserter(revoked));
    if (!revoked.empty()) out.revoked[member.member_id] = std::move(revoked);
  }
  out.assignment = std::move(target.assignment);
  return out;
}

// ---- ConsumerProtocol -----------------------------------------------------------------------

constexpr std::string_view kFormat = "consumer protocol";
// A TopicPartitions entry on the wire: a topic (2 bytes at least) and a count (4).
constexpr size_t kMinTopicPartitionsBytes = 6;

void write_topic_partitions(ByteWriter& w, const std::vector<TopicPartitions>& list) {
  wire::write_array_count(w, false, static_cast<int64_t>(list.size()));
  for (const TopicPartitions& entry : list) {
    wire::write_string(w, false, entry.topic);
    wire::write_array_count(w, false, static_cast<int64_t>(entry.partitions.size()));
    for (int32_t p : entry.partitions) w.write_i32(p);
  }
}

std::vector<TopicPartitions> read_topic_partitions(ByteReader& r, std::string_view field) {
  std::vector<TopicPartitions> list;
  const int64_t count = wire::read_array_count(r, false, false, kMinTopicPartitionsBytes, field);
  if (count <= 0) return list;
  list.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count && r.ok(); ++i) {
    TopicPartitions& entry = list.emplace_back();
    entry.topic = wire::read_string(r, false, "topic");
    const int64_t n = wire::read_array_count(r, false, false, 4, "partitions");
    if (n > 0) entry.partitions.reserve(static_cast<size_t>(n));
    for (int64_t j = 0; j < n && r.ok(); ++j) entry.partitions.push_back(r.read_i32("partition"));
    if (!r.ok()) r.add_index_context(field, static_cast<size_t>(i));
  }
  return list;
}

// Reads the version as written; a negative one is an error.
int16_t read_version(ByteReader& r) {
  const int16_t version = r.read_i16("version");
  if (r.ok() && version < 0) r.fail("version", absl::StrCat(version, " is negative"));
  return version;
}

// A known version must use every byte; a newer one may carry fields Weir does not know.
absl::Status finish(const ByteReader& r, int16_t wire_version, std::string_view what) {
  if (!r.ok() || wire_version <= kConsumerProtocolMaxVersion) return r.finish(what);
  return absl::OkStatus();
}

int16_t clamp_version(int16_t version) {
  return std::clamp<int16_t>(version, 0, kConsumerProtocolMaxVersion);
}

}  // namespace

absl::StatusOr<GroupAssignment> range_assign(const PartitionCounts& partitions,
                                             const std::vector<MemberSubscription>& members) {
  if (absl::Status status = check_unique_members(members); !status.ok()) return status;
  GroupAssignment assignment = empty_assignment(members);
  const std::vector<const MemberSubscription*> order = in_member_order(members);
  std::vector<TopicSet> subscribed;
  for (const MemberSubscription* member : order) subscribed.push_back(topic_set(*member));
  for (const std::string& topic : assignable_topics(partitions, members)) {
    std::vector<const MemberSubscription*> subscribers;
    for (size_t i = 0; i < order.size(); ++i) {
      if (subscribed[i].contains(topic)) subscribers.push_back(order[i]);
    }
    const int32_t n = partition_count(partitions, topic);
    const auto m = static_cast<int32_t>(subscribers.size());
    const int32_t quota = n / m;
    const int32_t extra = n % m;
    for (int32_t i = 0; i < m; ++i) {
      const int32_t start = quota * i + std::min(i, extra);
      const int32_t length = quota + (i < extra ? 1 : 0);
      std::vector<TopicPartition>& list =
          assignment[subscribers[static_cast<size_t>(i)]->member_id];
      for (int32_t p = start; p < start + length; ++p) list.push_back({topic, p});
    }
  }
  sort_lists(assignment);
  return assignment;
}

absl::StatusOr<GroupAssignment> roundrobin_assign(const PartitionCounts& partitions,
                                                  const std::vector<MemberSubscription>& members) {
  if (absl::Status status = check_unique_members(members); !status.ok()) return status;
  GroupAssignment assignment = empty_assignment(members);
  const std::vector<const MemberSubscription*> order = in_member_order(members);
  std::vector<TopicSet> subscribed;
  for (const MemberSubscription* member : order) subscribed.push_back(topic_set(*member));
  size_t next = 0;
  for (const std::string& topic : assignable_topics(partitions, members)) {
    const int32_t n = partition_count(partitions, topic);
    for (int32_t p = 0; p < n; ++p) {
      // Terminates: an assignable topic has a subscriber.
      while (!subscribed[next].contains(topic)) next = (next + 1) % order.size();
      assignment[order[next]->member_id].push_back({topic, p});
      next = (next + 1) % order.size();
    }
  }
  sort_lists(assignment);
  return assignment;
}

absl::StatusOr<CooperativeAssignment> cooperative_sticky_assign(
    const PartitionCounts& partitions, const std::vector<MemberSubscription>& members) {
  if (absl::Status status = check_unique_members(members); !status.ok()) return status;
  StickyBalancer balancer(partitions, members);
  balancer.keep_owned();
  balancer.place_unowned();
  balancer.balance();
  balancer.polish();
  return hold_back_transfers(members, balancer.target());
}

std::vector<TopicPartitions> group_by_topic(const std::vector<TopicPartition>& partitions) {
  std::map<std::string_view, std::vector<int32_t>> by_topic;
  for (const TopicPartition& tp : partitions) by_topic[tp.topic].push_back(tp.partition);
  std::vector<TopicPartitions> grouped;
  grouped.reserve(by_topic.size());
  for (auto& [topic, list] : by_topic) {
    grouped.push_back(TopicPartitions{.topic = std::string(topic), .partitions = std::move(list)});
  }
  return grouped;
}

std::vector<TopicPartition> flatten(const std::vector<TopicPartitions>& grouped) {
  std::vector<TopicPartition> partitions;
  for (const TopicPartitions& entry : grouped) {
    for (int32_t p : entry.partitions) partitions.push_back({entry.topic, p});
  }
  return partitions;
}

std::string encode_subscription(const ConsumerSubscription& subscription) {
  const int16_t version = clamp_version(subscription.version);
  std::string out;
  ByteWriter w(out);
  w.write_i16(version);
  wire::write_array_count(w, false, static_cast<int64_t>(subscription.topics.size()));
  for (const std::string& topic : subscription.topics) wire::write_string(w, false, topic);
  wire::write_nullable_bytes(w, false, true, subscription.user_data);
  if (version >= 1) write_topic_partitions(w, subscription.owned_partitions);
  if (version >= 2) w.write_i32(subscription.generation_id);
  if (version >= 3) wire::write_nullable_string(w, false, true, subscription.rack_id);
  return out;
}

absl::StatusOr<ConsumerSubscription> decode_subscription(std::string_view bytes) {
  ByteReader r(bytes, kFormat);
  ConsumerSubscription s;
  const int16_t wire_version = read_version(r);
  s.version = std::min(wire_version, kConsumerProtocolMaxVersion);
  const int64_t count = wire::read_array_count(r, false, false, 2, "topics");
  if (count > 0) s.topics.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count && r.ok(); ++i) {
    s.topics.push_back(wire::read_string(r, false, "topics"));
  }
  s.user_data = wire::read_nullable_bytes(r, false, true, "user_data");
  if (s.version >= 1) s.owned_partitions = read_topic_partitions(r, "owned_partitions");
  if (s.version >= 2) s.generation_id = r.read_i32("generation_id");
  if (s.version >= 3) s.rack_id = wire::read_nullable_string(r, false, true, "rack_id");
  if (absl::Status status = finish(r, wire_version, "ConsumerProtocolSubscription"); !status.ok()) {
    return status;
  }
  return s;
}

std::string encode_assignment(const ConsumerAssignment& assignment) {
  std::string out;
  ByteWriter w(out);
  w.write_i16(clamp_version(assignment.version));
  write_topic_partitions(w, assignment.partitions);
  wire::write_nullable_bytes(w, false, true, assignment.user_data);
  return out;
}

absl::StatusOr<ConsumerAssignment> decode_assignment(std::string_view bytes) {
  ByteReader r(bytes, kFormat);
  const int16_t wire_version = read_version(r);
  ConsumerAssignment a;
  a.version = std::min(wire_version, kConsumerProtocolMaxVersion);
  a.partitions = read_topic_partitions(r, "assigned_partitions");
  a.user_data = wire::read_nullable_bytes(r, false, true, "user_data");
  if (absl::Status status = finish(r, wire_version, "ConsumerProtocolAssignment"); !status.ok()) {
    return status;
  }
  return a;
}

std::string encode_cooperative_user_data(int32_t generation) {
  std::string out;
  ByteWriter(out).write_i32(generation);
  return out;
}

int32_t decode_cooperative_user_data(const std::optional<std::string>& user_data) {
  if (!user_data || user_data->size() < 4) return kUnknownGeneration;
  ByteReader r(std::string_view(*user_data), kFormat);
  return r.read_i32("generation");
}

MemberSubscription member_subscription(std::string member_id,
                                       std::optional<std::string> group_instance_id,
                                       const ConsumerSubscription& subscription) {
  MemberSubscription member;
  member.member_id = std::move(member_id);
  member.group_instance_id = std::move(group_instance_id);
  member.topics = subscription.topics;
  member.owned_partitions = flatten(subscription.owned_partitions);
  member.generation = subscription.version >= 2
                          ? subscription.generation_id
                          : decode_cooperative_user_data(subscription.user_data);
  return member;
}

}  // namespace weir::broker::client
