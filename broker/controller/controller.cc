// The controller's lifecycle and its reactions to coord's changes; its decisions and what it
// sends are in controller_decisions.cc.
#include "broker/controller/controller.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/server/json.h"
#include "coord/client/errors.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::broker::controller {

using coord::client::ErrorCode;
using coord::client::WatchEvent;
using coord::client::zk_error;

coord::client::Watcher Controller::watch(const std::shared_ptr<Signals>& signals,
                                         bool Signals::*flag) {
  return [signals, flag](const WatchEvent& e) {
    if (e.type != coord::client::EventType::kNone) signals->raise(flag);
  };
}

Controller::Controller(const BrokerConfig& config, int32_t broker_id, ClusterStore& store,
                       INetwork& network, IClock& clock)
    : config_(config), broker_id_(broker_id), store_(store), network_(network), clock_(clock) {}

Controller::~Controller() {
  actor_.reset();
  channels_.clear();
}

void Controller::start() {
  actor_ = spawn("controller", [this] { run(); });
}

void Controller::stop() {
  // What the controller has decided must reach the brokers before it goes (a controlled
  // shutdown of the controller itself answers once the new leaders are queued): bounded, as a
  // channel to a dead broker never drains.
  const TimePoint deadline = Scheduler::current().now() + to_scheduler_duration(3s);
  auto queued = [this] {
    for (const auto& [id, c] : channels_) {
      if (c->queued() > 0) return true;
    }
    return false;
  };
  while (active_ && queued() && Scheduler::current().now() < deadline) delay(10ms);
  stopping_ = true;
  if (signals_ != nullptr) signals_->wake.fire_all();
  actor_.reset();  // it waits only on coord and its signals: cancelling it is safe
  channels_.clear();
  active_ = false;
  fail_requests(absl::UnavailableError("the controller is stopping"));
}

void Controller::on_session_replaced() {
  // The broken variant is a zombie: it re-arms its watches on the new session and goes on
  // deciding, next to whoever claimed the next epoch. Only the fence could stop it.
  if (config_.weir_bug == "unfenced_controller") {
    if (signals_ != nullptr) {
      signals_->raise(&Signals::brokers);
      signals_->raise(&Signals::topics);
      signals_->raise(&Signals::isr);
    }
    return;
  }
  if (signals_ != nullptr) signals_->raise(&Signals::resign);
}

void Controller::fail_requests(const absl::Status& status) {
  for (auto& r : requests_) r->done.try_set(status);
  requests_.clear();
}

Future<int32_t> Controller::controlled_shutdown(int32_t broker, int64_t broker_epoch) {
  (void)broker_epoch;
  if (!active_ || signals_ == nullptr)
    return Future<int32_t>::ready(absl::FailedPreconditionError("NOT_CONTROLLER"));
  auto r = std::make_unique<Request>();
  r->kind = Request::Kind::kControlledShutdown;
  r->broker = broker;
  Future<int32_t> f = r->done.future();
  requests_.push_back(std::move(r));
  signals_->wake.fire_all();
  return f;
}

Future<int32_t> Controller::elect_preferred(std::vector<log::TopicPartition> partitions) {
  if (!active_ || signals_ == nullptr)
    return Future<int32_t>::ready(absl::FailedPreconditionError("NOT_CONTROLLER"));
  auto r = std::make_unique<Request>();
  r->kind = Request::Kind::kElectPreferred;
  r->partitions = std::move(partitions);
  Future<int32_t> f = r->done.future();
  requests_.push_back(std::move(r));
  signals_->wake.fire_all();
  return f;
}

