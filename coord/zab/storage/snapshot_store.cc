#include "coord/zab/storage/snapshot_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "buggify/code_probe.h"
#include "coord/zab/storage/storage_io.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::coord::zab {
namespace {

constexpr char kPrefix[] = "snapshot.";
constexpr char kTempSuffix[] = ".tmp";
constexpr uint32_t kMagic = 0x504e5357;  // "WSNP" little-endian
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = SnapshotStore::kHeaderBytes;

// Layout: header crc32c (of bytes 4..32), magic, version, data crc32c, zxid, data length.
// The CRC of a big image in pieces, letting other actors run in between: all of a 50 MB image
// at once held the server's loop for ~10 ms.
uint32_t crc32c_yielding(absl::Span<const uint8_t> data) {
  constexpr size_t kPieceBytes = size_t{4} << 20;
  uint32_t crc = 0;
  for (size_t at = 0; at < data.size(); at += kPieceBytes) {
    if (at > 0) yield_now();
    crc = crc32c_extend(crc, data.data() + at, std::min(kPieceBytes, data.size() - at));
  }
  return crc;
}

void encode_header(uint8_t* h, Zxid zxid, absl::Span<const uint8_t> data) {
  store_u32(h + 4, kMagic);
  store_u32(h + 8, kVersion);
  store_u32(h + 12, crc32c_yielding(data));
  store_u64(h + 16, static_cast<uint64_t>(zxid.value()));
  store_u64(h + 24, data.size());
  store_u32(h, crc32c(h + 4, kHeaderBytes - 4));
}

bool header_valid(const uint8_t* h, Zxid zxid, uint64_t data_bytes) {
  return crc32c(h + 4, kHeaderBytes - 4) == load_u32(h) && load_u32(h + 4) == kMagic &&
         load_u32(h + 8) == kVersion && load_u64(h + 16) == static_cast<uint64_t>(zxid.value()) &&
         load_u64(h + 24) == data_bytes;
}

}  // namespace

SnapshotStore::SnapshotStore(IFileSystem& fs, std::string dir, SnapshotStoreOptions options)
    : fs_(fs), dir_(std::move(dir)), options_(options) {}

SnapshotStore::~SnapshotStore() = default;

absl::StatusOr<std::unique_ptr<SnapshotStore>> SnapshotStore::open(IFileSystem& fs, std::string dir,
                                                                   SnapshotStoreOptions options) {
  if (options.retain < 1 || options.read_attempts_max < kReadAgreementsRequired ||
      options.read_attempts_max > kReadAttemptsLimit) {
    return absl::InvalidArgumentError("SnapshotStoreOptions out of range");
  }
  std::unique_ptr<SnapshotStore> store(new SnapshotStore(fs, std::move(dir), options));
  if (auto s = fs.create_directories(store->dir_); !s.ok()) return s;
  // Commits a rename an earlier life could not sync, before the snapshot it shows is used.
  if (auto s = fs.sync_directory(store->dir_); !s.ok()) return s;
  return store;
}

std::string SnapshotStore::path(Zxid zxid) const {
  return absl::StrCat(dir_, "/", hex_name(kPrefix, zxid.value()));
}

absl::StatusOr<std::vector<Zxid>> SnapshotStore::list() {
  auto names = fs_.list(dir_);
  if (!names.ok()) return names.status();
  std::vector<Zxid> zxids;
  for (const std::string& name : *names) {
    if (auto z = parse_hex_name(kPrefix, name); z.has_value()) zxids.push_back(Zxid(*z));
  }
  std::sort(zxids.begin(), zxids.end());
  return zxids;
}

absl::Status SnapshotStore::save(Zxid zxid, absl::Span<const uint8_t> data) {
  if (data.size() > options_.snapshot_bytes_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot of ", data.size(), " bytes over snapshot_bytes_max"));
  }
  ActorMutex::Guard guard(lock_);
  uint8_t header[kHeaderBytes];
  encode_header(header, zxid, data);
  const std::string temp = path(zxid) + kTempSuffix;
  {
    auto file = fs_.open(temp, OpenMode::kCreate);
    if (!file.ok()) return file.status();
    // Rewriting from scratch dirties every page, even ones a failed sync of an earlier
    // attempt dropped.
    if (auto s = (*file)->truncate(0); !s.ok()) return s;
    if (auto s = (*file)->write(0, absl::MakeConstSpan(header)); !s.ok()) return s;
    if (auto s = (*file)->write(kHeaderBytes, data); !s.ok()) return s;
    if (auto s = (*file)->sync(); !s.ok()) return s;
  }
  if (auto s = fs_.rename(temp, path(zxid)); !s.ok()) return s;
  if (auto s = fs_.sync_directory(dir_); !s.ok()) return s;
  TraceEvent(Severity::kInfo, "SnapshotSaved")
      .detail("Dir", dir_)
      .detail("Zxid", zxid)
      .detail("Bytes", data.size());
  return enforce_retention();
}

