// A simulated Weir cluster for broker tests: one standalone coord server (ZooKeeper's
// standalone mode), N weir brokers registered in it, and a client machine that runs a test
// body as its own process, all in one deterministic sim::Simulator. It exists so that every
// broker test (clients, handlers, replication later) starts a cluster the same way, with the
// same real code the binaries run, and so that a test can kill, restart or partition any of
// its machines through `sim`.
//
//   BrokerSimCluster c(seed);                      // or BrokerSimCluster c(seed, {.brokers = 3})
//   bool done = c.run([&] {
//     c.wait_ready();                              // every broker serving
//     auto producer = Producer::create({.bootstrap_servers = c.bootstrap()}, ...);
//     ...
//   });
//   EXPECT_TRUE(done);
//
// Brokers are configured from Kafka's server.properties keys: the harness's defaults
// (broker.id, listeners on the machine's address, log.dirs in the process's data dir,
// zookeeper.connect to the coord machine, one partition, replication factor 1), then
// BrokerSimOptions::properties, then `configure(i, props)` per broker and incarnation. A
// broker whose run() ends (coord not up yet, a failure) is started again 100 ms later.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/client/consumer.h"
#include "broker/client/producer.h"
#include "broker/server/broker.h"
#include "broker/server/broker_config.h"
#include "coord/server/coord_server.h"
#include "runtime/assert.h"
#include "runtime/future.h"
#include "sim/simulator.h"

namespace weir::broker::testing {

struct BrokerSimOptions {
  int brokers = 1;
  // server.properties keys for every broker (override the harness's defaults).
  std::map<std::string, std::string> properties;
  Duration coord_tick = 100ms;
  sim::SimulatorOptions simulator;
};

class BrokerSimCluster {
 public:
  static constexpr int kKafkaPort = 9092;
  static constexpr int kCoordPort = 2181;

  explicit BrokerSimCluster(uint64_t seed, BrokerSimOptions options = {})
      : sim(seed, options.simulator), options_(std::move(options)) {
    coord_machine = sim.add_machine("coord1");
    coord_address = absl::StrCat(coord_machine->ip(), ":", kCoordPort);
    coord_process = sim.add_process(coord_machine, "coord1", kCoordPort, boot_coord());
    for (int i = 0; i < options_.brokers; ++i) {
      broker_machines.push_back(sim.add_machine(absl::StrCat("broker", i)));
      brokers.push_back(nullptr);
    }
    for (int i = 0; i < options_.brokers; ++i) {
      broker_processes.push_back(sim.add_process(broker_machines[i], absl::StrCat("broker", i),
                                                 kKafkaPort, boot_broker(i)));
    }
    client_machine = sim.add_machine("client");
  }
  ~BrokerSimCluster() { sim.shutdown(); }
  BrokerSimCluster(const BrokerSimCluster&) = delete;
  BrokerSimCluster& operator=(const BrokerSimCluster&) = delete;

  // Runs `body` as a new client process until it returns (true) or `limit` of simulated time
  // passes (false).
  bool run(std::function<void()> body, Duration limit = 120s) {
    auto finished = std::make_shared<bool>(false);
    sim.add_process(client_machine, absl::StrCat("client", ++client_count_), 1,
                    [this, body, finished](ProcessContext&) {
                      body();
                      *finished = true;
                      sim.scheduler().stop();
                    });
    sim.scheduler().run_until(sim.now() + limit);
    return *finished;
  }

  // Inside a client body: waits until every broker serves (false after `timeout`).
  bool wait_ready(Duration timeout = 60s) {
    const TimePoint deadline = sim.now() + timeout;
    while (sim.now() < deadline) {
      bool all = true;
      for (Broker* b : brokers) all = all && b != nullptr && b->serving();
      if (all) return true;
      delay(50ms);
    }
    return false;
  }

  // "ip:9092,ip:9092" of every broker.
  std::string bootstrap() const {
    std::string out;
    for (sim::SimMachine* m : broker_machines)
      absl::StrAppend(&out, out.empty() ? "" : ",", m->ip(), ":", kKafkaPort);
    return out;
  }
  std::string broker_address(int i) const {
    return absl::StrCat(broker_machines[i]->ip(), ":", kKafkaPort);
  }

