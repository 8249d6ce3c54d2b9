// The single `weir` binary: simulation tools today; coord, broker and client tools as they land.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/bench_coord.h"
#include "cli/broker_command.h"
#include "cli/coord_command.h"
#include "cli/sim_command.h"
#include "cli/sim_runner.h"

namespace {

const char* kUsage =
    R"(weir: a Kafka-compatible log with a ZooKeeper-compatible coordination service
usage:
  weir coord --config FILE [--id N]   one coord (ZooKeeper-compatible) server
  weir broker --config server.properties   one Kafka-compatible broker
  weir sim run|replay|sweep ...   deterministic simulation (weir sim for details)
  weir bench coord --servers ...  load generator for any ZooKeeper-protocol ensemble
  weir bench produce --bootstrap HOST:PORT [--topic T --records N --record-size B --acks A
                     --linger-ms L --batch-size B --compression C --partitions P --producers K]
                                  producer throughput and send-to-ack latency (Kafka protocol)
  weir bench consume --bootstrap HOST:PORT [--topic T]   reads the whole topic from offset 0
  weir bench e2e --bootstrap HOST:PORT --rate R [--records N ...]   produce-to-consume latency
  weir version                    build id of this binary
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "coord")
    return weir::cli::coord_command(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] == "broker")
    return weir::cli::broker_command(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] == "bench")
    return weir::cli::bench_command(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] == "sim")
    return weir::cli::sim_command(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] == "version") {
    std::printf("weir build %s\n", weir::cli::build_id().c_str());
    return 0;
  }
  std::fprintf(stderr, "unknown command %s\n%s", args[0].c_str(), kUsage);
  return 2;
}