absl::Status SnapshotStore::enforce_retention() {
  auto names = fs_.list(dir_);
  if (!names.ok()) return names.status();
  std::vector<Zxid> zxids;
  bool removed = false;
  for (const std::string& name : *names) {
    if (auto z = parse_hex_name(kPrefix, name); z.has_value()) {
      zxids.push_back(Zxid(*z));
    } else if (absl::StartsWith(name, kPrefix) && absl::EndsWith(name, kTempSuffix)) {
      // A save that failed or was interrupted (saves are serialized, none is running).
      if (auto s = fs_.remove(absl::StrCat(dir_, "/", name)); !s.ok()) return s;
      removed = true;
    }
  }
  std::sort(zxids.begin(), zxids.end());
  const size_t retain = static_cast<size_t>(options_.retain);
  for (size_t i = 0; i + retain < zxids.size(); ++i) {
    if (auto s = fs_.remove(path(zxids[i])); !s.ok()) return s;
    removed = true;
  }
  if (!removed) return absl::OkStatus();
  return fs_.sync_directory(dir_);
}

absl::StatusOr<std::optional<Snapshot>> SnapshotStore::load_latest() {
  ActorMutex::Guard guard(lock_);
  auto zxids = list();
  if (!zxids.ok()) return zxids.status();
  for (auto it = zxids->rbegin(); it != zxids->rend(); ++it) {
    auto snapshot = load(*it);
    if (!snapshot.ok()) return snapshot.status();
    if (snapshot->has_value()) {
      CODE_PROBE(it != zxids->rbegin(), "snapshot_store.fell_back_to_older_snapshot");
      TraceEvent(Severity::kInfo, "SnapshotLoaded")
          .detail("Dir", dir_)
          .detail("Zxid", *it)
          .detail("Bytes", (*snapshot)->data.size());
      return snapshot;
    }
  }
  return std::optional<Snapshot>();
}

// The snapshot for `zxid`, nullopt when it is damaged on disk.
absl::StatusOr<std::optional<Snapshot>> SnapshotStore::load(Zxid zxid) {
  auto file = fs_.open(path(zxid), OpenMode::kRead);
  if (!file.ok()) return file.status();
  auto size = (*file)->size();
  if (!size.ok()) return size.status();
  const char* damage = nullptr;
  Snapshot snapshot{zxid, {}};
  if (*size < kHeaderBytes || *size - kHeaderBytes > options_.snapshot_bytes_max) {
    damage = "size out of range";
  } else {
    snapshot.data.resize(*size - kHeaderBytes);  // bounded by the file and snapshot_bytes_max
    uint8_t header[kHeaderBytes];
    auto stable = read_until_stable(
        options_.read_attempts_max, path(zxid), [&]() -> absl::StatusOr<ReadAttempt> {
          auto n = read_fully(**file, 0, absl::MakeSpan(header));
          if (!n.ok()) return n.status();
          if (*n != kHeaderBytes || !header_valid(header, zxid, snapshot.data.size())) {
            return ReadAttempt{false, fingerprint_of(absl::MakeConstSpan(header, *n))};
          }
          auto m = read_fully(**file, kHeaderBytes, absl::MakeSpan(snapshot.data));
          if (!m.ok()) return m.status();
          const auto data = absl::MakeConstSpan(snapshot.data.data(), *m);
          if (*m == snapshot.data.size() &&
              crc32c(data.data(), data.size()) == load_u32(header + 12)) {
            return ReadAttempt{true, 0};
          }
          return ReadAttempt{false, ~fingerprint_of(data)};
        });
    if (!stable.ok()) return stable.status();
    if (!*stable) damage = "bad header or CRC";
  }
  if (damage == nullptr) return std::optional<Snapshot>(std::move(snapshot));
  TraceEvent(Severity::kWarn, "SnapshotDamaged")
      .detail("Path", path(zxid))
      .detail("FileBytes", *size)
      .detail("Reason", damage);
  return std::optional<Snapshot>();
}

}  // namespace weir::coord::zab
