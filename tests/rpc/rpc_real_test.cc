// The same RPC code over real loopback TCP (runtime/real).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/future.h"
#include "runtime/real/real_runtime.h"
#include "runtime/rpc/client.h"
#include "runtime/rpc/rpc.pb.h"
#include "runtime/rpc/server.h"

namespace weir::rpc {
namespace {

TEST(RpcRealTest, EchoOverLoopback) {
  real::RealRuntime rt(real::RealRuntimeOptions{.handle_signals = false});
  auto r = rt.run([&]() -> absl::Status {
    RpcServer server;
    server.handle<EchoRequest, EchoReply>("echo", [](const EchoRequest& req) {
      delay(std::chrono::milliseconds(req.sequence() % 3));
      EchoReply rep;
      rep.set_sequence(req.sequence());
      rep.set_payload(req.payload());
      return rep;
    });
    server.handle<EchoRequest, EchoReply>("fail",
                                          [](const EchoRequest&) -> absl::StatusOr<EchoReply> {
                                            return absl::PermissionDeniedError("not you");
                                          });
    if (absl::Status s = server.start("127.0.0.1:0"); !s.ok()) return s;
    RpcClient client;
    std::vector<Future<EchoReply>> calls;
    for (uint64_t i = 0; i < 50; ++i) {
      EchoRequest req;
      req.set_sequence(i);
      req.set_payload(std::string(i * 1000, static_cast<char>('a' + i % 26)));
      calls.push_back(
          client.call_future<EchoRequest, EchoReply>(server.address(), "echo", req, 10s));
    }
    if (absl::Status s = await(when_all(calls)); !s.ok()) return s;
    for (uint64_t i = 0; i < calls.size(); ++i) {
      const auto& rep = calls[i].get();
      if (!rep.ok()) return rep.status();
      EXPECT_EQ(rep->sequence(), i);
      EXPECT_EQ(rep->payload().size(), i * 1000);
    }
    auto denied = client.call<EchoRequest, EchoReply>(server.address(), "fail", EchoRequest(), 10s);
    EXPECT_EQ(denied.status(), absl::PermissionDeniedError("not you"));
    auto unknown =
        client.call<EchoRequest, EchoReply>(server.address(), "nope", EchoRequest(), 10s);
    EXPECT_TRUE(absl::IsUnimplemented(unknown.status())) << unknown.status();
    EXPECT_EQ(client.stats().connects, 1u);
    EXPECT_EQ(server.stats().connections_accepted, 1u);
    // Stopping the server breaks the connection; the client reports it as Unavailable.
    server.stop();
    auto gone = client.call<EchoRequest, EchoReply>(server.address(), "echo", EchoRequest(), 10s);
    EXPECT_TRUE(absl::IsUnavailable(gone.status())) << gone.status();
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

}  // namespace
}  // namespace weir::rpc
