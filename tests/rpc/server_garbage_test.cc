// Property: a server fed garbage over a simulated connection closes that connection (with a
// warning, never an error event) and keeps serving its other clients.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/future.h"
#include "runtime/rpc/client.h"
#include "runtime/rpc/frame.h"
#include "sim/simulator.h"
#include "tests/rpc/sim_harness.h"

namespace weir::rpc {
namespace {

using testing::echo_request;
using testing::TraceCapture;

// Valid echo requests, then a few random mutations: garbage that gets past the first bytes.
std::vector<uint8_t> mutated_requests() {
  const int frames = *rc::gen::inRange(1, 5);
  std::string stream;
  for (int i = 0; i < frames; ++i) {
    const std::string payload =
        echo_request(static_cast<uint64_t>(i), *rc::gen::arbitrary<std::string>())
            .SerializeAsString();
    encode_frame(FrameKind::kRequest, endpoint_token("echo"), static_cast<uint64_t>(i) + 1, payload,
                 stream);
  }
  std::vector<uint8_t> data(stream.begin(), stream.end());
  const int mutations = *rc::gen::inRange(1, 4);
  for (int m = 0; m < mutations; ++m) {
    const size_t at = *rc::gen::inRange<size_t>(0, data.size());
    data[at] ^= static_cast<uint8_t>(*rc::gen::inRange(1, 256));
  }
  return data;
}

// What the server must conclude from `data`: true if it has to close the connection.
bool server_must_close(const std::vector<uint8_t>& data) {
  FrameDecoder decoder;
  size_t pos = 0;
  while (pos < data.size()) {
    auto used = decoder.feed(absl::MakeConstSpan(data.data() + pos, data.size() - pos));
    if (!used.ok()) return true;
    pos += *used;
    if (!decoder.frame_ready()) continue;
    Frame f = decoder.take();
    if (f.kind != FrameKind::kRequest) return true;
    EchoRequest req;
    if (f.token == endpoint_token("echo") && !req.ParseFromString(f.payload)) return true;
  }
  return false;
}

struct Outcome {
  bool finished = false;
  bool raw_closed = false;
  int good_calls_ok = 0;
};

Outcome feed_garbage(uint64_t seed, const std::vector<uint8_t>& garbage) {
  Outcome out;
  sim::Simulator sim(seed);
  auto* m1 = sim.add_machine("m1");
  auto* m2 = sim.add_machine("m2");
  auto* server = sim.add_process(m1, "server", testing::kServerPort, testing::echo_server());
  out.finished = testing::run_client(sim, m2, [&](ProcessContext& ctx) {
    RpcClient client;
    auto raw = ctx.network->connect(server->address());
    if (!raw.ok()) return;
    std::shared_ptr<IConnection> conn = *raw;
    if (!conn->write(absl::MakeConstSpan(garbage)).ok()) return;
    // The raw connection ends when the server closes it; replies to any valid requests that
    // survived the mutations are read and ignored.
    auto ended = spawn("raw-reader", [conn] {
      std::vector<uint8_t> buf(256);
      while (true) {
        auto n = conn->read(absl::MakeSpan(buf));
        if (!n.ok() || *n == 0) return;
      }
    });
    for (uint64_t i = 0; i < 3; ++i) {
      auto rep =
          client.call<EchoRequest, EchoReply>(server->address(), "echo", echo_request(i), 5s);
      if (rep.ok() && rep->sequence() == i) ++out.good_calls_ok;
    }
    out.raw_closed = await(timeout(ended, 3s)).ok();
  });
  return out;
}

RC_GTEST_PROP(ServerGarbageTest, GarbageClosesOnlyItsConnection, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const bool mutate = *rc::gen::arbitrary<bool>();
  const std::vector<uint8_t> garbage =
      mutate ? mutated_requests() : *rc::gen::nonEmpty(rc::gen::arbitrary<std::vector<uint8_t>>());
  const bool must_close = server_must_close(garbage);
  RC_CLASSIFY(must_close, "server must close");
  RC_CLASSIFY(mutate, "mutated requests");
  TraceCapture trace;
  const Outcome out = feed_garbage(seed, garbage);
  RC_ASSERT(out.finished);
  RC_ASSERT(out.good_calls_ok == 3);
  RC_ASSERT(out.raw_closed == must_close);
  RC_ASSERT(trace.count("RpcMalformedFrame") == (must_close ? 1u : 0u));
  RC_ASSERT(trace.count_at_least(Severity::kError) == 0u);
}

}  // namespace
}  // namespace weir::rpc
