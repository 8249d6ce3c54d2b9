#include "sim/disk.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "runtime/future.h"
#include "runtime/trace.h"
#include "runtime/virtual_time.h"

namespace weir::sim {
namespace {

constexpr uint64_t kPage = SimDisk::kPageSize;

absl::Span<const uint8_t> bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

class CapturingSink final : public ITraceSink {
 public:
  CapturingSink() { Tracer::instance().add_sink(this); }
  ~CapturingSink() override { Tracer::instance().remove_sink(this); }
  void write(const TraceRecord& record) override { records.push_back(record); }
  size_t count(std::string_view type) const {
    size_t n = 0;
    for (const auto& r : records) n += r.type == type ? 1 : 0;
    return n;
  }
  std::vector<TraceRecord> records;
};

// Each test runs its body as an actor, on virtual time, against a disk seeded per test.
class SimDiskTest : public ::testing::Test {
 protected:
  void run(std::function<void()> body) {
    auto f = spawn("test", std::move(body));
    ASSERT_TRUE(run_until_ready(f).ok());
  }

  // Reads a whole file, or "<missing>".
  static std::string contents(SimDisk& disk, const std::string& path) {
    if (!disk.exists(path)) return "<missing>";
    auto data = read_file(disk, path, 1 << 24);
    EXPECT_TRUE(data.ok()) << data.status();
    if (!data.ok()) return "<error>";
    return std::string(data->begin(), data->end());
  }

  static void put(SimDisk& disk, const std::string& path, const std::string& data, bool sync_file,
                  bool sync_dir) {
    auto f = disk.open(path, OpenMode::kCreate);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE((*f)->truncate(0).ok());
    ASSERT_TRUE((*f)->write(0, bytes(data)).ok());
    if (sync_file) {
      ASSERT_TRUE((*f)->sync().ok());
    }
    if (sync_dir) {
      const size_t slash = path.rfind('/');
      ASSERT_TRUE(disk.sync_directory(slash == 0 ? "/" : path.substr(0, slash)).ok());
    }
  }

