#include "sim/faults/partitions.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/assert.h"

namespace weir::sim {
namespace {

constexpr OptionSpec kSchema[] = {
    {kIntervalOption, OptionKind::kIntensity, "5", "1..20", 0.001, 3600,
     "mean seconds between faults"},
    {"duration_s", OptionKind::kPerFault, "1..10", "0.5..20", 0, 3600, "seconds a partition lasts"},
    {"pair_weight", OptionKind::kIntensity, "1", "0..1", 0, 1e6,
     "weight of a symmetric partition between two role machines"},
    {"split_weight", OptionKind::kIntensity, "1", "0..1", 0, 1e6,
     "weight of a minority/majority split of the role machines"},
    {"one_way_weight", OptionKind::kIntensity, "1", "0..1", 0, 1e6,
     "weight of an asymmetric partition: one role machine cannot reach another"},
    {"client_weight", OptionKind::kIntensity, "0.5", "0..1", 0, 1e6,
     "weight of a partition between a client and a role machine"},
    {"max_active", OptionKind::kCount, "2", "1..3", 1, 64,
     "most partitions of this injector in force at once"},
};

constexpr std::string_view kWeightOptions[] = {"pair_weight", "split_weight", "one_way_weight",
                                               "client_weight"};
constexpr std::string_view kKindMetrics[] = {"pairs", "splits", "one_way", "client"};

std::string names(const std::vector<SimMachine*>& machines) {
  return absl::StrJoin(machines, ",",
                       [](std::string* out, const SimMachine* m) { out->append(m->name()); });
}

}  // namespace

std::span<const OptionSpec> Partitions::schema() {
  return kSchema;
}

absl::Status Partitions::validate(const InjectorOptions& options) {
  double total = 0;
  for (std::string_view w : kWeightOptions) total += options.range(w).hi;
  if (total <= 0) return absl::InvalidArgumentError("Partitions: every weight is zero");
  return absl::OkStatus();
}

Partitions::Partitions(SimCluster& cluster, const std::map<std::string, std::string>& options,
                       bool swarm)
    : Injector(cluster, "Partitions", kSchema, options, swarm) {}

void Partitions::inject() {
  if (static_cast<int64_t>(undos_pending()) >= options().draw_count("max_active", random())) {
    return count("skipped");
  }
  double weights[kKindCount];
  for (int i = 0; i < kKindCount; ++i) weights[i] = options().draw(kWeightOptions[i], random());
  const int kind = pick_weighted(weights);
  if (kind < 0) return count("skipped");
  std::string what;
  std::vector<Edge> edges;
  switch (kind) {
    case kPair:
      edges = pair_edges(&what);
      break;
    case kSplit:
      edges = split_edges(&what);
      break;
    case kOneWay:
      edges = one_way_edges(&what);
      break;
    case kClient:
      edges = client_edges(&what);
      break;
  }
  if (edges.empty()) return count("skipped");
  const Duration d = options().draw_seconds("duration_s", random());
  block(edges);
  record(absl::StrFormat("partition %s for %.3fs", what, to_seconds(d)));
  undo_after(d, "partition " + what, [this, edges] { unblock(edges); });
  count(std::string(kKindMetrics[kind]));
}

std::vector<Partitions::Edge> Partitions::pair_edges(std::string* what) {
  const std::vector<SimMachine*> machines = cluster().role_machines();
  if (machines.size() < 2) return {};
  const size_t a = pick(machines.size());
  const size_t b = (a + 1 + pick(machines.size() - 1)) % machines.size();
  const std::string& x = machines[a]->ip();
  const std::string& y = machines[b]->ip();
  *what = absl::StrCat(machines[a]->name(), " <-/-> ", machines[b]->name());
  return {{x, y}, {y, x}};
}

std::vector<Partitions::Edge> Partitions::split_edges(std::string* what) {
  const std::vector<SimMachine*> machines = cluster().role_machines();
  if (machines.size() < 2) return {};
  // Fisher-Yates over indices with the seeded generator; the first k become the minority.
  std::vector<size_t> order(machines.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[pick(i + 1)]);
  const size_t minority_max = std::max<size_t>(1, (machines.size() - 1) / 2);
  const size_t k = 1 + pick(minority_max);
  // Sorted back into creation order, only so that the schedule reads easily.
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  std::sort(order.begin() + static_cast<std::ptrdiff_t>(k), order.end());
  std::vector<SimMachine*> minority;
  std::vector<SimMachine*> majority;
  for (size_t i = 0; i < order.size(); ++i) {
    (i < k ? minority : majority).push_back(machines[order[i]]);
  }
  std::vector<Edge> edges;
  for (SimMachine* a : minority) {
    for (SimMachine* b : majority) {
      edges.emplace_back(a->ip(), b->ip());
      edges.emplace_back(b->ip(), a->ip());
    }
  }
  *what = absl::StrCat("{", names(minority), "} <-/-> {", names(majority), "}");
  return edges;
}

std::vector<Partitions::Edge> Partitions::one_way_edges(std::string* what) {
  const std::vector<SimMachine*> machines = cluster().role_machines();
  if (machines.size() < 2) return {};
  const size_t a = pick(machines.size());
  const size_t b = (a + 1 + pick(machines.size() - 1)) % machines.size();
  *what = absl::StrCat(machines[a]->name(), " -/-> ", machines[b]->name());
  return {{machines[a]->ip(), machines[b]->ip()}};
}

std::vector<SimMachine*> Partitions::client_machines() {
  std::vector<SimMachine*> out;
  for (int i = 0; i < cluster().client_count(); ++i) {
    const Process* runtime = cluster().client(i);
    for (const auto& p : sim().processes()) {
      if (p->runtime_process() == runtime) out.push_back(&p->machine());
    }
  }
  return out;
}

std::vector<Partitions::Edge> Partitions::client_edges(std::string* what) {
  const std::vector<SimMachine*> clients = client_machines();
  const std::vector<SimMachine*> machines = cluster().role_machines();
  if (clients.empty() || machines.empty()) return {};
  SimMachine* c = clients[pick(clients.size())];
  SimMachine* m = machines[pick(machines.size())];
  *what = absl::StrCat(c->name(), " <-/-> ", m->name());
  return {{c->ip(), m->ip()}, {m->ip(), c->ip()}};
}

void Partitions::block(const std::vector<Edge>& edges) {
  for (const Edge& e : edges) {
    if (holds_[e]++ == 0) network().partition(e.first, e.second);
  }
}

void Partitions::unblock(const std::vector<Edge>& edges) {
  for (const Edge& e : edges) {
    auto it = holds_.find(e);
    WEIR_ASSERT_MSG(it != holds_.end() && it->second > 0, "healing an edge nobody holds");
    if (--it->second > 0) continue;
    holds_.erase(it);
    network().heal(e.first, e.second);
  }
}

}  // namespace weir::sim
