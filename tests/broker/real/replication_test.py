#!/usr/bin/python3
"""Replication across three real `weir broker` processes (broker.id 0..2, one standalone
`weir coord`, default.replication.factor=3, min.insync.replicas=2), driven by unmodified
clients: kcat 1.7, kafka-python 2.0.2 and confluent-kafka 1.7 (librdkafka 2.0).
Usage: replication_test.py WEIR {basics|kill|restart|sigterm}

  basics   CreateTopics with replication factor 3: every broker's Metadata shows 3 replicas,
           an ISR of 3 and the preferred leader, leaders spread over the brokers; acks=all
           records read back from the leader; each broker's log dir holds <topic>-<p> with the
           same segment bytes (the followers replicated); with two brokers stopped, acks=all
           is refused with NOT_ENOUGH_REPLICAS and acks=1 still works; the ISR grows back.
  kill     the three clients produce with acks=all to one partition while its leader is
           killed with SIGKILL (then restarted), and again while the controller is: Metadata
           names a new leader after each kill, producing goes on with two in-sync replicas,
           every acknowledged record is read back from the earliest offset by each client,
           offsets are dense and the three replicas end with the same bytes.
  restart  the same producers while the leader is killed with SIGKILL and started again at
           once: it registers again (after coord expires its previous session) and rejoins the
           ISR; every acknowledged record is read back.
  sigterm  the same producers while a broker is stopped with SIGTERM: a leader, the leader
           that is also the controller, the controller as a follower (replica assignments
           chosen so). It exits 0, and by then every other broker's Metadata names another
           leader (controlled shutdown moved it first), soon an ISR without it; no delivery
           fails and no acknowledged record is lost.

What the clients do that this relies on: kcat -P exits 0 only when every record's delivery
report succeeded (kcat.c dr_msg_cb counts failures; the exit code says whether any); librdkafka
retries a produce through leader changes until message.timeout.ms; kafka-python retries only
`retries` times (0 by default) and raises NotEnoughReplicasError for error code 19."""
import os, shutil, signal, subprocess, sys, threading, time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, expect_eq, ok, replication_props, wait_until  # noqa: E402

KCAT = shutil.which("kcat") or "/usr/bin/kcat"
if not os.access(KCAT, os.X_OK):
    print("SKIP: kcat is not installed (scripts/install-deps.sh installs it)")
    sys.exit(77)
try:
    import logging
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KpTopicPartition
    from kafka import errors as Errors
except ImportError as e:
    print(f"SKIP: a Kafka client module is missing ({e})")
    sys.exit(77)

logging.basicConfig(level=logging.ERROR, format="kafka-python %(levelname)s %(name)s: %(message)s")
# Brokers refuse connections and drop them while they die: kafka-python says so at WARNING and
# ERROR; the test counts what matters itself.
logging.getLogger("kafka").setLevel(logging.CRITICAL)

# The coord's minimum session (2 ticks of 2 s): a broker killed with -9 is declared dead, and
# its partitions moved, 4 s after its last heartbeat.
FAST = "zookeeper.session.timeout.ms=4000\n"


def kcat(c, *args, stdin=b"", timeout=60, check=True, bootstrap=None):
    cmd = [KCAT, "-b", bootstrap or c.bootstrap(), "-m", "15", *map(str, args)]
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstderr:\n"
                             f"{p.stderr.decode(errors='replace')[-3000:]}")
    return p


def create_topic(c, name, partitions, rf=3, assignment=None):
    """CreateTopics through confluent-kafka's AdminClient; `assignment`: [[broker, ...] per
    partition], the first of each its preferred (and first) leader."""
    a = AdminClient({"bootstrap.servers": c.bootstrap(), "client.id": "weir-replication-admin"})
    topic = (NewTopic(name, len(assignment), replica_assignment=assignment) if assignment
             else NewTopic(name, partitions, rf))
    (f,) = a.create_topics([topic], operation_timeout=15, request_timeout=20).values()
    f.result(timeout=30)