  VirtualTimeSource time_;
  Scheduler scheduler_{time_};
  DeterministicRandom random_{42};
  SimDisk disk_{random_, DiskOptions{.name = "m1"}};
};

TEST_F(SimDiskTest, OpenModes) {
  run([&] {
    ASSERT_TRUE(disk_.create_directories("/data").ok());
    EXPECT_EQ(disk_.open("/data/f", OpenMode::kRead).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(disk_.open("/data/f", OpenMode::kReadWrite).status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(disk_.open("/nodir/f", OpenMode::kCreate).status().code(),
              absl::StatusCode::kNotFound);
    auto created = disk_.open("/data/f", OpenMode::kCreateExclusive);
    ASSERT_TRUE(created.ok());
    EXPECT_EQ((*created)->path(), "/data/f");
    EXPECT_EQ(disk_.open("/data/f", OpenMode::kCreateExclusive).status().code(),
              absl::StatusCode::kAlreadyExists);
    EXPECT_TRUE(disk_.open("/data/f", OpenMode::kCreate).ok());
    EXPECT_TRUE(disk_.open("/data/f", OpenMode::kReadWrite).ok());
    EXPECT_EQ(disk_.open("/data", OpenMode::kRead).status().code(),
              absl::StatusCode::kFailedPrecondition);
    auto reader = disk_.open("/data/f", OpenMode::kRead);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ((*reader)->write(0, bytes("x")).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*reader)->append(bytes("x")).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*reader)->truncate(9).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE((*reader)->sync().ok());  // fsync on a read-only descriptor is allowed
  });
}

TEST_F(SimDiskTest, WriteReadAppendTruncate) {
  run([&] {
    auto f = *disk_.open("/f", OpenMode::kCreate);
    ASSERT_TRUE(f->write(0, bytes("hello")).ok());
    ASSERT_TRUE(f->append(bytes(" world")).ok());
    EXPECT_EQ(*f->size(), 11u);
    ASSERT_TRUE(f->write(kPage + 3, bytes("far")).ok());  // leaves a zero-filled hole
    EXPECT_EQ(*f->size(), kPage + 6);
    std::string expected = "hello world" + std::string(kPage + 3 - 11, '\0') + "far";
    EXPECT_EQ(contents(disk_, "/f"), expected);

    std::vector<uint8_t> buffer(100, 0xAA);
    auto n = f->read(kPage + 1, absl::MakeSpan(buffer));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 5u);  // short only at end of file
    EXPECT_EQ(std::string(buffer.begin(), buffer.begin() + 5), std::string("\0\0far", 5));
    EXPECT_EQ(*f->read(kPage + 6, absl::MakeSpan(buffer)), 0u);
    EXPECT_EQ(*f->read(1 << 30, absl::MakeSpan(buffer)), 0u);

    ASSERT_TRUE(f->truncate(5).ok());
    EXPECT_EQ(contents(disk_, "/f"), "hello");
    ASSERT_TRUE(f->truncate(8).ok());  // growing shows zeros, not the old bytes
    EXPECT_EQ(contents(disk_, "/f"), std::string("hello\0\0\0", 8));
    ASSERT_TRUE(f->write(2, bytes("")).ok());
    EXPECT_EQ(*f->size(), 8u);
    EXPECT_EQ(f->write(UINT64_MAX - 1, bytes("xyz")).code(), absl::StatusCode::kInvalidArgument);
  });
}

TEST_F(SimDiskTest, HugeReadBufferIsNotAllocated) {
  run([&] {
    put(disk_, "/f", "tiny", true, true);
    auto f = *disk_.open("/f", OpenMode::kRead);
    std::vector<uint8_t> real(16, 0);
    // A span claiming a terabyte: only the file's four bytes may be touched.
    absl::Span<uint8_t> huge(real.data(), uint64_t{1} << 40);
    auto n = f->read(0, huge);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 4u);
    EXPECT_EQ(std::string(real.begin(), real.begin() + 4), "tiny");
  });
}

TEST_F(SimDiskTest, DirectoriesListAndExists) {
  run([&] {
    ASSERT_TRUE(disk_.create_directories("/a/b/c").ok());
    ASSERT_TRUE(disk_.create_directories("/a/b/c").ok());  // idempotent
    ASSERT_TRUE(disk_.create_directories("/a-z").ok());
    put(disk_, "/a/zeta", "1", false, false);
    put(disk_, "/a/alpha", "2", false, false);
    auto names = disk_.list("/a");
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(*names, (std::vector<std::string>{"alpha", "b", "zeta"}));
    EXPECT_EQ(*disk_.list("/"), (std::vector<std::string>{"a", "a-z"}));
    EXPECT_TRUE(disk_.list("/a/b/c")->empty());
    EXPECT_EQ(disk_.list("/nope").status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(disk_.list("/a/alpha").status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(disk_.create_directories("/a/alpha/x").code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(disk_.exists("/a/b"));
    EXPECT_TRUE(disk_.exists("//a///alpha/"));  // paths are normalized
    EXPECT_TRUE(disk_.exists("/a/./b/c"));
    EXPECT_FALSE(disk_.exists("/a/b/../alpha"));
    EXPECT_EQ(disk_.open("/a/../x", OpenMode::kCreate).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(disk_.exists("/a/nothing"));
  });
}

TEST_F(SimDiskTest, RenameAndRemove) {
  run([&] {
    ASSERT_TRUE(disk_.create_directories("/d/sub").ok());
    put(disk_, "/d/a", "AAA", false, false);
    put(disk_, "/d/b", "BBB", false, false);
    ASSERT_TRUE(disk_.rename("/d/a", "/d/b").ok());  // replaces the target
    EXPECT_FALSE(disk_.exists("/d/a"));
    EXPECT_EQ(contents(disk_, "/d/b"), "AAA");
    EXPECT_EQ(disk_.rename("/d/a", "/d/c").code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(disk_.rename("/d/b", "/d/sub").code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(disk_.rename("/d/sub", "/d/x").code(), absl::StatusCode::kUnimplemented);
    EXPECT_EQ(disk_.rename("/d/b", "/nodir/x").code(), absl::StatusCode::kNotFound);
    ASSERT_TRUE(disk_.rename("/d/b", "/d/b").ok());
    ASSERT_TRUE(disk_.rename("/d/b", "/d/sub/moved").ok());
    EXPECT_EQ(contents(disk_, "/d/sub/moved"), "AAA");

    EXPECT_EQ(disk_.remove("/d/sub").code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(disk_.remove("/d").code(), absl::StatusCode::kFailedPrecondition);
    ASSERT_TRUE(disk_.remove("/d/sub/moved").ok());
    EXPECT_EQ(disk_.remove("/d/sub/moved").code(), absl::StatusCode::kNotFound);
    ASSERT_TRUE(disk_.remove("/d/sub").ok());
    EXPECT_FALSE(disk_.exists("/d/sub"));
    EXPECT_EQ(disk_.remove("/").code(), absl::StatusCode::kInvalidArgument);
  });
}

TEST_F(SimDiskTest, HandlesFollowTheInodeThroughRenameAndRemove) {
  run([&] {
    auto f = *disk_.open("/old", OpenMode::kCreate);
    ASSERT_TRUE(f->append(bytes("abc")).ok());
    ASSERT_TRUE(disk_.rename("/old", "/new").ok());
    ASSERT_TRUE(f->append(bytes("def")).ok());
    EXPECT_EQ(contents(disk_, "/new"), "abcdef");
    ASSERT_TRUE(disk_.remove("/new").ok());
    ASSERT_TRUE(f->append(bytes("ghi")).ok());  // unlinked but open: still a file
    std::vector<uint8_t> buffer(16);
    EXPECT_EQ(*f->read(0, absl::MakeSpan(buffer)), 9u);
    EXPECT_EQ(disk_.usage_bytes(), 9u);
    f.reset();
    ASSERT_TRUE(disk_.sync_directory("/").ok());
    EXPECT_EQ(disk_.usage_bytes(), 0u);  // the last reference went away
  });
}

TEST_F(SimDiskTest, SyncedDataSurvivesCrash) {
  for (uint64_t seed = 0; seed < 30; ++seed) {
    DeterministicRandom random(seed);
    SimDisk disk(random);
    const std::string big(3 * kPage + 17, 'q');
    run([&] {
      ASSERT_TRUE(disk.create_directories("/data").ok());
      put(disk, "/data/log", big, true, true);
    });
    disk.crash();
    run([&] { EXPECT_EQ(contents(disk, "/data/log"), big) << "seed " << seed; });
  }
}

TEST_F(SimDiskTest, UnsyncedOverwriteIsLostKeptOrTornPerPage) {
  const std::string old_data(8 * kPage, 'o');
  const std::string new_data(8 * kPage, 'n');
  size_t lost = 0, kept = 0, torn = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    DeterministicRandom random(seed);
    SimDisk disk(random);
    run([&] {
      put(disk, "/f", old_data, true, true);
      auto f = *disk.open("/f", OpenMode::kReadWrite);
      ASSERT_TRUE(f->write(0, bytes(new_data)).ok());
    });
    disk.crash();
    run([&] {
      const std::string after = contents(disk, "/f");
      ASSERT_EQ(after.size(), old_data.size());
      for (uint64_t p = 0; p < 8; ++p) {
        const std::string page = after.substr(p * kPage, kPage);
        if (page == old_data.substr(0, kPage)) {
          ++lost;
          continue;
        }
        if (page == new_data.substr(0, kPage)) {
          ++kept;
          continue;
        }
        // A tear: whole sectors of new bytes, then old bytes.
        const size_t prefix = page.find('o');
        ASSERT_NE(prefix, std::string::npos);
        EXPECT_EQ(prefix % SimDisk::kSectorSize, 0u);
        EXPECT_GT(prefix, 0u);
        EXPECT_EQ(page.substr(0, prefix), std::string(prefix, 'n'));
        EXPECT_EQ(page.substr(prefix), std::string(kPage - prefix, 'o'));
        ++torn;
      }
      EXPECT_EQ(disk.stats().pages_lost + disk.stats().pages_kept + disk.stats().pages_torn, 8u);
    });
  }
  EXPECT_GT(lost, 0u);
  EXPECT_GT(kept, 0u);
  EXPECT_GT(torn, 0u);
}

TEST_F(SimDiskTest, UnsyncedSizeRevertsOrStays) {
  std::set<std::string> outcomes;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    DeterministicRandom random(seed);
    SimDisk disk(random);
    run([&] {
      put(disk, "/f", "base", true, true);
      auto f = *disk.open("/f", OpenMode::kReadWrite);
      ASSERT_TRUE(f->append(bytes("+tail")).ok());
    });
    disk.crash();
    run([&] {
      const std::string after = contents(disk, "/f");
      // Size reverted ("base"), or kept with the tail page lost (zeros) or kept.
      const std::string zeros("base\0\0\0\0\0", 9);
      EXPECT_TRUE(after == "base" || after == "base+tail" || after == zeros) << after;
      outcomes.insert(after);
    });
  }
  EXPECT_EQ(outcomes.size(), 3u);
}

TEST_F(SimDiskTest, DirectoryOperationsNeedDirectorySync) {
  std::set<std::string> created, renamed, removed;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    DeterministicRandom random(seed);
    SimDisk disk(random);
    run([&] {
      ASSERT_TRUE(disk.create_directories("/c").ok());
      ASSERT_TRUE(disk.create_directories("/r").ok());
      ASSERT_TRUE(disk.create_directories("/x").ok());
      put(disk, "/r/tmp", "R", true, true);
      put(disk, "/x/gone", "X", true, true);
      put(disk, "/c/new", "C", true, false);  // data synced, name not
      ASSERT_TRUE(disk.rename("/r/tmp", "/r/final").ok());
      ASSERT_TRUE(disk.remove("/x/gone").ok());
    });
    disk.crash();
    run([&] {
      created.insert(contents(disk, "/c/new"));
      renamed.insert(contents(disk, "/r/tmp") + "|" + contents(disk, "/r/final"));
      removed.insert(contents(disk, "/x/gone"));
    });
  }
  EXPECT_EQ(created, (std::set<std::string>{"C", "<missing>"}));
  EXPECT_EQ(renamed, (std::set<std::string>{"R|<missing>", "<missing>|R"}));
  EXPECT_EQ(removed, (std::set<std::string>{"X", "<missing>"}));
}

// Each directory keeps or reverts on its own, so an unsynced move can duplicate or lose a file.
TEST_F(SimDiskTest, CrossDirectoryRenameNeedsBothDirectoriesSynced) {
  for (bool sync_both : {false, true}) {
    std::set<std::string> outcomes;
    for (uint64_t seed = 0; seed < 40; ++seed) {
      DeterministicRandom random(seed);
      SimDisk disk(random);
      run([&] {
        ASSERT_TRUE(disk.create_directories("/x").ok());
        ASSERT_TRUE(disk.create_directories("/y").ok());
        put(disk, "/x/f", "F", true, true);
        ASSERT_TRUE(disk.rename("/x/f", "/y/f").ok());
        if (sync_both) {
          ASSERT_TRUE(disk.sync_directory("/x").ok());
          ASSERT_TRUE(disk.sync_directory("/y").ok());
        }
      });
      disk.crash();
      run([&] { outcomes.insert(contents(disk, "/x/f") + "|" + contents(disk, "/y/f")); });
    }
    if (sync_both) {
      EXPECT_EQ(outcomes, (std::set<std::string>{"<missing>|F"}));
    } else {
      EXPECT_EQ(outcomes, (std::set<std::string>{"F|<missing>", "<missing>|F", "F|F",
                                                 "<missing>|<missing>"}));
    }
  }
}

TEST_F(SimDiskTest, SyncedDirectoryOperationsSurvive) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    DeterministicRandom random(seed);
    SimDisk disk(random);
    run([&] {
      ASSERT_TRUE(disk.create_directories("/r").ok());
      put(disk, "/r/tmp", "R", true, true);
      put(disk, "/r/doomed", "D", true, true);
      ASSERT_TRUE(disk.rename("/r/tmp", "/r/final").ok());
      ASSERT_TRUE(disk.remove("/r/doomed").ok());
      ASSERT_TRUE(disk.sync_directory("/r").ok());
    });
    disk.crash();
    run([&] {
      EXPECT_EQ(*disk.list("/r"), std::vector<std::string>{"final"});
      EXPECT_EQ(contents(disk, "/r/final"), "R");
    });
  }
}

TEST_F(SimDiskTest, HandlesAreDeadAfterCrashAndCleanShutdown) {
  for (bool clean : {false, true}) {
    std::unique_ptr<IFile> f;
    run([&] {
      put(disk_, "/f", "data", true, true);
      f = *disk_.open("/f", OpenMode::kReadWrite);
    });
    const uint64_t boot = disk_.boot_count();
    clean ? disk_.clean_shutdown() : disk_.crash();
    EXPECT_EQ(disk_.boot_count(), boot + 1);
    run([&] {
      std::vector<uint8_t> buffer(4);
      EXPECT_EQ(f->read(0, absl::MakeSpan(buffer)).status().code(),
                absl::StatusCode::kFailedPrecondition);
      EXPECT_FALSE(f->write(0, bytes("x")).ok());
      EXPECT_FALSE(f->append(bytes("x")).ok());
      EXPECT_FALSE(f->truncate(0).ok());
      EXPECT_FALSE(f->sync().ok());
      EXPECT_FALSE(f->size().ok());
      f.reset();
      EXPECT_EQ(contents(disk_, "/f"), "data");  // a new handle works
    });
  }
}

TEST_F(SimDiskTest, CleanShutdownLosesNothing) {
  run([&] {
    ASSERT_TRUE(disk_.create_directories("/d").ok());
    put(disk_, "/d/a", std::string(5 * kPage, 'a'), false, false);
    put(disk_, "/d/b", "bee", false, false);
    ASSERT_TRUE(disk_.rename("/d/b", "/d/c").ok());
  });
  disk_.clean_shutdown();
  disk_.crash();  // nothing is left unsynced, so a crash now changes nothing
  run([&] {
    EXPECT_EQ(*disk_.list("/d"), (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(contents(disk_, "/d/a"), std::string(5 * kPage, 'a'));
    EXPECT_EQ(contents(disk_, "/d/c"), "bee");
  });
  EXPECT_EQ(disk_.stats().pages_lost + disk_.stats().pages_torn, 0u);
}

TEST_F(SimDiskTest, InjectedReadAndWriteErrors) {
  CapturingSink sink;
  run([&] {
    put(disk_, "/f", "stable", true, true);
    auto f = *disk_.open("/f", OpenMode::kReadWrite);
    disk_.set_faults(DiskFaults{.read_error_probability = 1, .write_error_probability = 1});
    std::vector<uint8_t> buffer(6);
    EXPECT_EQ(f->read(0, absl::MakeSpan(buffer)).status().code(), absl::StatusCode::kUnknown);
    EXPECT_EQ(f->write(0, bytes("CHANGED")).code(), absl::StatusCode::kUnknown);
    EXPECT_FALSE(f->append(bytes("more")).ok());
    EXPECT_FALSE(f->truncate(0).ok());
    disk_.set_faults({});
    EXPECT_EQ(contents(disk_, "/f"), "stable");  // failed writes had no effect
  });
  EXPECT_EQ(disk_.stats().read_errors, 1u);
  EXPECT_EQ(disk_.stats().write_errors, 3u);
  EXPECT_EQ(sink.count("SimDiskFault"), 4u);
  for (const auto& r : sink.records) EXPECT_NE(r.severity, Severity::kError);
}

TEST_F(SimDiskTest, MetadataErrorsHaveNoEffect) {
  run([&] {
    put(disk_, "/f", "x", true, true);
    disk_.set_faults(DiskFaults{.metadata_error_probability = 1});
    EXPECT_FALSE(disk_.open("/g", OpenMode::kCreate).ok());
    EXPECT_FALSE(disk_.rename("/f", "/g").ok());
    EXPECT_FALSE(disk_.remove("/f").ok());
    EXPECT_FALSE(disk_.list("/").ok());
    EXPECT_FALSE(disk_.create_directories("/d").ok());
    disk_.set_faults({});
    EXPECT_EQ(*disk_.list("/"), std::vector<std::string>{"f"});
  });
  EXPECT_EQ(disk_.stats().metadata_errors, 5u);
}

// Linux semantics after a writeback error: pages the failed fsync dropped are never written by
// a later, successful fsync, so they are lost at the next power loss.
TEST_F(SimDiskTest, FailedSyncDropsPagesForGood) {
  const std::string old_data(16 * kPage, 'o');
  const std::string new_data(16 * kPage, 'n');
  run([&] {
    put(disk_, "/f", old_data, true, true);
    auto f = *disk_.open("/f", OpenMode::kReadWrite);
    ASSERT_TRUE(f->write(0, bytes(new_data)).ok());
    disk_.set_faults(DiskFaults{.sync_error_probability = 1});
    EXPECT_EQ(f->sync().code(), absl::StatusCode::kUnknown);
    disk_.set_faults({});
    EXPECT_TRUE(f->sync().ok());
    EXPECT_EQ(contents(disk_, "/f"), new_data);  // the cache still shows the new bytes
  });
  const uint64_t dropped = disk_.stats().pages_dropped_by_failed_sync;
  EXPECT_GT(dropped, 0u);
  EXPECT_LT(dropped, 16u);
  disk_.crash();
  run([&] {
    const std::string after = contents(disk_, "/f");
    uint64_t old_pages = 0;
    for (uint64_t p = 0; p < 16; ++p) {
      const std::string page = after.substr(p * kPage, kPage);
      ASSERT_TRUE(page == old_data.substr(0, kPage) || page == new_data.substr(0, kPage));
      old_pages += page == old_data.substr(0, kPage) ? 1 : 0;
    }
    EXPECT_EQ(old_pages, dropped);
  });
}

TEST_F(SimDiskTest, RewrittenDroppedPageIsSyncedAgain) {
  run([&] {
    put(disk_, "/f", "old", true, true);
    auto f = *disk_.open("/f", OpenMode::kReadWrite);
    ASSERT_TRUE(f->write(0, bytes("new")).ok());
    disk_.set_faults(DiskFaults{.sync_error_probability = 1});
    EXPECT_FALSE(f->sync().ok());
    disk_.set_faults({});
    ASSERT_TRUE(f->write(0, bytes("NEW")).ok());
    ASSERT_TRUE(f->sync().ok());
  });
  disk_.crash();
  run([&] { EXPECT_EQ(contents(disk_, "/f"), "NEW"); });
}

TEST_F(SimDiskTest, FailedDirectorySyncCommitsNothing) {
  std::set<std::string> outcomes;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    DeterministicRandom random(seed);
    SimDisk disk(random);
    run([&] {
      put(disk, "/f", "x", true, false);
      disk.set_faults(DiskFaults{.sync_error_probability = 1});
      EXPECT_EQ(disk.sync_directory("/").code(), absl::StatusCode::kUnknown);
    });
    disk.crash();
    run([&] { outcomes.insert(contents(disk, "/f")); });
  }
  EXPECT_EQ(outcomes, (std::set<std::string>{"x", "<missing>"}));
}

TEST_F(SimDiskTest, DiskFullAndCapacity) {
  DeterministicRandom random(7);
  SimDisk disk(random, DiskOptions{.capacity_bytes = 10 * kPage});
  run([&] {
    put(disk, "/f", std::string(kPage, 'a'), true, true);
    auto f = *disk.open("/f", OpenMode::kReadWrite);
    disk.set_faults(DiskFaults{.disk_full = true});
    EXPECT_EQ(f->append(bytes("x")).code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(f->truncate(2 * kPage).code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(disk.open("/g", OpenMode::kCreate).status().code(),
              absl::StatusCode::kResourceExhausted);
    EXPECT_TRUE(f->write(0, bytes("overwrite")).ok());  // no growth, no ENOSPC
    EXPECT_TRUE(f->truncate(10).ok());
    EXPECT_EQ(disk.stats().disk_full_errors, 3u);
    disk.set_faults({});

    // The hard cap: usage counts a shrink only once it is durable.
    EXPECT_EQ(disk.usage_bytes(), kPage);
    EXPECT_EQ(f->write(0, bytes(std::string(10 * kPage + 1, 'b'))).code(),
              absl::StatusCode::kResourceExhausted);
    EXPECT_TRUE(f->write(0, bytes(std::string(10 * kPage, 'b'))).ok());
    EXPECT_EQ(disk.usage_bytes(), 10 * kPage);
    EXPECT_EQ(f->append(bytes("!")).code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(disk.stats().capacity_errors, 2u);
    EXPECT_EQ(contents(disk, "/f"), std::string(10 * kPage, 'b'));
  });
}

TEST_F(SimDiskTest, EntryCap) {
  DeterministicRandom random(7);
  SimDisk disk(random, DiskOptions{.entries_max = 4});  // the root counts
  run([&] {
    EXPECT_TRUE(disk.open("/a", OpenMode::kCreate).ok());
    EXPECT_TRUE(disk.create_directories("/d").ok());
    EXPECT_TRUE(disk.open("/b", OpenMode::kCreate).ok());
    EXPECT_EQ(disk.open("/c", OpenMode::kCreate).status().code(),
              absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(disk.create_directories("/e").code(), absl::StatusCode::kResourceExhausted);
  });
}

TEST_F(SimDiskTest, CorruptedReadLeavesStoredDataIntact) {
  const std::string data(3000, 'z');
  run([&] {
    put(disk_, "/f", data, true, true);
    auto f = *disk_.open("/f", OpenMode::kRead);
    disk_.set_faults(DiskFaults{.corrupt_read_probability = 1});
    std::vector<uint8_t> buffer(data.size());
    ASSERT_EQ(*f->read(0, absl::MakeSpan(buffer)), data.size());
    int flipped_bits = 0;
    for (size_t i = 0; i < data.size(); ++i) {
      flipped_bits += __builtin_popcount(static_cast<uint8_t>(buffer[i] ^ data[i]));
    }
    EXPECT_EQ(flipped_bits, 1);
    disk_.set_faults({});
    EXPECT_EQ(contents(disk_, "/f"), data);
  });
  disk_.crash();
  run([&] { EXPECT_EQ(contents(disk_, "/f"), data); });
  EXPECT_EQ(disk_.stats().corrupted_reads, 1u);
}

TEST_F(SimDiskTest, LatencyAndSlowOperations) {
  run([&] {
    auto f = *disk_.open("/f", OpenMode::kCreate);
    const TimePoint t0 = scheduler_.now();
    ASSERT_TRUE(f->append(bytes("x")).ok());
    const Duration write_time = scheduler_.now() - t0;
    EXPECT_GE(write_time, 5us);
    const TimePoint t1 = scheduler_.now();
    ASSERT_TRUE(f->sync().ok());
    const Duration sync_time = scheduler_.now() - t1;
    EXPECT_GE(sync_time, 1ms);
    EXPECT_GT(sync_time, write_time);

    disk_.set_faults(DiskFaults{.slow_probability = 1, .slow_delay = 2s});
    const TimePoint t2 = scheduler_.now();
    ASSERT_TRUE(f->append(bytes("y")).ok());
    EXPECT_GE(scheduler_.now() - t2, 1s);
    EXPECT_EQ(disk_.stats().slow_ops, 1u);
  });
}

TEST_F(SimDiskTest, CancelledWriteHappenedCancelledSyncDidNot) {
  std::unique_ptr<IFile> f;
  run([&] {
    put(disk_, "/f", "old", true, true);
    f = *disk_.open("/f", OpenMode::kReadWrite);
  });
  {
    auto writer = spawn("writer", [&] {
      ASSERT_TRUE(f->write(0, bytes("new")).ok());
      (void)f->sync();
    });
    // Run until the write is done and the sync is sleeping, then drop (cancel) the writer.
    run([&] { delay(500us); });
  }
  run([&] {
    delay(1s);
    EXPECT_EQ(contents(disk_, "/f"), "new");
  });
  EXPECT_EQ(disk_.stats().syncs, 2u);  // put's and the cancelled one
  disk_.crash();  // the cancelled sync must not have made "new" durable: the page was at risk
  EXPECT_EQ(disk_.stats().pages_lost + disk_.stats().pages_kept + disk_.stats().pages_torn, 1u);
}

TEST_F(SimDiskTest, CrashDuringSyncFailsTheSync) {
  std::unique_ptr<IFile> f;
  run([&] {
    put(disk_, "/f", "old", true, true);
    f = *disk_.open("/f", OpenMode::kReadWrite);
  });
  absl::Status sync_result;
  auto writer = spawn("writer", [&] {
    ASSERT_TRUE(f->write(0, bytes("new")).ok());
    sync_result = f->sync();
  });
  run([&] { delay(500us); });
  disk_.crash();
  (void)run_until_ready(writer);
  EXPECT_EQ(sync_result.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SimDiskTest, HandleOutlivingItsDiskFailsCleanly) {
  std::unique_ptr<IFile> f;
  {
    DeterministicRandom random(1);
    SimDisk disk(random);
    run([&] { f = *disk.open("/f", OpenMode::kCreate); });
  }
  run([&] {
    EXPECT_EQ(f->append(bytes("x")).code(), absl::StatusCode::kFailedPrecondition);
    f.reset();
  });
}

// Everything that happens on the disk, as one string: two runs are identical iff it matches.
std::string scenario(uint64_t seed, uint64_t* trace_count) {
  VirtualTimeSource time;
  Scheduler scheduler(time);
  CapturingSink sink;
  DeterministicRandom random(seed);
  SimDisk disk(random);
  disk.set_faults(DiskFaults{.corrupt_read_probability = 0.1, .slow_probability = 0.1});
  std::string out;
  auto body = [&] {
    (void)disk.create_directories("/d");
    for (int i = 0; i < 20; ++i) {
      auto f = *disk.open("/d/f" + std::to_string(i % 4), OpenMode::kCreate);
      (void)f->append(bytes(std::string(static_cast<size_t>(i) * 700, static_cast<char>('a' + i))));
      if (i % 3 == 0) (void)f->sync();
      if (i % 5 == 0) (void)disk.sync_directory("/d");
    }
  };
  (void)run_until_ready(spawn("a", body));
  disk.crash();
  auto dump = [&] {
    auto names = disk.list("/d");
    if (!names.ok()) return;
    for (const auto& name : *names) {
      auto data = read_file(disk, "/d/" + name, 1 << 20);
      out += name + "=" + (data.ok() ? std::string(data->begin(), data->end()) : "err") + ";";
    }
  };
  (void)run_until_ready(spawn("b", dump));
  out += std::to_string(scheduler.now().time_since_epoch().count());
  for (const auto& r : sink.records) out += r.to_json();
  *trace_count = sink.records.size();
  return out;
}

TEST(SimDiskDeterminism, SameSeedSameOutcome) {
  uint64_t traces = 0;
  const std::string a = scenario(1234, &traces);
  EXPECT_GT(traces, 1u);
  EXPECT_EQ(a, scenario(1234, &traces));
  EXPECT_NE(a, scenario(1235, &traces));
}

}  // namespace
}  // namespace weir::sim
