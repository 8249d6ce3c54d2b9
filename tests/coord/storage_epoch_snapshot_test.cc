// EpochStore and SnapshotStore: durable updates, crashes, damaged files, corrupted reads,
// size bounds and snapshot retention.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "coord/zab/storage/epoch_store.h"
#include "coord/zab/storage/snapshot_store.h"
#include "coord/zab/storage/storage_io.h"
#include "tests/coord/storage_test_util.h"

namespace weir::coord::zab {
namespace {

using storage_test::DiskHarness;
using storage_test::EventCounter;
using storage_test::payload_for;

constexpr char kDir[] = "/data/zab";

void overwrite(sim::SimDisk& disk, const std::string& path, uint64_t offset,
               const std::vector<uint8_t>& bytes) {
  auto f = disk.open(path, OpenMode::kCreate);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->write(offset, bytes).ok());
  ASSERT_TRUE((*f)->sync().ok());
  ASSERT_TRUE(disk.sync_directory(kDir).ok());
}

std::vector<uint8_t> contents(sim::SimDisk& disk, const std::string& path) {
  auto data = read_file(disk, path, 1 << 24);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *data : std::vector<uint8_t>{};
}

// ---------------------------------------------------------------------------------------------
// EpochStore

TEST(EpochStore, MissingFilesAreZeroAndUpdatesSurviveCrashes) {
  for (uint64_t seed = 0; seed < 5; ++seed) {
    DiskHarness h(seed);
    h.run([&] {
      auto store = EpochStore::open(h.disk(), kDir);
      ASSERT_TRUE(store.ok()) << store.status();
      EXPECT_EQ((*store)->accepted_epoch(), 0);
      EXPECT_EQ((*store)->current_epoch(), 0);
      ASSERT_TRUE((*store)->set_accepted_epoch(5).ok());
      ASSERT_TRUE((*store)->set_current_epoch(4).ok());
      ASSERT_TRUE((*store)->set_accepted_epoch(6).ok());
    });
    h.disk().crash();
    h.run([&] {
      auto store = EpochStore::open(h.disk(), kDir);
      ASSERT_TRUE(store.ok()) << store.status();
      EXPECT_EQ((*store)->accepted_epoch(), 6);
      EXPECT_EQ((*store)->current_epoch(), 4);
    });
  }
}

TEST(EpochStore, DamagedFileIsAnErrorNotZero) {
  DiskHarness h(1);
  h.run([&] {
    ASSERT_TRUE((*EpochStore::open(h.disk(), kDir))->set_accepted_epoch(9).ok());
    const std::string path = std::string(kDir) + "/acceptedEpoch";
    auto bytes = contents(h.disk(), path);
    ASSERT_EQ(bytes.size(), EpochStore::kFileBytes);
    bytes[9] ^= 0x01;  // the value
    overwrite(h.disk(), path, 0, bytes);
    EXPECT_EQ(EpochStore::open(h.disk(), kDir).status().code(), absl::StatusCode::kDataLoss);
    overwrite(h.disk(), path, EpochStore::kFileBytes, {1, 2, 3});  // wrong size
    EXPECT_EQ(EpochStore::open(h.disk(), kDir).status().code(), absl::StatusCode::kDataLoss);
  });
}

TEST(EpochStore, CorruptedReadsAreReadAgain) {
  DiskHarness h(2);
  h.run([&] {
    {
      auto store = *EpochStore::open(h.disk(), kDir);
      ASSERT_TRUE(store->set_accepted_epoch(7).ok());
      ASSERT_TRUE(store->set_current_epoch(7).ok());
    }
    h.disk().set_faults(sim::DiskFaults{.corrupt_read_probability = 0.5});
    for (int i = 0; i < 10; ++i) {
      auto store = EpochStore::open(h.disk(), kDir);
      ASSERT_TRUE(store.ok()) << store.status();
      EXPECT_EQ((*store)->accepted_epoch(), 7);
      EXPECT_EQ((*store)->current_epoch(), 7);
    }
    EXPECT_GT(h.disk().stats().corrupted_reads, 5u);
  });
}

TEST(EpochStore, FailedUpdateKeepsTheOldValueInMemory) {
  DiskHarness h(3);
  h.run([&] {
    auto store = *EpochStore::open(h.disk(), kDir);
    ASSERT_TRUE(store->set_accepted_epoch(3).ok());
    h.disk().set_faults(sim::DiskFaults{.sync_error_probability = 1});
    EXPECT_FALSE(store->set_accepted_epoch(4).ok());
    EXPECT_EQ(store->accepted_epoch(), 3);
    h.disk().set_faults({});
    ASSERT_TRUE(store->set_accepted_epoch(4).ok());  // a retry writes everything afresh
  });
  h.disk().crash();
  h.run([&] { EXPECT_EQ((*EpochStore::open(h.disk(), kDir))->accepted_epoch(), 4); });
}

// ---------------------------------------------------------------------------------------------
// SnapshotStore

std::vector<uint8_t> tree_at(int64_t zxid) {
  return payload_for(Zxid(zxid), 9, 1000 + zxid);
}

TEST(SnapshotStore, SaveLoadAndCrash) {
  for (uint64_t seed = 0; seed < 5; ++seed) {
    DiskHarness h(seed);
    h.run([&] {
      auto store = *SnapshotStore::open(h.disk(), kDir);
      auto none = store->load_latest();
      ASSERT_TRUE(none.ok());
      EXPECT_FALSE(none->has_value());
      ASSERT_TRUE(store->save(Zxid(10), tree_at(10)).ok());
      ASSERT_TRUE(store->save(Zxid(20), tree_at(20)).ok());
    });
    h.disk().crash();
    h.run([&] {
      auto store = *SnapshotStore::open(h.disk(), kDir);
      auto latest = store->load_latest();
      ASSERT_TRUE(latest.ok()) << latest.status();
      ASSERT_TRUE(latest->has_value());
      EXPECT_EQ((*latest)->zxid, Zxid(20));
      EXPECT_EQ((*latest)->data, tree_at(20));
    });
  }
}

TEST(SnapshotStore, EmptySnapshotRoundTrips) {
  DiskHarness h(4);
  h.run([&] {
    auto store = *SnapshotStore::open(h.disk(), kDir);
    ASSERT_TRUE(store->save(Zxid(0), {}).ok());
    auto latest = store->load_latest();
    ASSERT_TRUE(latest.ok() && latest->has_value());
    EXPECT_EQ((*latest)->zxid, Zxid(0));
    EXPECT_TRUE((*latest)->data.empty());
  });
}

TEST(SnapshotStore, KeepsTheNewestN) {
  DiskHarness h(5);
  h.run([&] {
    auto store = *SnapshotStore::open(h.disk(), kDir, SnapshotStoreOptions{.retain = 2});
    for (int64_t z : {5, 9, 12, 30}) ASSERT_TRUE(store->save(Zxid(z), tree_at(z)).ok());
    auto zxids = store->list();
    ASSERT_TRUE(zxids.ok());
    EXPECT_EQ(*zxids, (std::vector<Zxid>{Zxid(12), Zxid(30)}));
  });
}

TEST(SnapshotStore, DamagedNewestFallsBackToThePrevious) {
  EventCounter damaged;
  damaged.type_filter = "SnapshotDamaged";
  DiskHarness h(6);
  h.run([&] {
    auto store = *SnapshotStore::open(h.disk(), kDir);
    ASSERT_TRUE(store->save(Zxid(10), tree_at(10)).ok());
    ASSERT_TRUE(store->save(Zxid(20), tree_at(20)).ok());
    ASSERT_TRUE(store->save(Zxid(30), tree_at(30)).ok());
    const std::string newest = std::string(kDir) + "/snapshot.000000000000001e";
    const std::string middle = std::string(kDir) + "/snapshot.0000000000000014";
    // A flipped bit in the data of the newest, a broken header in the next.
    auto bytes = contents(h.disk(), newest);
    overwrite(h.disk(), newest, 500, {static_cast<uint8_t>(bytes[500] ^ 0x40)});
    auto latest = store->load_latest();
    ASSERT_TRUE(latest.ok() && latest->has_value());
    EXPECT_EQ((*latest)->zxid, Zxid(20));
    EXPECT_EQ((*latest)->data, tree_at(20));
    overwrite(h.disk(), middle, 16, {0xff});  // the zxid field
    latest = store->load_latest();
    ASSERT_TRUE(latest.ok() && latest->has_value());
    EXPECT_EQ((*latest)->zxid, Zxid(10));
    // A truncated oldest: nothing valid is left.
    auto f = *h.disk().open(std::string(kDir) + "/snapshot.000000000000000a", OpenMode::kReadWrite);
    ASSERT_TRUE(f->truncate(SnapshotStore::kHeaderBytes + 10).ok());
    latest = store->load_latest();
    ASSERT_TRUE(latest.ok());
    EXPECT_FALSE(latest->has_value());
  });
  EXPECT_EQ(damaged.count, 1u + 2u + 3u);
}

TEST(SnapshotStore, SizeBoundsHoldForSaveAndLoad) {
  DiskHarness h(7);
  h.run([&] {
    SnapshotStoreOptions small{.snapshot_bytes_max = 2000};
    auto store = *SnapshotStore::open(h.disk(), kDir, small);
    EXPECT_EQ(store->save(Zxid(1), std::vector<uint8_t>(2001)).code(),
              absl::StatusCode::kInvalidArgument);
    // A file bigger than the bound (written by a store with a larger one) is never read in.
    auto big = *SnapshotStore::open(h.disk(), kDir);
    ASSERT_TRUE(big->save(Zxid(2), std::vector<uint8_t>(5000, 7)).ok());
    auto latest = store->load_latest();
    ASSERT_TRUE(latest.ok());
    EXPECT_FALSE(latest->has_value());
    // A header claiming a huge length is damage, not an allocation.
    ASSERT_TRUE(store->save(Zxid(3), tree_at(3)).ok());
    std::vector<uint8_t> huge(8);
    store_u64(huge.data(), uint64_t{1} << 60);
    overwrite(h.disk(), std::string(kDir) + "/snapshot.0000000000000003", 24, huge);
    latest = store->load_latest();
    ASSERT_TRUE(latest.ok());
    EXPECT_FALSE(latest->has_value());
  });
}

TEST(SnapshotStore, CrashDuringSaveKeepsThePreviousAndCleansUp) {
  for (uint64_t seed = 0; seed < 8; ++seed) {
    DiskHarness h(seed);
    std::unique_ptr<SnapshotStore> store;
    h.run([&] {
      store = *SnapshotStore::open(h.disk(), kDir);
      ASSERT_TRUE(store->save(Zxid(10), tree_at(10)).ok());
    });
    bool saved = false;
    auto saver = spawn("saver", [&] { saved = store->save(Zxid(20), tree_at(20)).ok(); });
    h.run([&] { delay(from_seconds(0.0005 * static_cast<double>(seed))); });
    h.disk().crash();
    h.run([&] { delay(1s); });
    saver.reset();
    h.run([&] {
      store = *SnapshotStore::open(h.disk(), kDir);
      auto latest = store->load_latest();
      ASSERT_TRUE(latest.ok() && latest->has_value()) << "seed " << seed;
      EXPECT_EQ((*latest)->zxid, saved ? Zxid(20) : (*latest)->zxid) << "seed " << seed;
      EXPECT_EQ((*latest)->data, tree_at((*latest)->zxid.value())) << "seed " << seed;
      ASSERT_TRUE(store->save(Zxid(30), tree_at(30)).ok());
      const auto names = h.disk().list(kDir);
      ASSERT_TRUE(names.ok());
      for (const auto& name : *names) {
        EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
      }
    });
  }
}

TEST(SnapshotStore, CorruptedReadsAreReadAgain) {
  DiskHarness h(8);
  h.run([&] {
    auto store = *SnapshotStore::open(h.disk(), kDir);
    ASSERT_TRUE(store->save(Zxid(10), tree_at(10)).ok());
    ASSERT_TRUE(store->save(Zxid(20), tree_at(20)).ok());
    h.disk().set_faults(sim::DiskFaults{.corrupt_read_probability = 0.5});
    for (int i = 0; i < 10; ++i) {
      auto latest = store->load_latest();
      ASSERT_TRUE(latest.ok() && latest->has_value()) << latest.status();
      EXPECT_EQ((*latest)->zxid, Zxid(20));  // never a needless fallback
      EXPECT_EQ((*latest)->data, tree_at(20));
    }
  });
}

}  // namespace
}  // namespace weir::coord::zab