def read_values(c, topic, partition=0, bootstrap=None):
    """[(offset, value)] of topic [partition] from the earliest offset, through kcat."""
    p = kcat(c, "-C", "-t", topic, "-p", partition, "-o", "beginning", "-e", "-f", "%o %s\\n",
             bootstrap=bootstrap, timeout=120)
    out = []
    for line in p.stdout.decode().splitlines():
        off, _, value = line.partition(" ")
        out.append((int(off), value))
    return out


def read_confluent(c, topic, end, partition=0):
    cons = Consumer({"bootstrap.servers": c.bootstrap(), "group.id": "weir-replication", "enable.auto.commit": False,
                     "enable.partition.eof": True, "auto.offset.reset": "error", "fetch.wait.max.ms": 100})
    cons.assign([TopicPartition(topic, partition, 0)])
    out = []
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            m = cons.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF and len(out) >= end:
                    return out
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"confluent consumer error after {len(out)} records: {m.error()}")
            out.append((m.offset(), m.value().decode()))
        raise AssertionError(f"confluent consumer: {len(out)} of {end} records in 60 s")
    finally:
        cons.close()


def read_kafka_python(c, topic, end, partition=0):
    cons = KafkaConsumer(bootstrap_servers=c.bootstrap(), client_id="weir-replication-consumer", group_id=None,
                         enable_auto_commit=False, auto_offset_reset="none", fetch_max_wait_ms=100)
    tp = KpTopicPartition(topic, partition)
    cons.assign([tp])
    cons.seek_to_beginning(tp)
    out = []
    deadline = time.time() + 60
    try:
        while len(out) < end and time.time() < deadline:
            for recs in cons.poll(timeout_ms=200).values():
                out.extend((r.offset, r.value.decode()) for r in recs)
        assert len(out) == end, f"kafka-python consumer: {len(out)} of {end} records in 60 s"
        return out
    finally:
        cons.close()


# --- producers: each in its own thread, every value unique, acknowledged ones remembered ---

class Writer:
    """Produces "<name>-<n>" values to topic [0] with acks=all until stopped; `acked` holds the
    values the client reported delivered, `failed` those it reported failed."""

    def __init__(self, c, name, topic):
        self.c, self.name, self.topic = c, name, topic
        self.acked, self.failed, self.errors = [], [], []
        self.seq = 0
        self.stopping = threading.Event()
        self.crash = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.lock = threading.Lock()

    def next_values(self, n):
        out = [f"{self.name}-{self.seq + i}" for i in range(n)]
        self.seq += n
        return out

    def ack(self, value):
        with self.lock:
            self.acked.append(value)

    def fail(self, value, why):
        with self.lock:
            self.failed.append(value)
            if len(self.errors) < 5:
                self.errors.append(str(why))

    def count(self):
        with self.lock:
            return len(self.acked)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        try:
            self.run()
        except BaseException as e:  # noqa: BLE001 - reported by stop()
            self.crash = e

    def stop(self, timeout=90):
        self.stopping.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.name}: producer thread still running {timeout} s after stop"
        if self.crash is not None:
            raise AssertionError(f"{self.name}: producer thread failed: {self.crash!r}")


class KcatWriter(Writer):
    """kcat -P runs of 25 records: a run that exits 0 had every record delivered."""

    def run(self):
        while not self.stopping.is_set():
            values = self.next_values(25)
            p = kcat(self.c, "-P", "-t", self.topic, "-p", 0, "-X", "acks=all", "-X", "message.timeout.ms=60000",
                     "-X", "linger.ms=5", stdin="".join(v + "\n" for v in values).encode(), timeout=120, check=False)
            if p.returncode == 0:
                for v in values:
                    self.ack(v)
            else:
                for v in values:
                    self.fail(v, f"kcat exit {p.returncode}: {p.stderr.decode(errors='replace')[-300:]}")
            time.sleep(0.02)


