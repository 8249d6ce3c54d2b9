// FramedServer over the simulated network, with a toy protocol: replies in request order
// while requests run concurrently, the in-flight bound, frame and connection limits, a slow
// reader disconnected with bounded memory, idle timeouts, preambles, pushed bytes ahead of
// replies not yet due, failed requests and close-after-reply.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/framed/frame_decoder.h"
#include "runtime/framed/framed_server.h"
#include "runtime/future.h"
#include "sim/simulator.h"

namespace weir::framed {
namespace {

std::string frame(std::string_view body) {
  std::string out;
  append_length(out, static_cast<uint32_t>(body.size()));
  out.append(body);
  return out;
}

// Body "<delay_ms> <text>" answers "<text>" after the delay. Special texts: "fail" (a failed
// future), "none" (no reply), "bye" (reply, then close), "push:<x>" (pushes <x> at once, then
// answers "ok"), "big:<n>" (an n-byte reply), "file:<n>" (a reply "[" + n bytes of a file on
// the server's disk + "]", the file's bytes as a Reply file range).
class ToyHandler final : public FramedHandler {
 public:
  std::optional<std::string> on_preamble(FramedConnection&, std::string_view head) override {
    if (head == "ruok") return std::string("imok");
    return std::nullopt;
  }
  void on_open(FramedConnection&) override { ++opened; }
  void on_close(FramedConnection& c) override { closed_reasons.push_back(*c.close_reason()); }
  Future<Reply> on_frame(FramedConnection& c, std::string_view body) override {
    const std::string whole(body);
    std::vector<std::string> parts = absl::StrSplit(whole, absl::MaxSplits(' ', 1));
    int delay_ms = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &delay_ms)) {
      c.close();
      return Future<Reply>::ready(absl::InvalidArgumentError("bad request"));
    }
    std::string text = parts[1];
    if (text.rfind("push:", 0) == 0) {
      (void)c.send(frame(text.substr(5)));
      text = "ok";
    }
    return spawn("toy-request", [this, delay_ms, text]() -> absl::StatusOr<Reply> {
      ++running;
      peak = std::max(peak, running);
      struct Done {
        int& n;
        ~Done() { --n; }
      } done{running};
      delay(std::chrono::milliseconds(delay_ms));
      if (text == "fail") return absl::InternalError("handler failed");
      if (text == "none") return Reply{};
      if (text.rfind("file:", 0) == 0) {
        size_t n = 0;
        (void)absl::SimpleAtoi(text.substr(5), &n);
        return file_reply(n);
      }
      if (text.rfind("big:", 0) == 0) {
        size_t n = 0;
        (void)absl::SimpleAtoi(text.substr(4), &n);
        return Reply{frame(std::string(n, 'x'))};
      }
      return Reply{frame(text), text == "bye"};
    });
  }
  // The bytes file_reply sends from its file: i-th byte of the file.
  static char file_byte(size_t i) { return static_cast<char>('a' + (i * 7 + i / 97) % 26); }
  // Frame "[" + bytes [1, 1 + n) of a file + "]", the middle as a file range.
  absl::StatusOr<Reply> file_reply(size_t n) {
    IFileSystem& fs = *current_context().fs;
    const std::string path = absl::StrCat("/reply-", files_made++);
    auto file = fs.open(path, OpenMode::kCreate);
    if (!file.ok()) return file.status();
    std::string content(n + 2, '\0');
    for (size_t i = 0; i < content.size(); ++i) content[i] = file_byte(i);
    if (auto st = (*file)->write(
            0,
            absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
        !st.ok()) {
      return st;
    }
    Reply r;
    append_length(r.bytes, static_cast<uint32_t>(n + 2));
    r.bytes += "[";
    r.files.push_back(FilePiece{
        .at = r.bytes.size(),
        .range =
            FileRange{.file = std::shared_ptr<IFile>(std::move(*file)), .offset = 1, .length = n}});
    r.bytes += "]";
    return r;
  }
  static std::string file_reply_body(size_t n) {
    std::string body = "[";
    for (size_t i = 1; i <= n; ++i) body += file_byte(i);
    return body + "]";
  }
  int files_made = 0;
  int opened = 0;
  int running = 0;
  int peak = 0;
  std::vector<CloseReason> closed_reasons;
};

// A raw client: writes bytes, reads whole frames.
class Client {
 public:
  explicit Client(std::shared_ptr<IConnection> io) : io_(std::move(io)) {}
  static std::unique_ptr<Client> connect(const std::string& address) {
    auto io = current_context().network->connect(address);
    if (!io.ok()) return nullptr;
    return std::make_unique<Client>(*io);
  }
  absl::Status write(const std::string& bytes) {
    return io_->write(
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
  absl::Status request(int delay_ms, const std::string& text) {
    return write(frame(absl::StrCat(delay_ms, " ", text)));
  }
  // The next frame, or an error once the server closed the connection.
  absl::StatusOr<std::string> next() {
    while (true) {
      if (auto f = decoder_.pop()) return std::string(*f);
      std::vector<uint8_t> buf(4096);
      auto n = io_->read(absl::Span<uint8_t>(buf));
      if (!n.ok()) return n.status();
      if (*n == 0) return absl::UnavailableError("closed");
      if (auto s = decoder_.feed(absl::Span<const uint8_t>(buf.data(), *n)); !s.ok()) return s;
    }
  }
  IConnection& io() { return *io_; }

 private:
  std::shared_ptr<IConnection> io_;
  FrameDecoder decoder_{64 << 20};
};

struct World {
  explicit World(uint64_t seed, FramedServerOptions options = {}) : sim(seed) {
    server_machine = sim.add_machine("server");
    client_machine = sim.add_machine("client");
    options.name = "toy";
    sim.add_process(server_machine, "server", 9000, [this, options](ProcessContext& ctx) {
      FramedServer s(*ctx.network, handler, options);
      WEIR_ASSERT(s.start(absl::StrCat(ctx.address)).ok());
      server = &s;
      struct Clear {
        FramedServer** slot;
        ~Clear() { *slot = nullptr; }
      } clear{&server};
      while (true) delay(std::chrono::hours(1));
    });
  }
  ~World() { sim.shutdown(); }
  // Runs `body` in a client process; true if it finished within `limit`.
  bool run(std::function<void()> body, Duration limit = 600s) {
    auto finished = std::make_shared<bool>(false);
    sim.add_process(client_machine, "client", 1, [this, body, finished](ProcessContext&) {
      body();
      *finished = true;
      sim.scheduler().stop();
    });
    sim.scheduler().run_until(sim.now() + limit);
    return *finished;
  }
  std::string address() const { return absl::StrCat(server_machine->ip(), ":9000"); }

  sim::Simulator sim;
  ToyHandler handler;
  FramedServer* server = nullptr;
  sim::SimMachine* server_machine;
  sim::SimMachine* client_machine;
};

TEST(FramedServer, RepliesInRequestOrderWhileRequestsRunConcurrently) {
  World w(1);
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    ASSERT_NE(c, nullptr);
    const TimePoint start = Scheduler::current().now();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(c->request(100 - 10 * i, absl::StrCat("r", i)).ok());
    for (int i = 0; i < 10; ++i) {
      auto f = c->next();
      ASSERT_TRUE(f.ok()) << f.status();
      EXPECT_EQ(*f, absl::StrCat("r", i));
    }
    // Run together, not one after another (10 requests of 10-100 ms would take 550 ms).
    EXPECT_LT(Scheduler::current().now() - start, 300ms);
    EXPECT_EQ(w.handler.peak, 10);
  }));
}

