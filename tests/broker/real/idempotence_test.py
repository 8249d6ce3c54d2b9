#!/usr/bin/python3
"""Idempotent producers against real `weir broker` processes, driven by unmodified clients:
confluent-kafka 1.7 (librdkafka 2.0), kcat 1.7 and librdkafka's C API (rdkafka_c_test), plus
raw requests for what no client lets a test choose (a batch sent again on purpose).
kafka-python 2.0.2 has no idempotent producer: not tested.
Usage: idempotence_test.py WEIR [RDKAFKA_C_TEST] [raw] [dropped] [kill]   (default: all three)

  raw      one broker. InitProducerId, then raw Produce v3 of RecordBatch v2 batches: a batch
           sent again is answered with its original base offset and appends nothing, an older
           one of the last five too; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER; a new
           epoch starts at sequence 0 and fences the old one (INVALID_PRODUCER_EPOCH). After a
           clean stop (SIGTERM) the partition directory holds `<log end>.snapshot` in Kafka's
           layout (version 1, CRC32C, one 46-byte entry per batch kept, the last one the
           producer's last batch); after the restart, and again after kill -9 and a restart
           (no snapshot at the end then: the state comes from the log), the retries are still
           answered with their original offsets. The log holds each batch once.
  dropped  two brokers; broker 0, the only replica of these topics, behind a proxy on its
           advertised port that drops the responses to some Produce requests and closes the
           connection (the broker wrote the batch, the client never hears of it, reconnects
           and sends it again; the other broker keeps kcat from thinking all brokers are down,
           which makes it exit): confluent-kafka with
           enable.idempotence, kcat -X enable.idempotence=true and rdkafka_c_test idempotent.
           Every delivery report succeeds, each with the offset the record has in the log, and
           the log holds every record exactly once in the order produced. Then, as a control,
           the confluent-kafka case again after a restart with weir.bug=
           producer_accept_duplicates (retries appended again): the log holds duplicates and
           the same check fails, so it would catch a broker that lost its deduplication.
  kill     three brokers (replication factor 3, min.insync.replicas 2, coord sessions of 4 s).
           confluent-kafka with enable.idempotence and acks=all produces 3000 sequence-numbered
           records to 3 partitions as a stream; once 300 are delivered the leader of partition
           0 is killed with -9 while the stream goes on and a new leader is elected; the broker
           is restarted, and the last 1000 are produced once it is back in every ISR. Every
           delivery report succeeds; read from the earliest offset, each partition holds its
           1000 values exactly once, in the producer's order, each at the offset its delivery
           report gave; the replicas hold the same bytes. Then all three brokers are stopped
           with SIGTERM: every replica of every partition has `<log end>.snapshot` naming the
           producer's last batch. They start again, the same producer (same id and epoch)
           sends 100 more records per partition, accepted in sequence: the sequences the
           snapshots of a second stop hold go on from where the first ones ended.
           librdkafka 2.0 has a bug that can leave a partition stuck on a broker that no
           longer leads it when two brokers' Metadata answers disagree for a moment during a
           leader change (LeaderViews says how it is recognised, from librdkafka's own debug
           log); an attempt whose only failures are that is run again on a fresh cluster, up
           to three attempts. Any other failure fails at once.

What the clients do that this relies on (librdkafka 2.0): with enable.idempotence it gets a
producer id from InitProducerId, numbers each partition's records from 0, keeps at most 5
requests in flight per broker and sends a batch whose request failed (a closed connection, a
dead leader) again with the same producer id, epoch and sequences; a delivery report carries
the base offset the broker answered plus the record's place in the batch."""
import logging, os, re, shutil, signal, socket, struct, subprocess, sys, threading, time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import (Cluster, expect_eq, kafka_request, ok, replication_props,  # noqa: E402
                     wait_until)

KCAT = shutil.which("kcat") or "/usr/bin/kcat"
try:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    print(f"SKIP: confluent-kafka is missing ({e}; scripts/install-deps.sh installs it)")
    sys.exit(77)
if not os.access(KCAT, os.X_OK):
    print("SKIP: kcat is not installed (scripts/install-deps.sh installs it)")
    sys.exit(77)

# The coord's minimum session (2 ticks of 2 s): a broker killed with -9 is declared dead, and
# its partitions moved, 4 s after its last heartbeat.
FAST = "zookeeper.session.timeout.ms=4000\n"
OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH = 45, 47


class Clock:
    """Seconds since creation, for information only (no assertion depends on time)."""

    def __init__(self):
        self.t0 = time.time()

    def __call__(self):
        return time.time() - self.t0


# --- CRC32C (Castagnoli), for RecordBatch v2 and the snapshot files -----------------------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# --- Kafka's producer state snapshots ------------------------------------------------------------

SNAPSHOT_NAME = re.compile(r"^(\d{20})\.snapshot$")


