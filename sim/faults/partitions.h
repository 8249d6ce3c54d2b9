// Partitions: links between machines stop carrying data, in one or both directions, for a
// while. It exists because split brain, stale leaders, fencing and asymmetric reachability
// (A hears B but B does not hear A) are where consensus and replication code break.
#pragma once

#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sim/faults/injector.h"

namespace weir::sim {

class Partitions final : public Injector {
 public:
  static std::span<const OptionSpec> schema();
  static absl::Status validate(const InjectorOptions& options);

  Partitions(SimCluster& cluster, const std::map<std::string, std::string>& options, bool swarm);

 protected:
  void inject() override;

 private:
  using Edge = std::pair<std::string, std::string>;  // from ip, to ip: from's data is dropped
  enum Kind { kPair, kSplit, kOneWay, kClient, kKindCount };

  // The edges of one partition of `kind`, and a description; empty if it has no targets.
  std::vector<Edge> pair_edges(std::string* what);
  std::vector<Edge> split_edges(std::string* what);
  std::vector<Edge> one_way_edges(std::string* what);
  std::vector<Edge> client_edges(std::string* what);
  std::vector<SimMachine*> client_machines();
  void block(const std::vector<Edge>& edges);
  void unblock(const std::vector<Edge>& edges);

  // How many live partitions of this injector hold each edge: partitions may overlap, and
  // ending one must not heal an edge another still holds.
  std::map<Edge, int> holds_;
};

}  // namespace weir::sim
