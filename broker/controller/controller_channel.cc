#include "broker/controller/controller_channel.h"

#include "absl/strings/str_cat.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::broker::controller {
namespace {

constexpr int16_t kLeaderAndIsrVersion = 5;
constexpr int16_t kUpdateMetadataVersion = 7;
constexpr int16_t kStopReplicaVersion = 3;
// A refused request is sent again every 100 ms for up to 2 s while the broker may still be
// finishing its registration.
constexpr int kStaleEpochRetriesMax = 20;

}  // namespace

BrokerChannel::BrokerChannel(INetwork& network, int32_t controller_id, int32_t broker_id,
                             std::string address, size_t queue_max)
    : network_(network),
      controller_id_(controller_id),
      broker_id_(broker_id),
      address_(std::move(address)),
      queue_max_(queue_max) {}

BrokerChannel::~BrokerChannel() {
  actor_.reset();  // cancels the sender: it only ever waits on the network
  if (connection_ != nullptr) connection_->close();
}

void BrokerChannel::start() {
  actor_ = spawn(absl::StrCat("controller-channel-", broker_id_), [this] { run(); });
}

void BrokerChannel::send(ControllerRequest request) {
  if (queue_.size() >= queue_max_) {
    queue_.clear();
    ++clears_;
    resync_ = true;
    TraceEvent(Severity::kWarn, "ControllerChannelOverflow").detail("Broker", broker_id_);
  } else {
    queue_.push_back(std::move(request));
  }
  changed_.fire_all();
}

bool BrokerChannel::take_resync() {
  const bool r = resync_;
  resync_ = false;
  return r;
}

absl::Status BrokerChannel::send_one(const ControllerRequest& request) {
  if (connection_ == nullptr || connection_->closed()) {
    connection_ = nullptr;
    auto c = client::KafkaConnection::connect(
        network_, address_, {.client_id = absl::StrCat("controller-", controller_id_)});
    if (!c.ok()) return c.status();
    connection_ = *std::move(c);
  }
  // BUGGIFY: a slow controller-to-broker path (LeaderAndIsr arriving late).
  if (BUGGIFY_WITH_PROB(0.02)) delay(std::chrono::milliseconds(300));
  int16_t error = 0;
  if (const auto* lai = std::get_if<kafka::LeaderAndIsrRequest>(&request)) {
    auto r = connection_->call<kafka::LeaderAndIsrResponse>(*lai, kLeaderAndIsrVersion);
    if (!r.ok()) return r.status();
    error = r->error_code;
  } else if (const auto* um = std::get_if<kafka::UpdateMetadataRequest>(&request)) {
    auto r = connection_->call<kafka::UpdateMetadataResponse>(*um, kUpdateMetadataVersion);
    if (!r.ok()) return r.status();
    error = r->error_code;
  } else {
    const auto& sr = std::get<kafka::StopReplicaRequest>(request);
    auto r = connection_->call<kafka::StopReplicaResponse>(sr, kStopReplicaVersion);
    if (!r.ok()) return r.status();
    error = r->error_code;
  }
  // A broker refuses requests until it has registered (it cannot tell whether they are for
  // it or for its previous incarnation), and the controller may see the registration first:
  // the same request again, briefly. One that is really stale stays refused and is dropped.
  if (error == static_cast<int16_t>(kafka::ErrorCode::kStaleBrokerEpoch) &&
      ++stale_epoch_retries_ <= kStaleEpochRetriesMax) {
    CODE_PROBE(true, "controller.request_retried_until_broker_registered");
    return absl::UnavailableError("STALE_BROKER_EPOCH: the broker may not have registered yet");
  }
  stale_epoch_retries_ = 0;
  if (error != 0) {
    TraceEvent(Severity::kInfo, "ControllerRequestRefused")
        .detail("Broker", broker_id_)
        .detail("Error", error);
  }
  // A stale controller epoch: a newer controller exists and sends its own; nothing to retry.
  // A stale broker epoch: the broker restarted (and the controller will hear of it), or it
  // registered and has not seen its own registration's epoch yet: either way the full state,
  // sent again a little later, is what it needs; the requests queued behind are in it.
  if (error == static_cast<int16_t>(kafka::ErrorCode::kStaleBrokerEpoch)) {
    CODE_PROBE(true, "controller.request_refused_by_registering_broker");
    delay(std::chrono::milliseconds(200));
    queue_.clear();
    ++clears_;
    resync_ = true;
  }
  return absl::OkStatus();
}

void BrokerChannel::run() {
  while (true) {
    wait_for(changed_, [this] { return !queue_.empty(); });
    const ControllerRequest request = queue_.front();
    const uint64_t clears = clears_;
    absl::Status s = send_one(request);
    if (s.ok()) {
      ++sent_;
      // Unless an overflow cleared the queue meanwhile, the front is still what was sent.
      if (clears == clears_ && !queue_.empty()) queue_.pop_front();
      continue;
    }
    TraceEvent(Severity::kInfo, "ControllerChannelRetry")
        .detail("Broker", broker_id_)
        .detail("Error", s.ToString());
    if (connection_ != nullptr) connection_->close();
    connection_ = nullptr;
    delay(std::chrono::milliseconds(100));
  }
}

}  // namespace weir::broker::controller
