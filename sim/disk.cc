#include "sim/disk.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::sim {
namespace {

constexpr uint64_t kPage = SimDisk::kPageSize;
constexpr uint64_t kSector = SimDisk::kSectorSize;
static_assert(kPage % kSector == 0);

using Page = std::array<uint8_t, kPage>;
using PagePtr = std::shared_ptr<Page>;
// A file image by page index. Pages are shared between the cache image and the durable image
// until one of them is written (copy on write), so a sync copies pointers, not bytes. An
// absent page reads as zeros, and bytes at or past an image's size are always zero, so two
// images of different sizes can be compared and mixed page by page.
using PageMap = std::map<uint64_t, PagePtr>;
// Directory entries: name -> inode id. Ordered, so that crash() walks them reproducibly.
using Names = std::map<std::string, uint64_t>;

uint64_t pages_for(uint64_t size) {
  return size / kPage + (size % kPage != 0 ? 1 : 0);
}

// Error codes follow absl::ErrnoToStatusCode, as the real file system reports them, but the
// message is ours: strerror() text depends on the C library and would leak into traces.
absl::Status errno_status(int error, std::string_view what, std::string_view path) {
  std::string message(what);
  message += ": ";
  message += path;
  return absl::Status(absl::ErrnoToStatusCode(error), message);
}

absl::Status stale_error() {
  return errno_status(EBADF, "stale file handle (the disk crashed or rebooted)", "");
}

const Page* find_page(const PageMap& pages, uint64_t index) {
  auto it = pages.find(index);
  return it == pages.end() ? nullptr : it->second.get();
}

bool same_content(const Page* a, const Page* b) {
  static const Page kZero{};
  if (a == b) return true;
  return std::memcmp(a != nullptr ? a->data() : kZero.data(),
                     b != nullptr ? b->data() : kZero.data(), kPage) == 0;
}

// Drops what lies at or past `size`, keeping the zero-past-the-end rule of PageMap.
void trim(PageMap& pages, uint64_t size) {
  pages.erase(pages.lower_bound(pages_for(size)), pages.end());
  const uint64_t tail = size % kPage;
  if (tail == 0) return;
  auto it = pages.find(size / kPage);
  if (it == pages.end()) return;
  const Page& page = *it->second;
  if (std::all_of(page.begin() + static_cast<ptrdiff_t>(tail), page.end(),
                  [](uint8_t b) { return b == 0; })) {
    return;
  }
  auto copy = std::make_shared<Page>(page);
  std::fill(copy->begin() + static_cast<ptrdiff_t>(tail), copy->end(), 0);
  it->second = std::move(copy);
}

// "/a//b/./c/" -> "/a/b/c". Relative paths are taken from the root. ".." is refused: nothing
// in Weir needs it, and accepting it half-way would hide path bugs.
absl::StatusOr<std::string> normalize(std::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("empty path");
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part == "..") return absl::InvalidArgumentError("'..' in path: " + std::string(path));
    if (!part.empty() && part != ".") {
      out += '/';
      out += part;
    }
    start = end + 1;
  }
  return out.empty() ? std::string("/") : out;
}

struct SplitPath {
  std::string parent;
  std::string name;  // empty for the root
};

SplitPath split(const std::string& normalized) {
  const size_t slash = normalized.rfind('/');
  WEIR_ASSERT(slash != std::string::npos);
  return {slash == 0 ? std::string("/") : normalized.substr(0, slash),
          normalized.substr(slash + 1)};
}

enum class OpClass { kCached, kSync };
enum class PageFate { kLost, kKept, kTorn };

// One file's data: what the page cache shows and what is on the platter.
struct Inode {
  uint64_t id = 0;
  PageMap pages;  // the cache image: what reads see
  uint64_t size = 0;
  PageMap durable_pages;  // what survives any power loss
  uint64_t durable_size = 0;
  // Pages that may differ from the durable image and a sync will write.
  std::set<uint64_t> dirty;
  // Pages a failed sync dropped: the cache believes them clean, so no later sync writes
  // them; they stay visible until rewritten or until the machine loses power.
  std::set<uint64_t> dropped;
  uint32_t links = 0;         // entries naming it, in current and durable namespaces
  uint32_t open_handles = 0;  // handles of the current boot

  bool unsynced() const { return !dirty.empty() || !dropped.empty() || size != durable_size; }
  // Space held: a shrink frees nothing until it is durable.
  uint64_t footprint() const { return std::max(size, durable_size); }
};

// A directory's entries now, and as of its last sync. Subdirectories are not entries: they
// live in DiskCore::dirs and are always durable.
struct Directory {
  Names current;
  Names durable;
};

}  // namespace

// The disk's state. Owned by SimDisk; file handles refer to it weakly so that a handle which
// outlives its disk fails cleanly instead of touching freed memory.
class DiskCore {
 public:
  DiskCore(IRandom& random, DiskOptions options) : random_(random), options_(std::move(options)) {
    dirs_["/"];
  }