  // The server.properties broker `i` boots with (before `configure`).
  std::map<std::string, std::string> properties(int i, const ProcessContext& ctx) const {
    std::map<std::string, std::string> p = {
        {"broker.id", absl::StrCat(i)},
        {"listeners", absl::StrCat("PLAINTEXT://", broker_machines[i]->ip(), ":", kKafkaPort)},
        {"log.dirs", ctx.data_dir},
        {"zookeeper.connect", coord_address},
        {"zookeeper.session.timeout.ms", "6000"},
        {"num.partitions", "1"},
        {"default.replication.factor", "1"},
        {"offsets.topic.replication.factor", "1"},
        {"group.initial.rebalance.delay.ms", "0"},
    };
    for (const auto& [k, v] : options_.properties) p[k] = v;
    return p;
  }

  sim::Simulator sim;
  sim::SimMachine* coord_machine = nullptr;
  sim::SimProcess* coord_process = nullptr;
  std::string coord_address;
  std::vector<sim::SimMachine*> broker_machines;
  std::vector<sim::SimProcess*> broker_processes;
  // The live incarnation of each broker (nullptr while dead or between incarnations).
  std::vector<Broker*> brokers;
  sim::SimMachine* client_machine = nullptr;
  coord::server::CoordServer* coord = nullptr;
  // Edits broker i's properties before each incarnation boots.
  std::function<void(int, std::map<std::string, std::string>&)> configure;

 private:
  sim::BootFn boot_coord() {
    return [this](ProcessContext& ctx) {
      coord::zab::ServerSpec spec;
      spec.id = 1;
      spec.client_address = coord_address;
      coord::server::ServerConfig c;
      c.ensemble = coord::zab::EnsembleConfig({spec});
      c.zab.tick = options_.coord_tick;
      c.my_id = 1;
      c.data_dir = ctx.data_dir;
      while (true) {
        coord::server::CoordServer server(c, ctx);
        coord = &server;
        struct Clear {
          coord::server::CoordServer** slot;
          ~Clear() { *slot = nullptr; }
        } clear{&coord};
        (void)server.run();
        delay(100ms);
      }
    };
  }

  sim::BootFn boot_broker(int i) {
    return [this, i](ProcessContext& ctx) {
      while (true) {
        std::map<std::string, std::string> props = properties(i, ctx);
        if (configure) configure(i, props);
        auto config = broker_config_from(props);
        WEIR_ASSERT_MSG(config.ok(), "bad broker properties in the sim harness");
        {
          Broker b(*config, ctx);
          brokers[i] = &b;
          struct Clear {
            Broker** slot;
            ~Clear() { *slot = nullptr; }
          } clear{&brokers[i]};
          (void)b.run();
        }
        delay(100ms);
      }
    };
  }

  BrokerSimOptions options_;
  int client_count_ = 0;
};

// Weir's producer and consumer, inside a client body, bootstrapped on every broker of `c`.
inline std::unique_ptr<client::Producer> make_producer(const BrokerSimCluster& c,
                                                       client::ProducerConfig config) {
  config.bootstrap_servers = c.bootstrap();
  ProcessContext& ctx = current_context();
  auto p = client::Producer::create(std::move(config), *ctx.network, *ctx.clock, *ctx.random);
  WEIR_ASSERT_MSG(p.ok(), "Producer::create failed");
  return std::move(*p);
}

inline std::unique_ptr<client::Consumer> make_consumer(const BrokerSimCluster& c,
                                                       client::ConsumerConfig config) {
  config.bootstrap_servers = c.bootstrap();
  ProcessContext& ctx = current_context();
  auto consumer = client::Consumer::create(std::move(config), *ctx.network, *ctx.clock);
  WEIR_ASSERT_MSG(consumer.ok(), "Consumer::create failed");
  return std::move(*consumer);
}

}  // namespace weir::broker::testing
