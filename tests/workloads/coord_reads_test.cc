// The plain-read checker must accept every read some committed state in its window explains and
// report reads from the past, from the future, and of values never committed.
#include <gtest/gtest.h>

#include "workloads/coord_reads.h"

namespace weir::workloads {
namespace {

// /a: absent until zxid 10, "x" v0 from 10, "y" v1 from 20, deleted at 30.
std::map<std::string, std::vector<CommittedValue>> timelines() {
  return {{"/a",
           {CommittedValue{0, std::nullopt, 0}, CommittedValue{10, "x", 0},
            CommittedValue{20, "y", 1}, CommittedValue{30, std::nullopt, 0}}}};
}

PlainRead read(int64_t before, int64_t after, std::optional<std::string> data,
               int32_t version = 0) {
  PlainRead r;
  r.client = 7;
  r.path = "/a";
  r.zxid_before = before;
  r.zxid_after = after;
  r.exists = data.has_value();
  r.data = std::move(data);
  r.version = version;
  return r;
}

TEST(CoordPlainReads, ReadsInsideTheirWindowPass) {
  EXPECT_EQ(check_plain_reads({read(0, 5, std::nullopt)}, timelines()), std::nullopt);
  EXPECT_EQ(check_plain_reads({read(12, 15, "x", 0)}, timelines()), std::nullopt);
  // Stale but not older than what the session had seen: any state in [before, after].
  EXPECT_EQ(check_plain_reads({read(15, 25, "x", 0)}, timelines()), std::nullopt);
  EXPECT_EQ(check_plain_reads({read(15, 25, "y", 1)}, timelines()), std::nullopt);
  EXPECT_EQ(check_plain_reads({read(25, 40, std::nullopt)}, timelines()), std::nullopt);
  // exists() shows no data: only existence and version count.
  PlainRead exists_only = read(20, 20, "", 1);
  exists_only.data.reset();
  EXPECT_EQ(check_plain_reads({exists_only}, timelines()), std::nullopt);
}

TEST(CoordPlainReads, AReadFromThePastIsReported) {
  // The session had seen zxid 25 (say, its own write of "y"), then read "x".
  auto bad = check_plain_reads({read(12, 15, "x", 0), read(25, 26, "x", 0)}, timelines());
  ASSERT_TRUE(bad.has_value());
  EXPECT_NE(bad->find("saw version 0 data x"), std::string::npos) << *bad;
  EXPECT_NE(bad->find("between zxid 25"), std::string::npos) << *bad;
}

TEST(CoordPlainReads, AReadFromTheFutureOrNeverCommittedIsReported) {
  EXPECT_TRUE(check_plain_reads({read(12, 15, "y", 1)}, timelines()).has_value());  // y came at 20
  EXPECT_TRUE(check_plain_reads({read(12, 40, "z", 1)}, timelines()).has_value());  // never
  EXPECT_TRUE(check_plain_reads({read(12, 40, "x", 3)}, timelines()).has_value());  // wrong version
  EXPECT_TRUE(check_plain_reads({read(31, 40, "y", 1)}, timelines()).has_value());  // deleted at 30
}

}  // namespace
}  // namespace weir::workloads
