// SimDisk against a reference model: random operation sequences, exact agreement while the
// power stays on, and after a crash every file page-by-page within the documented outcomes.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <exception>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "runtime/future.h"
#include "runtime/virtual_time.h"
#include "sim/disk.h"

namespace weir::sim {
namespace {

constexpr uint64_t kPage = SimDisk::kPageSize;
constexpr uint64_t kSector = SimDisk::kSectorSize;
const char* const kDirs[] = {"/a", "/b"};
const char* const kNames[] = {"f0", "f1", "f2"};
constexpr size_t kHandlesMax = 6;

enum Kind : int {
  kOpen,
  kWrite,
  kAppend,
  kTruncate,
  kSync,
  kRename,
  kRemove,
  kSyncDir,
  kRead,
  kSize,
  kList,
  kExists,
  kClose,
  kCrash,
  kCleanShutdown
};

struct Op {
  int kind = kOpen;
  int x = 0;  // a path or handle choice
  int y = 0;  // a second path, or the open mode
  uint32_t offset = 0;
  uint32_t len = 0;
};

std::ostream& operator<<(std::ostream& os, const Op& op) {
  return os << "{kind=" << op.kind << " x=" << op.x << " y=" << op.y << " offset=" << op.offset
            << " len=" << op.len << "}";
}

rc::Gen<Op> gen_op() {
  return rc::gen::build<Op>(
      rc::gen::set(&Op::kind, rc::gen::weightedElement<int>({{10, kOpen},
                                                             {12, kWrite},
                                                             {8, kAppend},
                                                             {4, kTruncate},
                                                             {6, kSync},
                                                             {4, kRename},
                                                             {3, kRemove},
                                                             {5, kSyncDir},
                                                             {10, kRead},
                                                             {2, kSize},
                                                             {2, kList},
                                                             {1, kExists},
                                                             {2, kClose},
                                                             {2, kCrash},
                                                             {1, kCleanShutdown}})),
      rc::gen::set(&Op::x, rc::gen::inRange(0, 60)), rc::gen::set(&Op::y, rc::gen::inRange(0, 60)),
      rc::gen::set(&Op::offset, rc::gen::inRange<uint32_t>(0, 3 * kPage + 300)),
      rc::gen::set(&Op::len, rc::gen::inRange<uint32_t>(0, 2 * kPage + 300)));
}

struct ModelFile {
  std::string current;  // what reads must return
  std::string durable;  // as of the last sync
};

struct ModelDir {
  std::map<std::string, int> current;
  std::map<std::string, int> durable;
};

struct Handle {
  std::unique_ptr<IFile> file;
  int inode = 0;
  bool writable = false;
};

absl::Span<const uint8_t> bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Page `p` of an image, zero-filled past its end (the disk's images are zero past their size).
std::string page_of(const std::string& image, uint64_t p) {
  std::string out(kPage, '\0');
  if (p * kPage < image.size()) {
    out.replace(0, std::min<uint64_t>(kPage, image.size() - p * kPage), image, p * kPage, kPage);
  }
  return out;
}

// The documented crash outcome: the size is the durable or the current one, and each page is
// the durable page, the current page, or whole sectors of the current page followed by the
// rest of the durable page.
bool crash_consistent(const ModelFile& f, const std::string& seen) {
  if (seen.size() != f.current.size() && seen.size() != f.durable.size()) return false;
  for (uint64_t p = 0; p * kPage < seen.size(); ++p) {
    const uint64_t visible = std::min<uint64_t>(kPage, seen.size() - p * kPage);
    const std::string got = seen.substr(p * kPage, visible);
    const std::string old_page = page_of(f.durable, p);
    const std::string new_page = page_of(f.current, p);
    bool ok = got == old_page.substr(0, visible) || got == new_page.substr(0, visible);
    for (uint64_t k = 1; !ok && k < kPage / kSector; ++k) {
      const std::string torn = new_page.substr(0, k * kSector) + old_page.substr(k * kSector);
      ok = got == torn.substr(0, visible);
    }
    if (!ok) return false;
  }
  return true;
}

std::set<std::string> keys(const std::map<std::string, int>& m) {
  std::set<std::string> out;
  for (const auto& [k, v] : m) out.insert(k);
  return out;
}

class Harness {
 public:
  Harness(uint64_t seed, bool faulty) : random_(seed), disk_(random_) {
    if (faulty) {
      faults_ = DiskFaults{.read_error_probability = 0.05,
                           .write_error_probability = 0.05,
                           .metadata_error_probability = 0.05,
                           .corrupt_read_probability = 0.05};
    }
  }

  // Runs the ops in an actor; an RC_ASSERT failure is carried out of the fiber and rethrown.
  void run(const std::vector<Op>& ops) {
    std::exception_ptr failure;
    auto f = spawn("model", [&] {
      try {
        setup();
        for (size_t i = 0; i < ops.size(); ++i) step(ops[i], i);
      } catch (const Cancelled&) {
        throw;
      } catch (...) {
        failure = std::current_exception();
      }
    });
    (void)run_until_ready(f);
    handles_.clear();
    if (failure) std::rethrow_exception(failure);
  }

 private:
  static std::string dir_of(int x) { return kDirs[x % 2]; }
  static std::string name_of(int x) { return kNames[(x / 2) % 3]; }
  static std::string path_of(int x) { return dir_of(x) + "/" + name_of(x); }

  void setup() {
    for (const char* d : kDirs) {
      RC_ASSERT(disk_.create_directories(d).ok());
      dirs_[d];
    }
    disk_.set_faults(faults_);
  }

  void step(const Op& op, size_t index) {
    if (handles_.empty() &&
        (op.kind == kWrite || op.kind == kAppend || op.kind == kTruncate || op.kind == kSync ||
         op.kind == kRead || op.kind == kSize || op.kind == kClose)) {
      return open(op);
    }
    switch (op.kind) {
      case kOpen:
        return open(op);
      case kWrite:
        return write(op, false, index);
      case kAppend:
        return write(op, true, index);
      case kTruncate:
        return truncate(op);
      case kSync:
        return sync(op);
      case kRename:
        return rename(op);
      case kRemove:
        return remove(op);
      case kSyncDir:
        return sync_dir(op);
      case kRead:
        return read(op);
      case kSize:
        return size(op);
      case kList:
        return list(op);
      case kExists:
        return exists(op);
      case kClose:
        handles_.erase(handles_.begin() + op.x % static_cast<int>(handles_.size()));
        return;
      case kCrash:
        return power_off(false);
      case kCleanShutdown:
        return power_off(true);
    }
  }

  Handle& handle(const Op& op) { return handles_[static_cast<size_t>(op.x) % handles_.size()]; }

  void open(const Op& op) {
    const OpenMode modes[] = {OpenMode::kRead, OpenMode::kReadWrite, OpenMode::kCreate,
                              OpenMode::kCreateExclusive};
    const OpenMode mode = modes[op.y % 4];
    ModelDir& dir = dirs_[dir_of(op.x)];
    const uint64_t faults_before = disk_.stats().metadata_errors;
    auto file = disk_.open(path_of(op.x), mode);
    if (disk_.stats().metadata_errors != faults_before) {
      RC_ASSERT(file.status().code() == absl::StatusCode::kUnknown);
      return;
    }
    auto entry = dir.current.find(name_of(op.x));
    int inode = 0;
    if (entry != dir.current.end()) {
      if (mode == OpenMode::kCreateExclusive) {
        RC_ASSERT(file.status().code() == absl::StatusCode::kAlreadyExists);
        return;
      }
      inode = entry->second;
    } else if (mode == OpenMode::kRead || mode == OpenMode::kReadWrite) {
      RC_ASSERT(file.status().code() == absl::StatusCode::kNotFound);
      return;
    } else {
      inode = next_inode_++;
      files_[inode];
      dir.current[name_of(op.x)] = inode;
    }
    RC_ASSERT(file.ok());
    if (handles_.size() == kHandlesMax) handles_.erase(handles_.begin());
    handles_.push_back(Handle{std::move(*file), inode, mode != OpenMode::kRead});
  }

  void write(const Op& op, bool append, size_t index) {
    Handle& h = handle(op);
    std::string& image = files_[h.inode].current;
    std::string data(op.len, '\0');
    for (size_t i = 0; i < data.size(); ++i) {
      data[i] = static_cast<char>(1 + (index * 31 + i * 7) % 255);
    }
    const uint64_t offset = append ? image.size() : op.offset;
    const uint64_t faults_before = disk_.stats().write_errors;
    const absl::Status s =
        append ? h.file->append(bytes(data)) : h.file->write(offset, bytes(data));
    if (!h.writable) {
      RC_ASSERT(s.code() == absl::StatusCode::kFailedPrecondition);
      return;
    }
    if (disk_.stats().write_errors != faults_before) {
      RC_ASSERT(s.code() == absl::StatusCode::kUnknown);
      return;
    }
    RC_ASSERT(s.ok());
    if (data.empty()) return;
    if (image.size() < offset + data.size()) image.resize(offset + data.size(), '\0');
    image.replace(offset, data.size(), data);
  }

  void truncate(const Op& op) {
    Handle& h = handle(op);
    const uint64_t faults_before = disk_.stats().write_errors;
    const absl::Status s = h.file->truncate(op.offset);
    if (!h.writable) {
      RC_ASSERT(s.code() == absl::StatusCode::kFailedPrecondition);
      return;
    }
    if (disk_.stats().write_errors != faults_before) {
      RC_ASSERT(s.code() == absl::StatusCode::kUnknown);
      return;
    }
    RC_ASSERT(s.ok());
    files_[h.inode].current.resize(op.offset, '\0');
  }

  void sync(const Op& op) {
    Handle& h = handle(op);
    RC_ASSERT(h.file->sync().ok());
    files_[h.inode].durable = files_[h.inode].current;
  }

  void rename(const Op& op) {
    // Within one directory: a name then names one inode in every possible crash outcome.
    ModelDir& dir = dirs_[dir_of(op.x)];
    const std::string from = name_of(op.x);
    const std::string to = name_of(op.y);
    const uint64_t faults_before = disk_.stats().metadata_errors;
    const absl::Status s = disk_.rename(dir_of(op.x) + "/" + from, dir_of(op.x) + "/" + to);
    if (disk_.stats().metadata_errors != faults_before) {
      RC_ASSERT(s.code() == absl::StatusCode::kUnknown);
      return;
    }
    auto entry = dir.current.find(from);
    if (entry == dir.current.end()) {
      RC_ASSERT(s.code() == absl::StatusCode::kNotFound);
      return;
    }
    RC_ASSERT(s.ok());
    const int inode = entry->second;
    dir.current.erase(entry);
    dir.current[to] = inode;
  }

  void remove(const Op& op) {
    ModelDir& dir = dirs_[dir_of(op.x)];
    const uint64_t faults_before = disk_.stats().metadata_errors;
    const absl::Status s = disk_.remove(path_of(op.x));
    if (disk_.stats().metadata_errors != faults_before) {
      RC_ASSERT(s.code() == absl::StatusCode::kUnknown);
      return;
    }
    if (dir.current.erase(name_of(op.x)) == 0) {
      RC_ASSERT(s.code() == absl::StatusCode::kNotFound);
    } else {
      RC_ASSERT(s.ok());
    }
  }

  void sync_dir(const Op& op) {
    RC_ASSERT(disk_.sync_directory(dir_of(op.x)).ok());
    ModelDir& dir = dirs_[dir_of(op.x)];
    dir.durable = dir.current;
  }

  void read(const Op& op) {
    Handle& h = handle(op);
    const std::string& image = files_[h.inode].current;
    std::vector<uint8_t> buffer(op.len);
    const DiskStats before = disk_.stats();
    auto n = h.file->read(op.offset, absl::MakeSpan(buffer));
    if (disk_.stats().read_errors != before.read_errors) {
      RC_ASSERT(n.status().code() == absl::StatusCode::kUnknown);
      return;
    }
    RC_ASSERT(n.ok());
    const std::string expected = op.offset < image.size() ? image.substr(op.offset, op.len) : "";
    RC_ASSERT(*n == expected.size());
    int flipped = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      const auto diff = static_cast<uint8_t>(buffer[i] ^ static_cast<uint8_t>(expected[i]));
      flipped += __builtin_popcount(diff);
    }
    RC_ASSERT(flipped == (disk_.stats().corrupted_reads != before.corrupted_reads ? 1 : 0));
  }

  void size(const Op& op) {
    Handle& h = handle(op);
    auto n = h.file->size();
    RC_ASSERT(n.ok());
    RC_ASSERT(*n == files_[h.inode].current.size());
  }

  void list(const Op& op) {
    const uint64_t faults_before = disk_.stats().metadata_errors;
    auto names = disk_.list(dir_of(op.x));
    if (disk_.stats().metadata_errors != faults_before) {
      RC_ASSERT(names.status().code() == absl::StatusCode::kUnknown);
      return;
    }
    RC_ASSERT(names.ok());
    const std::set<std::string> expected = keys(dirs_[dir_of(op.x)].current);
    RC_ASSERT(*names == std::vector<std::string>(expected.begin(), expected.end()));
  }

  void exists(const Op& op) {
    const bool expected = dirs_[dir_of(op.x)].current.count(name_of(op.x)) != 0;
    RC_ASSERT(disk_.exists(path_of(op.x)) == expected);
  }

  std::string read_whole(const std::string& path) {
    auto data = read_file(disk_, path, 1 << 20);
    RC_ASSERT(data.ok());
    return std::string(data->begin(), data->end());
  }

  // Power off and on, then check what the disk kept against the model, and restart the model
  // from it: after the reboot the observed state is the durable state.
  void power_off(bool clean) {
    clean ? disk_.clean_shutdown() : disk_.crash();
    for (Handle& h : handles_) {
      RC_ASSERT(h.file->size().status().code() == absl::StatusCode::kFailedPrecondition);
    }
    handles_.clear();
    disk_.set_faults({});
    std::map<int, ModelFile> files;
    for (auto& [path, dir] : dirs_) {
      auto names = disk_.list(path);
      RC_ASSERT(names.ok());
      std::map<std::string, std::string> seen;
      for (const auto& name : *names) seen[name] = read_whole(path + "/" + name);
      bool matched = false;
      for (const auto* option : {&dir.current, &dir.durable}) {
        if (clean && option == &dir.durable) continue;  // a clean shutdown keeps everything
        std::set<std::string> seen_names;
        for (const auto& [name, content] : seen) seen_names.insert(name);
        if (keys(*option) != seen_names) continue;
        bool all = true;
        for (const auto& [name, inode] : *option) {
          const ModelFile& f = files_[inode];
          all = all && (clean ? seen[name] == f.current : crash_consistent(f, seen[name]));
        }
        matched = matched || all;
      }
      RC_ASSERT(matched);
      dir.current.clear();
      for (const auto& [name, content] : seen) {
        const int inode = next_inode_++;
        files[inode] = ModelFile{content, content};
        dir.current[name] = inode;
      }
      dir.durable = dir.current;
    }
    files_ = std::move(files);
    disk_.set_faults(faults_);
  }

  VirtualTimeSource time_;
  Scheduler scheduler_{time_};
  DeterministicRandom random_;
  SimDisk disk_;
  DiskFaults faults_;
  std::map<std::string, ModelDir> dirs_;
  std::map<int, ModelFile> files_;
  std::vector<Handle> handles_;
  int next_inode_ = 1;
};

RC_GTEST_PROP(SimDiskModel, AgreesWithReferenceModel, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op());
  const auto seed = *rc::gen::arbitrary<uint64_t>();
  const auto faulty = *rc::gen::arbitrary<bool>();
  // Runs are cheap: replay each sequence on several disk seeds to see more crash outcomes.
  for (uint64_t i = 0; i < 8; ++i) {
    Harness harness(seed + i * 0x9e3779b97f4a7c15ULL, faulty);
    harness.run(ops);
  }
}

}  // namespace
}  // namespace weir::sim