class ConfluentWriter(Writer):
    def run(self):
        p = Producer({"bootstrap.servers": self.c.bootstrap(), "client.id": "weir-replication-confluent",
                      "acks": "all", "linger.ms": 5, "message.timeout.ms": 60000})
        while not self.stopping.is_set():
            for v in self.next_values(10):
                def report(err, msg, v=v):
                    if err is None:
                        self.ack(v)
                    else:
                        self.fail(v, err)
                p.produce(self.topic, value=v.encode(), partition=0, on_delivery=report)
            p.poll(0.05)
        left = p.flush(90)
        assert left == 0, f"confluent producer: {left} records undelivered after flush(90)"


class KafkaPythonWriter(Writer):
    def run(self):
        p = KafkaProducer(bootstrap_servers=self.c.bootstrap(), client_id="weir-replication-kafka-python", acks="all",
                          retries=1000, retry_backoff_ms=200, request_timeout_ms=10000, max_block_ms=60000,
                          linger_ms=5, metadata_max_age_ms=5000)
        while not self.stopping.is_set():
            for v in self.next_values(10):
                f = p.send(self.topic, value=v.encode(), partition=0)
                f.add_callback(lambda md, v=v: self.ack(v))
                f.add_errback(lambda e, v=v: self.fail(v, repr(e)))
            time.sleep(0.05)
        p.flush(90)
        p.close(10)


def writers(c, topic):
    return [KcatWriter(c, "kcat", topic).start(), KafkaPythonWriter(c, "kafka-python", topic).start(),
            ConfluentWriter(c, "confluent", topic).start()]


def wait_progress(ws, more, what, timeout=30):
    """Until every writer has `more` acknowledged records beyond what it had on the call."""
    start = {w.name: w.count() for w in ws}
    deadline = time.time() + timeout
    while True:
        gained = {w.name: w.count() - start[w.name] for w in ws}
        if all(n >= more for n in gained.values()):
            return gained
        crashed = [w.name for w in ws if w.crash is not None]
        if crashed or time.time() > deadline:
            raise AssertionError(f"{what}: not {more} more acknowledged records from each producer after "
                                 f"{timeout} s: {gained}; failures {[(w.name, len(w.failed), w.errors[:2]) for w in ws]}"
                                 f"; crashed {[(w.name, repr(w.crash)) for w in ws if w.crash is not None]}")
        time.sleep(0.05)


def check_all_read(c, topic, ws, strict_failures):
    """Every acknowledged value read back at least once (a retried record whose answer was lost
    may be written twice: no idempotent producers yet), offsets dense from 0, each client's
    consumer reading the same records; the three replicas with the same bytes."""
    for w in ws:
        w.stop()
    got = read_values(c, topic)
    offsets = [o for o, _ in got]
    expect_eq(offsets, list(range(len(got))), f"{topic}: offsets read by kcat (dense from 0)")
    seen = {}
    for o, v in got:
        seen.setdefault(v, []).append(o)
    summary = []
    for w in ws:
        lost = [v for v in w.acked if v not in seen]
        assert not lost, f"{topic}: {len(lost)} of {len(w.acked)} records acknowledged to {w.name} not read back, " \
                         f"e.g. {lost[:10]}"
        dups = sum(1 for v in w.acked if len(seen[v]) > 1)
        summary.append(f"{w.name} {len(w.acked)} acked ({len(w.failed)} failed, {dups} written twice)")
        if strict_failures:
            expect_eq(w.failed, [], f"{w.name}: failed deliveries ({w.errors})")
        elif w.failed:
            print(f"{w.name}: {len(w.failed)} deliveries failed, e.g. {w.errors[:2]}", flush=True)
    foreign = [v for v in seen if not any(v.startswith(w.name + "-") for w in ws)]
    expect_eq(foreign, [], f"{topic}: values no producer sent")
    expect_eq(read_confluent(c, topic, len(got)), got, f"{topic}: confluent consumer vs kcat")
    expect_eq(read_kafka_python(c, topic, len(got)), got, f"{topic}: kafka-python consumer vs kcat")
    sizes = c.wait_replicated(topic, 0, timeout=15, content=True)
    ok(f"{topic}: every acknowledged record read back from the earliest offset by kcat, confluent-kafka and "
       f"kafka-python ({len(got)} records at offsets 0..{len(got) - 1}): {'; '.join(summary)}; "
       f"the three replicas hold the same {sizes[0]} segment bytes")