  IRandom& random() { return random_; }
  DiskStats& stats() { return stats_; }
  const DiskFaults& faults() const { return faults_; }
  void set_faults(const DiskFaults& faults) { faults_ = faults; }
  uint64_t boot() const { return boot_; }
  uint64_t usage() const { return usage_; }

  // Never draws when p is zero, so a healthy disk consumes less randomness.
  bool chance(double p) { return p > 0 && random_.coinflip(p); }
  Duration latency(OpClass op_class, uint64_t sync_bytes, std::string_view op,
                   std::string_view path);
  void trace_fault(std::string_view fault, std::string_view op, std::string_view path,
                   uint64_t count = 0);
  absl::Status eio(std::string_view op, std::string_view path, uint64_t& counter) {
    ++counter;
    trace_fault("EIO", op, path);
    return errno_status(EIO, std::string("injected EIO on ") + std::string(op), path);
  }

  // Handle bookkeeping.
  void handle_opened(Inode& inode) { ++inode.open_handles; }
  void handle_closed(Inode& inode);

  // File data.
  size_t read(const Inode& inode, uint64_t offset, absl::Span<uint8_t> buffer) const;
  absl::Status write(Inode& inode, uint64_t offset, absl::Span<const uint8_t> data,
                     std::string_view op, std::string_view path);
  absl::Status truncate(Inode& inode, uint64_t size, std::string_view path);
  void persist(Inode& inode);
  void fail_sync(Inode& inode, std::string_view path);

  // Namespace.
  absl::StatusOr<std::shared_ptr<Inode>> open(const std::string& path, OpenMode mode);
  absl::Status rename(const std::string& from, const std::string& to);
  absl::Status remove(const std::string& path);
  absl::StatusOr<std::vector<std::string>> list(const std::string& dir);
  absl::Status create_directories(const std::string& dir);
  absl::StatusOr<std::string> directory_for_sync(const std::string& dir) const;
  void commit_directory(const std::string& normalized);
  bool exists(const std::string& path) const;

  // Power events.
  void crash();
  void clean_shutdown();

 private:
  Inode& inode(uint64_t id) {
    auto it = inodes_.find(id);
    WEIR_ASSERT_MSG(it != inodes_.end(), "directory entry names a collected inode");
    return *it->second;
  }
  Page& mutable_page(Inode& inode, uint64_t index);
  void cut_pages(Inode& inode, uint64_t size);
  void resize(Inode& inode, uint64_t size, uint64_t durable_size);
  absl::Status reserve(uint64_t growth, std::string_view op, std::string_view path);
  absl::Status reserve_entry(std::string_view op, std::string_view path);
  void bind(Names& names, const std::string& name, uint64_t id);
  void unbind(Names& names, const std::string& name);
  void assign(Names& target, const Names& source);
  void release_link(uint64_t id);
  void collect(uint64_t id);
  void collect_all();
  void crash_directories();
  void crash_inode(Inode& inode, double p_lost, double p_kept);
  PageFate draw_fate(double p_lost, double p_kept);
  PagePtr tear(const Page* fresh, const Page* old);
  void end_boot();

  IRandom& random_;
  DiskOptions options_;
  DiskFaults faults_;
  DiskStats stats_;
  std::map<std::string, Directory> dirs_;              // by normalized path; "/" always exists
  std::map<uint64_t, std::shared_ptr<Inode>> inodes_;  // by id: crash() walks them in order
  uint64_t next_inode_id_ = 1;
  uint64_t boot_ = 0;
  uint64_t usage_ = 0;  // sum of footprints
};

// ---------------------------------------------------------------------------------------------
// Latency, faults, accounting

Duration DiskCore::latency(OpClass op_class, uint64_t sync_bytes, std::string_view op,
                           std::string_view path) {
  const DiskLatency& l = options_.latency;
  Duration d;
  if (op_class == OpClass::kSync) {
    d = random_.uniform_duration(l.sync_min, l.sync_max);
    if (l.sync_bytes_per_second > 0) {
      const auto ns =
          static_cast<unsigned __int128>(sync_bytes) * 1'000'000'000u / l.sync_bytes_per_second;
      d += Duration(static_cast<int64_t>(ns));
    }
  } else {
    d = random_.uniform_duration(l.cached_min, l.cached_max);
  }
  if (chance(l.tail_probability)) {
    const double tail = random_.exponential(static_cast<double>(l.tail_mean.count()));
    d += Duration(static_cast<int64_t>(tail));
  }
  if (chance(faults_.slow_probability)) {
    const Duration extra = random_.uniform_duration(faults_.slow_delay / 2, faults_.slow_delay);
    d += extra;
    ++stats_.slow_ops;
    TraceEvent(Severity::kWarn, "SimDiskFault")
        .detail("Disk", options_.name)
        .detail("Fault", "Slow")
        .detail("Op", op)
        .detail("Path", path)
        .detail("Extra", extra);
  }
  return d;
}

void DiskCore::trace_fault(std::string_view fault, std::string_view op, std::string_view path,
                           uint64_t count) {
  TraceEvent event(Severity::kWarn, "SimDiskFault");
  event.detail("Disk", options_.name).detail("Fault", fault).detail("Op", op).detail("Path", path);
  if (count > 0) event.detail("Pages", count);
}

