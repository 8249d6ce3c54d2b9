#include "workloads/coord_reads.h"

#include "absl/strings/str_cat.h"

namespace weir::workloads {

namespace {

std::string describe(bool exists, int32_t version, const std::optional<std::string>& data) {
  return exists ? absl::StrCat("version ", version, " data ", data.value_or("?")) : "no node";
}

bool explains(const CommittedValue& v, const PlainRead& r) {
  const bool exists = v.data.has_value();
  return exists == r.exists &&
         (!exists || (v.version == r.version && (!r.data || *r.data == *v.data)));
}

}  // namespace

std::optional<std::string> check_plain_reads(
    const std::vector<PlainRead>& reads,
    const std::map<std::string, std::vector<CommittedValue>>& timelines) {
  for (const PlainRead& r : reads) {
    const std::vector<CommittedValue>& timeline = timelines.at(r.path);
    const CommittedValue* start = &value_at(timeline, r.zxid_before);
    const CommittedValue* end = timeline.data() + timeline.size();
    bool found = false;
    for (const CommittedValue* v = start; v != end && !found; ++v) {
      if (v != start && v->zxid > r.zxid_after) break;
      found = explains(*v, r);
    }
    if (!found) {
      return absl::StrCat(
          "plain read by client ", r.client, " of ", r.path, " saw ",
          describe(r.exists, r.version, r.data), ", which it never had between zxid ",
          r.zxid_before, " (seen before) and ", r.zxid_after, " (seen after); at the first it had ",
          describe(start->data.has_value(), start->version, start->data));
    }
  }
  return std::nullopt;
}

}  // namespace weir::workloads