# --- the scenarios ---

def basics(weir):
    with Cluster(weir, brokers=3, extra_props=replication_props(rf=3, min_isr=2)) as c:
        create_topic(c, "r3", 3)
        leader, replicas, isr = c.wait_isr("r3", 0, timeout=15)
        views = {}
        for p in range(3):
            for i in range(3):
                err, lead, reps, isr = c.partition("r3", p, via=i)
                expect_eq((err, sorted(reps), sorted(isr), lead), (0, [0, 1, 2], [0, 1, 2], reps[0]),
                          f"r3 [{p}] in broker {i}'s Metadata: error, replicas, ISR, leader (the preferred)")
                views.setdefault(p, set()).add((lead, tuple(reps), tuple(isr)))
        for p, v in views.items():
            expect_eq(len(v), 1, f"r3 [{p}]: one view in the three brokers' Metadata ({v})")
        leaders = sorted(next(iter(v))[0] for v in views.values())
        expect_eq(leaders, [0, 1, 2], "leaders of r3's 3 partitions (Kafka's assignment spreads them)")
        ok("CreateTopics r3 (3 partitions, replication factor 3): every broker's Metadata shows replicas and ISR "
           "{0,1,2} and the preferred leader, one partition led by each broker")

        for p in range(3):
            kcat(c, "-P", "-t", "r3", "-p", p, "-X", "acks=all",
                 stdin=b"".join(b"r3-%d-%d\n" % (p, n) for n in range(500)))
        for p in range(3):
            lead = c.leader("r3", p)
            got = read_values(c, "r3", p, bootstrap=f"127.0.0.1:{c.broker_port(lead)}")
            expect_eq(got, [(n, f"r3-{p}-{n}") for n in range(500)], f"r3 [{p}] read with the leader {lead} alone")
            c.wait_replicated("r3", p, timeout=10)
        ok("acks=all: 500 records per partition acknowledged, read back from each leader alone; "
           "r3-0..2 hold the same segment bytes on brokers 0, 1 and 2")

        # min.insync.replicas=2 with one replica left: acks=all refused, acks=1 served.
        create_topic(c, "minisr", 1)
        leader, replicas, _ = c.wait_isr("minisr", 0, timeout=15)
        others = [i for i in replicas if i != leader]
        for i in others:
            c.stop_broker(i)  # controlled shutdown: out of the ISR at once
        c.wait_isr("minisr", 0, size=1, timeout=15)
        p = KafkaProducer(bootstrap_servers=c.bootstrap([leader]), acks="all", retries=0, request_timeout_ms=10000)
        try:
            p.send("minisr", value=b"refused", partition=0).get(15)
            raise AssertionError("acks=all with one in-sync replica of min.insync.replicas=2 was acknowledged")
        except Errors.NotEnoughReplicasError:
            pass
        p.close(5)
        p = KafkaProducer(bootstrap_servers=c.bootstrap([leader]), acks=1, retries=0, request_timeout_ms=10000)
        md = p.send("minisr", value=b"acks-1", partition=0).get(15)
        expect_eq(md.offset, 0, "acks=1 record's offset (the refused one was never appended)")
        p.close(5)
        ok(f"min.insync.replicas=2, ISR {{{leader}}}: acks=all refused with NOT_ENOUGH_REPLICAS, acks=1 "
           "acknowledged at offset 0")
        for i in others:
            c.start_broker(i)
        c.wait_ready()
        c.wait_isr("minisr", 0, timeout=20)
        p = KafkaProducer(bootstrap_servers=c.bootstrap(), acks="all", retries=5, request_timeout_ms=10000)
        md = p.send("minisr", value=b"acks-all", partition=0).get(15)
        p.close(5)
        expect_eq(md.offset, 1, "acks=all record's offset once the ISR is back")
        expect_eq(read_values(c, "minisr"), [(0, "acks-1"), (1, "acks-all")], "minisr records")
        c.wait_replicated("minisr", 0)
        ok("brokers back: the ISR grows to 3 again, acks=all acknowledged, the restarted replicas caught up")
    print("replication basics test passed")


