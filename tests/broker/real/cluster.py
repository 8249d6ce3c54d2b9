#!/usr/bin/python3
"""Real `weir broker` processes (and the standalone `weir coord` they register in) on 127.0.0.1
for tests with unmodified third-party Kafka clients (kcat, kafka-python, confluent-kafka,
librdkafka's C API). Shared so every such test starts, kills and restarts brokers the same way
and always cleans up.

    with Cluster(weir, partitions=1, extra_props="", brokers=1) as c:   # waits until ready
        c.bootstrap()            # "127.0.0.1:p0[,127.0.0.1:p1...]"
        c.kill_broker(0, signal.SIGKILL); c.start_broker(0); c.wait_ready()
        c.restart_broker(0, extra_props="auto.create.topics.enable=false\n")
        c.coord_hosts()          # "127.0.0.1:port" of the coord server

    # three replicating brokers (broker.id 0..2, own ports and log dirs):
    with Cluster(weir, brokers=3, extra_props=replication_props(rf=3, min_isr=2)) as c:
        c.partition("t", 0)      # (error, leader, replicas, isr) from a running broker's Metadata v1
        c.wait_isr("t", 0)       # until every running broker shows the full ISR: (leader, replicas, isr)
        lead, rc = c.kill_leader("t", 0)                # kill -9 (by default) of its leader
        c.wait_leader("t", 0, not_in={lead})            # a new leader all running brokers agree on
        c.partition_bytes(1, "t", 0); c.wait_replicated("t", 0)   # segment bytes per replica

Layout under one temporary root: coord/ (zoo.cfg, data/, stdout.log) and broker<i>/
(server.properties, logs/ = log.dirs, broker.log = the broker's stdout and stderr, and
broker-trace.jsonl, which `weir broker` writes into its first log dir; its info events are
buffered, so the tail of a broker killed with -9 misses the last of them). On an exception
inside the block the brokers and coord are stopped and the tails of those files are printed,
since the root is removed afterwards (WEIR_KEEP_BROKER_DIRS=1 keeps it).

A broker is ready when its listener answers a raw ApiVersions v0 request without error and a
raw Metadata v1 request (all topics) names every running broker, a controller among them, and
for every existing topic a live leader of each partition, without error codes (what every
client needs before it can do anything, also after a restart). A broker stopped with SIGTERM
must exit 0 within 15 s: close() fails the test otherwise (a clean stop is part of the
interface).

Self-test of the harness (starts coord for real; tries a broker and says whether one exists):
    cluster.py --self-test WEIR
"""
import ctypes, hashlib, os, shutil, signal, socket, struct, subprocess, sys, tempfile, time

sys.dont_write_bytecode = True  # run from the source tree: leave no __pycache__ there
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "coord", "real"))
from ensemble import four_letter, free_port_block, session_probe  # noqa: E402

_instances = 0  # clusters made by this process: consecutive ones take different port blocks


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM when the test process dies (ctest's timeout kill)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def now_ms():
    return int(time.time() * 1000)


def wait_until(what, predicate, timeout=10.0, interval=0.05):
    """predicate() until it returns something true; that value. AssertionError after timeout,
    naming `what` and the last value seen."""
    deadline = time.time() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.time() > deadline:
            raise AssertionError(f"{what}: not true after {timeout} s (last: {last!r})")
        time.sleep(interval)


def expect_eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: expected {want!r}, got {got!r}")


def ok(msg):
    print(f"ok: {msg}", flush=True)


# --- raw Kafka protocol: just enough for readiness probes --------------------------------------

class ProtocolError(Exception):
    pass


def _read_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def kafka_request(port, api_key, api_version, body=b"", timeout=2.0, client_id=b"weir-harness"):
    """One request with request header v1 (api_key, api_version, correlation_id, client_id) on
    a new connection; the response body after its correlation id. None when the port does not
    answer (refused, reset, closed, timed out)."""
    corr = 0x5745  # "WE"
    header = struct.pack(">hhih", api_key, api_version, corr, len(client_id)) + client_id
    frame = header + body
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(frame)) + frame)
            head = _read_exact(s, 4)
            if head is None:
                return None
            size = struct.unpack(">i", head)[0]
            if size < 4 or size > 64 << 20:
                raise ProtocolError(f"response frame size {size}")
            rsp = _read_exact(s, size)
            if rsp is None:
                return None
    except OSError:
        return None
    got = struct.unpack(">i", rsp[:4])[0]
    if got != corr:
        raise ProtocolError(f"correlation id {got}, sent {corr}")
    return rsp[4:]