def snapshot_files(d):
    """[(offset, path)] of the `<offset>.snapshot` files in partition directory d, in offset
    order; AssertionError for a *.snapshot file not named as Kafka names them."""
    out = []
    for n in sorted(os.listdir(d)):
        if n.endswith(".snapshot"):
            m = SNAPSHOT_NAME.match(n)
            assert m, f"{d}: snapshot file {n!r} is not named <20-digit offset>.snapshot"
            out.append((int(m.group(1)), os.path.join(d, n)))
    return out


def read_snapshot(path):
    """The entries of a Kafka producer snapshot file (version 1): [(producer_id, epoch,
    last_sequence, last_offset, offset_delta, timestamp, coordinator_epoch,
    current_txn_first_offset)], after checking the version, the CRC32C and the size."""
    data = open(path, "rb").read()
    assert len(data) >= 10, f"{path}: {len(data)} bytes, shorter than a snapshot header"
    version, crc, count = struct.unpack_from(">hIi", data, 0)
    expect_eq(version, 1, f"{path}: snapshot version")
    expect_eq(crc, crc32c(data[6:]), f"{path}: CRC32C of everything after the CRC")
    expect_eq(len(data), 10 + 46 * count, f"{path}: size for {count} entries of 46 bytes")
    return [struct.unpack_from(">qhiqiqiq", data, 10 + 46 * k) for k in range(count)]


# --- raw requests: InitProducerId, Produce v3 with RecordBatch v2 --------------------------------

def _varint(n):
    z = (n << 1) ^ (n >> 63)  # zigzag
    out = b""
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def record_batch(producer_id, epoch, base_sequence, values, timestamp):
    """One uncompressed RecordBatch v2 (magic 2) of `values` from an idempotent producer."""
    records = b""
    for i, v in enumerate(values):
        body = b"\x00" + _varint(0) + _varint(i) + _varint(-1) + _varint(len(v)) + v + _varint(0)
        records += _varint(len(body)) + body
    n = len(values)
    covered = struct.pack(">hiqqqhii", 0, n - 1, timestamp, timestamp, producer_id, epoch, base_sequence,
                          n) + records
    after_length = struct.pack(">ibI", -1, 2, crc32c(covered)) + covered
    return struct.pack(">qi", 0, len(after_length)) + after_length


def _string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def init_producer_id(port):
    """InitProducerId v1 without a transactional id: (error_code, producer_id, epoch)."""
    rsp = kafka_request(port, 22, 1, struct.pack(">hi", -1, 60000), timeout=10)
    assert rsp is not None, "InitProducerId not answered"
    _, err, pid, epoch = struct.unpack(">ihqh", rsp)
    return err, pid, epoch


def produce_raw(port, topic, partition, batch):
    """Produce v3 (acks=-1) of one batch to topic [partition]: (error_code, base_offset)."""
    body = (struct.pack(">hhi", -1, -1, 10000) + struct.pack(">i", 1) + _string(topic) + struct.pack(">i", 1) +
            struct.pack(">ii", partition, len(batch)) + batch)
    rsp = kafka_request(port, 0, 3, body, timeout=15)
    assert rsp is not None, "Produce v3 not answered"
    (ntopics,) = struct.unpack_from(">i", rsp, 0)
    expect_eq(ntopics, 1, "Produce v3 response: topics")
    (nlen,) = struct.unpack_from(">h", rsp, 4)
    pos = 6 + nlen
    (nparts,) = struct.unpack_from(">i", rsp, pos)
    expect_eq(nparts, 1, "Produce v3 response: partitions")
    index, err, base, _ = struct.unpack_from(">ihqq", rsp, pos + 4)
    expect_eq(index, partition, "Produce v3 response: partition index")
    return err, base


# --- a proxy that loses Produce responses ---------------------------------------------------------

def _read_frame(s):
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    (size,) = struct.unpack(">i", head)
    body = b""
    while len(body) < size:
        chunk = s.recv(min(1 << 20, size - len(body)))
        if not chunk:
            return None
        body += chunk
    return head + body