TEST(FramedServer, InFlightBoundPushesBack) {
  FramedServerOptions o;
  o.in_flight_max = 4;
  World w(2, o);
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    std::string burst;
    for (int i = 0; i < 50; ++i) burst += frame(absl::StrCat("5 q", i));
    ASSERT_TRUE(c->write(burst).ok());
    for (int i = 0; i < 50; ++i) {
      auto f = c->next();
      ASSERT_TRUE(f.ok()) << f.status();
      EXPECT_EQ(*f, absl::StrCat("q", i));
    }
    EXPECT_EQ(w.handler.peak, 4);
    ASSERT_NE(w.server, nullptr);
    EXPECT_EQ(w.server->stats().frames_received, 50u);
    EXPECT_EQ(w.server->stats().replies_sent, 50u);
    auto conns = w.server->connections();
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_EQ(conns[0]->stats().in_flight, 0u);
    EXPECT_EQ(conns[0]->stats().replies_sent, 50u);
  }));
}

TEST(FramedServer, OversizeFrameClosesOnlyThatConnection) {
  FramedServerOptions o;
  o.frame_bytes_max = 1000;
  World w(3, o);
  ASSERT_TRUE(w.run([&] {
    auto good = Client::connect(w.address());
    auto bad = Client::connect(w.address());
    ASSERT_TRUE(bad->write(frame(std::string(1001, 'a'))).ok());
    EXPECT_FALSE(bad->next().ok());
    ASSERT_TRUE(good->request(1, std::string(900, 'b')).ok());
    auto f = good->next();
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->size(), 900u);
    // A negative length too.
    auto neg = Client::connect(w.address());
    ASSERT_TRUE(neg->write(std::string("\xff\xff\xff\xfe", 4)).ok());
    EXPECT_FALSE(neg->next().ok());
    delay(10ms);
    EXPECT_EQ(w.server->stats().closed.at(CloseReason::kBadFrame), 2u);
  }));
}

