#include "workloads/kafka_client.h"

#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/process_context.h"

namespace weir::workloads {

using broker::client::ClientCluster;
using broker::client::KafkaConnection;
using namespace std::chrono_literals;

std::shared_ptr<ClientCluster> make_workload_cluster(const std::string& bootstrap,
                                                     const std::string& client_id,
                                                     const std::string& topic) {
  ProcessContext& ctx = current_context();
  auto c = ClientCluster::create(*ctx.network, *ctx.clock,
                                 {.bootstrap_servers = bootstrap,
                                  .client_id = client_id,
                                  .request_timeout = 3s,
                                  .retry_backoff = 100ms});
  WEIR_ASSERT_MSG(c.ok(), "the workload's bootstrap servers parse");
  (*c)->add_topic(topic);
  return *c;
}

std::shared_ptr<KafkaConnection> leader_connection(ClientCluster& cluster, const std::string& topic,
                                                   int32_t partition, int32_t* leader_out) {
  const auto* t = cluster.topic(topic);
  if (t == nullptr || static_cast<size_t>(partition) >= t->partitions.size() ||
      t->partitions[static_cast<size_t>(partition)].leader < 0) {
    cluster.request_refresh();
    (void)cluster.await_refresh(cluster.deadline_after(1s));
    return nullptr;
  }
  const int32_t leader = t->partitions[static_cast<size_t>(partition)].leader;
  auto conn = cluster.connection(leader);
  if (!conn.ok()) {
    delay(50ms);
    return nullptr;
  }
  if (leader_out != nullptr) *leader_out = leader;
  return *conn;
}

}  // namespace weir::workloads