def kill(weir):
    with Cluster(weir, brokers=3, extra_props=replication_props(rf=3, min_isr=2, extra=FAST)) as c:
        create_topic(c, "kill9", 1)
        c.wait_isr("kill9", 0, timeout=15)
        ws = writers(c, "kill9")
        wait_progress(ws, 50, "before the kills")
        # The leader; then the controller (the leader too, if it is both); then a follower that
        # is not the controller, whose death only the controller can take out of the ISR.
        for round, target in ((1, "leader"), (2, "controller"), (3, "follower")):
            leader, controller = c.leader("kill9"), c.controller()
            replicas = c.partition("kill9")[2]
            if target == "leader":
                victim = leader
            elif target == "controller":
                victim = controller
            else:
                victim = next(i for i in sorted(replicas, key=lambda i: i == controller) if i != leader)
            roles = " and ".join(r for r, who in (("leader", leader), ("controller", controller)) if who == victim)
            roles = roles or "follower"
            killed_at = time.time()
            c.kill_broker(victim, signal.SIGKILL)
            new = c.wait_leader("kill9", not_in={victim}, timeout=30)
            took = time.time() - killed_at
            if victim == leader:
                assert new != leader, f"kill9: leader {leader} killed, Metadata names {new}"
            else:
                expect_eq(new, leader, f"kill9: leader after kill -9 of {roles} {victim}")
            progress = wait_progress(ws, 25, f"round {round}: after kill -9 of broker {victim} ({roles})")
            ctl = controller
            if victim == controller:
                ctl = wait_until(f"round {round}: a running controller after kill -9 of controller {victim}",
                                 lambda: [n for n in [c.controller()] if n is not None and c.running(n)],
                                 timeout=20)[0]
            ok(f"round {round}: kill -9 of broker {victim} ({roles} of kill9 [0]): Metadata names leader {new} "
               f"{took:.1f} s later, controller {ctl}; producing goes on with two in-sync replicas {progress}")
            c.start_broker(victim)
            c.wait_ready()
            _, _, isr = c.wait_isr("kill9", 0, timeout=30)
            wait_progress(ws, 25, f"round {round}: after broker {victim} restarted")
            ok(f"round {round}: broker {victim} restarted and back in the ISR {sorted(isr)}")
        check_all_read(c, "kill9", ws, strict_failures=False)
    print("replication kill test passed")


def restart(weir):
    """kill -9 of the leader and an immediate restart, as a supervisor (systemd's Restart=) does:
    the restarted broker's registration meets its previous incarnation's, which lives until
    coord expires that session; it must wait for it and come back."""
    with Cluster(weir, brokers=3, extra_props=replication_props(rf=3, min_isr=2, extra=FAST)) as c:
        create_topic(c, "bounce", 1)
        c.wait_isr("bounce", 0, timeout=15)
        ws = writers(c, "bounce")
        wait_progress(ws, 50, "before the kill")
        leader = c.leader("bounce")
        killed_at = time.time()
        c.kill_broker(leader, signal.SIGKILL)
        c.start_broker(leader)
        c.wait_ready(timeout=30)
        _, _, isr = c.wait_isr("bounce", 0, timeout=30)
        ok(f"kill -9 of leader {leader} and an immediate restart: registered again and back in the ISR "
           f"{sorted(isr)} {time.time() - killed_at:.1f} s after the kill")
        wait_progress(ws, 25, f"after broker {leader} restarted")
        check_all_read(c, "bounce", ws, strict_failures=False)
    print("replication restart test passed")


def moved_within(c, topic, victim, seconds=10):
    """For a failure message: how long after now every running broker's Metadata named a
    running leader other than `victim` (None if not within `seconds`)."""
    started = time.time()
    while time.time() - started < seconds:
        views = [c.partition(topic, 0, via=i) for i in range(c.count) if c.running(i)]
        if all(st and st[0] == 0 and st[1] != victim and c.running(st[1]) for st in views):
            return time.time() - started
        time.sleep(0.01)
    return None