class DropProxy:
    """Listens on 127.0.0.1:`port` (a broker's advertised port) and forwards every connection to
    127.0.0.1:`target` (its listener) frame by frame. While armed, it drops the response to the
    `first`-th Produce request and every `every`-th one after it (at most `limit`), closing both
    sides of that connection instead: the broker has handled the request, the client gets a
    closed connection and sends the request again on a new one."""

    def __init__(self, port, target):
        self.target = target
        self.lock = threading.Lock()
        self.conns = []
        self.armed = False
        self.seen = self.dropped = 0
        self.first, self.every, self.limit = 1, 4, 0
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(64)
        threading.Thread(target=self._accept, name="drop-proxy", daemon=True).start()

    def arm(self, first=1, every=4, limit=5):
        with self.lock:
            self.armed, self.seen, self.dropped = True, 0, 0
            self.first, self.every, self.limit = first, every, limit

    def disarm(self):
        """(Produce responses seen while armed, how many of them were dropped)."""
        with self.lock:
            self.armed = False
            return self.seen, self.dropped

    def close(self):
        try:
            self.srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.srv.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            self._close(c)

    def _accept(self):
        while True:
            try:
                cli, _ = self.srv.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                up.settimeout(None)
            except OSError:
                cli.close()
                continue
            conn = (cli, up, {})
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._requests, args=(conn,), daemon=True).start()
            threading.Thread(target=self._responses, args=(conn,), daemon=True).start()

    def _close(self, conn):
        for s in conn[:2]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _requests(self, conn):
        cli, up, api = conn
        try:
            while True:
                frame = _read_frame(cli)
                if frame is None or len(frame) < 12:
                    break
                key, _, corr = struct.unpack_from(">hhi", frame, 4)
                api[corr] = key  # before it is sent: its response cannot come first
                up.sendall(frame)
        except OSError:
            pass
        self._close(conn)

    def _responses(self, conn):
        cli, up, api = conn
        try:
            while True:
                frame = _read_frame(up)
                if frame is None or len(frame) < 8:
                    break
                (corr,) = struct.unpack_from(">i", frame, 4)
                if api.pop(corr, None) == 0:
                    with self.lock:
                        drop = False
                        if self.armed:
                            self.seen += 1
                            n = self.seen - self.first
                            drop = self.dropped < self.limit and n >= 0 and n % self.every == 0
                            self.dropped += drop
                    if drop:
                        break
                cli.sendall(frame)
        except OSError:
            pass
        self._close(conn)


def proxied_cluster(weir, extra_props=""):
    """Two brokers; broker 0 listens on its spare port and advertises the usual one, where a
    DropProxy forwards to it; (cluster, proxy). Enter the cluster; close the proxy after it.
    Broker 1 is reached directly: a client that bootstraps from it keeps one broker up while
    the proxy closes its connection to broker 0 (kcat exits when all brokers are down)."""
    c = Cluster(weir, brokers=2, extra_props="offsets.topic.num.partitions=1\n" + extra_props)
    c._extra[0] += f"listeners=PLAINTEXT://127.0.0.1:{c.spare_port(0)}\n"
    return c, DropProxy(c.broker_port(0), c.spare_port(0))


# --- clients ---------------------------------------------------------------------------------------

def create_topic(c, name, partitions, rf=None, on=None):
    """CreateTopics: `rf` replicas per partition, or with `on`, every partition on that broker
    alone."""
    a = AdminClient({"bootstrap.servers": c.bootstrap(), "client.id": "weir-idempotence-admin"})
    topic = (NewTopic(name, partitions, rf) if on is None
             else NewTopic(name, partitions, replica_assignment=[[on]] * partitions))
    (f,) = a.create_topics([topic], operation_timeout=15, request_timeout=20).values()
    f.result(timeout=30)
    for p in range(partitions):
        c.wait_isr(name, p, timeout=20)


class LeaderViews(logging.Handler):
    """librdkafka's own account (debug=topic) of where it sends each partition: its
    "Topic T [p]: migrating from broker A to B (leader is L)" lines, in order.

    librdkafka 2.0 can get stuck on a broker that no longer leads a partition: a Metadata
    answer names the new leader, the partition starts moving there, a second answer from a
    broker that has not yet heard of the change names the old leader again (Metadata below
    v9 carries no leader epoch to tell them apart), and the partition lands on the old
    leader's broker while librdkafka records the new leader; every later Metadata answer then
    names the leader it already has ("leader L unchanged, not migrating away from preferred
    replica"), and each Produce to the old broker gets NOT_LEADER_OR_FOLLOWER until
    message.timeout.ms (librdkafka issues #3230 and #4976, pull request #5593). Brokers
    learn of a new leader a few milliseconds apart, Kafka's as Weir's, so a client that
    refreshes its metadata from two of them in that window sees such a flip."""

    MOVE = re.compile(r"Topic (\S+) \[(\d+)\]: migrating from broker (-?\d+) to (-?\d+) \(leader is (-?\d+)\)")
    KEPT = re.compile(r"Topic (\S+) \[(\d+)\]: leader (-?\d+) unchanged, not migrating away from preferred replica")

    def __init__(self, name):
        super().__init__(logging.DEBUG)
        self.moves = []  # (time, topic, partition, from broker, leader)
        self.kept = []  # (time, topic, partition, leader): "leader L unchanged, not migrating away ..."
        self.seen_lock = threading.Lock()  # not `lock`: logging.Handler's own, held around emit()
        self.logger = logging.getLogger(f"rdkafka.{name}")
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record):
        line = record.getMessage()
        now = time.time()
        m = self.MOVE.search(line)
        if m:
            with self.seen_lock:
                self.moves.append((now, m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(5))))
            return
        m = self.KEPT.search(line)
        if m:
            with self.seen_lock:
                self.kept.append((now, m.group(1), int(m.group(2)), int(m.group(3))))

    def flipped(self, topic, partition, since, leader, window=1.0):
        """The bug's trace for topic [partition] after `since`: a move back to a broker the
        partition left less than `window` seconds before (a stale Metadata answer right after
        a fresh one; a leader that really comes back takes a restart, seconds), then Metadata
        answers naming `leader` (the brokers' leader: another broker) that librdkafka keeps
        ignoring ("leader L unchanged, not migrating away from preferred replica").
        (left at, back at, broker it went back to) in seconds after `since`, or None."""
        with self.seen_lock:
            moves = [(t, f, lead) for t, tp, p, f, lead in self.moves if tp == topic and p == partition]
            kept = [(t, lead) for t, tp, p, lead in self.kept if tp == topic and p == partition]
        for i, (t_left, left, _) in enumerate(moves):
            for t_back, _, lead in moves[i + 1:]:
                if (lead == left and left != leader and t_back >= since and t_back - t_left < window and
                        any(t >= t_back and k == leader for t, k in kept)):
                    return (round(t_left - since, 3), round(t_back - since, 3), left)
        return None