absl::Status DiskCore::reserve(uint64_t growth, std::string_view op, std::string_view path) {
  if (growth == 0) return absl::OkStatus();
  if (faults_.disk_full) {
    ++stats_.disk_full_errors;
    trace_fault("ENOSPC", op, path);
    return errno_status(ENOSPC, "injected ENOSPC", path);
  }
  if (usage_ >= options_.capacity_bytes || growth > options_.capacity_bytes - usage_) {
    ++stats_.capacity_errors;
    TraceEvent(Severity::kWarn, "SimDiskFull")
        .detail("Disk", options_.name)
        .detail("Op", op)
        .detail("Path", path)
        .detail("Usage", usage_)
        .detail("Growth", growth);
    return errno_status(ENOSPC, "disk capacity reached", path);
  }
  return absl::OkStatus();
}

absl::Status DiskCore::reserve_entry(std::string_view op, std::string_view path) {
  if (faults_.disk_full) {
    ++stats_.disk_full_errors;
    trace_fault("ENOSPC", op, path);
    return errno_status(ENOSPC, "injected ENOSPC", path);
  }
  if (inodes_.size() + dirs_.size() >= options_.entries_max) {
    ++stats_.capacity_errors;
    TraceEvent(Severity::kWarn, "SimDiskFull")
        .detail("Disk", options_.name)
        .detail("Op", op)
        .detail("Path", path)
        .detail("Entries", inodes_.size() + dirs_.size());
    return errno_status(ENOSPC, "disk entry limit reached", path);
  }
  return absl::OkStatus();
}

void DiskCore::resize(Inode& inode, uint64_t size, uint64_t durable_size) {
  WEIR_ASSERT(usage_ >= inode.footprint());
  usage_ -= inode.footprint();
  inode.size = size;
  inode.durable_size = durable_size;
  usage_ += inode.footprint();
}

// ---------------------------------------------------------------------------------------------
// File data

Page& DiskCore::mutable_page(Inode& inode, uint64_t index) {
  PagePtr& page = inode.pages[index];
  if (!page) {
    page = std::make_shared<Page>();
  } else if (page.use_count() > 1) {
    page = std::make_shared<Page>(*page);  // shared with the durable image
  }
  inode.dirty.insert(index);
  inode.dropped.erase(index);  // rewritten: the next sync writes it again
  return *page;
}

size_t DiskCore::read(const Inode& inode, uint64_t offset, absl::Span<uint8_t> buffer) const {
  if (offset >= inode.size) return 0;
  // Bounded by the file, whatever the buffer: a huge buffer costs nothing.
  const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), inode.size - offset));
  size_t done = 0;
  while (done < n) {
    const uint64_t at = offset + done;
    const size_t in_page = static_cast<size_t>(at % kPage);
    const size_t chunk = std::min<size_t>(n - done, kPage - in_page);
    const Page* page = find_page(inode.pages, at / kPage);
    if (page != nullptr) {
      std::memcpy(buffer.data() + done, page->data() + in_page, chunk);
    } else {
      std::memset(buffer.data() + done, 0, chunk);
    }
    done += chunk;
  }
  return n;
}

absl::Status DiskCore::write(Inode& inode, uint64_t offset, absl::Span<const uint8_t> data,
                             std::string_view op, std::string_view path) {
  if (chance(faults_.write_error_probability)) return eio(op, path, stats_.write_errors);
  if (data.empty()) return absl::OkStatus();
  if (offset > UINT64_MAX - data.size()) return absl::InvalidArgumentError("offset overflow");
  const uint64_t end = offset + data.size();
  if (end > inode.footprint()) {
    if (auto s = reserve(end - inode.footprint(), op, path); !s.ok()) return s;
  }
  size_t done = 0;
  while (done < data.size()) {
    const uint64_t at = offset + done;
    const size_t in_page = static_cast<size_t>(at % kPage);
    const size_t chunk = std::min<size_t>(data.size() - done, kPage - in_page);
    std::memcpy(mutable_page(inode, at / kPage).data() + in_page, data.data() + done, chunk);
    done += chunk;
  }
  if (end > inode.size) resize(inode, end, inode.durable_size);
  stats_.bytes_written += data.size();
  return absl::OkStatus();
}

void DiskCore::cut_pages(Inode& inode, uint64_t size) {
  for (auto it = inode.pages.lower_bound(pages_for(size)); it != inode.pages.end();) {
    inode.dirty.insert(it->first);
    inode.dropped.erase(it->first);
    it = inode.pages.erase(it);
  }
  // Pages only the durable image still has must be dirty too, so a sync drops them.
  for (auto it = inode.durable_pages.lower_bound(pages_for(size)); it != inode.durable_pages.end();
       ++it) {
    inode.dirty.insert(it->first);
    inode.dropped.erase(it->first);
  }
  const uint64_t tail = size % kPage;
  if (tail != 0 && inode.pages.count(size / kPage) != 0) {
    Page& page = mutable_page(inode, size / kPage);
    std::fill(page.begin() + static_cast<ptrdiff_t>(tail), page.end(), 0);
  }
}

