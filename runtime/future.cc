#include "runtime/future.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/filesystem.h"
#include "runtime/network.h"
#include "runtime/process_context.h"

namespace weir {

ProcessContext& current_context() {
  ProcessContext* ctx = Scheduler::current().current_process()->context();
  WEIR_ASSERT_MSG(ctx != nullptr, "process has no context");
  return *ctx;
}

Duration to_scheduler_duration(Duration local) {
  ProcessContext* ctx = Scheduler::current().current_process()->context();
  if (ctx == nullptr || ctx->clock == nullptr) return local;
  return ctx->clock->to_scheduler(local);
}

void delay(Duration d) {
  Scheduler& s = Scheduler::current();
  WakeTimer timer(s.now() + to_scheduler_duration(d));
  while (!timer.expired()) s.suspend();
}

void yield_now() {
  Scheduler& s = Scheduler::current();
  s.wake(s.current_actor());
  s.suspend();
}

Future<void> after(Duration d) {
  Promise<void> p;
  Future<void> f = p.future();
  Scheduler& s = Scheduler::current();
  s.add_timer(s.now() + to_scheduler_duration(d), [p]() mutable { p.try_set(absl::OkStatus()); });
  return f;
}

absl::Status read_exact(IConnection& conn, absl::Span<uint8_t> buffer) {
  size_t done = 0;
  while (done < buffer.size()) {
    auto n = conn.read(buffer.subspan(done));
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::OutOfRangeError("connection closed mid-message");
    done += *n;
  }
  return absl::OkStatus();
}

absl::Status copy_file_to(IFile& file, uint64_t offset, size_t length, size_t& done,
                          const std::function<absl::Status(absl::Span<const uint8_t>)>& write) {
  std::vector<uint8_t> chunk(std::min(length, IConnection::kSendFileChunkBytes));
  while (done < length) {
    const auto want = absl::MakeSpan(chunk).subspan(0, std::min(chunk.size(), length - done));
    auto n = file.read_to_send(offset + done, want);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::OutOfRangeError(absl::StrCat("send file ", file.path(), ": ends before ",
                                                offset + length, " (at ", offset + done, ")"));
    }
    if (auto s = write(want.subspan(0, *n)); !s.ok()) return s;
    done += *n;
  }
  return absl::OkStatus();
}

absl::Status IConnection::send_file(IFile& file, uint64_t offset, size_t length) {
  size_t done = 0;
  return copy_file_to(file, offset, length, done,
                      [this](absl::Span<const uint8_t> bytes) { return write(bytes); });
}

absl::StatusOr<std::vector<uint8_t>> read_file(IFileSystem& fs, const std::string& path,
                                               uint64_t size_max) {
  auto file = fs.open(path, OpenMode::kRead);
  if (!file.ok()) return file.status();
  auto size = (*file)->size();
  if (!size.ok()) return size.status();
  if (*size > size_max) return absl::ResourceExhaustedError("file larger than size_max: " + path);
  std::vector<uint8_t> data(*size);
  size_t done = 0;
  while (done < data.size()) {
    auto n = (*file)->read(done, absl::MakeSpan(data).subspan(done));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    done += *n;
  }
  data.resize(done);
  return data;
}

}  // namespace weir