class ClientStuck(Exception):
    """Deliveries that failed only by librdkafka's stuck-partition bug (see LeaderViews)."""


class IdempotentProducer:
    """A confluent-kafka Producer with enable.idempotence; `delivered` maps each value to the
    (partition, offset) of its delivery report, `failed` holds (value, error) of failed ones.
    With `views` (a LeaderViews), librdkafka's topic debug log goes there."""

    def __init__(self, bootstrap, views=None, **conf):
        self.delivered, self.failed = {}, []
        self.lock = threading.Lock()
        if views is not None:
            conf = {"debug": "topic", "logger": views.logger, **conf}
        self.p = Producer({"bootstrap.servers": bootstrap, "client.id": "weir-idempotence", "enable.idempotence": True,
                           "acks": "all", "linger.ms": 2, "batch.num.messages": 40, "message.timeout.ms": 60000,
                           **conf})

    def _report(self, err, msg):
        v = msg.value().decode()
        with self.lock:
            if err is not None:
                self.failed.append((v, str(err)))
            elif v in self.delivered:
                self.failed.append((v, f"a second delivery report ({msg.partition()}, {msg.offset()})"))
            else:
                self.delivered[v] = (msg.partition(), msg.offset())

    def produce(self, topic, partition, value):
        while True:
            try:
                self.p.produce(topic, value=value.encode(), partition=partition, on_delivery=self._report)
                break
            except BufferError:
                self.p.poll(0.05)
        self.p.poll(0)

    def flush(self, timeout=90):
        left = self.p.flush(timeout)
        assert left == 0, f"{left} records undelivered after flush({timeout})"


def read_all(c, topic, partitions, timeout=60):
    """{partition: [(offset, value)]} of topic from the earliest offset to the high watermark,
    with a confluent-kafka Consumer (assign, no group membership)."""
    cons = Consumer({"bootstrap.servers": c.bootstrap(), "group.id": "weir-idempotence-check",
                     "enable.auto.commit": False, "enable.partition.eof": True, "fetch.wait.max.ms": 100})
    try:
        ends = {p: cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
        cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        out = {p: [] for p in range(partitions)}
        deadline = time.time() + timeout
        while any(len(out[p]) < ends[p] for p in out):
            assert time.time() < deadline, \
                f"{topic}: read { {p: len(v) for p, v in out.items()} } of {ends} records in {timeout} s"
            m = cons.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"{topic}: consumer error: {m.error()}")
            out[m.partition()].append((m.offset(), m.value().decode()))
        return out
    finally:
        cons.close()


def check_exactly_once(log, sent, delivered, what):
    """`log`: {partition: [(offset, value)]} read back; `sent`: {partition: [value, ...]} in the
    order produced; `delivered`: {value: (partition, offset)}. Every partition holds exactly
    what was sent to it, in that order, from offset 0, each record at its delivered offset."""
    for p, values in sent.items():
        got = log.get(p, [])
        expect_eq([o for o, _ in got], list(range(len(got))), f"{what} [{p}]: offsets (dense from 0)")
        vals = [v for _, v in got]
        dups = len(vals) - len(set(vals))
        assert dups == 0, f"{what} [{p}]: {dups} values written twice, e.g. " \
                          f"{sorted(v for v in set(vals) if vals.count(v) > 1)[:5]}"
        missing = [v for v in values if v not in set(vals)]
        assert not missing, f"{what} [{p}]: {len(missing)} acknowledged values missing, e.g. {missing[:5]}"
        expect_eq(vals, values, f"{what} [{p}]: the values in the order produced")
        moved = [(v, delivered[v], (p, o)) for o, v in got if delivered.get(v) != (p, o)]
        assert not moved, f"{what} [{p}]: {len(moved)} records not at their delivered offset " \
                          f"(value, delivered, in the log), e.g. {moved[:5]}"


# --- raw: a batch sent again, before and after restarts --------------------------------------------