absl::Status DiskCore::truncate(Inode& inode, uint64_t size, std::string_view path) {
  if (chance(faults_.write_error_probability)) return eio("truncate", path, stats_.write_errors);
  if (size > inode.footprint()) {
    if (auto s = reserve(size - inode.footprint(), "truncate", path); !s.ok()) return s;
  }
  // Growing needs no page: everything past the old size is already zero.
  if (size < inode.size) cut_pages(inode, size);
  resize(inode, size, inode.durable_size);
  return absl::OkStatus();
}

void DiskCore::persist(Inode& inode) {
  for (uint64_t index : inode.dirty) {
    auto it = inode.pages.find(index);
    if (it == inode.pages.end()) {
      inode.durable_pages.erase(index);
    } else {
      inode.durable_pages[index] = it->second;
    }
  }
  inode.dirty.clear();
  resize(inode, inode.size, inode.size);
  trim(inode.durable_pages, inode.durable_size);
}

// Linux after a writeback error: each dirty page was either written or dropped, the size was
// not committed, and the dropped pages are marked clean so no later fsync retries them.
void DiskCore::fail_sync(Inode& inode, std::string_view path) {
  uint64_t dropped = 0;
  for (uint64_t index : inode.dirty) {
    if (random_.coinflip(0.5)) {
      auto it = inode.pages.find(index);
      if (it == inode.pages.end()) {
        inode.durable_pages.erase(index);
      } else {
        inode.durable_pages[index] = it->second;
      }
    } else {
      inode.dropped.insert(index);
      ++dropped;
    }
  }
  inode.dirty.clear();
  trim(inode.durable_pages, inode.durable_size);
  ++stats_.sync_errors;
  stats_.pages_dropped_by_failed_sync += dropped;
  trace_fault("EIO", "sync", path, dropped);
}

void DiskCore::handle_closed(Inode& inode) {
  WEIR_ASSERT(inode.open_handles > 0);
  --inode.open_handles;
  collect(inode.id);
}

// ---------------------------------------------------------------------------------------------
// Namespace

void DiskCore::bind(Names& names, const std::string& name, uint64_t id) {
  ++inode(id).links;  // before releasing a replaced entry: the same inode must not be collected
  auto [it, inserted] = names.try_emplace(name, id);
  if (inserted) return;
  const uint64_t old = it->second;
  it->second = id;
  release_link(old);
}

void DiskCore::unbind(Names& names, const std::string& name) {
  auto it = names.find(name);
  if (it == names.end()) return;
  const uint64_t id = it->second;
  names.erase(it);
  release_link(id);
}

void DiskCore::assign(Names& target, const Names& source) {
  if (&target == &source) return;
  Names old = std::move(target);
  target = source;
  for (const auto& [name, id] : target) ++inode(id).links;
  for (const auto& [name, id] : old) release_link(id);
}

void DiskCore::release_link(uint64_t id) {
  Inode& node = inode(id);
  WEIR_ASSERT(node.links > 0);
  --node.links;
  collect(id);
}

// An inode lives while a name (current or durable) or an open handle refers to it.
void DiskCore::collect(uint64_t id) {
  auto it = inodes_.find(id);
  if (it == inodes_.end()) return;
  Inode& node = *it->second;
  if (node.links > 0 || node.open_handles > 0) return;
  WEIR_ASSERT(usage_ >= node.footprint());
  usage_ -= node.footprint();
  inodes_.erase(it);
}

void DiskCore::collect_all() {
  std::vector<uint64_t> ids;
  for (const auto& [id, node] : inodes_) ids.push_back(id);
  for (uint64_t id : ids) collect(id);
}

absl::StatusOr<std::shared_ptr<Inode>> DiskCore::open(const std::string& path, OpenMode mode) {
  auto normalized = normalize(path);
  if (!normalized.ok()) return normalized.status();
  if (chance(faults_.metadata_error_probability)) {
    return eio("open", path, stats_.metadata_errors);
  }
  if (dirs_.count(*normalized) != 0) return errno_status(EISDIR, "is a directory", path);
  const SplitPath where = split(*normalized);
  auto dir = dirs_.find(where.parent);
  if (dir == dirs_.end()) return errno_status(ENOENT, "no such directory", where.parent);
  auto entry = dir->second.current.find(where.name);
  if (entry != dir->second.current.end()) {
    if (mode == OpenMode::kCreateExclusive) return errno_status(EEXIST, "file exists", path);
    auto node = inodes_.find(entry->second);
    WEIR_ASSERT_MSG(node != inodes_.end(), "directory entry names a collected inode");
    return node->second;
  }
  if (mode == OpenMode::kRead || mode == OpenMode::kReadWrite) {
    return errno_status(ENOENT, "no such file", path);
  }
  if (auto s = reserve_entry("open", path); !s.ok()) return s;
  auto node = std::make_shared<Inode>();
  node->id = next_inode_id_++;
  inodes_.emplace(node->id, node);
  bind(dir->second.current, where.name, node->id);
  return node;
}

