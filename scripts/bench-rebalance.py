#!/usr/bin/python3
"""How long a consumer group takes to be whole again after one member goes away, real
processes: one standalone `weir coord` and three `weir broker`s on 127.0.0.1 (the harness of
tests/broker/real/cluster.py, data under a temporary directory), a topic of 30 partitions
with replication factor 3, and 10 consumer processes (confluent-kafka 1.7 = librdkafka 2.0,
Debian's python3-confluent-kafka) in group "bench-rebalance" with session.timeout.ms 10000
and heartbeat.interval.ms 3000. Every consumer reports each change of its assignment, with a
time.monotonic() stamp (CLOCK_MONOTONIC: one clock for all processes), over its stdout.

Each repetition waits until the group is stable (all 30 partitions assigned, 3 to each of
the 10 members, no change for --settle seconds), then takes one member away and measures
the time until the nine survivors' assignments again cover all 30 partitions, each owned
once, with no change for 2 s: the figure is the time of the survivors' last change (the 2 s
of quiet not included). The member taken away is then started again (a new process, a new
member) and the next repetition waits for stability first. Two ways to go away:
  kill   SIGKILL of the consumer process: nobody tells the coordinator; Weir ends the
         member's session a third of session.timeout.ms after its connection closed
         (Kafka: only when session.timeout.ms has passed since its last heartbeat).
  close  consumer.close() (after SIGTERM): the client sends LeaveGroup.
Before taking a member away each repetition waits a random 0-heartbeat.interval.ms more
(--jitter, --seed): a rebalance ends with every member's SyncGroup answered at once, so the
members heartbeat in step afterwards, and where in that 3 s cycle the member goes decides
when the survivors hear of the rebalance (the phase is printed). Without it the member would
always go just after a heartbeat (--settle 3 s = one interval) and every run would measure
nearly the worst case. The member taken away goes round the 10 slots.

Prints each repetition: the phase, when the first survivor's assignment changed (under the
eager protocol that is its on_revoke: when it heard of the rebalance), the survivors' last
change (the figure), how the partitions ended up spread and the coordinating broker's view
(DescribeGroups); then min/median/max of both ways. After the runs the consumers and brokers
are stopped (SIGTERM; brokers must exit 0) and the brokers' traces are read: per run when the
coordinator began the rebalance (and why: a session expired, a member left) and completed the
join, how many members expired, warnings and errors (during the runs, and apart those of the
teardown, when the brokers stop one by one); and the consumers' librdkafka logs.

Usage: bench-rebalance.py WEIR [--runs N] [--cooperative-sticky | --strategy S]
                          [--partitions P] [--members M] [--session-ms MS] [--heartbeat-ms MS]
                          [--settle S] [--jitter S] [--seed N] [--zookeeper-kafka] [--keep]
  --strategy            partition.assignment.strategy (default range, eager protocol);
  --cooperative-sticky  the same as --strategy cooperative-sticky (KIP-429, incremental);
  --settle              seconds without a change that make the group stable (default 3);
  --zookeeper-kafka     there is no real Kafka here: adds Kafka's expected figures (from
                        its rules: session.timeout.ms + rebalance), labelled NOT MEASURED;
                        with --runs 0 only those are printed;
  --keep                keep the temporary directory (broker, coord and consumer logs).

`make bench-rebalance` runs it (REBALANCE_ARGS="--cooperative-sticky" etc. are passed on).
A measurement, not a test: it fails only when the group never becomes whole again."""
import argparse, gc, json, math, os, random, re, signal, statistics, subprocess, sys, threading, time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
GROUP = "bench-rebalance"
TOPIC = "bench-rebalance"


# --- one consumer process (this script run with --member) -----------------------------------