void Controller::run() {
  while (!stopping_) {
    auto signals = std::make_shared<Signals>();
    signals_ = signals;
    auto claim = store_.try_become_controller(broker_id_);
    if (!claim.ok()) {
      delay(std::chrono::milliseconds(500));
      continue;
    }
    if (!claim->has_value()) {
      auto exists =
          await(store_.coord().exists("/controller", watch(signals, &Signals::controller_changed)));
      if (exists.ok() && !exists->has_value()) continue;
      // The watch is lost with a session; look again now and then regardless.
      const TimePoint deadline = Scheduler::current().now() + to_scheduler_duration(5s);
      (void)wait_until(
          signals->wake,
          [&] { return stopping_ || signals->controller_changed || signals->resign; }, deadline);
      continue;
    }
    claim_ = **claim;
    active_ = true;
    ++counters_.elections_won;
    TraceEvent(Severity::kInfo, "ControllerActive")
        .detail("BrokerId", broker_id_)
        .detail("Epoch", claim_.epoch)
        .detail("Zxid", claim_.zxid.value());
    const absl::Status s = serve(signals);
    active_ = false;
    channels_.clear();
    fail_requests(absl::FailedPreconditionError("NOT_CONTROLLER"));
    live_.clear();
    topics_.clear();
    states_.clear();
    shutting_down_.clear();
    lost_data_.clear();
    TraceEvent(Severity::kInfo, "ControllerResigned")
        .detail("BrokerId", broker_id_)
        .detail("Epoch", claim_.epoch)
        .detail("Reason", s.ToString());
    if (stopping_) break;
    // Give the role up if it is still ours, so that some broker (maybe this one) takes over.
    auto current = await(store_.coord().get_data("/controller"));
    if (current.ok()) {
      auto json = parse_json(current->data);
      if (json.ok()) {
        auto id = json_int(*json, "brokerid");
        if (id.ok() && *id == broker_id_)
          (void)await(store_.coord().remove("/controller", current->stat.version));
      }
    }
    delay(std::chrono::milliseconds(200));
  }
}

absl::Status Controller::serve(const std::shared_ptr<Signals>& signals) {
  TimePoint next_rebalance =
      clock_.now() + std::chrono::seconds(config_.leader_imbalance_check_interval_seconds);
  while (!stopping_) {
    // (Re)load everything: at the start of the term, and after an error left it unsure what
    // coord holds (a write whose outcome was lost with its connection).
    absl::Status s = [&]() -> absl::Status {
      live_.clear();
      topics_.clear();
      states_.clear();
      std::set<int32_t> born, dead;
      signals->brokers = signals->topics = signals->deletions = signals->isr = false;
      if (auto st = load_brokers(signals, born, dead); !st.ok()) return st;
      if (auto st = load_topics(signals, nullptr); !st.ok()) return st;
      std::set<log::TopicPartition> changed;
      if (auto st = init_new_partitions(changed); !st.ok()) return st;
      std::vector<log::TopicPartition> all;
      for (const auto& [tp, state] : states_) all.push_back(tp);
      if (auto st = change_partitions(
              all, [this](const auto& tp, const auto& cur) { return reconcile(tp, cur); }, changed);
          !st.ok())
        return st;
      lost_data_.clear();
      sync_channels();
      send_full_state();
      signals->deletions = signals->isr = signals->reassign = true;
      return absl::OkStatus();
    }();
    while (s.ok() && !stopping_) {
      const TimePoint deadline = Scheduler::current().now() + to_scheduler_duration(1s);
      (void)wait_until(
          signals->wake,
          [&] {
            return stopping_ || signals->resign || signals->brokers || signals->topics ||
                   signals->deletions || signals->isr || signals->reassign ||
                   !signals->topic_data.empty() || !requests_.empty();
          },
          deadline);
      if (stopping_) return absl::OkStatus();
      if (signals->resign) return absl::AbortedError("the coord session was replaced");
      if (signals->brokers) s = on_brokers_changed(signals);
      if (s.ok() && (signals->topics || !signals->topic_data.empty()))
        s = on_topics_changed(signals);
      if (s.ok() && signals->deletions) s = on_deletions(signals);
      if (s.ok() && signals->isr) s = on_isr_notifications(signals);
      if (s.ok() && signals->reassign) s = on_reassignments(signals);
      while (s.ok() && !requests_.empty()) {
        std::unique_ptr<Request> r = std::move(requests_.front());
        requests_.pop_front();
        s = on_request(*r);
        if (!s.ok()) r->done.try_set(s);
      }
      bool resync = false;
      for (auto& [id, c] : channels_) resync |= c->take_resync();
      if (s.ok() && resync) send_full_state();
      if (s.ok() && config_.auto_leader_rebalance_enable && clock_.now() >= next_rebalance) {
        next_rebalance =
            clock_.now() + std::chrono::seconds(config_.leader_imbalance_check_interval_seconds);
        s = rebalance_if_imbalanced();
      }
    }
    // Fenced, or the session ended: another controller. (Not for the zombie of the broken
    // variant, which reloads on the broker's next session.)
    const bool zombie = config_.weir_bug == "unfenced_controller" &&
                        zk_error(s) == coord::client::ErrorCode::kSessionExpired;
    if (s.code() == absl::StatusCode::kAborted && !zombie) return s;
    if (stopping_) return absl::OkStatus();
    TraceEvent(Severity::kWarn, "ControllerReload").detail("Error", s.ToString());
    delay(std::chrono::milliseconds(200));
  }
  return absl::OkStatus();
}

