// IConnection::send_file on the real runtime: sendfile(2) from a RealFile over loopback TCP,
// the copying fallback for files it cannot hand to the kernel, and its errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/future.h"
#include "runtime/real/real_runtime.h"
#include "tests/runtime_real/test_util.h"

namespace weir::real {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::TempDir;

Bytes pattern(size_t size, uint8_t seed) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i * 131 + seed + (i >> 10));
  return out;
}

// A file that forwards to another: not a RealFile, so send_file must copy, through these reads.
class ForwardingFile final : public IFile {
 public:
  explicit ForwardingFile(std::unique_ptr<IFile> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<size_t> read(uint64_t offset, absl::Span<uint8_t> buffer) override {
    ++reads;
    return inner_->read(offset, buffer);
  }
  absl::Status write(uint64_t offset, absl::Span<const uint8_t> data) override {
    return inner_->write(offset, data);
  }
  absl::Status append(absl::Span<const uint8_t> data) override { return inner_->append(data); }
  absl::Status sync() override { return inner_->sync(); }
  absl::Status truncate(uint64_t size) override { return inner_->truncate(size); }
  absl::StatusOr<uint64_t> size() override { return inner_->size(); }
  const std::string& path() const override { return inner_->path(); }
  int reads = 0;

 private:
  std::unique_ptr<IFile> inner_;
};

class RealSendFileTest : public ::testing::Test {
 protected:
  struct Pair {
    std::unique_ptr<IListener> listener;
    std::shared_ptr<IConnection> client;
    std::shared_ptr<IConnection> server;
  };
  absl::StatusOr<Pair> connected_pair() {
    Pair p;
    RR_ASSIGN(p.listener, rt_.network().listen("127.0.0.1:0"));
    auto accepted = spawn("accept", [l = p.listener.get()] { return l->accept(); });
    RR_ASSIGN(p.client, rt_.network().connect(p.listener->address()));
    RR_ASSIGN(p.server, await(accepted));
    return p;
  }
  absl::StatusOr<std::unique_ptr<IFile>> file_with(const Bytes& data) {
    RR_ASSIGN(auto file, rt_.fs().open(dir_.file("segment.log"), OpenMode::kCreate));
    RR_TRY(file->write(0, data));
    return file;
  }