def raw(weir, _c_test):
    clock = Clock()
    with Cluster(weir, partitions=1, extra_props=FAST) as c:
        port, topic = c.broker_port(0), "raw"
        wait_until("topic raw auto-created", lambda: kafka_request(port, 3, 1, struct.pack(">i", 1) + _string(topic))
                   and c.leader(topic) is not None, timeout=15)
        err, pid, epoch = init_producer_id(port)
        expect_eq((err, epoch), (0, 0), "InitProducerId error, epoch")
        ts = int(time.time() * 1000)
        a = record_batch(pid, 0, 0, [b"a0", b"a1", b"a2", b"a3"], ts)
        b = record_batch(pid, 0, 4, [b"b0", b"b1", b"b2"], ts)
        expect_eq(produce_raw(port, topic, 0, a), (0, 0), "batch A (sequences 0-3)")
        expect_eq(produce_raw(port, topic, 0, a), (0, 0), "batch A again: its original offset")
        expect_eq(produce_raw(port, topic, 0, b), (0, 4), "batch B (sequences 4-6)")
        expect_eq(produce_raw(port, topic, 0, a), (0, 0), "batch A again after B: its original offset")
        gap = record_batch(pid, 0, 9, [b"gap"], ts)
        expect_eq(produce_raw(port, topic, 0, gap)[0], OUT_OF_ORDER_SEQUENCE_NUMBER, "a batch at sequence 9 after 6")
        ok(f"producer {pid}: batches appended at 0 and 4; batch A sent again twice answered with offset 0; "
           "sequence 9 after 6: OUT_OF_ORDER_SEQUENCE_NUMBER")

        c.stop_broker(0)
        snaps = snapshot_files(c.partition_dir(0, topic))
        expect_eq([o for o, _ in snaps][-1:], [7], "raw-0: newest snapshot after SIGTERM (at the log end)")
        entries = read_snapshot(snaps[-1][1])
        expect_eq([e[:5] for e in entries], [(pid, 0, 3, 3, 3), (pid, 0, 6, 6, 2)],
                  "raw-0 snapshot entries (producer id, epoch, last sequence, last offset, offset delta)")
        expect_eq([e[6:] for e in entries], [(-1, -1), (-1, -1)], "coordinator epoch, transaction offset")
        ok(f"SIGTERM: raw-0/{os.path.basename(snaps[-1][1])} in Kafka's layout (version 1, CRC32C), batches A "
           "and B of the producer")
        c.start_broker(0)
        c.wait_ready()
        expect_eq(produce_raw(port, topic, 0, b), (0, 4), "batch B again after the restart")
        expect_eq(produce_raw(port, topic, 0, a), (0, 0), "batch A again after the restart")
        expect_eq(produce_raw(port, topic, 0, gap)[0], OUT_OF_ORDER_SEQUENCE_NUMBER, "sequence 9 after the restart")
        c7 = record_batch(pid, 0, 7, [b"c0"], ts)
        expect_eq(produce_raw(port, topic, 0, c7), (0, 7), "batch C (sequence 7) after the restart")
        ok("restarted: A and B sent again answered with offsets 0 and 4, C appended at 7, the gap refused")

        c.kill_broker(0, signal.SIGKILL)
        c.start_broker(0)
        c.wait_ready()
        expect_eq(produce_raw(port, topic, 0, c7), (0, 7), "batch C again after kill -9 and a restart")
        expect_eq(produce_raw(port, topic, 0, b), (0, 4), "batch B again after kill -9 and a restart")
        # A new epoch of the same id starts at sequence 0 and fences the old one.
        e1 = record_batch(pid, 1, 0, [b"e1"], ts)
        expect_eq(produce_raw(port, topic, 0, record_batch(pid, 1, 3, [b"x"], ts))[0], OUT_OF_ORDER_SEQUENCE_NUMBER,
                  "epoch 1 starting at sequence 3")
        expect_eq(produce_raw(port, topic, 0, e1), (0, 8), "epoch 1 at sequence 0")
        expect_eq(produce_raw(port, topic, 0, record_batch(pid, 0, 8, [b"old"], ts))[0], INVALID_PRODUCER_EPOCH,
                  "epoch 0 after epoch 1")
        ok("after kill -9 and a restart: C and B sent again answered with offsets 7 and 4; epoch 1 appended at "
           "sequence 0; epoch 0 then INVALID_PRODUCER_EPOCH")
        log = read_all(c, topic, 1)
        expect_eq(log[0], list(enumerate(["a0", "a1", "a2", "a3", "b0", "b1", "b2", "c0", "e1"])), "raw-0 records")
        ok("raw-0 holds each batch once: a0..a3 b0..b2 c0 e1 at offsets 0..8")
    print(f"raw: passed ({clock():.1f} s)", flush=True)


# --- dropped: Produce responses lost on the way back -----------------------------------------------