TEST(FramedServer, ReaderThatNeverReadsIsDisconnectedWithBoundedMemory) {
  FramedServerOptions o;
  o.send_queue_bytes_max = 256 << 10;
  World w(4, o);
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    std::shared_ptr<FramedConnection> conn;
    // Each reply is 64 KiB; the client reads nothing.
    for (int i = 0; i < 200; ++i) {
      if (!c->request(0, "big:65536").ok()) break;
      if (conn == nullptr && !w.server->connections().empty()) conn = w.server->connections()[0];
      delay(1ms);
    }
    delay(100ms);
    ASSERT_NE(conn, nullptr);
    EXPECT_TRUE(conn->closed());
    EXPECT_EQ(conn->close_reason(), CloseReason::kSlowReader);
    EXPECT_LE(conn->stats().send_queue_bytes_peak, o.send_queue_bytes_max);
    EXPECT_EQ(w.server->stats().closed.at(CloseReason::kSlowReader), 1u);
  }));
}

// One reply larger than the send queue bound, on an empty queue, goes out: only bytes piling
// up behind a reader that does not read make it slow (a Kafka Fetch answer may be 50 MB).
TEST(FramedServer, OneReplyLargerThanTheSendQueueBoundIsDelivered) {
  FramedServerOptions o;
  o.send_queue_bytes_max = 256 << 10;
  World w(6, o);
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    ASSERT_TRUE(c->request(0, "big:1048576").ok());
    auto f = c->next();
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->size(), 1048576u);
    ASSERT_TRUE(c->request(0, "small").ok());
    EXPECT_TRUE(c->next().ok());
  }));
}

TEST(FramedServer, ConnectionLimitClosesTheExtraConnections) {
  FramedServerOptions o;
  o.connections_max = 2;
  World w(5, o);
  ASSERT_TRUE(w.run([&] {
    auto a = Client::connect(w.address());
    auto b = Client::connect(w.address());
    delay(10ms);
    auto extra = Client::connect(w.address());
    ASSERT_NE(extra, nullptr);
    (void)extra->request(0, "x");
    EXPECT_FALSE(extra->next().ok());
    ASSERT_TRUE(a->request(0, "a").ok());
    EXPECT_EQ(*a->next(), "a");
    EXPECT_EQ(w.server->stats().rejected, 1u);
    EXPECT_EQ(w.server->stats().accepted, 2u);
  }));
}