  RealRuntime rt_{RealRuntimeOptions{.handle_signals = false}};
  TempDir dir_;
};

// A range far larger than both socket buffers: sendfile sends part, meets EAGAIN, waits for
// the reader and goes on; the bytes arrive in order between the writes around them.
TEST_F(RealSendFileTest, LargeRangeGoesOutInOrderBetweenWritesThroughPartialSends) {
  auto r = rt_.run([&]() -> absl::Status {
    RR_ASSIGN(Pair p, connected_pair());
    constexpr size_t kSize = 24 * 1024 * 1024 + 13;
    const Bytes data = pattern(kSize, 3);
    RR_ASSIGN(auto file, file_with(data));
    const uint64_t offset = 4097;
    const size_t length = kSize - offset - 5;
    const Bytes head = {1, 2, 3}, tail = {9, 8};
    auto writer = spawn("writer", [&]() -> absl::Status {
      RR_TRY(p.client->write(head));
      RR_TRY(p.client->send_file(*file, offset, length));
      return p.client->write(tail);
    });
    delay(20ms);
    EXPECT_FALSE(writer.is_ready()) << "the socket buffers cannot hold the whole range";
    Bytes got(head.size() + length + tail.size());
    RR_TRY(read_exact(*p.server, absl::MakeSpan(got)));
    RR_TRY(await(writer));
    Bytes want = head;
    want.insert(want.end(), data.begin() + offset, data.begin() + offset + length);
    want.insert(want.end(), tail.begin(), tail.end());
    if (got != want) return absl::DataLossError("received bytes differ");
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealSendFileTest, AFileShorterThanAskedIsAnErrorNotAHang) {
  auto r = rt_.run([&]() -> absl::Status {
    RR_ASSIGN(Pair p, connected_pair());
    RR_ASSIGN(auto file, file_with(pattern(1000, 1)));
    auto s = p.client->send_file(*file, 10, 5000);
    EXPECT_TRUE(absl::IsOutOfRange(s)) << s;
    // Part of the range went out: the connection is closed, so the peer sees 990 bytes and
    // then end of stream, never a torn message followed by more data.
    Bytes got(990);
    RR_TRY(read_exact(*p.server, absl::MakeSpan(got)));
    Bytes one(1);
    RR_ASSIGN(size_t n, p.server->read(absl::MakeSpan(one)));
    EXPECT_EQ(n, 0u);
    // Entirely past the end: nothing was sent, the connection stays usable.
    RR_ASSIGN(Pair q, connected_pair());
    EXPECT_TRUE(absl::IsOutOfRange(q.client->send_file(*file, 1000, 1)));
    RR_TRY(q.client->write(Bytes{7}));
    RR_TRY(read_exact(*q.server, absl::MakeSpan(one)));
    EXPECT_EQ(one[0], 7);
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealSendFileTest, ClosedPeerFailsTheSendWithoutSigpipe) {
  auto r = rt_.run([&]() -> absl::Status {
    RR_ASSIGN(Pair p, connected_pair());
    RR_ASSIGN(auto file, file_with(pattern(8 * 1024 * 1024, 5)));
    p.server->close();
    delay(10ms);
    absl::Status s;
    // The first sends may still fit in the buffers before the reset comes back.
    for (int i = 0; i < 20 && s.ok(); ++i) s = p.client->send_file(*file, 0, 8 * 1024 * 1024);
    EXPECT_TRUE(absl::IsUnavailable(s)) << s;
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealSendFileTest, SenderClosedLocallyWhileBlockedFails) {
  auto r = rt_.run([&]() -> absl::Status {
    RR_ASSIGN(Pair p, connected_pair());
    RR_ASSIGN(auto file, file_with(pattern(16 * 1024 * 1024, 6)));
    auto sender = spawn("sender", [&] { return p.client->send_file(*file, 0, 16 * 1024 * 1024); });
    delay(20ms);
    EXPECT_FALSE(sender.is_ready());
    p.client->close();
    auto s = await(sender);
    EXPECT_TRUE(absl::IsUnavailable(s)) << s;
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealSendFileTest, AFileThatIsNoRealFileIsCopiedThroughItsReads) {
  auto r = rt_.run([&]() -> absl::Status {
    RR_ASSIGN(Pair p, connected_pair());
    constexpr size_t kSize = 3 * 1024 * 1024 + 1;
    const Bytes data = pattern(kSize, 7);
    RR_ASSIGN(auto inner, file_with(data));
    ForwardingFile file(std::move(inner));
    auto sender = spawn("sender", [&] { return p.client->send_file(file, 1, kSize - 1); });
    Bytes got(kSize - 1);
    RR_TRY(read_exact(*p.server, absl::MakeSpan(got)));
    RR_TRY(await(sender));
    EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin() + 1));
    EXPECT_GE(file.reads, static_cast<int>(kSize / IConnection::kSendFileChunkBytes));
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealSendFileTest, AnUnlinkedFileStillSendsWhileOpen) {
  auto r = rt_.run([&]() -> absl::Status {
    RR_ASSIGN(Pair p, connected_pair());
    const Bytes data = pattern(100000, 8);
    RR_ASSIGN(auto file, file_with(data));
    RR_TRY(rt_.fs().remove(dir_.file("segment.log")));
    auto sender = spawn("sender", [&] { return p.client->send_file(*file, 0, data.size()); });
    Bytes got(data.size());
    RR_TRY(read_exact(*p.server, absl::MakeSpan(got)));
    RR_TRY(await(sender));
    EXPECT_EQ(got, data);
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

}  // namespace
}  // namespace weir::real