absl::Status Controller::load_brokers(const std::shared_ptr<Signals>& signals,
                                      std::set<int32_t>& born, std::set<int32_t>& dead) {
  auto ids = await(store_.coord().get_children("/brokers/ids", watch(signals, &Signals::brokers)));
  if (!ids.ok()) return ids.status();
  std::map<int32_t, BrokerRegistration> now;
  for (const std::string& child : *ids) {
    int32_t id = 0;
    if (!absl::SimpleAtoi(child, &id)) continue;
    auto b = store_.get_broker(id);
    if (!b.ok()) {
      if (zk_error(b.status()) == ErrorCode::kNoNode) continue;
      if (b.status().code() == absl::StatusCode::kInvalidArgument) continue;  // not a broker
      return b.status();
    }
    now[id] = *std::move(b);
  }
  for (const auto& [id, old] : live_) {
    auto it = now.find(id);
    if (it == now.end() || it->second.epoch != old.epoch) dead.insert(id);
  }
  for (const auto& [id, b] : now) {
    auto it = live_.find(id);
    if (it != live_.end() && it->second.epoch == b.epoch) continue;
    born.insert(id);
    if (b.unflushed_data_lost) lost_data_.insert(id);
  }
  live_ = std::move(now);
  return absl::OkStatus();
}

absl::Status Controller::load_topic(const std::shared_ptr<Signals>& signals,
                                    const std::string& name) {
  auto keep = signals;
  auto data = await(
      store_.coord().get_data(ClusterStore::topic_path(name), [keep, name](const WatchEvent& e) {
        if (e.type != coord::client::EventType::kNodeDataChanged) return;
        keep->topic_data.insert(name);
        keep->wake.fire_all();
      }));
  if (!data.ok()) {
    if (zk_error(data.status()) == ErrorCode::kNoNode) {
      topics_.erase(name);
      return absl::OkStatus();
    }
    return data.status();
  }
  auto assignment = ClusterStore::parse_topic_json(data->data);
  if (!assignment.ok()) {
    TraceEvent(Severity::kWarnAlways, "ControllerBadTopicZnode")
        .detail("Topic", name)
        .detail("Error", assignment.status().ToString());
    return absl::OkStatus();
  }
  auto overrides = store_.get_topic_config(name);
  if (!overrides.ok()) return overrides.status();
  TopicEntry& t = topics_[name];
  t.id = assignment->topic_id;
  t.replicas = assignment->replicas;
  t.adding = assignment->adding;
  t.removing = assignment->removing;
  t.zk_version = data->stat.version;
  t.overrides = *std::move(overrides);
  t.min_insync = topic_min_insync_replicas(config_, t.overrides);
  t.unclean = topic_unclean_leader_election(config_, t.overrides);
  for (const auto& [p, replicas] : t.replicas) {
    const log::TopicPartition tp{name, p};
    if (states_.count(tp) != 0) continue;
    auto state = store_.get_partition_state(name, p);
    if (state.ok()) {
      states_[tp] = *std::move(state);
    } else if (zk_error(state.status()) != ErrorCode::kNoNode) {
      return state.status();
    }
  }
  return absl::OkStatus();
}

