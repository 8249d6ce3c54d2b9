#include "workloads/coord_reaped.h"

#include "absl/strings/str_cat.h"
#include "buggify/code_probe.h"
#include "coord/client/errors.h"
#include "coord/tree/types.h"
#include "runtime/future.h"
#include "runtime/scheduler.h"

namespace weir::workloads {

namespace cc = coord::client;
using coord::jute::ErrorCode;

void use_container(cc::CoordClient& client, IRandom& random, int32_t session, ReapedStats& stats) {
  const std::string container = absl::StrCat(kContainerParent, "/c", random.below(3));
  auto made =
      await(client.create(container, "", cc::open_acl_unsafe(), cc::CreateMode::kContainer));
  if (!made.ok() && cc::zk_error(made.status()) != ErrorCode::kNodeExists) return;
  // The reaper may take the container between the two creates (NoNode): that is its right.
  auto child =
      await(client.create(absl::StrCat(container, "/s", session), "", cc::open_acl_unsafe()));
  if (!child.ok()) {
    CODE_PROBE(cc::zk_error(child.status()) == ErrorCode::kNoNode,
               "coord_sessions.container_reaped_under_us");
    return;
  }
  if (await(client.remove(*child)).ok()) ++stats.containers_used;
}

void create_ttl_node(cc::CoordClient& client, IRandom& random, int32_t session,
                     ReapedStats& stats) {
  const int64_t ttl_ms = 1 + static_cast<int64_t>(random.below(kTtlMaxMs));
  auto made = await(client.create_ttl(absl::StrCat(kTtlParent, "/t", session, "-"), "",
                                      cc::open_acl_unsafe(),
                                      cc::CreateMode::kPersistentSequentialWithTtl, ttl_ms));
  if (made.ok()) ++stats.ttl_created;
}

namespace {

// The ensemble's clock: the mtime the leader stamps on a write now.
absl::StatusOr<int64_t> ensemble_now_ms(cc::CoordClient& client) {
  auto stat = await(client.set_data(kTtlParent, ""));
  if (!stat.ok()) return stat.status();
  return stat->mtime;
}

// One overdue node ("" if none), reading every candidate's Stat.
absl::StatusOr<std::string> first_overdue(cc::CoordClient& client, int64_t now_ms, bool check_ttls,
                                          int64_t slack_ms) {
  for (const std::string_view parent : {kContainerParent, kTtlParent}) {
    const bool ttls = parent == kTtlParent;
    if (ttls && !check_ttls) continue;
    auto children = await(client.get_children(std::string(parent)));
    if (!children.ok()) return children.status();
    for (const std::string& name : *children) {
      const std::string path = absl::StrCat(std::string(parent), "/", name);
      auto stat = await(client.exists(path));
      if (!stat.ok()) return stat.status();
      if (!stat->has_value() || (*stat)->numChildren > 0) continue;
      if (!ttls && (*stat)->cversion > 0) return "emptied container " + path;
      const int64_t ttl_ms = coord::ttl_of_owner((*stat)->ephemeralOwner.value());
      if (ttls && (*stat)->mtime + ttl_ms + slack_ms < now_ms) {
        return absl::StrCat("TTL node ", path, " (mtime ", (*stat)->mtime, ", TTL ", ttl_ms,
                            " ms) at ensemble time ", now_ms);
      }
    }
  }
  return std::string();
}

}  // namespace

std::string await_reaped(const std::string& connect, Duration bound, int64_t slack_ms,
                         ReapedStats& stats) {
  const TimePoint start = Scheduler::current().now();
  auto client = cc::CoordClient::create(connect, {.request_timeout = 5s});
  WEIR_ASSERT(client.ok());
  std::string left = "(no read yet)";
  std::optional<int64_t> first_ms;
  bool clock_moved = false;
  while (Scheduler::current().now() - start < bound) {
    auto now_ms = ensemble_now_ms(**client);
    if (now_ms.ok()) {
      if (!first_ms) first_ms = *now_ms;
      // A stamp past the first is the leader's wall clock itself, not the newest old stamp.
      clock_moved = clock_moved || *now_ms > *first_ms;
      auto overdue = first_overdue(**client, *now_ms, clock_moved, slack_ms);
      if (overdue.ok()) left = *overdue;
      if (overdue.ok() && overdue->empty() && clock_moved) break;
    }
    delay(500ms);
  }
  if (!clock_moved) ++stats.ttl_clock_frozen;
  stats.reap_wait_seconds = to_seconds(Scheduler::current().now() - start);
  (void)await(timeout((*client)->close(), 5s));
  return left;
}

}  // namespace weir::workloads
