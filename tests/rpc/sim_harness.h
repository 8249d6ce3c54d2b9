// Shared pieces of the simulated RPC tests: an echo server with a few test endpoints, a way
// to run a client body as a simulated process, and a trace capture.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/future.h"
#include "runtime/process_context.h"
#include "runtime/rpc/client.h"
#include "runtime/rpc/rpc.pb.h"
#include "runtime/rpc/server.h"
#include "runtime/trace.h"
#include "sim/simulator.h"

namespace weir::rpc::testing {

inline constexpr uint16_t kServerPort = 4500;

// What the test can see of a server's handlers (lives outside the simulated process).
struct ServerProbe {
  int running = 0;
  int running_max = 0;
  uint64_t calls = 0;
};

// Endpoints:
//   echo   replies with the request's fields; sleeps `sequence % 5` ms first, so replies on
//          one connection overtake each other
//   sleep  sleeps `sequence` ms, then echoes
//   fail   returns status code `sequence` with message "no: <payload>"
//   big    replies with a payload of `sequence` bytes
//   whoami replies with "<peer address> <endpoint>" (the handler's RpcCallInfo)
inline sim::BootFn echo_server(std::shared_ptr<ServerProbe> probe = std::make_shared<ServerProbe>(),
                               RpcServerOptions options = {}) {
  return [probe, options](ProcessContext& ctx) {
    RpcServer server(*ctx.network, options);
    auto echo = [probe](const EchoRequest& req) {
      EchoReply rep;
      rep.set_sequence(req.sequence());
      rep.set_client_id(req.client_id());
      rep.set_server_calls(++probe->calls);
      rep.set_payload(req.payload());
      return rep;
    };
    server.handle<EchoRequest, EchoReply>("echo", [echo](const EchoRequest& req) {
      delay(std::chrono::milliseconds(req.sequence() % 5));
      return echo(req);
    });
    server.handle<EchoRequest, EchoReply>("sleep", [probe, echo](const EchoRequest& req) {
      struct Running {
        ServerProbe& p;
        explicit Running(ServerProbe& probe) : p(probe) {
          p.running_max = std::max(p.running_max, ++p.running);
        }
        ~Running() { --p.running; }
      } running(*probe);
      delay(std::chrono::milliseconds(req.sequence()));
      return echo(req);
    });
    server.handle<EchoRequest, EchoReply>(
        "fail", [](const EchoRequest& req) -> absl::StatusOr<EchoReply> {
          return absl::Status(static_cast<absl::StatusCode>(req.sequence()),
                              "no: " + req.payload());
        });
    server.handle<EchoRequest, EchoReply>("big", [](const EchoRequest& req) {
      EchoReply rep;
      rep.set_payload(std::string(req.sequence(), 'b'));
      return rep;
    });
    server.handle<EchoRequest, EchoReply>(
        "whoami", [](const EchoRequest& req, const RpcCallInfo& info) {
          EchoReply rep;
          rep.set_sequence(req.sequence());
          rep.set_payload(info.peer + " " + std::string(info.endpoint));
          return rep;
        });
    EXPECT_TRUE(server.serve(ctx.address).ok());
  };
}

// Boots a process named `name` on `machine` that runs `body`, and runs the simulation until
// the body returns or `limit` of simulated time passes. True if the body returned.
inline bool run_client(sim::Simulator& sim, sim::SimMachine* machine,
                       std::function<void(ProcessContext&)> body, Duration limit = 600s,
                       const std::string& name = "client") {
  auto finished = std::make_shared<bool>(false);
  sim.add_process(machine, name, 1, [&sim, body, finished](ProcessContext& ctx) {
    body(ctx);
    *finished = true;
    sim.scheduler().stop();
  });
  sim.scheduler().run_until(sim.now() + limit);
  return *finished;
}

inline EchoRequest echo_request(uint64_t sequence, std::string payload = "",
                                uint64_t client_id = 0) {
  EchoRequest req;
  req.set_sequence(sequence);
  req.set_client_id(client_id);
  req.set_payload(std::move(payload));
  return req;
}

// Collects trace events while it lives.
class TraceCapture final : public ITraceSink {
 public:
  explicit TraceCapture(Severity min = Severity::kInfo)
      : previous_(Tracer::instance().min_severity()) {
    Tracer::instance().set_min_severity(min);
    Tracer::instance().add_sink(this);
  }
  ~TraceCapture() override {
    Tracer::instance().remove_sink(this);
    Tracer::instance().set_min_severity(previous_);
  }
  void write(const TraceRecord& record) override { records.push_back(record); }
  size_t count(std::string_view type) const {
    size_t n = 0;
    for (const auto& r : records) n += r.type == type ? 1 : 0;
    return n;
  }
  size_t count_at_least(Severity severity) const {
    size_t n = 0;
    for (const auto& r : records) n += r.severity >= severity ? 1 : 0;
    return n;
  }
  std::vector<TraceRecord> records;

 private:
  Severity previous_;
};

}  // namespace weir::rpc::testing