TEST(FramedServer, IdleConnectionsCloseButBusyOnesDoNot) {
  FramedServerOptions o;
  o.idle_timeout = 500ms;
  World w(6, o);
  ASSERT_TRUE(w.run([&] {
    auto idle = Client::connect(w.address());
    auto busy = Client::connect(w.address());
    ASSERT_TRUE(busy->request(2000, "slow").ok());  // in flight well past the idle timeout
    EXPECT_FALSE(idle->next().ok());
    auto f = busy->next();
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(*f, "slow");
    EXPECT_EQ(w.server->stats().closed.at(CloseReason::kIdle), 1u);
  }));
}

TEST(FramedServer, PreambleIsAnsweredOrBecomesTheFirstFrame) {
  FramedServerOptions o;
  o.preamble_bytes = 4;
  World w(7, o);
  ASSERT_TRUE(w.run([&] {
    auto four = Client::connect(w.address());
    ASSERT_TRUE(four->write("ruok").ok());
    std::vector<uint8_t> buf(16);
    auto n = four->io().read(absl::Span<uint8_t>(buf));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf.data()), *n), "imok");
    auto framed = Client::connect(w.address());
    ASSERT_TRUE(framed->request(0, "hello").ok());
    EXPECT_EQ(*framed->next(), "hello");
    EXPECT_EQ(w.handler.opened, 1);  // only the framed one opened
  }));
}

TEST(FramedServer, PushedBytesGoAheadOfRepliesNotYetDue) {
  World w(8);
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    ASSERT_TRUE(c->request(100, "late").ok());
    ASSERT_TRUE(c->request(0, "push:event").ok());
    EXPECT_EQ(*c->next(), "event");
    EXPECT_EQ(*c->next(), "late");
    EXPECT_EQ(*c->next(), "ok");
  }));
}

TEST(FramedServer, FailuresAndCloseAfterReply) {
  World w(9);
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    ASSERT_TRUE(c->request(0, "none").ok());  // no reply at all
    ASSERT_TRUE(c->request(0, "one").ok());
    ASSERT_TRUE(c->request(0, "bye").ok());
    ASSERT_TRUE(c->request(0, "never").ok());  // after the close: not answered
    EXPECT_EQ(*c->next(), "one");
    EXPECT_EQ(*c->next(), "bye");
    EXPECT_FALSE(c->next().ok());
    auto f = Client::connect(w.address());
    ASSERT_TRUE(f->request(0, "fail").ok());
    EXPECT_FALSE(f->next().ok());
    auto garbage = Client::connect(w.address());
    ASSERT_TRUE(garbage->write(frame("no-delay")).ok());
    auto g = garbage->next();
    EXPECT_FALSE(g.ok()) << *g;
    delay(10ms);
    EXPECT_EQ(w.server->stats().closed.at(CloseReason::kHandlerClosed), 3u);
    EXPECT_EQ(w.handler.closed_reasons.size(), 3u);
    EXPECT_TRUE(w.server->connections().empty());
  }));
}

TEST(FramedServer, ClientGoneCancelsItsRequests) {
  World w(10);
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->request(10000, "forever").ok());
    delay(10ms);
    EXPECT_EQ(w.handler.running, 5);
    c->io().close();
    delay(10ms);
    EXPECT_EQ(w.handler.running, 0);  // the dropped replies cancelled the handlers
    EXPECT_EQ(w.server->stats().closed.at(CloseReason::kPeerClosed), 1u);
  }));
}

