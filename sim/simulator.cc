#include "sim/simulator.h"

#include "absl/strings/str_cat.h"
#include "runtime/assert.h"
#include "runtime/trace.h"

namespace weir::sim {

Simulator::Simulator(uint64_t seed, SimulatorOptions options)
    : seed_(seed),
      options_(options),
      random_(seed),
      scheduler_(time_),
      network_(scheduler_, random_, options.network) {
  scheduler_.set_observer(&unseed_);
  Tracer::instance().add_sink(&unseed_);
}

Simulator::~Simulator() {
  shutdown();
  Tracer::instance().remove_sink(&unseed_);
  scheduler_.set_observer(nullptr);
}

void Simulator::shutdown() {
  for (auto& p : processes_) {
    if (p->state_ != SimProcess::State::kDead) kill(p.get());
  }
  // Let the cancelled actors unwind while the network and disks still exist.
  scheduler_.run_until(scheduler_.now());
}

SimMachine* Simulator::add_machine(const std::string& name) {
  const size_t n = machines_.size() + 1;
  const std::string ip = absl::StrCat("10.0.", n / 250, ".", n % 250 + 1);
  const double drift = static_cast<double>(random_.uniform_int(
                           -static_cast<int64_t>(options_.clock_drift_max_ppm * 1000),
                           static_cast<int64_t>(options_.clock_drift_max_ppm * 1000))) /
                       1e9;
  const Duration origin = random_.uniform_duration(Duration(0), options_.clock_origin_max);
  machines_.push_back(std::make_unique<SimMachine>(
      name, ip, std::make_unique<SimDisk>(random_, DiskOptions{.name = name}),
      std::make_unique<SimClock>(scheduler_, 1.0 + drift, origin)));
  TraceEvent(Severity::kInfo, "SimMachineAdded")
      .machine(name, "sim")
      .detail("Ip", ip)
      .detail("ClockRate", 1.0 + drift);
  return machines_.back().get();
}

SimProcess* Simulator::add_process(SimMachine* machine, const std::string& name, uint16_t port,
                                   BootFn boot_fn) {
  auto p = std::make_unique<SimProcess>();
  p->name_ = name;
  p->address_ = absl::StrCat(machine->ip(), ":", port);
  p->machine_ = machine;
  p->boot_ = std::move(boot_fn);
  machine->processes_.push_back(p.get());
  processes_.push_back(std::move(p));
  SimProcess* raw = processes_.back().get();
  boot(raw);
  return raw;
}

void Simulator::boot(SimProcess* p) {
  WEIR_ASSERT_MSG(p->state_ == SimProcess::State::kDead, "booting a live process");
  ++p->incarnation_;
  if (p->context_) {
    p->retired_.push_back(std::shared_ptr<ProcessContext>(std::move(p->context_)));
    p->retired_.push_back(std::shared_ptr<INetwork>(std::move(p->network_)));
    p->retired_.push_back(std::shared_ptr<DeterministicRandom>(std::move(p->random_)));
  }
  p->process_ = scheduler_.create_process(p->name_, p->machine_->name());
  p->network_ = network_.bind(p->machine_->ip(), p->process_->id());
  p->random_ = std::make_unique<DeterministicRandom>(random_.fork());
  auto ctx = std::make_unique<ProcessContext>();
  ctx->network = p->network_.get();
  ctx->fs = &p->machine_->disk();
  ctx->clock = &p->machine_->clock();
  ctx->random = p->random_.get();
  ctx->address = p->address_;
  ctx->data_dir = "/data/" + p->name_;
  ctx->machine = p->machine_->name();
  ctx->boot_id = absl::StrCat(p->machine_->name(), "-boot-", p->machine_->boots_);
  ctx->name = p->name_;
  ctx->simulated = true;
  p->context_ = std::move(ctx);
  p->process_->set_context(p->context_.get());
  p->state_ = SimProcess::State::kRunning;
  TraceEvent(Severity::kInfo, "SimProcessBoot")
      .machine(p->machine_->name(), p->name_)
      .detail("Incarnation", p->incarnation_);
  ProcessContext* ctx_ptr = p->context_.get();
  BootFn* boot = &p->boot_;
  p->root_ = spawn_in(p->process_, "boot:" + p->name_, [boot, ctx_ptr] { (*boot)(*ctx_ptr); });
}

void Simulator::boot_after(SimProcess* p, Duration downtime) {
  scheduler_.add_timer(scheduler_.now() + downtime, [this, p] {
    if (p->state_ == SimProcess::State::kDead) boot(p);
  });
}

void Simulator::kill(SimProcess* p) {
  if (p->state_ == SimProcess::State::kDead) return;
  TraceEvent(Severity::kInfo, "SimProcessKilled")
      .machine(p->machine_->name(), p->name_)
      .detail("Incarnation", p->incarnation_);
  if (p->unpause_timer_) scheduler_.cancel_timer(*p->unpause_timer_);
  p->unpause_timer_.reset();
  scheduler_.kill_process(p->process_);
  network_.process_killed(p->process_->id());
  p->state_ = SimProcess::State::kDead;
  p->root_.reset();
  // The context stays allocated: unwinding actors may still read it. The next boot replaces it.
}

void Simulator::crash_machine(SimMachine* m) {
  for (SimProcess* p : m->processes_) kill(p);
  TraceEvent(Severity::kInfo, "SimMachineCrash").machine(m->name(), "sim");
  m->disk().crash();
  ++m->boots_;
}

void Simulator::shutdown_machine(SimMachine* m) {
  for (SimProcess* p : m->processes_) kill(p);
  TraceEvent(Severity::kInfo, "SimMachineShutdown").machine(m->name(), "sim");
  m->disk().clean_shutdown();
  ++m->boots_;
}

void Simulator::pause(SimProcess* p, Duration duration) {
  if (p->state_ != SimProcess::State::kRunning) return;
  TraceEvent(Severity::kInfo, "SimProcessPaused")
      .machine(p->machine_->name(), p->name_)
      .detail("Seconds", duration);
  scheduler_.pause_process(p->process_);
  p->state_ = SimProcess::State::kPaused;
  p->unpause_timer_ = scheduler_.add_timer(scheduler_.now() + duration, [this, p] {
    p->unpause_timer_.reset();
    resume(p);
  });
}

void Simulator::resume(SimProcess* p) {
  if (p->state_ != SimProcess::State::kPaused) return;
  if (p->unpause_timer_) scheduler_.cancel_timer(*p->unpause_timer_);
  p->unpause_timer_.reset();
  p->state_ = SimProcess::State::kRunning;
  scheduler_.resume_process(p->process_);
}

SimProcess* Simulator::find_process(const std::string& name) const {
  for (const auto& p : processes_) {
    if (p->name_ == name) return p.get();
  }
  return nullptr;
}

}  // namespace weir::sim
