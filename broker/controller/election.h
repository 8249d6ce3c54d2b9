// Leader election for one partition, as pure functions of what the controller knows, so that
// the rules (Kafka's, plus eligible leader replicas) are tested on their own and the
// simulator's checkers can restate them. The argument for the eligible replicas is in
// broker/README.md.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

namespace weir::broker::controller {

enum class ElectionKind {
  kClean,     // a live ISR member
  kEligible,  // no live ISR member: a live eligible leader replica (KIP-966's idea)
  kUnclean,   // any live replica, unclean.leader.election.enable: acknowledged data may be lost
  kOffline,   // nobody may lead: the partition waits for an ISR or eligible member to return
};
const char* election_kind_name(ElectionKind kind);

struct ElectionInput {
  std::vector<int32_t> replicas;  // the assignment, preferred replica first
  std::vector<int32_t> isr;
  std::vector<int32_t> elr;  // eligible leader replicas
  std::set<int32_t> live;    // brokers that may lead (live, not shutting down)
  bool unclean_allowed = false;
};

struct ElectionResult {
  ElectionKind kind = ElectionKind::kOffline;
  int32_t leader = -1;
  std::vector<int32_t> isr;
  std::vector<int32_t> elr;
};

// The leader after the current one is lost (or was never elected): the first live ISR member
// in assignment order; else the first live eligible replica; else, if allowed, the first live
// replica (unclean). Offline keeps the ISR and ELR as they were, so the replicas that may lead
// are known when they return.
ElectionResult elect_leader(const ElectionInput& in);

// The ISR and ELR after `removed` leave the ISR (a dead or shutting-down broker, a lagging
// follower): while the ISR stays at or above min_insync the ELR is empty; once it is below,
// the members removed join the ELR (the high watermark cannot advance without them, so each
// holds every committed record). A member never appears in both.
void shrink_isr(std::vector<int32_t>& isr, std::vector<int32_t>& elr,
                const std::vector<int32_t>& removed, int32_t min_insync);
// A replica rejoins the ISR: it leaves the ELR, and the ELR empties once the ISR reaches
// min_insync again.
void expand_isr(std::vector<int32_t>& isr, std::vector<int32_t>& elr, int32_t added,
                int32_t min_insync);

}  // namespace weir::broker::controller