absl::Status DiskCore::rename(const std::string& from, const std::string& to) {
  auto source = normalize(from);
  if (!source.ok()) return source.status();
  auto target = normalize(to);
  if (!target.ok()) return target.status();
  if (chance(faults_.metadata_error_probability)) {
    return eio("rename", from, stats_.metadata_errors);
  }
  if (dirs_.count(*source) != 0) {
    return absl::UnimplementedError("renaming a directory is not supported: " + from);
  }
  if (dirs_.count(*target) != 0) return errno_status(EISDIR, "target is a directory", to);
  const SplitPath a = split(*source);
  const SplitPath b = split(*target);
  auto dir_a = dirs_.find(a.parent);
  auto dir_b = dirs_.find(b.parent);
  if (dir_a == dirs_.end()) return errno_status(ENOENT, "no such directory", a.parent);
  if (dir_b == dirs_.end()) return errno_status(ENOENT, "no such directory", b.parent);
  auto entry = dir_a->second.current.find(a.name);
  if (entry == dir_a->second.current.end()) return errno_status(ENOENT, "no such file", from);
  if (*source == *target) return absl::OkStatus();
  const uint64_t id = entry->second;
  bind(dir_b->second.current, b.name, id);
  unbind(dir_a->second.current, a.name);
  return absl::OkStatus();
}

