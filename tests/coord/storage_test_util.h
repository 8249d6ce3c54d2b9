// Shared by the coord storage tests: a simulated disk on virtual time, actors run to
// completion, deterministic payloads, and a file system that lies about fsync (the broken
// variant the crash checks must catch).
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "coord/ids.h"
#include "coord/zab/storage/txn_log.h"
#include "runtime/future.h"
#include "runtime/hash.h"
#include "runtime/trace.h"
#include "runtime/virtual_time.h"
#include "sim/disk.h"

namespace weir::coord::zab::storage_test {

inline absl::Span<const uint8_t> bytes_of(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// The payload of a record is a pure function of (zxid, generation), so a check can tell the
// bytes that were appended from anything else. `generation` separates records that reuse a
// zxid after a truncate_after.
inline std::vector<uint8_t> payload_for(Zxid zxid, uint64_t generation, size_t size) {
  std::vector<uint8_t> out(size);
  uint64_t h = hash_combine(static_cast<uint64_t>(zxid.value()), generation);
  for (size_t i = 0; i < size; ++i) {
    if (i % 8 == 0) h = mix64(h + i);
    out[i] = static_cast<uint8_t>(h >> (8 * (i % 8)));
  }
  return out;
}

// A simulated disk on virtual time. run() executes a body as an actor; an exception thrown in
// it (a RapidCheck failure) is carried out of the fiber and rethrown.
class DiskHarness {
 public:
  explicit DiskHarness(uint64_t seed, uint64_t capacity_bytes = 64ull << 20)
      : random_(seed),
        disk_(random_, sim::DiskOptions{.name = "m1", .capacity_bytes = capacity_bytes}) {}

  void run(std::function<void()> body) {
    std::exception_ptr failure;
    auto f = spawn("test", [&] {
      try {
        body();
      } catch (const Cancelled&) {
        throw;
      } catch (...) {
        failure = std::current_exception();
      }
    });
    auto result = run_until_ready(f);
    if (failure) std::rethrow_exception(failure);
    ASSERT_TRUE(result.ok()) << result;
  }

  sim::SimDisk& disk() { return disk_; }
  DeterministicRandom& random() { return random_; }

 private:
  VirtualTimeSource time_;
  Scheduler scheduler_{time_};
  DeterministicRandom random_;
  sim::SimDisk disk_;
};

// Counts trace events by type.
class EventCounter final : public ITraceSink {
 public:
  EventCounter() { Tracer::instance().add_sink(this); }
  ~EventCounter() override { Tracer::instance().remove_sink(this); }
  void write(const TraceRecord& record) override {
    if (record.type == type_filter || type_filter.empty()) ++count;
  }
  std::string type_filter;
  size_t count = 0;
};

// An IFileSystem whose files acknowledge fsync without doing it: the bug "acknowledge before
// the data is durable". Everything else passes through.
class LyingFileSystem final : public IFileSystem {
 public:
  explicit LyingFileSystem(IFileSystem& inner) : inner_(inner) {}

  absl::StatusOr<std::unique_ptr<IFile>> open(const std::string& path, OpenMode mode) override {
    auto f = inner_.open(path, mode);
    if (!f.ok()) return f.status();
    return std::unique_ptr<IFile>(std::make_unique<LyingFile>(std::move(*f)));
  }
  absl::Status rename(const std::string& from, const std::string& to) override {
    return inner_.rename(from, to);
  }
  absl::Status remove(const std::string& path) override { return inner_.remove(path); }
  absl::StatusOr<std::vector<std::string>> list(const std::string& dir) override {
    return inner_.list(dir);
  }
  absl::Status create_directories(const std::string& dir) override {
    return inner_.create_directories(dir);
  }
  absl::Status sync_directory(const std::string& dir) override {
    return inner_.sync_directory(dir);
  }
  bool exists(const std::string& path) override { return inner_.exists(path); }

 private:
  class LyingFile final : public IFile {
   public:
    explicit LyingFile(std::unique_ptr<IFile> inner) : inner_(std::move(inner)) {}
    absl::StatusOr<size_t> read(uint64_t offset, absl::Span<uint8_t> buffer) override {
      return inner_->read(offset, buffer);
    }
    absl::Status write(uint64_t offset, absl::Span<const uint8_t> data) override {
      return inner_->write(offset, data);
    }
    absl::Status append(absl::Span<const uint8_t> data) override { return inner_->append(data); }
    absl::Status sync() override { return absl::OkStatus(); }  // the lie
    absl::Status truncate(uint64_t size) override { return inner_->truncate(size); }
    absl::StatusOr<uint64_t> size() override { return inner_->size(); }
    const std::string& path() const override { return inner_->path(); }

   private:
    std::unique_ptr<IFile> inner_;
  };

  IFileSystem& inner_;
};

// Every record of the log, in order.
inline std::vector<TxnLogEntry> read_all(TxnLog& log) {
  auto entries = log.read_from(Zxid(0), UINT64_MAX);
  EXPECT_TRUE(entries.ok()) << entries.status();
  return entries.ok() ? std::move(*entries) : std::vector<TxnLogEntry>{};
}

}  // namespace weir::coord::zab::storage_test