def sigterm(weir):
    """Round 1 stops a leader that is not the controller, round 2 the leader that is the
    controller (explicit replica assignments make them so), round 3 the controller while it
    only follows."""
    with Cluster(weir, brokers=3, extra_props=replication_props(rf=3, min_isr=2, extra=FAST)) as c:
        for round, topic in ((1, "term-a"), (2, "term-b"), (3, "term-c")):
            # The controller of now (each stop of a controller elects another).
            ctl = wait_until("a running controller", lambda: [n for n in [c.controller()]
                                                              if n is not None and c.running(n)], timeout=20)[0]
            f, g = [i for i in range(3) if i != ctl]
            assignment, victim = {1: ([f, ctl, g], f), 2: ([ctl, f, g], ctl), 3: ([f, g, ctl], ctl)}[round]
            create_topic(c, topic, 1, assignment=[assignment])
            c.wait_isr(topic, 0, timeout=15)
            leader, controller = c.leader(topic), c.controller()
            roles = " and ".join(r for r, who in (("leader", leader), ("controller", controller)) if who == victim)
            expect_eq(roles, {1: "leader", 2: "leader and controller", 3: "controller"}[round],
                      f"round {round}: roles of broker {victim} (leader {leader}, controller {controller})")
            ws = writers(c, topic)
            wait_progress(ws, 50, f"round {round}: before the stop")
            started = time.time()
            c.stop_broker(victim)  # exits 0 or fails
            took = time.time() - started
            # Right after the exit: the broker handed its partitions over before it went.
            views = {i: c.partition(topic, 0, via=i) for i in range(3) if c.running(i)}
            for i, st in views.items():
                if not (st is not None and st[0] == 0 and st[1] not in (victim, -1) and c.running(st[1])):
                    later = moved_within(c, topic, victim)
                    raise AssertionError(
                        f"round {round}: right after {roles} {victim} exited (SIGTERM, {took:.2f} s), broker {i}'s "
                        f"Metadata says {topic} [0] (error, leader, replicas, isr) = {st}: leadership not moved "
                        f"before the exit (every running broker named another leader " +
                        (f"{later:.2f} s later)" if later is not None else "not even 10 s later)"))
            # The ISR the others show comes with the controller's UpdateMetadata, which may
            # follow the LeaderAndIsr a little.
            wait_until(f"round {round}: every running broker's Metadata ISR of {topic} [0] without {victim}",
                       lambda: all(victim not in (c.partition(topic, 0, via=i) or (0, 0, [], [victim]))[3]
                                   for i in views), timeout=5)
            leads = {st[1] for st in views.values()}
            expect_eq(len(leads), 1, f"round {round}: leaders named by brokers {sorted(views)} right after the exit")
            (new,) = leads
            if victim != leader:
                expect_eq(new, leader, f"round {round}: leader after SIGTERM of {roles} {victim}")
            progress = wait_progress(ws, 25, f"round {round}: after SIGTERM of broker {victim} ({roles})")
            ok(f"round {round}: SIGTERM of broker {victim} ({roles} of {topic} [0]): exit 0 after {took:.2f} s, "
               f"and by then both other brokers name leader {new} with ISR {sorted(views[new][3])}; producing "
               f"goes on {progress}")
            c.start_broker(victim)
            c.wait_ready()
            c.wait_isr(topic, 0, timeout=30)
            wait_progress(ws, 25, f"round {round}: after broker {victim} restarted")
            ok(f"round {round}: broker {victim} restarted and back in the ISR")
            check_all_read(c, topic, ws, strict_failures=True)
    print("replication sigterm test passed")


if __name__ == "__main__":
    scenarios = {"basics": basics, "kill": kill, "restart": restart, "sigterm": sigterm}
    if len(sys.argv) != 3 or sys.argv[2] not in scenarios:
        print(__doc__)
        sys.exit(2)
    scenarios[sys.argv[2]](sys.argv[1])
