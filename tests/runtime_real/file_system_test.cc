// RealFileSystem on real files under a mkdtemp directory.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "runtime/future.h"
#include "runtime/real/real_runtime.h"
#include "tests/runtime_real/test_util.h"

namespace weir::real {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::TempDir;

Bytes bytes(const std::string& s) {
  return Bytes(s.begin(), s.end());
}
std::string text(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

class RealFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  IFileSystem& fs() { return rt_.fs(); }

  RealRuntime rt_{RealRuntimeOptions{.handle_signals = false}};
  TempDir dir_;
};

TEST_F(RealFileSystemTest, WriteAppendReadSizeTruncateSync) {
  auto r = rt_.run([&]() -> absl::Status {
    RR_ASSIGN(auto file, fs().open(dir_.file("a"), OpenMode::kCreate));
    EXPECT_EQ(file->path(), dir_.file("a"));
    RR_TRY(file->write(0, bytes("hello")));
    RR_TRY(file->append(bytes(" world")));
    RR_TRY(file->write(20, bytes("!")));  // leaves a hole of zeros
    RR_ASSIGN(uint64_t size, file->size());
    EXPECT_EQ(size, 21u);
    Bytes buf(64);
    RR_ASSIGN(size_t n, file->read(0, absl::MakeSpan(buf)));
    EXPECT_EQ(n, 21u);  // fewer than asked only at end of file
    EXPECT_EQ(text(Bytes(buf.begin(), buf.begin() + 11)), "hello world");
    EXPECT_EQ(buf[15], 0);
    RR_TRY(file->truncate(5));
    RR_TRY(file->append(bytes("!")));
    RR_TRY(file->sync());
    RR_ASSIGN(n, file->read(0, absl::MakeSpan(buf)));
    EXPECT_EQ(text(Bytes(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n))), "hello!");
    RR_ASSIGN(n, file->read(100, absl::MakeSpan(buf)));
    EXPECT_EQ(n, 0u);
    RR_ASSIGN(Bytes whole, read_file(fs(), dir_.file("a"), 1024));
    EXPECT_EQ(text(whole), "hello!");
    EXPECT_TRUE(absl::IsResourceExhausted(read_file(fs(), dir_.file("a"), 3).status()));
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealFileSystemTest, OpenModes) {
  auto r = rt_.run([&]() -> absl::Status {
    const std::string path = dir_.file("m");
    auto missing = fs().open(path, OpenMode::kRead);
    EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
    EXPECT_NE(missing.status().message().find(path), absl::string_view::npos);
    EXPECT_TRUE(absl::IsNotFound(fs().open(path, OpenMode::kReadWrite).status()));
    {
      RR_ASSIGN(auto created, fs().open(path, OpenMode::kCreateExclusive));
      RR_TRY(created->append(bytes("x")));
    }
    auto again = fs().open(path, OpenMode::kCreateExclusive);
    EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
    RR_ASSIGN(auto existing, fs().open(path, OpenMode::kCreate));  // kCreate keeps contents
    RR_ASSIGN(uint64_t size, existing->size());
    EXPECT_EQ(size, 1u);
    RR_ASSIGN(auto read_only, fs().open(path, OpenMode::kRead));
    EXPECT_TRUE(absl::IsPermissionDenied(read_only->write(0, bytes("y"))));
    EXPECT_TRUE(absl::IsPermissionDenied(read_only->append(bytes("y"))));
    EXPECT_TRUE(absl::IsPermissionDenied(read_only->truncate(0)));
    RR_ASSIGN(auto rw, fs().open(path, OpenMode::kReadWrite));
    RR_TRY(rw->write(0, bytes("z")));
    auto in_missing_dir = fs().open(dir_.file("no/such/file"), OpenMode::kCreate);
    EXPECT_TRUE(absl::IsNotFound(in_missing_dir.status())) << in_missing_dir.status();
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealFileSystemTest, DirectoriesRenameRemoveListExists) {
  auto r = rt_.run([&]() -> absl::Status {
    const std::string sub = dir_.file("x/y/z");
    RR_TRY(fs().create_directories(sub));
    RR_TRY(fs().create_directories(sub));  // idempotent
    EXPECT_TRUE(fs().exists(sub));
    for (const char* name : {"c", "a", "b"}) {
      RR_ASSIGN(auto f, fs().open(sub + "/" + name, OpenMode::kCreate));
    }
    RR_ASSIGN(auto names, fs().list(sub));
    EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
    RR_TRY(fs().rename(sub + "/a", sub + "/d"));
    RR_TRY(fs().sync_directory(sub));
    EXPECT_FALSE(fs().exists(sub + "/a"));
    EXPECT_TRUE(fs().exists(sub + "/d"));
    RR_TRY(fs().remove(sub + "/b"));
    RR_ASSIGN(names, fs().list(sub));
    EXPECT_EQ(names, (std::vector<std::string>{"c", "d"}));
    RR_TRY(fs().remove(sub + "/c"));
    RR_TRY(fs().remove(sub + "/d"));
    RR_TRY(fs().remove(sub));  // an empty directory
    EXPECT_FALSE(fs().exists(sub));
    RR_ASSIGN(auto file, fs().open(dir_.file("plain"), OpenMode::kCreate));
    auto under_file = fs().create_directories(dir_.file("plain/sub"));
    EXPECT_FALSE(under_file.ok());
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealFileSystemTest, ErrorsForMissingPathsNameThePath) {
  auto r = rt_.run([&]() -> absl::Status {
    const std::string ghost = dir_.file("ghost");
    for (const absl::Status& st : {fs().remove(ghost), fs().rename(ghost, dir_.file("other")),
                                   fs().sync_directory(ghost), fs().list(ghost).status()}) {
      EXPECT_TRUE(absl::IsNotFound(st)) << st;
      EXPECT_NE(st.message().find(ghost), absl::string_view::npos) << st;
    }
    EXPECT_FALSE(fs().exists(ghost));
    RR_TRY(fs().create_directories(dir_.file("full")));
    RR_ASSIGN(auto f, fs().open(dir_.file("full/f"), OpenMode::kCreate));
    auto not_empty = fs().remove(dir_.file("full"));
    EXPECT_TRUE(absl::IsFailedPrecondition(not_empty)) << not_empty;
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealFileSystemTest, ConcurrentAppendsNeverOverlap) {
  auto r = rt_.run([&]() -> absl::Status {
    RR_ASSIGN(std::shared_ptr<IFile> file, fs().open(dir_.file("log"), OpenMode::kCreate));
    constexpr size_t kRecord = 4096;
    std::vector<Future<void>> writers;
    for (uint8_t w = 1; w <= 4; ++w) {
      writers.push_back(spawn("appender", [file, w]() -> absl::Status {
        const Bytes record(kRecord, w);
        for (int i = 0; i < 25; ++i) RR_TRY(file->append(record));
        return absl::OkStatus();
      }));
    }
    RR_TRY(await(when_all(writers)));
    for (auto& w : writers) RR_TRY(w.get());
    RR_ASSIGN(Bytes all, read_file(fs(), dir_.file("log"), 1 << 20));
    EXPECT_EQ(all.size(), 100 * kRecord);
    for (size_t rec = 0; rec < all.size() / kRecord; ++rec) {
      for (size_t i = 1; i < kRecord; ++i) {
        if (all[rec * kRecord + i] != all[rec * kRecord]) return absl::DataLossError("torn");
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

// A blocking open of a FIFO (which waits for a writer) must leave the actor thread free.
TEST_F(RealFileSystemTest, FileSyscallsRunOffTheLoopThread) {
  const std::string fifo = dir_.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = rt_.run([&]() -> absl::Status {
    auto opener = spawn("opener", [&] { return fs().open(fifo, OpenMode::kRead); });
    int ticks = 0;
    for (int i = 0; i < 5; ++i) {
      delay(2ms);
      ++ticks;
    }
    EXPECT_EQ(ticks, 5);
    EXPECT_FALSE(opener.is_ready()) << "the open waits for a writer on an I/O thread";
    RR_ASSIGN(auto writer, fs().open(fifo, OpenMode::kReadWrite));  // unblocks the reader
    RR_ASSIGN(auto reader, await(std::move(opener)));
    EXPECT_EQ(reader->path(), fifo);
    auto worker =
        rt_.io_pool().run([] { return absl::StatusOr<bool>(IoThreadPool::on_worker_thread()); });
    EXPECT_TRUE(worker.ok() && *worker);
    EXPECT_FALSE(IoThreadPool::on_worker_thread());
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealFileSystemTest, TimerKeepsTickingWhileFilesAreWritten) {
  auto r = rt_.run([&]() -> absl::Status {
    int ticks = 0;
    auto ticker = spawn("ticker", [&] {
      while (true) {
        delay(1ms);
        ++ticks;
      }
    });
    const uint64_t completed_before = rt_.io_pool().completed();
    RR_ASSIGN(auto file, fs().open(dir_.file("big"), OpenMode::kCreate));
    const Bytes chunk(1024 * 1024, 7);
    const TimePoint start = rt_.scheduler().now();
    int writes = 0;
    while (rt_.scheduler().now() - start < 30ms || writes < 8) {
      RR_TRY(file->append(chunk));
      if (++writes % 4 == 0) RR_TRY(file->sync());
    }
    EXPECT_GT(ticks, 0);
    EXPECT_GE(rt_.io_pool().completed() - completed_before, static_cast<uint64_t>(writes));
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

// The worker may be using the actor's buffer: a cancelled caller waits for the operation and
// unwinds at its next suspension point.
TEST_F(RealFileSystemTest, CancelledCallerWaitsForItsIoThenUnwinds) {
  auto r = rt_.run([&]() -> absl::Status {
    std::atomic<bool> work_done{false};
    bool saw_result = false;
    bool passed_next_suspension = false;
    auto victim = spawn("victim", [&] {
      auto st = rt_.io_pool().run([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        work_done = true;
        return absl::OkStatus();
      });
      saw_result = st.ok() && work_done;
      delay(1ms);
      passed_next_suspension = true;
    });
    delay(5ms);
    victim.reset();  // cancels while the worker sleeps
    while (rt_.io_pool().in_flight() > 0 || rt_.scheduler().live_actors() > 1) delay(1ms);
    EXPECT_TRUE(work_done);
    EXPECT_TRUE(saw_result);
    EXPECT_FALSE(passed_next_suspension);
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealFileSystemTest, OutsideAnActorCallsRunInline) {
  auto file = fs().open(dir_.file("setup"), OpenMode::kCreate);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE((*file)->append(bytes("cfg")).ok());
  EXPECT_TRUE(fs().exists(dir_.file("setup")));
  EXPECT_EQ(rt_.io_pool().completed(), 0u);
}

}  // namespace
}  // namespace weir::real
