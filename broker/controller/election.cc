#include "broker/controller/election.h"

#include <algorithm>

namespace weir::broker::controller {
namespace {

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

void erase(std::vector<int32_t>& v, int32_t x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}

}  // namespace

const char* election_kind_name(ElectionKind kind) {
  switch (kind) {
    case ElectionKind::kClean:
      return "clean";
    case ElectionKind::kEligible:
      return "eligible";
    case ElectionKind::kUnclean:
      return "unclean";
    case ElectionKind::kOffline:
      return "offline";
  }
  return "?";
}

ElectionResult elect_leader(const ElectionInput& in) {
  ElectionResult out{.isr = in.isr, .elr = in.elr};
  for (int32_t r : in.replicas) {
    if (in.live.count(r) != 0 && contains(in.isr, r)) {
      out.kind = ElectionKind::kClean;
      out.leader = r;
      std::vector<int32_t> isr;
      for (int32_t m : in.isr) {
        if (in.live.count(m) != 0) isr.push_back(m);
      }
      out.isr = std::move(isr);
      return out;
    }
  }
  for (int32_t r : in.replicas) {
    if (in.live.count(r) != 0 && contains(in.elr, r)) {
      out.kind = ElectionKind::kEligible;
      out.leader = r;
      out.isr = {r};
      erase(out.elr, r);
      return out;
    }
  }
  if (in.unclean_allowed) {
    for (int32_t r : in.replicas) {
      if (in.live.count(r) == 0) continue;
      out.kind = ElectionKind::kUnclean;
      out.leader = r;
      out.isr = {r};
      out.elr.clear();
      return out;
    }
  }
  return out;
}

void shrink_isr(std::vector<int32_t>& isr, std::vector<int32_t>& elr,
                const std::vector<int32_t>& removed, int32_t min_insync) {
  for (int32_t r : removed) {
    if (!contains(isr, r)) continue;
    // The member leaving when the ISR is at min_insync or below held the high watermark.
    const bool eligible = static_cast<int32_t>(isr.size()) <= min_insync;
    erase(isr, r);
    if (eligible && !contains(elr, r)) elr.push_back(r);
  }
  if (static_cast<int32_t>(isr.size()) >= min_insync) elr.clear();
}

void expand_isr(std::vector<int32_t>& isr, std::vector<int32_t>& elr, int32_t added,
                int32_t min_insync) {
  if (!contains(isr, added)) isr.push_back(added);
  erase(elr, added);
  if (static_cast<int32_t>(isr.size()) >= min_insync) elr.clear();
}

}  // namespace weir::broker::controller