// File ranges go out in their place between the reply's bytes, replies stay in request order,
// and a range larger than a send_file chunk arrives whole.
TEST(FramedServer, FileRangesGoOutBetweenTheBytesInRequestOrder) {
  World w(21);
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    ASSERT_TRUE(c->request(20, "file:1000").ok());
    ASSERT_TRUE(c->request(0, "small").ok());
    ASSERT_TRUE(c->request(0, "file:700000").ok());
    ASSERT_TRUE(c->request(0, "file:0").ok());
    auto a = c->next();
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(*a, ToyHandler::file_reply_body(1000));
    EXPECT_EQ(c->next().value_or(""), "small");
    auto b = c->next();
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(*b, ToyHandler::file_reply_body(700000));
    EXPECT_EQ(c->next().value_or(""), "[]");
    auto conns = w.server->connections();
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_EQ(conns[0]->stats().send_queue_bytes, 0u);
    EXPECT_EQ(conns[0]->stats().bytes_sent, 4u + 1002 + 4 + 5 + 4 + 700002 + 4 + 2);
  }));
}

// File ranges count toward send_queue_bytes_max like bytes: a reader that never reads is
// disconnected, and the queued ranges' files are let go.
TEST(FramedServer, FileRangesCountTowardTheSendQueueBound) {
  FramedServerOptions o;
  o.send_queue_bytes_max = 256 << 10;
  World w(22, o);
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    std::shared_ptr<FramedConnection> conn;
    for (int i = 0; i < 100; ++i) {
      if (!c->request(0, "file:65536").ok()) break;
      if (conn == nullptr && !w.server->connections().empty()) conn = w.server->connections()[0];
      delay(1ms);
    }
    delay(100ms);
    ASSERT_NE(conn, nullptr);
    EXPECT_TRUE(conn->closed());
    EXPECT_EQ(conn->close_reason(), CloseReason::kSlowReader);
    EXPECT_LE(conn->stats().send_queue_bytes_peak, o.send_queue_bytes_max);
  }));
}

// The simulator's send_file is a copy through the file's reads: a disk that fails reads fails
// the reply, which closes the connection (the peer never sees a torn frame followed by more).
TEST(FramedServer, FileRangeReadErrorClosesTheConnection) {
  World w(23);
  sim::DiskFaults faults;
  faults.read_error_probability = 1;
  ASSERT_TRUE(w.run([&] {
    auto c = Client::connect(w.address());
    ASSERT_TRUE(c->request(0, "small").ok());
    EXPECT_EQ(c->next().value_or(""), "small");
    w.server_machine->disk().set_faults(faults);
    ASSERT_TRUE(c->request(0, "file:5000").ok());
    EXPECT_FALSE(c->next().ok());
    w.server_machine->disk().set_faults(sim::DiskFaults{});
  }));
}

// Same seed, same run: replies with file ranges under disk slowness and network latency.
TEST(FramedServer, FileRepliesAreDeterministic) {
  auto run = [](uint64_t seed) {
    World w(seed);
    sim::DiskFaults faults;
    faults.slow_probability = 0.3;
    faults.corrupt_read_probability = 0.5;  // never applies to a send (IFile::read_to_send)
    w.server_machine->disk().set_faults(faults);
    std::vector<std::string> got;
    EXPECT_TRUE(w.run([&] {
      auto c = Client::connect(w.address());
      for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(c->request(i % 3, absl::StrCat("file:", 1000 + 40000 * i)).ok());
      }
      for (int i = 0; i < 20; ++i) {
        auto f = c->next();
        ASSERT_TRUE(f.ok()) << f.status();
        EXPECT_EQ(*f, ToyHandler::file_reply_body(1000 + 40000 * i));
        got.push_back(*f);
      }
    }));
    return std::make_pair(w.sim.unseed().value(), w.sim.now());
  };
  const auto a = run(24);
  const auto b = run(24);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
}

}  // namespace
}  // namespace weir::framed