absl::Status Controller::load_topics(const std::shared_ptr<Signals>& signals,
                                     std::set<std::string>* changed) {
  auto names =
      await(store_.coord().get_children("/brokers/topics", watch(signals, &Signals::topics)));
  if (!names.ok()) return names.status();
  const std::set<std::string> current(names->begin(), names->end());
  for (auto it = topics_.begin(); it != topics_.end();) {
    if (current.count(it->first) != 0) {
      ++it;
      continue;
    }
    std::erase_if(states_, [&](const auto& kv) { return kv.first.topic == it->first; });
    it = topics_.erase(it);
  }
  for (const std::string& name : current) {
    if (topics_.count(name) != 0) continue;
    if (auto s = load_topic(signals, name); !s.ok()) return s;
    if (changed != nullptr) changed->insert(name);
  }
  return absl::OkStatus();
}

absl::Status Controller::on_brokers_changed(const std::shared_ptr<Signals>& signals) {
  signals->brokers = false;
  std::set<int32_t> born, dead;
  if (auto s = load_brokers(signals, born, dead); !s.ok()) return s;
  if (born.empty() && dead.empty()) return absl::OkStatus();
  TraceEvent(Severity::kInfo, "ControllerBrokersChanged")
      .detail("Born", absl::StrJoin(born, ","))
      .detail("Dead", absl::StrJoin(dead, ","))
      .detail("UnflushedLost", absl::StrJoin(lost_data_, ","));
  signals->reassign = true;  // a reassignment may wait for a broker (to lead, or to stop)
  for (int32_t d : dead) shutting_down_.erase(d);
  for (int32_t b : born) shutting_down_.erase(b);
  sync_channels();
  std::set<log::TopicPartition> changed;
  if (auto s = init_new_partitions(changed); !s.ok()) return s;
  std::vector<log::TopicPartition> all;
  for (const auto& [tp, state] : states_) all.push_back(tp);
  if (auto s = change_partitions(
          all, [this](const auto& tp, const auto& cur) { return reconcile(tp, cur); }, changed);
      !s.ok())
    return s;
  lost_data_.clear();
  send_leader_and_isr(changed);
  if (!born.empty()) {
    std::set<log::TopicPartition> theirs;
    for (const auto& [tp, state] : states_) theirs.insert(tp);
    send_leader_and_isr(theirs, born);
  }
  send_update_metadata();
  return absl::OkStatus();
}

absl::Status Controller::on_topics_changed(const std::shared_ptr<Signals>& signals) {
  std::set<std::string> added;
  if (signals->topics) {
    signals->topics = false;
    if (auto s = load_topics(signals, &added); !s.ok()) return s;
  }
  std::set<std::string> modified;
  std::swap(modified, signals->topic_data);
  for (const std::string& name : modified) {
    if (topics_.count(name) == 0) continue;
    if (auto s = load_topic(signals, name); !s.ok()) return s;
  }
  std::set<log::TopicPartition> changed;
  if (auto s = init_new_partitions(changed); !s.ok()) return s;
  if (changed.empty()) return absl::OkStatus();
  send_leader_and_isr(changed);
  send_update_metadata();
  return absl::OkStatus();
}

}  // namespace weir::broker::controller