def member_main(a):
    from confluent_kafka import Consumer
    cooperative = a.strategy == "cooperative-sticky"
    out = sys.stdout
    lock = threading.Lock()

    def say(ev, **kw):
        with lock:
            out.write(json.dumps({"ev": ev, "t": time.monotonic(), **kw}) + "\n")
            out.flush()

    owned = set()

    def on_assign(consumer, tps):
        if not cooperative:
            owned.clear()
        owned.update(tp.partition for tp in tps)
        say("assignment", parts=sorted(owned), why="assign", n=len(tps))

    def on_revoke(consumer, tps, why="revoke"):
        if cooperative:
            owned.difference_update(tp.partition for tp in tps)
        else:
            owned.clear()
        say("assignment", parts=sorted(owned), why=why, n=len(tps))

    def on_lost(consumer, tps):
        on_revoke(consumer, tps, "lost")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    c = Consumer({
        "bootstrap.servers": a.bootstrap,
        "group.id": GROUP,
        "client.id": f"bench-{a.member}",
        "session.timeout.ms": a.session_ms,
        "heartbeat.interval.ms": a.heartbeat_ms,
        "partition.assignment.strategy": a.strategy,
        "enable.auto.commit": False,
        "error_cb": lambda err: say("error", what=str(err)),
    })
    c.subscribe([TOPIC], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    say("ready", pid=os.getpid())
    while not stop:
        msg = c.poll(0.05)  # callbacks run in here; a rebalance event wakes it at once
        if msg is not None and msg.error() is not None:
            say("error", what=str(msg.error()))
    say("closing")
    c.close()  # under the eager protocol: on_revoke, then LeaveGroup
    say("closed")


# --- the group, as the consumers report it ---------------------------------------------------

class Member:
    def __init__(self, slot, proc):
        self.slot = slot
        self.proc = proc
        self.parts = frozenset()
        self.changes = []  # monotonic times of the assignment changes
        self.ready = False
        self.closing = None
        self.closed = None


class Group:
    def __init__(self, a, bootstrap, logdir):
        self.a = a
        self.bootstrap = bootstrap
        self.logdir = logdir
        self.lock = threading.Lock()
        self.members = {}
        self.errors = []  # (slot, monotonic, text)
        self.started = {}  # slot -> how many processes it has had

    def start(self, slot):
        n = self.started.get(slot, 0)
        self.started[slot] = n + 1
        log = open(os.path.join(self.logdir, f"consumer{slot}.{n}.log"), "ab")
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--member", str(slot), "--bootstrap", self.bootstrap,
             "--strategy", self.a.strategy, "--session-ms", str(self.a.session_ms),
             "--heartbeat-ms", str(self.a.heartbeat_ms)],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        log.close()
        m = Member(slot, proc)
        with self.lock:
            self.members[slot] = m
        threading.Thread(target=self._read, args=(m,), daemon=True).start()
        return m

    def _read(self, m):
        for line in m.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                if ev["ev"] == "assignment":
                    parts = frozenset(ev["parts"])
                    if parts != m.parts:
                        m.parts = parts
                        m.changes.append(ev["t"])
                elif ev["ev"] == "ready":
                    m.ready = True
                elif ev["ev"] == "closing":
                    m.closing = ev["t"]
                elif ev["ev"] == "closed":
                    m.closed = ev["t"]
                elif ev["ev"] == "error":
                    self.errors.append((m.slot, ev["t"], ev["what"]))

    def describe(self, slots):
        with self.lock:
            return "; ".join(f"{s}:{sorted(self.members[s].parts)}" for s in slots)

    def wait_stable(self, slots, quiet, timeout, balanced=False, since=None):
        """Until members `slots` own every partition exactly once (with `balanced`, each
        floor or ceil of partitions/members), none of them changed for `quiet` seconds, and the
        last change is not before `since`; the time of that last change."""
        P, n = self.a.partitions, len(slots)
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                ms = [self.members[s] for s in slots]
                owned = sorted(p for m in ms for p in m.parts)
                whole = owned == list(range(P))
                if balanced:
                    whole = whole and all(len(m.parts) in (P // n, math.ceil(P / n)) for m in ms)
                last = max((m.changes[-1] for m in ms if m.changes), default=None)
            dead = [m.slot for m in ms if m.proc.poll() is not None]
            if dead:
                raise RuntimeError(f"consumer(s) {dead} exited (see their logs)")
            now = time.monotonic()
            if whole and last is not None and (since is None or last >= since) and now - last >= quiet:
                return last
            if now > deadline:
                raise RuntimeError(f"group not whole and quiet after {timeout} s: {self.describe(slots)}")
            time.sleep(0.02)

    def first_change_after(self, slots, t):
        with self.lock:
            return min((c for s in slots for c in self.members[s].changes if c >= t), default=None)

    def changes_after(self, slots, t):
        with self.lock:
            return sum(1 for s in slots for c in self.members[s].changes if c >= t)

    def spread(self, slots):
        with self.lock:
            return sorted((len(self.members[s].parts) for s in slots), reverse=True)

    def stop_all(self):
        for m in self.members.values():
            if m.proc.poll() is None:
                m.proc.send_signal(signal.SIGTERM)
        for m in self.members.values():
            try:
                m.proc.wait(20)
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait()


def _die_with_parent():
    import ctypes
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def broker_view(admin):
    """(state, number of members) of the group in DescribeGroups (via librdkafka), or a string."""
    try:
        (g,) = admin.list_groups(GROUP, timeout=10)
        return g.state, len(g.members)
    except Exception as e:  # noqa: BLE001 - only reported
        return f"DescribeGroups failed: {e}"


def one_run(g, admin, how, rep, victim, a, rng):
    slots = list(range(a.members))
    survivors = [s for s in slots if s != victim]
    m = g.members[victim]
    time.sleep(rng.uniform(0, a.jitter))
    with g.lock:  # the group's last rebalance ended with its members' last assignment change
        settled = max(c for s in slots for c in g.members[s].changes)
    if how == "kill":
        t0 = time.monotonic()
        m.proc.send_signal(signal.SIGKILL)
        m.proc.wait()
    else:
        m.proc.send_signal(signal.SIGTERM)
        m.proc.wait(30)
        if m.closing is None:
            raise RuntimeError(f"consumer {victim} did not report its close")
        t0 = m.closing
    last = g.wait_stable(survivors, quiet=2.0, timeout=120, since=t0)
    took = last - t0
    first = g.first_change_after(survivors, t0)
    view = broker_view(admin)
    extra = ""
    if how == "close" and m.closed is not None:
        extra = f", close() took {m.closed - m.closing:.3f} s"
    phase = (t0 - settled) % (a.heartbeat_ms / 1000)
    print(f"{how} {rep + 1}: member {victim}, {phase:.2f} s into the heartbeat interval; "
          f"first survivor change +{first - t0:.3f} s, "
          f"whole again (last change) +{took:.3f} s ({g.changes_after(survivors, t0)} changes; "
          f"partitions per member {g.spread(survivors)}; broker: {view}){extra}", flush=True)
    if not (isinstance(view, tuple) and view == ("Stable", len(survivors))):
        print(f"  note: the broker's view of the group is {view}, not Stable with {len(survivors)} members",
              flush=True)
    g.start(victim)
    g.wait_stable(slots, quiet=a.settle, timeout=180, balanced=True)
    return {"how": how, "rep": rep, "t0": t0, "took": took, "first": first - t0}


def kafka_expected(a):
    """Kafka's figures from its rules, with the members heartbeating in step as measured here
    (a rebalance ends for all of them at once, and librdkafka's heartbeat timer starts then)."""
    s, h = a.session_ms / 1000, a.heartbeat_ms / 1000
    heard = math.ceil(s / h) * h  # the survivors' first heartbeat after the session ended
    print("\nKafka (NOT MEASURED: there is no Kafka here; what its rules give, for context):")
    print(f"  kill -9: session.timeout.ms + rebalance. The coordinator ends the member's session {s:.1f} s "
          f"after its last heartbeat; the survivors, heartbeating in step with it every {h:.1f} s, hear of "
          f"the rebalance at their first heartbeat after that, {heard:.1f} s after that last heartbeat: "
          f"{heard - h:.1f}-{heard:.1f} s after the kill, plus the join and sync ({heard:.1f} s when the kill "
          f"comes just after a heartbeat, as with --jitter 0). Weir by the same reckoning, its session "
          f"ending {s / 3:.2f} s after the connection closed: {s / 3:.2f}-{s / 3 + h:.2f} s (measured above).")
    print(f"  clean close: LeaveGroup starts the rebalance at once; the survivors hear of it at their next "
          f"heartbeat: 0-{h:.1f} s plus the join and sync, as in Weir (the same protocol).")


# --- logs --------------------------------------------------------------------------------------

_STAMP = re.compile(r"^%\d\|[\d.]+\|")  # librdkafka's "%level|unix time|"


def _count(d, k):
    d[k] = d.get(k, 0) + 1


def broker_events(root, i, started):
    """Broker i's trace events, each with "mono": its time on this process's monotonic clock
    (the trace's "time" counts from the broker's start, `started`)."""
    for trace in (os.path.join(root, f"broker{i}", "broker-trace.jsonl"),
                  os.path.join(root, f"broker{i}", "logs", "broker-trace.jsonl")):
        if os.path.exists(trace):
            out = []
            with open(trace, errors="replace") as f:
                for line in f:
                    try:
                        ev = json.loads(line)
                        ev["mono"] = started + float(ev["time"])
                    except (ValueError, KeyError, TypeError):
                        continue
                    out.append(ev)
            return out
    return []


def scan_logs(root, started, teardown, runs):
    """What the brokers' traces and logs and the consumers' librdkafka logs say: warnings and
    errors while the runs went on (and, apart, during the teardown, when brokers stop one by
    one), the group's expiries, and per run when the coordinator began and ended the
    rebalance."""
    print("\nlogs and traces:")
    group_events = []
    for i, t in sorted(started.items()):
        during, after, shown = {}, {}, []
        for ev in broker_events(root, i, t):
            sev = str(ev.get("severity", ""))
            if ev.get("Group") == GROUP:
                group_events.append((ev["mono"], i, ev))
            if sev.startswith(("warn", "error", "sev_warn", "sev_error")) and ev.get("type") != "SignalReceived":
                _count(during if ev["mono"] < teardown else after, f"{sev} {ev.get('type')}")
                if ev["mono"] < teardown and len(shown) < 3:
                    shown.append({k: v for k, v in ev.items() if k not in ("machine", "process", "mono")})
        print(f"  broker {i} trace, during the runs: " +
              (", ".join(f"{k} x{v}" for k, v in sorted(during.items())) or "no warnings or errors") +
              "; teardown: " + (", ".join(f"{k} x{v}" for k, v in sorted(after.items())) or "none"))
        for ev in shown:
            print(f"    {json.dumps(ev)[:300]}")
        try:
            with open(os.path.join(root, f"broker{i}", "broker.log"), errors="replace") as f:
                other = [ln.rstrip() for ln in f if not ln.startswith("--- harness:")]
        except OSError as e:
            other = [str(e)]
        for ln in other[:5]:
            print(f"    broker.log: {ln[:200]}")
    group_events.sort(key=lambda e: e[0])
    expired = [e for e in group_events if e[2].get("type") == "GroupMemberExpired" and e[0] < teardown]
    print(f"  group {GROUP}: {len(expired)} member(s) expired during the runs "
          f"({sum(1 for r in runs if r['how'] == 'kill')} killed)")
    # The trace's clock starts when the broker's process does, a little after Popen returned:
    # mapped onto ours, its events look a few tens of ms early; hence the window's slack.
    print("    (coordinator times from its trace: a few tens of ms early)")
    for r in runs:
        after = [e for e in group_events if e[0] >= r["t0"] - 0.25]
        prep = next((e for e in after if e[2].get("type") == "GroupPreparingRebalance"), None)
        done = next((e for e in after if e[2].get("type") == "GroupJoinCompleted"), None)
        if prep is None or done is None:
            print(f"    {r['how']} {r['rep'] + 1}: no rebalance in the coordinator's trace")
            continue
        print(f"    {r['how']} {r['rep'] + 1}: coordinator (broker {prep[1]}) began the rebalance at "
              f"+{prep[0] - r['t0']:.3f} s ({prep[2].get('Reason')}), join completed at +{done[0] - r['t0']:.3f} s "
              f"({done[2].get('Members')} members), survivors whole at +{r['took']:.3f} s")
    lines = {}
    for name in sorted(os.listdir(os.path.join(root, "consumers"))):
        with open(os.path.join(root, "consumers", name), errors="replace") as f:
            for line in f:
                _count(lines, re.sub(r"\d+", "N", _STAMP.sub("", line.strip()))[:160])
    if not lines:
        print("  consumers: librdkafka logged nothing")
    for k, v in sorted(lines.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  consumers x{v}: {k}")


def summary(name, xs):
    if not xs:
        return f"{name}: no runs"
    return (f"{name}: min {min(xs):.3f} s, median {statistics.median(xs):.3f} s, max {max(xs):.3f} s "
            f"({len(xs)} runs: {', '.join(f'{x:.2f}' for x in xs)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weir", nargs="?")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--strategy", default="range")
    ap.add_argument("--cooperative-sticky", action="store_true")
    ap.add_argument("--partitions", type=int, default=30)
    ap.add_argument("--members", type=int, default=10)
    ap.add_argument("--session-ms", type=int, default=10000)
    ap.add_argument("--heartbeat-ms", type=int, default=3000)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--jitter", type=float, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--zookeeper-kafka", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--member", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--bootstrap", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.cooperative_sticky:
        a.strategy = "cooperative-sticky"
    if a.member is not None:
        return member_main(a)
    if a.jitter is None:
        a.jitter = a.heartbeat_ms / 1000
    if a.seed is None:
        a.seed = int(time.time()) % 100000
    if a.runs > 0 and not a.weir:
        ap.error("WEIR (the weir binary) is required")

    print(f"group {GROUP}: {a.members} consumer processes, topic of {a.partitions} partitions (RF 3), "
          f"session.timeout.ms={a.session_ms}, heartbeat.interval.ms={a.heartbeat_ms}, "
          f"partition.assignment.strategy={a.strategy}, {a.runs} runs of each; each waits 0-{a.jitter:.1f} s "
          f"(seed {a.seed}) after the group is stable", flush=True)
    if a.runs > 0:
        sys.path.insert(0, os.path.join(HERE, "..", "tests", "broker", "real"))
        import cluster as harness
        from confluent_kafka.admin import AdminClient, NewTopic
        if not os.access(a.weir, os.X_OK):
            sys.exit(f"no weir binary at {a.weir} (flock /tmp/weir-build.lock ninja -C build)")
        if a.keep:
            os.environ["WEIR_KEEP_BROKER_DIRS"] = "1"
        c = harness.Cluster(a.weir, brokers=3, extra_props=harness.replication_props(rf=3, min_isr=2))
        g = None
        started = {}
        runs = []
        try:
            c.start_coord()
            for i in range(3):
                started[i] = time.monotonic()
                c.start_broker(i)
            took = c.wait_ready()
            print(f"cluster: coord {c.coord_hosts()}, brokers {c.bootstrap()} ready after {took:.1f} s "
                  f"(data under {c.root})", flush=True)
            admin = AdminClient({"bootstrap.servers": c.bootstrap()})
            for f in admin.create_topics([NewTopic(TOPIC, a.partitions, 3)]).values():
                f.result(30)
            harness.wait_until(f"{TOPIC}: {a.partitions} partitions led", lambda: len(
                (harness.metadata(c.broker_port(0)) or ({}, 0, {}))[2].get(TOPIC, (0, {}))[1]) == a.partitions,
                timeout=30)
            c.wait_ready(timeout=60)
            os.makedirs(os.path.join(c.root, "consumers"))
            g = Group(a, c.bootstrap(), os.path.join(c.root, "consumers"))
            t = time.monotonic()
            for s in range(a.members):
                g.start(s)
            g.wait_stable(list(range(a.members)), quiet=a.settle, timeout=180, balanced=True)
            print(f"group stable: {a.members} members x {a.partitions // a.members} partitions, "
                  f"{time.monotonic() - t:.1f} s after starting the consumers", flush=True)
            rng = random.Random(a.seed)
            for rep in range(a.runs):
                runs.append(one_run(g, admin, "kill", rep, rep % a.members, a, rng))
            for rep in range(a.runs):
                runs.append(one_run(g, admin, "close", rep, (a.runs + rep) % a.members, a, rng))
            restarted = {s: n - 1 for s, n in g.started.items() if n > 1}
            print(f"\nconsumers started again per slot: {restarted}; errors the consumers reported: {len(g.errors)}")
            for slot, t, what in g.errors[:10]:
                print(f"  consumer {slot}: {what}")
            admin = None
            gc.collect()  # the admin client's connections close before the brokers go
            teardown = time.monotonic()
            g.stop_all()
            g = None
            for i in range(3):
                c.stop_broker(i)
            scan_logs(c.root, started, teardown, runs)
        finally:
            if g is not None:
                g.stop_all()
            c.close()
        kills = [r["took"] for r in runs if r["how"] == "kill"]
        closes = [r["took"] for r in runs if r["how"] == "close"]
        print(f"\nWeir, measured ({a.strategy}; survivors' last assignment change after the member left, "
              f"2 s of quiet not included):")
        print("  " + summary("kill -9", kills))
        print("  " + summary("clean close (LeaveGroup)", closes))
    if a.zookeeper_kafka:
        kafka_expected(a)


if __name__ == "__main__":
    main()