def confluent_through(c, proxy, topic, partitions, per_partition):
    """Produces per_partition records to each partition through the armed proxy; (sent,
    delivered, failed, (responses seen, dropped))."""
    prod = IdempotentProducer(c.bootstrap())
    sent = {p: [] for p in range(partitions)}
    proxy.arm(first=1, every=4, limit=5)
    for n in range(per_partition):
        for p in range(partitions):
            v = f"{p}:{n:05d}"
            sent[p].append(v)
            prod.produce(topic, p, v)
        if n % 50 == 49:
            prod.p.poll(0.01)
    prod.flush()
    return sent, prod.delivered, prod.failed, proxy.disarm()


def dropped(weir, c_test):
    clock = Clock()
    c, proxy = proxied_cluster(weir)
    try:
        with c:
            # confluent-kafka
            create_topic(c, "drop-ck", 2, on=0)
            started = clock()
            sent, delivered, failed, (seen, drops) = confluent_through(c, proxy, "drop-ck", 2, 1000)
            took = clock() - started
            expect_eq(failed, [], "confluent-kafka: failed deliveries")
            expect_eq(len(delivered), 2000, "confluent-kafka: delivery reports")
            assert drops >= 1, f"the proxy dropped none of {seen} Produce responses: nothing was sent again"
            check_exactly_once(read_all(c, "drop-ck", 2), sent, delivered, "drop-ck")
            ok(f"confluent-kafka, enable.idempotence: 2000 records to 2 partitions, {drops} of {seen} Produce "
               f"responses dropped (connection closed): every delivery report succeeded, each record exactly "
               f"once in the order produced at its delivered offset ({took:.1f} s)")

            # kcat
            lines = [f"kcat-{n:04d}" for n in range(600)]
            create_topic(c, "drop-kcat", 1, on=0)
            proxy.arm(first=1, every=4, limit=4)
            started = clock()
            p = subprocess.run([KCAT, "-b", c.bootstrap([1]), "-P", "-t", "drop-kcat", "-p", "0",
                                "-X", "enable.idempotence=true", "-X", "batch.num.messages=20",
                                "-X", "linger.ms=2", "-X", "message.timeout.ms=60000"],
                               input="".join(v + "\n" for v in lines).encode(), capture_output=True, timeout=120)
            seen, drops = proxy.disarm()
            took = clock() - started
            assert p.returncode == 0, f"kcat -P exited {p.returncode}:\n{p.stderr.decode(errors='replace')[-3000:]}"
            assert drops >= 1, f"the proxy dropped none of kcat's {seen} Produce responses"
            got = read_all(c, "drop-kcat", 1)[0]
            expect_eq(got, list(enumerate(lines)), "drop-kcat: the records read back")
            ok(f"kcat -X enable.idempotence=true: 600 records, {drops} of {seen} Produce responses dropped: exit 0, "
               f"each record once in order at offsets 0..599 ({took:.1f} s)")

            # librdkafka's C API
            if c_test:
                create_topic(c, "drop-c", 1, on=0)
                proxy.arm(first=1, every=3, limit=4)
                started = clock()
                r = subprocess.run([c_test, c.bootstrap([1]), "drop-c", "300", "idempotent"], capture_output=True,
                                   text=True, timeout=120)
                seen, drops = proxy.disarm()
                print(r.stdout, end="")
                if r.returncode != 0:
                    print(r.stderr[-4000:], file=sys.stderr)
                assert r.returncode == 0, f"rdkafka_c_test idempotent exited with {r.returncode}"
                assert "rdkafka_c_test: 300 passed" in r.stdout.splitlines(), "no pass line from rdkafka_c_test"
                assert drops >= 1, f"the proxy dropped none of rdkafka_c_test's {seen} Produce responses"
                ok(f"rdkafka_c_test idempotent: 300 records (lz4, headers, timestamps), {drops} of {seen} Produce "
                   f"responses dropped: delivery reports at offsets 0..299, exactly those 300 records read back "
                   f"({clock() - started:.1f} s)")
            else:
                print("rdkafka_c_test not given (librdkafka-dev missing at build time): C API case skipped")
            broken_control(c, proxy)
    finally:
        proxy.close()
    print(f"dropped: passed ({clock():.1f} s)", flush=True)


def broken_control(c, proxy):
    """The confluent-kafka case again after broker 0 restarted with
    weir.bug=producer_accept_duplicates (retries appended again): the checks must fail."""
    c.restart_broker(0, extra_props=c._extra[0] + "weir.bug=producer_accept_duplicates\n")
    create_topic(c, "dups", 1, on=0)
    sent, delivered, failed, (seen, drops) = confluent_through(c, proxy, "dups", 1, 1000)
    assert drops >= 1, f"the proxy dropped none of {seen} Produce responses"
    log = read_all(c, "dups", 1)
    try:
        check_exactly_once(log, sent, delivered, "dups")
    except AssertionError as e:
        ok(f"control: weir.bug=producer_accept_duplicates, {drops} of {seen} Produce responses dropped: the log "
           f"holds {len(log[0])} records for 1000 sent, and the check says: {str(e)[:150]}")
    else:
        raise AssertionError(f"the broken broker (retries appended again) passed the exactly-once check with "
                             f"{drops} responses dropped: the drops made no client send a batch again")