absl::Status DiskCore::remove(const std::string& path) {
  auto normalized = normalize(path);
  if (!normalized.ok()) return normalized.status();
  if (chance(faults_.metadata_error_probability)) {
    return eio("remove", path, stats_.metadata_errors);
  }
  if (*normalized == "/") return absl::InvalidArgumentError("cannot remove the root");
  if (auto dir = dirs_.find(*normalized); dir != dirs_.end()) {
    const std::string prefix = *normalized + "/";
    auto child = dirs_.lower_bound(prefix);
    const bool has_subdirs =
        child != dirs_.end() && child->first.compare(0, prefix.size(), prefix) == 0;
    if (has_subdirs || !dir->second.current.empty()) {
      return errno_status(ENOTEMPTY, "directory not empty", path);
    }
    // rmdir made durable at once, like mkdir: its own unsynced removals are committed first.
    assign(dir->second.durable, Names{});
    dirs_.erase(dir);
    return absl::OkStatus();
  }
  const SplitPath where = split(*normalized);
  auto dir = dirs_.find(where.parent);
  if (dir == dirs_.end() || dir->second.current.count(where.name) == 0) {
    return errno_status(ENOENT, "no such file", path);
  }
  unbind(dir->second.current, where.name);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DiskCore::list(const std::string& path) {
  auto normalized = normalize(path);
  if (!normalized.ok()) return normalized.status();
  if (chance(faults_.metadata_error_probability)) {
    return eio("list", path, stats_.metadata_errors);
  }
  auto dir = dirs_.find(*normalized);
  if (dir == dirs_.end()) {
    return exists(*normalized) ? errno_status(ENOTDIR, "not a directory", path)
                               : errno_status(ENOENT, "no such directory", path);
  }
  std::vector<std::string> names;
  for (const auto& [name, id] : dir->second.current) names.push_back(name);
  const std::string prefix = *normalized == "/" ? "/" : *normalized + "/";
  for (auto it = dirs_.lower_bound(prefix);
       it != dirs_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    const std::string rest = it->first.substr(prefix.size());
    if (!rest.empty() && rest.find('/') == std::string::npos) names.push_back(rest);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// mkdir is durable at once, as if each changed parent were synced; syncing a parent commits
// its pending entries too, which also rules out a durable file and a directory sharing a name.
absl::Status DiskCore::create_directories(const std::string& path) {
  auto normalized = normalize(path);
  if (!normalized.ok()) return normalized.status();
  if (chance(faults_.metadata_error_probability)) {
    return eio("create_directories", path, stats_.metadata_errors);
  }
  std::string current;
  size_t start = 1;
  while (start <= normalized->size() && *normalized != "/") {
    size_t end = normalized->find('/', start);
    if (end == std::string::npos) end = normalized->size();
    const std::string parent = current.empty() ? std::string("/") : current;
    const std::string name = normalized->substr(start, end - start);
    current += "/" + name;
    start = end + 1;
    if (dirs_.count(current) != 0) continue;
    auto up_it = dirs_.find(parent);
    WEIR_ASSERT(up_it != dirs_.end());  // created by the previous turn, or the root
    Directory& up = up_it->second;
    if (up.current.count(name) != 0) return errno_status(ENOTDIR, "a file is in the way", current);
    if (auto s = reserve_entry("create_directories", current); !s.ok()) return s;
    assign(up.durable, up.current);
    dirs_[current];
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DiskCore::directory_for_sync(const std::string& path) const {
  auto normalized = normalize(path);
  if (!normalized.ok()) return normalized.status();
  if (dirs_.count(*normalized) != 0) return normalized;
  return exists(*normalized) ? errno_status(ENOTDIR, "not a directory", path)
                             : errno_status(ENOENT, "no such directory", path);
}

void DiskCore::commit_directory(const std::string& normalized) {
  auto dir = dirs_.find(normalized);
  if (dir != dirs_.end()) assign(dir->second.durable, dir->second.current);
}

bool DiskCore::exists(const std::string& path) const {
  auto normalized = normalize(path);
  if (!normalized.ok()) return false;
  if (dirs_.count(*normalized) != 0) return true;
  const SplitPath where = split(*normalized);
  auto dir = dirs_.find(where.parent);
  return dir != dirs_.end() && dir->second.current.count(where.name) != 0;
}

// ---------------------------------------------------------------------------------------------
// Power events

PageFate DiskCore::draw_fate(double p_lost, double p_kept) {
  const double u = random_.uniform01();
  if (u < p_lost) return PageFate::kLost;
  if (u < p_lost + p_kept) return PageFate::kKept;
  return PageFate::kTorn;
}

// Sector-granular: the first k sectors (0 < k < 8) hold the new bytes, the rest the old,
// since a drive writes a sector atomically but a page as several sectors in order.
PagePtr DiskCore::tear(const Page* fresh, const Page* old) {
  static const Page kZero{};
  if (fresh == nullptr) fresh = &kZero;
  if (old == nullptr) old = &kZero;
  const uint64_t sectors =
      static_cast<uint64_t>(random_.uniform_int(1, static_cast<int64_t>(kPage / kSector) - 1));
  auto page = std::make_shared<Page>(*old);
  std::memcpy(page->data(), fresh->data(), sectors * kSector);
  return page;
}

void DiskCore::crash_directories() {
  for (auto& [path, dir] : dirs_) {
    if (dir.current == dir.durable) continue;
    if (random_.coinflip(0.5)) {
      assign(dir.durable, dir.current);
    } else {
      assign(dir.current, dir.durable);
      ++stats_.directories_reverted;
    }
  }
}

void DiskCore::crash_inode(Inode& inode, double p_lost, double p_kept) {
  if (!inode.unsynced()) return;
  uint64_t size = inode.size;
  if (inode.durable_size != inode.size && random_.coinflip(0.5)) {
    size = inode.durable_size;
    ++stats_.sizes_reverted;
  }
  std::set<uint64_t> touched = inode.dirty;
  touched.insert(inode.dropped.begin(), inode.dropped.end());
  PageMap result = inode.pages;
  for (uint64_t index : touched) {
    if (index >= pages_for(size)) break;  // past the surviving size: trimmed below
    const Page* fresh = find_page(inode.pages, index);
    const Page* old = find_page(inode.durable_pages, index);
    if (same_content(fresh, old)) continue;
    const PageFate fate =
        inode.dropped.count(index) != 0 ? PageFate::kLost : draw_fate(p_lost, p_kept);
    if (fate == PageFate::kLost) {
      auto it = inode.durable_pages.find(index);
      if (it == inode.durable_pages.end()) {
        result.erase(index);
      } else {
        result[index] = it->second;
      }
      ++stats_.pages_lost;
    } else if (fate == PageFate::kKept) {
      ++stats_.pages_kept;
    } else {
      result[index] = tear(fresh, old);
      ++stats_.pages_torn;
    }
  }
  trim(result, size);
  inode.pages = result;
  inode.durable_pages = std::move(result);
  inode.dirty.clear();
  inode.dropped.clear();
  resize(inode, size, size);
}

void DiskCore::end_boot() {
  for (auto& [id, node] : inodes_) node->open_handles = 0;
  collect_all();
  uint64_t usage = 0;
  for (const auto& [id, node] : inodes_) {
    WEIR_ASSERT(!node->unsynced() && node->links > 0);
    usage += node->footprint();
  }
  WEIR_ASSERT_MSG(usage == usage_, "disk usage accounting drifted");
  ++boot_;
}

void DiskCore::crash() {
  ++stats_.crashes;
  // One mix per crash: some power losses flush almost everything, others almost nothing.
  const double w_lost = random_.uniform01();
  const double w_kept = random_.uniform01();
  const double w_torn = random_.uniform01() * 0.5;
  const double total = w_lost + w_kept + w_torn;
  const double p_lost = total > 0 ? w_lost / total : 1.0;
  const double p_kept = total > 0 ? w_kept / total : 0.0;
  const DiskStats before = stats_;
  for (auto& [id, node] : inodes_) node->open_handles = 0;
  crash_directories();
  collect_all();  // names that did not survive take their inodes with them
  for (auto& [id, node] : inodes_) crash_inode(*node, p_lost, p_kept);
  end_boot();
  TraceEvent(Severity::kWarn, "SimDiskCrash")
      .detail("Disk", options_.name)
      .detail("PLost", p_lost)
      .detail("PKept", p_kept)
      .detail("PagesLost", stats_.pages_lost - before.pages_lost)
      .detail("PagesKept", stats_.pages_kept - before.pages_kept)
      .detail("PagesTorn", stats_.pages_torn - before.pages_torn)
      .detail("SizesReverted", stats_.sizes_reverted - before.sizes_reverted)
      .detail("DirectoriesReverted", stats_.directories_reverted - before.directories_reverted);
}

void DiskCore::clean_shutdown() {
  ++stats_.clean_shutdowns;
  for (auto& [path, dir] : dirs_) assign(dir.durable, dir.current);
  for (auto& [id, node] : inodes_) {
    persist(*node);
    // The OS thinks pages dropped by a failed sync are clean, so the flush skips them.
    for (uint64_t index : node->dropped) {
      auto it = node->durable_pages.find(index);
      if (it == node->durable_pages.end()) {
        node->pages.erase(index);
      } else {
        node->pages[index] = it->second;
      }
    }
    node->dropped.clear();
  }
  end_boot();
  TraceEvent(Severity::kInfo, "SimDiskCleanShutdown").detail("Disk", options_.name);
}

// ---------------------------------------------------------------------------------------------
// Handles and the IFileSystem front

namespace {

// Suspends for an operation's latency, then reports `result`, unless the disk crashed,
// rebooted or was destroyed meanwhile: then the caller's world is gone and it gets an error.
// Touches neither the disk nor the handle after suspending, as either may have died.
template <class R>
R finish(std::weak_ptr<DiskCore> weak, uint64_t boot, R result, Duration latency) {
  delay(latency);
  auto core = weak.lock();
  if (!core || core->boot() != boot) return R(stale_error());
  return result;
}

// An open file: a reference to an inode, valid for one boot of its disk. It survives a rename
// or removal of its name, as a POSIX descriptor does.
class SimFile final : public IFile {
 public:
  SimFile(std::weak_ptr<DiskCore> core, std::shared_ptr<Inode> inode, uint64_t boot,
          std::string path, bool writable)
      : core_(std::move(core)),
        inode_(std::move(inode)),
        boot_(boot),
        path_(std::move(path)),
        writable_(writable) {}

  ~SimFile() override {
    if (DiskCore* core = live()) core->handle_closed(*inode_);
  }

  absl::StatusOr<size_t> read(uint64_t offset, absl::Span<uint8_t> buffer) override {
    return read_at(offset, buffer, true);
  }
  // No bit flip (see IFile::read_to_send); errors and latency as read().
  absl::StatusOr<size_t> read_to_send(uint64_t offset, absl::Span<uint8_t> buffer) override {
    return read_at(offset, buffer, false);
  }
  absl::Status write(uint64_t offset, absl::Span<const uint8_t> data) override {
    return write_at(offset, data, false);
  }
  absl::Status append(absl::Span<const uint8_t> data) override { return write_at(0, data, true); }
  absl::Status sync() override;
  absl::Status truncate(uint64_t size) override;
  absl::StatusOr<uint64_t> size() override;
  const std::string& path() const override { return path_; }

 private:
  // The disk if this handle still belongs to its current boot. The SimDisk keeps the core
  // alive until the caller's next suspension, so the raw pointer is safe until then.
  DiskCore* live() const {
    auto core = core_.lock();
    if (!core || core->boot() != boot_) return nullptr;
    WEIR_ASSERT_MSG(inode_->open_handles > 0, "a live handle on an inode that counts none");
    return core.get();
  }
  absl::StatusOr<size_t> read_at(uint64_t offset, absl::Span<uint8_t> buffer, bool may_corrupt);
  absl::Status write_at(uint64_t offset, absl::Span<const uint8_t> data, bool append);

  std::weak_ptr<DiskCore> core_;
  std::shared_ptr<Inode> inode_;
  uint64_t boot_;
  std::string path_;
  bool writable_;
};

}  // namespace

absl::StatusOr<size_t> SimFile::read_at(uint64_t offset, absl::Span<uint8_t> buffer,
                                        bool may_corrupt) {
  DiskCore* core = live();
  if (core == nullptr) return stale_error();
  ++core->stats().reads;
  const Duration latency = core->latency(OpClass::kCached, 0, "read", path_);
  if (core->chance(core->faults().read_error_probability)) {
    return finish<absl::StatusOr<size_t>>(
        core_, boot_, core->eio("read", path_, core->stats().read_errors), latency);
  }
  const size_t n = core->read(*inode_, offset, buffer);
  core->stats().bytes_read += n;
  if (may_corrupt && n > 0 && core->chance(core->faults().corrupt_read_probability)) {
    const uint64_t bit = core->random().below(static_cast<uint64_t>(n) * 8);
    buffer[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ++core->stats().corrupted_reads;
    core->trace_fault("CorruptRead", "read", path_);
  }
  return finish<absl::StatusOr<size_t>>(core_, boot_, n, latency);
}

absl::Status SimFile::write_at(uint64_t offset, absl::Span<const uint8_t> data, bool append) {
  DiskCore* core = live();
  if (core == nullptr) return stale_error();
  const std::string_view op = append ? "append" : "write";
  ++core->stats().writes;
  const Duration latency = core->latency(OpClass::kCached, 0, op, path_);
  absl::Status result = writable_
                            ? core->write(*inode_, append ? inode_->size : offset, data, op, path_)
                            : errno_status(EBADF, "file opened read-only", path_);
  return finish(core_, boot_, std::move(result), latency);
}

absl::Status SimFile::truncate(uint64_t size) {
  DiskCore* core = live();
  if (core == nullptr) return stale_error();
  ++core->stats().truncates;
  const Duration latency = core->latency(OpClass::kCached, 0, "truncate", path_);
  absl::Status result = writable_ ? core->truncate(*inode_, size, path_)
                                  : errno_status(EBADF, "file opened read-only", path_);
  return finish(core_, boot_, std::move(result), latency);
}

absl::StatusOr<uint64_t> SimFile::size() {
  DiskCore* core = live();
  if (core == nullptr) return stale_error();
  const Duration latency = core->latency(OpClass::kCached, 0, "size", path_);
  return finish<absl::StatusOr<uint64_t>>(core_, boot_, inode_->size, latency);
}

// Durability is granted after the latency, not before: a crash or cancellation while the
// flush is under way leaves the data as unsynced as it was.
absl::Status SimFile::sync() {
  DiskCore* core = live();
  if (core == nullptr) return stale_error();
  ++core->stats().syncs;
  const bool fail = core->chance(core->faults().sync_error_probability);
  const Duration latency =
      core->latency(OpClass::kSync, inode_->dirty.size() * kPage, "sync", path_);
  delay(latency);
  core = live();
  if (core == nullptr) return stale_error();
  if (fail) {
    core->fail_sync(*inode_, path_);
    return errno_status(EIO, "injected EIO on sync", path_);
  }
  core->persist(*inode_);
  return absl::OkStatus();
}

SimDisk::SimDisk(IRandom& random, DiskOptions options)
    : core_(std::make_shared<DiskCore>(random, std::move(options))) {}

SimDisk::~SimDisk() = default;

absl::StatusOr<std::unique_ptr<IFile>> SimDisk::open(const std::string& path, OpenMode mode) {
  ++core_->stats().opens;
  const Duration latency = core_->latency(OpClass::kCached, 0, "open", path);
  auto inode = core_->open(path, mode);
  if (!inode.ok()) {
    return finish<absl::StatusOr<std::unique_ptr<IFile>>>(core_, core_->boot(), inode.status(),
                                                          latency);
  }
  core_->handle_opened(**inode);
  std::unique_ptr<IFile> file = std::make_unique<SimFile>(core_, std::move(*inode), core_->boot(),
                                                          path, mode != OpenMode::kRead);
  return finish<absl::StatusOr<std::unique_ptr<IFile>>>(core_, core_->boot(), std::move(file),
                                                        latency);
}

absl::Status SimDisk::rename(const std::string& from, const std::string& to) {
  const Duration latency = core_->latency(OpClass::kCached, 0, "rename", from);
  return finish(core_, core_->boot(), core_->rename(from, to), latency);
}

absl::Status SimDisk::remove(const std::string& path) {
  const Duration latency = core_->latency(OpClass::kCached, 0, "remove", path);
  return finish(core_, core_->boot(), core_->remove(path), latency);
}

absl::StatusOr<std::vector<std::string>> SimDisk::list(const std::string& dir) {
  const Duration latency = core_->latency(OpClass::kCached, 0, "list", dir);
  return finish(core_, core_->boot(), core_->list(dir), latency);
}

absl::Status SimDisk::create_directories(const std::string& dir) {
  const Duration latency = core_->latency(OpClass::kSync, 0, "create_directories", dir);
  return finish(core_, core_->boot(), core_->create_directories(dir), latency);
}

absl::Status SimDisk::sync_directory(const std::string& dir) {
  ++core_->stats().directory_syncs;
  auto normalized = core_->directory_for_sync(dir);
  const bool fail = core_->chance(core_->faults().sync_error_probability);
  const Duration latency = core_->latency(OpClass::kSync, 0, "sync_directory", dir);
  std::weak_ptr<DiskCore> weak = core_;
  const uint64_t boot = core_->boot();
  delay(latency);
  auto core = weak.lock();
  if (!core || core->boot() != boot) return stale_error();
  if (!normalized.ok()) return normalized.status();
  if (fail) return core->eio("sync_directory", dir, core->stats().sync_errors);
  core->commit_directory(*normalized);  // a no-op if it was removed meanwhile
  return absl::OkStatus();
}

bool SimDisk::exists(const std::string& path) {
  const Duration latency = core_->latency(OpClass::kCached, 0, "exists", path);
  const bool result = core_->exists(path);
  delay(latency);
  return result;
}

void SimDisk::crash() {
  core_->crash();
}
void SimDisk::clean_shutdown() {
  core_->clean_shutdown();
}
void SimDisk::set_faults(const DiskFaults& faults) {
  core_->set_faults(faults);
}
const DiskFaults& SimDisk::faults() const {
  return core_->faults();
}
const DiskStats& SimDisk::stats() const {
  return core_->stats();
}
uint64_t SimDisk::usage_bytes() const {
  return core_->usage();
}
uint64_t SimDisk::boot_count() const {
  return core_->boot();
}

}  // namespace weir::sim