def api_versions(port, timeout=2.0):
    """ApiVersions v0: (error_code, {api_key: (min, max)}), or None if nobody answers."""
    body = kafka_request(port, 18, 0, timeout=timeout)
    if body is None:
        return None
    try:
        error, n = struct.unpack(">hi", body[:6])
        keys = {}
        for k in range(n):
            key, lo, hi = struct.unpack(">hhh", body[6 + 6 * k:12 + 6 * k])
            keys[key] = (lo, hi)
    except struct.error as e:
        raise ProtocolError(f"malformed ApiVersions v0 response ({len(body)} bytes): {e}")
    return error, keys


def metadata(port, timeout=2.0, full=False):
    """Metadata v1 for all topics: ({node_id: (host, port)}, controller_id,
    {topic: (error_code, {partition: (error_code, leader)})}), or None if nobody answers. With
    `full`, each partition is (error_code, leader, [replicas], [isr])."""
    body = kafka_request(port, 3, 1, struct.pack(">i", -1), timeout=timeout)
    if body is None:
        return None
    pos = 0

    def take(fmt):
        nonlocal pos
        out = struct.unpack_from(fmt, body, pos)
        pos += struct.calcsize(fmt)
        return out

    def string():
        nonlocal pos
        (n,) = take(">h")
        out = body[pos:pos + max(n, 0)].decode() if n >= 0 else None
        pos += max(n, 0)
        return out

    try:
        brokers = {}
        for _ in range(take(">i")[0]):
            (node,) = take(">i")
            host = string()
            (bport,) = take(">i")
            string()  # rack
            brokers[node] = (host, bport)
        (controller,) = take(">i")
        topics = {}
        for _ in range(take(">i")[0]):
            (terr,) = take(">h")
            name = string()
            take(">b")  # is_internal
            parts = {}
            for _ in range(take(">i")[0]):
                perr, index, leader = take(">hii")
                replicas = list(take(">" + "i" * take(">i")[0]))
                isr = list(take(">" + "i" * take(">i")[0]))
                parts[index] = (perr, leader, replicas, isr) if full else (perr, leader)
            topics[name] = (terr, parts)
    except (struct.error, UnicodeDecodeError) as e:
        raise ProtocolError(f"malformed Metadata v1 response ({len(body)} bytes): {e}")
    return brokers, controller, topics


def metadata_brokers(port, timeout=2.0):
    """Metadata v1: ({node_id: (host, port)}, controller_id), or None."""
    md = metadata(port, timeout)
    return None if md is None else md[:2]


def _tail(path, lines):
    try:
        with open(path, "rb") as f:
            return b"".join(f.readlines()[-lines:]).decode(errors="replace")
    except OSError as e:
        return f"({e})"


def _parse_props(text):
    out = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        sep = min([i for i in (line.find("="), line.find(":")) if i >= 0], default=-1)
        if sep < 0:
            raise ValueError(f"not a key=value line: {line!r}")
        out[line[:sep].strip()] = line[sep + 1:].strip()
    return out


def replication_props(rf=3, min_isr=2, extra=""):
    """server.properties lines for a replicated cluster: topics default to `rf` replicas
    (the offsets topic too), `min.insync.replicas` = `min_isr`."""
    return (f"default.replication.factor={rf}\noffsets.topic.replication.factor={rf}\n"
            f"min.insync.replicas={min_isr}\n" + extra)