# --- kill: a leader killed while an idempotent producer writes -------------------------------------

def snapshot_view(c, i, topic, partitions, ends):
    """{partition: the last entry of the newest snapshot} of broker i's replicas, which must
    each have `<log end>.snapshot` whose last entry is the producer's last batch."""
    view = {}
    for p in range(partitions):
        d = c.partition_dir(i, topic, p)
        snaps = snapshot_files(d)
        assert snaps, f"broker {i}: no <offset>.snapshot in {d} after SIGTERM: {sorted(os.listdir(d))}"
        expect_eq(snaps[-1][0], ends[p], f"broker {i}: offset of the newest snapshot of {topic}-{p} (its log end)")
        entries = read_snapshot(snaps[-1][1])
        assert entries, f"broker {i}: {snaps[-1][1]} holds no producer"
        last = max(entries, key=lambda e: e[3])
        expect_eq(last[3], ends[p] - 1, f"broker {i}: {topic}-{p} snapshot: last offset of the last batch")
        view[p] = last
    return view


def no_failures(c, prod, views, topic, since, what):
    """No failed delivery; ClientStuck when every failure is a timeout in partitions that
    librdkafka flipped back to a former leader after `since` while every broker's Metadata
    names another one (see LeaderViews)."""
    with prod.lock:
        failed = list(prod.failed)
    if not failed:
        return
    by_partition = {}
    for v, err in failed:
        by_partition.setdefault(int(v.split(":")[0]), []).append(err)
    timeouts = all("_MSG_TIMED_OUT" in err for errs in by_partition.values() for err in errs)
    leaders = {p: c.wait_leader(topic, p, timeout=10) for p in by_partition}
    flips = {p: views.flipped(topic, p, since, leaders[p]) for p in by_partition}
    summary = {p: f"{len(errs)} failed, e.g. {errs[0]}" for p, errs in sorted(by_partition.items())}
    if timeouts and all(flips.values()):
        raise ClientStuck(f"{what}: deliveries timed out only in partitions librdkafka moved back to a former leader "
                          f"and kept there while every broker named leader {leaders} (partition: (left, back, "
                          f"broker), seconds after the kill or the stop: {flips}): {summary}")
    raise AssertionError(f"{what}: failed deliveries {summary}; leaders {leaders}, librdkafka's flips {flips}")


def kill(weir, _c_test):
    """Up to three attempts: one whose only failures are librdkafka's stuck partition
    (ClientStuck, a client bug) is run again on a fresh cluster; any other failure fails."""
    clock = Clock()
    for attempt in range(1, 4):
        try:
            kill_attempt(weir)
            break
        except ClientStuck as e:
            print(f"kill: attempt {attempt}: librdkafka 2.0's stuck-partition bug, not the broker's: {e}", flush=True)
            if attempt == 3:
                raise AssertionError(f"three attempts in a row hit librdkafka's stuck-partition bug: {e}")
    print(f"kill: passed ({clock():.1f} s)", flush=True)


