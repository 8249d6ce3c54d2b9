#include "workloads/controller_witness.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace weir::workloads {
namespace {

constexpr size_t kViolationsMax = 10;

int64_t int_detail(const TraceRecord& r, std::string_view key) {
  int64_t v = -1;
  if (!absl::SimpleAtoi(r.detail(key), &v)) return -1;
  return v;
}

}  // namespace

ControllerWitness::ControllerWitness() {
  Tracer::instance().add_sink(this);
}

ControllerWitness::~ControllerWitness() {
  Tracer::instance().remove_sink(this);
}

void ControllerWitness::note(std::string violation) {
  if (violations_.size() < kViolationsMax) violations_.push_back(std::move(violation));
}

void ControllerWitness::write(const TraceRecord& record) {
  if (record.type == "ControllerFenced") {
    ++fenced_;
    return;
  }
  const bool claim = record.type == "ControllerActive";
  if (!claim && record.type != "ControllerWrite") return;
  const auto broker = static_cast<int32_t>(int_detail(record, "BrokerId"));
  const auto epoch = static_cast<int32_t>(int_detail(record, "Epoch"));
  const int64_t zxid = int_detail(record, "Zxid");
  if (claim) {
    auto [it, fresh] =
        claims_.emplace(epoch, Claim{broker, zxid, to_seconds(record.time.time_since_epoch())});
    if (!fresh)
      note(absl::StrCat("brokers ", it->second.broker, " and ", broker,
                        " both claimed controller epoch ", epoch));
    return;
  }
  ++writes_;
  Write& w = last_write_[epoch];
  if (zxid > w.zxid) w = Write{broker, zxid};
}

std::vector<std::string> ControllerWitness::violations() const {
  std::vector<std::string> out = violations_;
  auto add = [&](std::string v) {
    if (out.size() < kViolationsMax) out.push_back(std::move(v));
  };
  // Claims in zxid order: a newer epoch was made by a later write.
  int64_t previous_zxid = 0;
  int32_t previous_epoch = 0;
  for (const auto& [epoch, c] : claims_) {
    if (c.zxid <= previous_zxid)
      add(absl::StrCat("controller epoch ", epoch, " was claimed at zxid ", c.zxid,
                       ", not after epoch ", previous_epoch, "'s claim at zxid ", previous_zxid));
    previous_zxid = c.zxid;
    previous_epoch = epoch;
  }
  // No write of epoch e ordered after the claim of any epoch above e.
  for (const auto& [epoch, w] : last_write_) {
    for (auto it = claims_.upper_bound(epoch); it != claims_.end(); ++it) {
      if (w.zxid <= it->second.zxid) continue;
      add(absl::StrCat("broker ", w.broker, ", controller of epoch ", epoch,
                       ", wrote to coord at zxid ", w.zxid, " after broker ", it->second.broker,
                       " claimed epoch ", it->first, " at zxid ", it->second.zxid,
                       " (a replaced controller acted)"));
      break;
    }
  }
  return out;
}

}  // namespace weir::workloads