class Cluster:
    def __init__(self, weir, partitions=1, extra_props="", brokers=1, ready_timeout=30):
        """`extra_props`: server.properties lines added to (and overriding) the harness's own, for
        every broker; a callable(i) returning such lines gives each broker its own."""
        global _instances
        self.weir = os.path.abspath(weir)  # brokers run in their own directory
        self.count = brokers
        self.partitions = partitions
        self.ready_timeout = ready_timeout
        self._extra = {i: (extra_props(i) if callable(extra_props) else extra_props)
                       for i in range(brokers)}
        # Port block: coord's client port, one spare, then per broker its Kafka listener and a
        # spare (for a Weir-internal port, should brokers ever need one: spare_port(i)).
        size = 2 + 2 * brokers
        first = 20000 + (os.getpid() * 13 + _instances * 97) % 11000
        _instances += 1
        self.base = free_port_block(size, first)
        self.root = tempfile.mkdtemp(prefix="weir-broker-")
        self.coord_proc = None
        self.procs = {}
        self.stopped = set()  # brokers a test stopped on purpose (not yet started again)
        self.problems = []  # unclean stops, reported by close()
        os.makedirs(self.coord_dir())
        with open(os.path.join(self.coord_dir(), "zoo.cfg"), "w") as f:
            f.write(f"tickTime=2000\ndataDir={self.coord_dir()}/data\nclientPort={self.coord_port()}\n"
                    f"4lw.commands.whitelist=srvr,mntr,ruok\n")
        for i in range(brokers):
            os.makedirs(os.path.join(self.broker_dir(i), "logs"))

    # --- addresses and paths ---
    def coord_port(self):
        return self.base

    def coord_hosts(self):
        return f"127.0.0.1:{self.coord_port()}"

    def broker_port(self, i):
        return self.base + 2 + 2 * i

    def spare_port(self, i):
        return self.base + 3 + 2 * i

    def bootstrap(self, ids=None):
        ids = ids if ids is not None else range(self.count)
        return ",".join(f"127.0.0.1:{self.broker_port(i)}" for i in ids)

    def coord_dir(self):
        return os.path.join(self.root, "coord")

    def broker_dir(self, i):
        return os.path.join(self.root, f"broker{i}")

    def log_dir(self, i):
        return os.path.join(self.broker_dir(i), "logs")

    def properties(self, i):
        """The server.properties the harness writes for broker i (Kafka's keys)."""
        port = self.broker_port(i)
        props = {
            "broker.id": str(i),
            "listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "log.dirs": self.log_dir(i),
            "zookeeper.connect": self.coord_hosts(),
            # Short enough that a broker killed with -9 is forgotten soon, within coord's bounds
            # (2 and 20 ticks of 2 s).
            "zookeeper.session.timeout.ms": "6000",
            "num.partitions": str(self.partitions),
            "default.replication.factor": "1",
            "offsets.topic.replication.factor": str(min(3, self.count)),
            "group.initial.rebalance.delay.ms": "0",
            # A broker that stops while it is the last in-sync replica of a replicated
            # partition cannot hand its leadership over: Kafka's controlled shutdown then tries
            # max.retries + 1 = 4 times, `backoff` apart (5 s by default: 20 s, more than
            # close() allows). A second here.
            "controlled.shutdown.retry.backoff.ms": "1000",
        }
        props.update(_parse_props(self._extra[i]))
        return props

    # --- processes ---
    def start_coord(self):
        log = open(os.path.join(self.coord_dir(), "stdout.log"), "ab")
        cfg = os.path.join(self.coord_dir(), "zoo.cfg")
        self.coord_proc = subprocess.Popen([self.weir, "coord", "--config", cfg], stdout=log, stderr=log,
                                           preexec_fn=_die_with_parent)
        log.close()
        started = time.time()
        while not session_probe(self.coord_port(), timeout=1):
            assert self.coord_proc.poll() is None, f"weir coord exited with {self.coord_proc.returncode}"
            assert time.time() - started < 15, "weir coord not serving after 15 s"
            time.sleep(0.02)
        return time.time() - started

    def running(self, i):
        return i in self.procs and self.procs[i].poll() is None

    def start_broker(self, i):
        assert not self.running(i), f"broker {i} already runs"
        cfg = os.path.join(self.broker_dir(i), "server.properties")
        with open(cfg, "w") as f:
            f.write("".join(f"{k}={v}\n" for k, v in self.properties(i).items()))
        log = open(os.path.join(self.broker_dir(i), "broker.log"), "ab")
        log.write(f"--- harness: starting broker {i} at {time.strftime('%H:%M:%S')} ---\n".encode())
        log.flush()
        self.procs[i] = subprocess.Popen([self.weir, "broker", "--config", cfg], stdout=log, stderr=log,
                                         cwd=self.broker_dir(i), preexec_fn=_die_with_parent)
        log.close()
        self.stopped.discard(i)

    def kill_broker(self, i, sig=signal.SIGKILL, timeout=15):
        """Signal broker i and wait for it to exit; its exit status (negative: killed by a
        signal, as Popen reports). A broker that outlives SIGTERM by `timeout` seconds is
        killed and AssertionError raised."""
        p = self.procs[i]
        self.stopped.add(i)
        if p.poll() is None:
            p.send_signal(sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError(f"broker {i} still running {timeout} s after signal {sig}")

    def stop_broker(self, i):
        """SIGTERM, which must stop the broker cleanly: exit status 0."""
        rc = self.kill_broker(i, signal.SIGTERM)
        assert rc == 0, f"broker {i} exited with {rc} on SIGTERM (a clean stop exits 0)"

    def restart_broker(self, i, extra_props=None, sig=signal.SIGTERM):
        """Stop broker i (SIGTERM by default: then it must exit 0), optionally replace its extra
        properties, start it again and wait until the cluster is ready."""
        if sig == signal.SIGTERM:
            self.stop_broker(i)
        else:
            self.kill_broker(i, sig)
        if extra_props is not None:
            self._extra[i] = extra_props
        self.start_broker(i)
        return self.wait_ready()

    def _probe(self, i, want_ids):
        """None when broker i is ready, else why not (a string)."""
        port = self.broker_port(i)
        try:
            av = api_versions(port)
            if av is None:
                return f"broker {i}: port {port} does not answer ApiVersions v0"
            error, keys = av
            if error != 0:
                return f"broker {i}: ApiVersions v0 error_code {error}"
            if 18 not in keys or 3 not in keys:
                return f"broker {i}: ApiVersions lists no ApiVersions/Metadata: {sorted(keys)}"
            lo, hi = keys[3]
            if not lo <= 1 <= hi:
                return None  # Metadata v1 not offered: the clients will tell
            md = metadata(port)
            if md is None:
                return f"broker {i}: no answer to Metadata v1"
            brokers, controller, topics = md
            missing = set(want_ids) - set(brokers)
            if missing:
                return f"broker {i}: Metadata v1 lists brokers {sorted(brokers)}, not yet {sorted(missing)}"
            if controller not in brokers:
                return f"broker {i}: Metadata v1 names controller {controller}, not one of {sorted(brokers)}"
            host, bport = brokers[i]
            if (host, bport) != ("127.0.0.1", port):
                return f"broker {i}: Metadata v1 advertises {host}:{bport}, not 127.0.0.1:{port}"
            # Existing topics (after a restart): every partition led by a live broker.
            for name, (terr, parts) in sorted(topics.items()):
                if terr != 0:
                    return f"broker {i}: Metadata v1 topic {name} error_code {terr}"
                for index, (perr, leader) in sorted(parts.items()):
                    if perr != 0 or leader not in brokers:
                        return f"broker {i}: {name} [{index}] error_code {perr}, leader {leader}"
            return None
        except ProtocolError as e:
            return f"broker {i}: {e}"

    def wait_ready(self, timeout=None, ids=None):
        """Until every running broker (or `ids`) is ready; the seconds it took."""
        timeout = timeout or self.ready_timeout
        started = time.time()
        while True:
            want = [i for i in (ids if ids is not None else range(self.count)) if self.running(i)]
            for i in (ids if ids is not None else self.procs):
                if i in self.procs and i not in self.stopped and self.procs[i].poll() is not None:
                    raise AssertionError(f"broker {i} exited with {self.procs[i].returncode} "
                                         f"(log tail:)\n{self.log_tail(i)}")
            why = [w for w in (self._probe(i, want) for i in want) if w]
            if not why:
                return time.time() - started
            if time.time() - started > timeout:
                raise AssertionError(f"cluster not ready after {timeout} s: " + "; ".join(why))
            time.sleep(0.05)

    # --- partitions: leaders, replicas, ISR, replicated bytes ---
    def partition(self, topic, partition=0, via=None):
        """(error_code, leader, [replicas], [isr]) of topic [partition] as broker `via` (default:
        the first running broker that answers) says in Metadata v1; None when none answers or
        it does not list the partition."""
        for i in ([via] if via is not None else sorted(self.procs)):
            if not self.running(i):
                continue
            try:
                md = metadata(self.broker_port(i), full=True)
            except ProtocolError:
                md = None
            if md is None:
                continue
            _, parts = md[2].get(topic, (None, {}))
            return parts.get(partition)
        return None

    def controller(self, via=None):
        """The controller id in Metadata v1 of broker `via` (default: the first running one that
        answers), or None."""
        for i in ([via] if via is not None else sorted(self.procs)):
            if self.running(i):
                md = metadata_brokers(self.broker_port(i))
                if md is not None:
                    return md[1] if md[1] >= 0 else None
        return None

    def leader(self, topic, partition=0, via=None):
        """The leader broker id of topic [partition] in Metadata v1, or None (none, or -1)."""
        st = self.partition(topic, partition, via)
        return st[1] if st is not None and st[0] == 0 and st[1] >= 0 else None

    def wait_leader(self, topic, partition=0, not_in=(), timeout=30, isr=None):
        """Until every running broker's Metadata v1 names the same leader of topic [partition],
        one that is running and not in `not_in` (and, if `isr` is given, an ISR of that many
        members); that leader's id."""
        def agreed():
            views = {i: self.partition(topic, partition, via=i) for i in sorted(self.procs) if self.running(i)}
            got = {st[1] if st and st[0] == 0 else None for st in views.values()}
            if len(got) != 1:
                return None
            (lead,) = got
            if lead is None or lead in not_in or not self.running(lead):
                return None
            if isr is not None and any(len(st[3]) != isr for st in views.values()):
                return None
            return (lead,)
        return wait_until(f"{topic} [{partition}]: one running leader not in {sorted(not_in)} seen by every running "
                          f"broker" + (f", ISR of {isr}" if isr is not None else ""), agreed, timeout=timeout)[0]

    def wait_isr(self, topic, partition=0, size=None, timeout=30):
        """Until every running broker's Metadata v1 shows `size` (default: every replica) ISR
        members of topic [partition] and a leader; (leader, replicas, isr)."""
        def full():
            views = [self.partition(topic, partition, via=i) for i in sorted(self.procs) if self.running(i)]
            if not views or any(st is None or st[0] != 0 or st[1] < 0 for st in views):
                return None
            want = len(views[0][2]) if size is None else size
            if any(sorted(st[3]) != sorted(views[0][3]) or len(st[3]) != want or st[1] != views[0][1]
                   for st in views):
                return None
            return (views[0][1], views[0][2], views[0][3])
        return wait_until(f"{topic} [{partition}]: ISR of {size or 'every replica'} seen by every running broker",
                          full, timeout=timeout)

    def kill_leader(self, topic, partition=0, sig=signal.SIGKILL):
        """Signal the current leader of topic [partition] (as Metadata says) and wait for it to
        exit; (its id, its exit status)."""
        lead = self.leader(topic, partition)
        assert lead is not None, f"{topic} [{partition}] has no leader to kill: {self.partition(topic, partition)}"
        return lead, self.kill_broker(lead, sig)

    def partition_dir(self, i, topic, partition=0):
        return os.path.join(self.log_dir(i), f"{topic}-{partition}")

    def partition_bytes(self, i, topic, partition=0):
        """Bytes in the segment files (*.log) of broker i's replica of topic [partition]; None
        when it has no such directory."""
        d = self.partition_dir(i, topic, partition)
        try:
            names = os.listdir(d)
        except OSError:
            return None
        total = 0
        for n in names:
            if n.endswith(".log"):
                try:
                    total += os.path.getsize(os.path.join(d, n))
                except OSError:
                    pass
        return total

    def partition_digest(self, i, topic, partition=0):
        """SHA-256 of broker i's segment files (*.log) of topic [partition], concatenated in
        offset order (replicas of one log hold the same batches byte for byte); None when it
        has no such directory."""
        d = self.partition_dir(i, topic, partition)
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith(".log"))
        except OSError:
            return None
        h = hashlib.sha256()
        for n in names:
            try:
                with open(os.path.join(d, n), "rb") as f:
                    h.update(f.read())
            except OSError:
                return None
        return h.hexdigest()

    def wait_replicated(self, topic, partition=0, ids=None, timeout=10, content=False):
        """Until brokers `ids` (default: all) hold topic [partition] with the same, non-zero
        number of segment bytes (and with `content`, the same bytes); {id: bytes}."""
        ids = list(ids if ids is not None else range(self.count))

        def state():
            sizes = {i: self.partition_bytes(i, topic, partition) for i in ids}
            if content and len(set(sizes.values())) == 1:
                return sizes, {i: self.partition_digest(i, topic, partition) for i in ids}
            return sizes, {}

        def same():
            sizes, digests = state()
            vals = set(sizes.values())
            if len(vals) != 1 or None in vals or 0 in vals:
                return None
            return sizes if not content or len(set(digests.values())) == 1 else None
        try:
            return wait_until(f"{topic}-{partition}: the same segment bytes in brokers {ids}", same, timeout=timeout)
        except AssertionError:
            sizes, digests = state()
            raise AssertionError(f"{topic}-{partition}: segment bytes per broker not equal after {timeout} s: "
                                 f"sizes {sizes}" + (f", sha256 { {i: (d or '')[:12] for i, d in digests.items()} }"
                                                     if digests else ""))

    def start(self):
        self.start_coord()
        for i in range(self.count):
            self.start_broker(i)
        if self.count:
            took = self.wait_ready()
            print(f"cluster: {self.count} broker(s) ready {took:.2f} s after start "
                  f"(bootstrap {self.bootstrap()}, coord {self.coord_hosts()})", flush=True)

    # --- diagnostics and cleanup ---
    def log_tail(self, i, lines=40):
        out = f"--- broker {i}: broker.log ---\n{_tail(os.path.join(self.broker_dir(i), 'broker.log'), lines)}"
        trace = os.path.join(self.broker_dir(i), "broker-trace.jsonl")
        if not os.path.exists(trace):
            trace = os.path.join(self.log_dir(i), "broker-trace.jsonl")  # `weir broker`'s default
        if os.path.exists(trace):
            out += f"\n--- broker {i}: broker-trace.jsonl ---\n{_tail(trace, lines)}"
        return out

    def coord_tail(self, lines=15):
        out = f"--- coord: stdout.log ---\n{_tail(os.path.join(self.coord_dir(), 'stdout.log'), lines)}"
        trace = os.path.join(self.coord_dir(), "data", "coord-trace.jsonl")
        if os.path.exists(trace):
            out += f"\n--- coord: coord-trace.jsonl ---\n{_tail(trace, lines)}"
        return out

    def close(self, dump=False):
        signalled = []
        for i, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                signalled.append(i)
            elif i not in self.stopped:
                self.problems.append(f"broker {i} had exited by itself with {p.returncode}")
        for i in signalled:
            p = self.procs[i]
            try:
                rc = p.wait(15)
                if rc != 0:
                    self.problems.append(f"broker {i} exited with {rc} on SIGTERM (a clean stop exits 0)")
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                self.problems.append(f"broker {i} still running 15 s after SIGTERM: killed")
        if self.coord_proc is not None and self.coord_proc.poll() is None:
            self.coord_proc.send_signal(signal.SIGTERM)
            try:
                self.coord_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.coord_proc.kill()
                self.coord_proc.wait()
        if dump or self.problems:  # after the processes stopped: their files are complete then
            for i in self.procs:
                print(self.log_tail(i), file=sys.stderr)
            print(self.coord_tail(), file=sys.stderr)
        if os.environ.get("WEIR_KEEP_BROKER_DIRS"):
            print(f"cluster: kept {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(dump=exc_type is not None)
        if exc_type is None and self.problems:
            raise AssertionError("; ".join(self.problems))
        return False


def _self_test(weir):
    """The coord half for real; the broker half reports whether `weir broker` exists yet."""
    with Cluster(weir, brokers=0) as c:
        assert session_probe(c.coord_port()), "coord creates no session"
        srvr = four_letter(c.coord_port(), "srvr")
        assert "Mode: standalone" in srvr, srvr
        expect_eq(c.coord_hosts(), f"127.0.0.1:{c.base}", "coord_hosts()")
        root, proc = c.root, c.coord_proc
        ok(f"harness: standalone coord serves on {c.coord_hosts()}")
    assert proc.poll() is not None, "coord still running after close()"
    assert not os.path.exists(root), f"{root} not removed"
    ok("harness: coord stopped and its directory removed")
    # Nothing listens on a closed port: the probes say None rather than hang or raise.
    expect_eq(api_versions(free_port_block(1, 31000)), None, "ApiVersions probe of a closed port")
    ok("harness: probes of a closed port answer None")
    # The broker half against fake_broker.py (answers only the readiness probes), behind a
    # wrapper that runs the real `weir coord`.
    wrapdir = tempfile.mkdtemp(prefix="weir-fake-")
    try:
        fake = os.path.join(wrapdir, "weir")
        with open(fake, "w") as f:
            f.write(f'#!/bin/sh\nif [ "$1" = broker ]; then exec /usr/bin/python3 {HERE}/fake_broker.py "$@"; fi\n'
                    f'exec {os.path.abspath(weir)} "$@"\n')
        os.chmod(fake, 0o755)
        with Cluster(fake, brokers=2) as c:
            expect_eq(c.bootstrap(), f"127.0.0.1:{c.broker_port(0)},127.0.0.1:{c.broker_port(1)}", "bootstrap()")
            expect_eq(metadata_brokers(c.broker_port(1)), ({0: ("127.0.0.1", c.broker_port(0)),
                                                            1: ("127.0.0.1", c.broker_port(1))}, 0), "fake metadata")
            props = open(os.path.join(c.broker_dir(1), "server.properties")).read()
            for line in ("broker.id=1\n", f"listeners=PLAINTEXT://127.0.0.1:{c.broker_port(1)}\n",
                         f"zookeeper.connect=127.0.0.1:{c.coord_port()}\n", f"log.dirs={c.log_dir(1)}\n"):
                assert line in props, f"{line!r} not in server.properties:\n{props}"
            ok("harness: two (fake) brokers ready, server.properties as Kafka spells it")
            c.restart_broker(0, extra_props="num.partitions=7\n")
            assert "num.partitions=7\n" in open(os.path.join(c.broker_dir(0), "server.properties")).read()
            ok("harness: restart_broker stops with SIGTERM (exit 0), rewrites properties, waits ready")
            expect_eq(c.kill_broker(1, signal.SIGKILL), -signal.SIGKILL, "exit status after SIGKILL")
            c.start_broker(1)
            c.wait_ready()
            ok("harness: kill -9 and start again")
            c.kill_broker(1, signal.SIGKILL)
            c.wait_ready()  # the brokers still running
            c.start_broker(1)
            c.procs[1].kill()  # dies without the test asking
            try:
                c.wait_ready(timeout=5)
                raise RuntimeError("wait_ready accepted a dead broker")
            except AssertionError as e:
                assert "broker 1 exited with -9" in str(e), e
            c.start_broker(1)
            c.wait_ready()
            ok("harness: wait_ready skips a broker stopped on purpose, names one that died")
        try:
            with Cluster(fake, brokers=1) as c:
                c.procs[0].kill()
                c.procs[0].wait()
            raise RuntimeError("close() accepted a broker that died by itself")
        except AssertionError as e:
            assert "broker 0 had exited by itself with -9" in str(e), e
        ok("harness: leaving the block fails when a broker died by itself")
    finally:
        shutil.rmtree(wrapdir, ignore_errors=True)
    try:
        with Cluster(weir, partitions=2, ready_timeout=20) as c:
            err, keys = api_versions(c.broker_port(0))
            brokers, controller = metadata_brokers(c.broker_port(0))
            ok(f"harness: broker ready; ApiVersions keys {sorted(keys)}; brokers {brokers}; controller {controller}")
            c.restart_broker(0)
            ok("harness: broker restarted after SIGTERM (exit 0)")
    except AssertionError as e:
        print(f"self-test: no working broker yet: {str(e).splitlines()[0]}")
        print("self-test: passed")
        return
    # Three real brokers: the partition helpers (a topic auto-created by a Metadata v1 request
    # that names it, with default.replication.factor=3).
    with Cluster(weir, brokers=3, extra_props=replication_props(rf=3, min_isr=2)) as c:
        props = open(os.path.join(c.broker_dir(2), "server.properties")).read()
        for line in ("broker.id=2\n", "default.replication.factor=3\n", "min.insync.replicas=2\n",
                     f"log.dirs={c.log_dir(2)}\n", f"listeners=PLAINTEXT://127.0.0.1:{c.broker_port(2)}\n"):
            assert line in props, f"{line!r} not in server.properties:\n{props}"
        assert len({c.broker_port(i) for i in range(3)} | {c.log_dir(i) for i in range(3)}) == 6
        topic = struct.pack(">ih", 1, 4) + b"self"
        wait_until("topic 'self' auto-created", lambda: kafka_request(c.broker_port(0), 3, 1, topic) and
                   c.leader("self") is not None, timeout=15)
        leader, replicas, isr = c.wait_isr("self", 0, timeout=15)
        expect_eq((sorted(replicas), sorted(isr)), ([0, 1, 2], [0, 1, 2]), "self [0] replicas, ISR")
        expect_eq(c.partition("self", 0, via=1)[1], leader, "leader in broker 1's Metadata")
        assert c.controller() in (0, 1, 2), c.controller()
        expect_eq({i: c.partition_bytes(i, "self") for i in range(3)}, {0: 0, 1: 0, 2: 0},
                  "segment bytes of the empty self-0 in each log dir")
        expect_eq(c.partition_bytes(0, "nosuch"), None, "segment bytes of a partition without a directory")
        ok(f"harness: three brokers; 'self' replicas {replicas}, ISR {isr}, leader {leader}, controller "
           f"{c.controller()}; an empty self-0 in each log dir")
        victim, rc = c.kill_leader("self", sig=signal.SIGTERM)
        expect_eq(rc, 0, "exit status of the leader after SIGTERM")
        new = c.wait_leader("self", not_in={victim}, timeout=15)
        c.start_broker(victim)
        c.wait_ready()
        c.wait_isr("self", 0, timeout=20)
        ok(f"harness: kill_leader stopped {victim}, wait_leader found {new}, the ISR is full again after the restart")
    print("self-test: passed")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--self-test":
        _self_test(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