def kill_attempt(weir):
    clock = Clock()
    topic, parts, per = "idem", 3, 1000
    props = replication_props(rf=3, min_isr=2, extra=FAST + "offsets.topic.num.partitions=3\n")
    with Cluster(weir, brokers=3, extra_props=props) as c:
        create_topic(c, topic, parts, rf=3)
        views = LeaderViews("kill")
        # 30 s: five times what the election and the restart take here; a partition stuck by
        # librdkafka's bug fails that much sooner.
        prod = IdempotentProducer(c.bootstrap(), views=views, **{"message.timeout.ms": 30000})
        sent = {p: [] for p in range(parts)}
        handed = [0]  # records given to the producer so far
        restarted = threading.Event()
        crash = []
        first_part = 2 * per // 3  # per partition; the rest waits for the restart

        def run():
            try:
                for lo, hi, gate in ((0, first_part, None), (first_part, per, restarted)):
                    while gate is not None and not gate.is_set():
                        prod.p.poll(0.05)
                    for n in range(lo, hi):
                        for p in range(parts):
                            v = f"{p}:{n:05d}"
                            sent[p].append(v)
                            prod.produce(topic, p, v)
                        handed[0] += parts
                        time.sleep(0.004)  # a stream of some seconds: the kill comes in its middle
                prod.flush(90)
            except BaseException as e:  # noqa: BLE001 - reported below
                crash.append(e)

        t = threading.Thread(target=run, name="idempotent-producer", daemon=True)
        started = clock()
        t.start()
        # The kill: once a tenth of the records are delivered (and more are in flight, or
        # queued, or still to come).
        wait_until("the first tenth of the records delivered",
                   lambda: crash or len(prod.delivered) >= parts * per // 10, timeout=60, interval=0.01)
        assert not crash, f"producer thread: {crash[0]!r}"
        victim = c.leader(topic, 0)
        with prod.lock:
            acked_at_kill, handed_at_kill = len(prod.delivered), handed[0]
        kill_wall = time.time()
        c.kill_broker(victim, signal.SIGKILL)
        killed_at = clock()
        new = c.wait_leader(topic, 0, not_in={victim}, timeout=30)
        elected = clock() - killed_at
        with prod.lock:
            acked_at_election = len(prod.delivered)
        c.start_broker(victim)
        c.wait_ready()
        for p in range(parts):
            c.wait_isr(topic, p, timeout=30)
        back = clock() - killed_at
        with prod.lock:
            acked_at_restart, handed_at_restart = len(prod.delivered), handed[0]
        restarted.set()
        t.join(120)
        assert not t.is_alive(), "producer thread still running 120 s after the restart"
        assert not crash, f"producer thread: {crash[0]!r}"
        took = clock() - started
        no_failures(c, prod, views, topic, kill_wall, "kill -9 of the leader")
        expect_eq(len(prod.delivered), parts * per, "delivery reports")
        ok(f"{parts * per} records to {topic} [0..{parts - 1}]: kill -9 of broker {victim} (leader of [0]) with "
           f"{acked_at_kill} delivered of {handed_at_kill} handed to the producer; leader {new} named "
           f"{elected:.1f} s after the kill ({acked_at_election} delivered by then); broker {victim} restarted and "
           f"back in every ISR {back:.1f} s after the kill ({acked_at_restart} delivered of {handed_at_restart}); "
           f"then the last {parts * (per - first_part)}: every delivery report succeeded ({took:.1f} s in all)")
        log = read_all(c, topic, parts)
        check_exactly_once(log, sent, prod.delivered, topic)
        for p in range(parts):
            c.wait_replicated(topic, p, timeout=15, content=True)
        ok(f"{topic}: each partition holds its {per} values exactly once, in the producer's order, each at its "
           f"delivered offset; the three replicas hold the same bytes")

        # A clean stop of all three: `<log end>.snapshot` in every replica.
        ends = {p: len(log[p]) for p in range(parts)}
        stop_started = clock()
        stop_wall = time.time()
        for i in sorted(range(3), key=lambda i: i == c.controller()):
            c.stop_broker(i)
        first = {}
        for i in range(3):
            view = snapshot_view(c, i, topic, parts, ends)
            for p, e in view.items():
                first.setdefault(p, e)
                expect_eq(e[:5], first[p][:5], f"{topic}-{p}: the last snapshot entry of broker {i} and of the others")
        ids = {e[:2] for e in first.values()}
        expect_eq(len(ids), 1, f"producer (id, epoch) of the last batch of each partition {ids}")
        ok(f"SIGTERM of all three brokers ({clock() - stop_started:.1f} s): every replica of {topic}-0..{parts - 1} "
           f"has <log end>.snapshot (offsets {ends}), Kafka's layout, the last entry the producer's last batch "
           f"(id, epoch {ids.pop()}, last sequences {[first[p][2] for p in range(parts)]})")

        # Start again: the same producer goes on where it was.
        for i in range(3):
            c.start_broker(i)
        c.wait_ready()
        for p in range(parts):
            c.wait_isr(topic, p, timeout=30)
        more = 100
        for n in range(per, per + more):
            for p in range(parts):
                v = f"{p}:{n:05d}"
                sent[p].append(v)
                prod.produce(topic, p, v)
        prod.flush(90)
        no_failures(c, prod, views, topic, stop_wall, "after the restart of all three")
        expect_eq(len(prod.delivered), parts * (per + more), "delivery reports after the restart of all three")
        check_exactly_once(read_all(c, topic, parts), sent, prod.delivered, topic)
        c.wait_replicated(topic, 0, timeout=15, content=True)
        c.stop_broker(0)
        later = snapshot_view(c, 0, topic, parts, {p: ends[p] + more for p in range(parts)})
        for p in range(parts):
            expect_eq(later[p][:3], (*first[p][:2], first[p][2] + more),
                      f"{topic}-{p}: producer id, epoch and last sequence after {more} more records")
        ok(f"all three started again: the same producer (id and epoch) sent {more} more records per partition, "
           f"accepted in sequence (last sequences {[later[p][2] for p in range(parts)]}), each once, in order")
    print(f"kill: attempt passed ({clock():.1f} s)", flush=True)


if __name__ == "__main__":
    scenarios = {"raw": raw, "dropped": dropped, "kill": kill}
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        sys.exit(2)
    weir, args = args[0], args[1:]
    c_test = None
    if args and args[0] not in scenarios:
        c_test = args.pop(0)
        assert os.access(c_test, os.X_OK), f"{c_test} is not an executable"
    chosen = args or list(scenarios)
    unknown = [a for a in chosen if a not in scenarios]
    if unknown:
        print(__doc__)
        sys.exit(2)
    total = Clock()
    for name in chosen:
        scenarios[name](weir, c_test)
    print(f"idempotence: {len(chosen)} passed, 0 failed ({total():.1f} s)")
