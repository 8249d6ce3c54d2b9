#!/usr/bin/python3
"""Sarama's own functional tests, unmodified, against real `weir` processes: IBM/Shopify sarama
1.22.1 (a pure-Go client with its own protocol code and an idempotent producer), the library
from Debian 12's golang-github-shopify-sarama-dev, its functional_*_test.go from the same
version's Debian source package (the binary package leaves them out), which
scripts/install-deps.sh fetches with apt into /var/cache/weir/debian-src.

    sarama_suite.py [WEIR] [--all] [--run REGEX] [--limit SECONDS] [--brokers N] [--keep] [--verbose]

  WEIR       the weir binary (default: build/cli/weir beside this checkout)
  --all      also run the tests left out by default (EXCLUDED below)
  --run      only the functional tests matching this Python regex
  --limit    wall-clock limit for each test process (default 120 s); a test still running then
             is killed and counted failed
  --brokers  how many brokers (default 3)
  --keep     keep the work directory (each test's output, the capture, broker logs and traces)
  --verbose  also list the tests that passed

What the tests expect (sarama's functional_test.go and vagrant/ of 1.22.1): a cluster at
KAFKA_PEERS whose brokers are reached, and advertised, through toxiproxy proxies named kafka1,
kafka2, ...; toxiproxy's HTTP API at TOXIPROXY_ADDR (every test's setupFunctionalTest resets it
and fetches the proxies, and fails without it); the topics test.1, test.4 and test.64 (1, 4, 64
partitions; vagrant/create_topics.sh); auto.create.topics.enable=false. Debian has no toxiproxy
(#940453), neither its server nor the Go client the tests import, so this brings stand-ins of
its own, neither toxiproxy's code: toxiproxy_standin.py (the proxies, enable/disable, the
latency toxic, toxiproxy's HTTP API) and toxiproxy_client/client.go (the client calls the tests
make).

What this gives them: a `weir coord` and N `weir broker`s on free ports of 127.0.0.1, broker i
listening on its own port and advertising its proxy kafka<i>'s; the topics, created with
replication factor min(3, N) (CreateTopics v0); the group coordinator warmed up: FindCoordinator
answered without error (__consumer_offsets exists) and ListGroups answered by every broker
without COORDINATOR_LOAD_IN_PROGRESS (each has loaded its partitions of it). Without that the
first group test, a second after the brokers start, got COORDINATOR_LOAD_IN_PROGRESS to its
JoinGroup v1 (Weir loads the fresh partitions in about 0.7 s and answers so meanwhile, as Kafka
does while it loads), which sarama 1.22.1's ConsumerGroup does not retry: Consume returns it and
the test fails; vagrant's cluster had long loaded by then. Environment: KAFKA_VERSION=2.2.0
(sarama 1.22.1's newest: the version matrix tests use every version from 0.8.2.0 up to it),
CI=1 (an unreachable cluster fails the tests instead of skipping them), DEBUG=true (sarama's
log goes into each test's output).

How it runs: `go test -c -vet=off` builds the package offline in GOPATH mode (GO111MODULE=off,
GOPATH=<tmp>/gopath:/usr/share/gocode, GOPROXY=off, CGO_ENABLED=0) from a copy of Debian's
sarama sources with the functional tests added and the toxiproxy client stand-in beside it.
The functional tests are the Test functions of functional_*_test.go (the package's unit tests,
against its mock broker, are not run); each runs in a process of its own
(`-test.run '^Name$'`), one at a time (they share test.1, and the version matrix tests want
only their own records there), in the order of the files; after each the brokers must still
run. The proxies write every Kafka request and response that passes through them to
capture.jsonl (see toxiproxy_standin.py), each line naming the test that ran; a failed run keeps
its work directory (tests/NAME.log, capture.jsonl, broker<i>/broker.log and trace.jsonl) and
says where. Ends with `N passed, N failed, N skipped`; exit 0 only when nothing failed and every
broker stopped cleanly (exit 0 on SIGTERM). Exit 77 when go, the sarama package, its test
dependencies or the functional test sources are not installed.

Packages: golang-go golang-github-shopify-sarama-dev golang-github-stretchr-testify-dev, and
the source package golang-github-shopify-sarama (scripts/install-deps.sh)."""
import hashlib, os, re, shutil, signal, socket, struct, subprocess, sys, tarfile, tempfile, time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "coord", "real"))
from cluster import kafka_request, metadata  # noqa: E402
from ensemble import free_port_block  # noqa: E402
from toxiproxy_standin import ToxiproxyStandin  # noqa: E402
from third_party_suite import _die_with_parent, go_env, tail  # noqa: E402  (shared with kafka-go's runner)

GOCODE = "/usr/share/gocode/src"
PKG = "github.com/Shopify/sarama"
VERSION = "1.22.1"
SRC_DIR = os.environ.get("WEIR_DEBIAN_SRC", "/var/cache/weir/debian-src")
ORIG = f"golang-github-shopify-sarama_{VERSION}.orig.tar.xz"
DSC = f"golang-github-shopify-sarama_{VERSION}-1.dsc"
# What the package and its tests import from outside the standard library (Debian packages).
NEEDED = [f"{GOCODE}/{PKG}/sarama.go", f"{GOCODE}/github.com/stretchr/testify/require",
          f"{GOCODE}/github.com/rcrowley/go-metrics", f"{GOCODE}/github.com/davecgh/go-spew/spew",
          f"{GOCODE}/github.com/eapache/go-resiliency/breaker", f"{GOCODE}/github.com/pierrec/lz4"]
TOPICS = {"test.1": 1, "test.4": 4, "test.64": 64}

# Functional tests left out of the default run ({name: why}); `--all` runs them. Every other
# Test function of functional_*_test.go runs: the toxiproxy stand-in serves the ones that
# disable a proxy (TestFuncConnectionFailure) or add latency (TestFuncProducing*).
EXCLUDED = {
    # It reads "uncommitted-topic-test-4" with IsolationLevel=ReadCommitted and wants only the
    # committed records ("Committed 1".."Committed 6") that vagrant/run_java_producer.sh wrote
    # there with a transactional Java producer, around aborted ones: that needs transactions
    # (InitProducerId with a transactional.id, AddPartitionsToTxn, EndTxn, control records,
    # the last stable offset and aborted-transaction lists in Fetch), which Weir does not serve
    # (transactional requests get TRANSACTIONAL_ID_AUTHORIZATION_FAILED), nor can the topic be
    # seeded without them.
    "TestReadOnlyAndAllCommittedMessages": "needs transactions (records written by a "
                                           "transactional producer, read with read_committed)",
}

# Checks that sarama 1.22.1 makes as Kafka 2.1/2.2 (its CI's) answered and Kafka 3.0 (whose API
# Weir serves) answers otherwise: {test: {failure message: why}}. A
# test whose every failure message (`file.go:N: ...` lines) is one of its own here counts as
# passed, marked "PASS (known deviation)" with the reason; any other failure fails it. (The
# rest of such a test still checks: TestFuncClientMetadata's unknown topic, its partition
# counts.)
DEVIATIONS = {
    # Metadata for a topic with an invalid name ("invalid/topic", "in/valid": '/' is not a
    # legal topic character) on brokers with auto.create.topics.enable=false: Kafka 2.2
    # answered UNKNOWN_TOPIC_OR_PARTITION (3) for every topic it did not know; Kafka 3.0's
    # KafkaApis.getTopicMetadata validates the name first and answers INVALID_TOPIC_EXCEPTION
    # (17) for an invalid one, as Weir does (the client's Replicas and the producer's
    # partitioner both get it from the Metadata answer).
    "TestFuncClientMetadata": {
        "functional_client_test.go:46: Expected ErrUnknownTopicOrPartition, got kafka server: The "
        "request attempted to perform an operation on an invalid topic.": "invalid topic name: Kafka 3.0 "
        "answers INVALID_TOPIC_EXCEPTION, not UNKNOWN_TOPIC_OR_PARTITION as Kafka 2.2 did",
    },
    "TestFuncProducingToInvalidTopic": {
        f"functional_producer_test.go:{line}: Expected ErrUnknownTopicOrPartition, found kafka server: "
        "The request attempted to perform an operation on an invalid topic.": "invalid topic name: Kafka "
        "3.0 answers INVALID_TOPIC_EXCEPTION, not UNKNOWN_TOPIC_OR_PARTITION as Kafka 2.2 did"
        for line in (89, 93)
    },
}

# Failure output that points at a known cause.
HINTS = {
    "Kafka broker is not available": "the runner's cluster was not reachable at KAFKA_PEERS",
    "toxiproxy:": "the toxiproxy stand-in refused a request (see the test output)",
}


def skip(why):
    print(f"SKIP: {why} (scripts/install-deps.sh installs golang-go golang-github-shopify-sarama-dev "
          f"golang-github-stretchr-testify-dev and fetches the source package golang-github-shopify-sarama)")
    sys.exit(77)


def functional_sources():
    """{file name: text} of functional_*_test.go from the Debian source package's orig tarball,
    whose SHA-256 must be the one its .dsc names (apt checked the .dsc against the signed
    archive when it fetched them)."""
    orig, dsc = os.path.join(SRC_DIR, ORIG), os.path.join(SRC_DIR, DSC)
    if not (os.path.exists(orig) and os.path.exists(dsc)):
        skip(f"no {orig} or {dsc}")
    with open(orig, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    text = open(dsc, errors="replace").read()
    sums = text[text.index("Checksums-Sha256:"):] if "Checksums-Sha256:" in text else ""
    if f"{digest} " not in sums or ORIG not in sums:
        raise SystemExit(f"{orig}: SHA-256 {digest} is not the one {dsc} names")
    out = {}
    with tarfile.open(orig) as tar:
        for m in tar.getmembers():
            base = os.path.basename(m.name)
            if m.isfile() and m.name.count("/") == 1 and re.fullmatch(r"functional(_\w+)?_test\.go", base):
                out[base] = tar.extractfile(m).read().decode()
    if "functional_test.go" not in out:
        raise SystemExit(f"{orig} has no functional_test.go: not sarama {VERSION}?")
    return out


def functional_tests(sources):
    """The Test functions of the functional test files, in file order."""
    names = []
    for base in sorted(sources):
        names += re.findall(r"^func (Test\w+)\(t \*testing\.T\)", sources[base], re.M)
    return names


def build(root, sources, env):
    """The test binary: Debian's sarama sources, the functional tests, the toxiproxy stand-in."""
    dst = f"{root}/gopath/src/{PKG}"
    shutil.copytree(f"{GOCODE}/{PKG}", dst)
    for base, text in sources.items():
        with open(f"{dst}/{base}", "w") as f:
            f.write(text)
    tp = f"{root}/gopath/src/github.com/Shopify/toxiproxy/client"
    os.makedirs(tp)
    shutil.copy(os.path.join(HERE, "toxiproxy_client", "client.go"), tp)
    binary = f"{root}/sarama.test"
    b = subprocess.run(["go", "test", "-c", "-vet=off", "-o", binary, PKG], env=env, cwd=root,
                       capture_output=True, text=True)
    if b.returncode != 0:
        raise SystemExit(f"building the sarama tests failed:\n{b.stdout}{b.stderr}")
    return binary


class Servers:
    """weir coord + `n` weir brokers (ids 1..n) on free ports of 127.0.0.1, each advertised as
    its toxiproxy stand-in proxy kafka<i>; auto.create.topics.enable=false (as vagrant's
    server.properties). Broker i writes its trace to <root>/broker<i>/trace.jsonl."""

    def __init__(self, weir, root, n):
        self.weir, self.root, self.n = weir, root, n
        # coord, the toxiproxy API, then per broker its listener and its proxy's.
        self.base = free_port_block(2 + 2 * n, 20000 + (os.getpid() * 17) % 11000)
        self.coord_port, self.api_port = self.base, self.base + 1
        self.procs = []
        self.logfiles = []

    def broker_port(self, i):
        return self.base + 2 * i

    def proxy_port(self, i):
        return self.base + 2 * i + 1

    def peers(self):
        return ",".join(f"127.0.0.1:{self.proxy_port(i)}" for i in range(1, self.n + 1))

    def proxies(self):
        return [(f"kafka{i}", f"127.0.0.1:{self.proxy_port(i)}", f"127.0.0.1:{self.broker_port(i)}")
                for i in range(1, self.n + 1)]

    def start(self):
        r = self.root
        os.makedirs(f"{r}/coord/data")
        with open(f"{r}/coord/zoo.cfg", "w") as f:
            f.write(f"tickTime=2000\ndataDir={r}/coord/data\nclientPort={self.coord_port}\n"
                    f"clientPortAddress=127.0.0.1\n4lw.commands.whitelist=srvr,ruok\n")
        self._spawn("coord", ["coord", "--config", f"{r}/coord/zoo.cfg"], f"{r}/coord/stdout.log")
        self._wait_port(self.coord_port, *self.procs[-1])
        rf = min(3, self.n)
        for i in range(1, self.n + 1):
            d = f"{r}/broker{i}"
            os.makedirs(f"{d}/logs")
            with open(f"{d}/server.properties", "w") as f:
                f.write(f"broker.id={i}\nlisteners=PLAINTEXT://127.0.0.1:{self.broker_port(i)}\n"
                        f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.proxy_port(i)}\n"
                        f"log.dirs={d}/logs\nzookeeper.connect=127.0.0.1:{self.coord_port}\n"
                        "zookeeper.session.timeout.ms=6000\n"
                        f"num.partitions=2\ndefault.replication.factor={min(2, self.n)}\n"
                        f"offsets.topic.replication.factor={rf}\n"
                        "auto.create.topics.enable=false\ndelete.topic.enable=true\n"
                        "group.initial.rebalance.delay.ms=0\n"
                        "controlled.shutdown.retry.backoff.ms=1000\n")
            self._spawn(f"broker {i}", ["broker", "--config", f"{d}/server.properties",
                                        "--trace", f"{d}/trace.jsonl"], f"{d}/broker.log", cwd=d)
        for i in range(1, self.n + 1):
            self._wait_port(self.broker_port(i), *self.procs[i])

    def _spawn(self, name, args, log, cwd=None):
        with open(log, "ab") as out:
            p = subprocess.Popen([self.weir, *args], stdout=out, stderr=out, cwd=cwd or self.root,
                                 start_new_session=True, preexec_fn=_die_with_parent)
        self.procs.append((name, p, log))
        self.logfiles.append(log)

    def _wait_port(self, port, what, proc, log, timeout=20):
        deadline = time.time() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"weir {what} exited with {proc.returncode}; log tail:\n{tail(log)}")
            if time.time() > deadline:
                raise SystemExit(f"weir {what} not listening on {port} after {timeout} s; log:\n{tail(log)}")
            time.sleep(0.05)

    def wait_until(self, what, probe, timeout=30):
        """probe() until it returns None (ready); else why not. SystemExit after `timeout`."""
        deadline = time.time() + timeout
        while True:
            why = probe()
            if why is None:
                return
            if self.dead():
                raise SystemExit(f"{', '.join(self.dead())} died while waiting for {what}")
            if time.time() > deadline:
                raise SystemExit(f"{what}: not after {timeout} s: {why}")
            time.sleep(0.1)

    def create_topics(self):
        """test.1, test.4, test.64 (vagrant/create_topics.sh) with CreateTopics v0 on broker 1,
        then until every broker's Metadata v1 shows all brokers and a leader for each of their
        partitions."""
        rf = min(3, self.n)

        def string(s):
            return struct.pack(">h", len(s)) + s.encode()
        body = struct.pack(">i", len(TOPICS))
        for name, parts in TOPICS.items():
            body += string(name) + struct.pack(">ihii", parts, rf, 0, 0)
        body += struct.pack(">i", 15000)
        rsp = kafka_request(self.broker_port(1), 19, 0, body, timeout=20)
        if rsp is None:
            raise SystemExit("CreateTopics v0: no answer from broker 1")
        pos, errors = 4, {}
        for _ in range(struct.unpack_from(">i", rsp, 0)[0]):
            (n,) = struct.unpack_from(">h", rsp, pos)
            name = rsp[pos + 2:pos + 2 + n].decode()
            (err,) = struct.unpack_from(">h", rsp, pos + 2 + n)
            pos += 4 + n
            errors[name] = err
        if any(errors.get(t) != 0 for t in TOPICS):
            raise SystemExit(f"CreateTopics v0 error codes: {errors}")

        def ready():
            for i in range(1, self.n + 1):
                md = metadata(self.broker_port(i))
                if md is None:
                    return f"broker {i}: no Metadata answer"
                brokers, _, topics = md
                if sorted(brokers) != list(range(1, self.n + 1)):
                    return f"broker {i}: brokers {sorted(brokers)}"
                for t, parts in TOPICS.items():
                    terr, ps = topics.get(t, (-1, {}))
                    if terr != 0 or len(ps) != parts or any(e != 0 or l < 0 for e, l in ps.values()):
                        return f"broker {i}: {t}: error {terr}, partitions {ps}"
            return None
        self.wait_until("topics test.1, test.4, test.64", ready)

    def warm_coordinator(self):
        """FindCoordinator v0 for a group until it is answered without error (which creates
        __consumer_offsets), then ListGroups v0 on every broker until none answers
        COORDINATOR_LOAD_IN_PROGRESS (each has loaded its partitions of __consumer_offsets)."""
        group = b"weir-sarama-suite-warmup"
        body = struct.pack(">h", len(group)) + group

        def found():
            rsp = kafka_request(self.broker_port(1), 10, 0, body, timeout=5)
            if rsp is None:
                return "FindCoordinator v0: no answer"
            (err,) = struct.unpack_from(">h", rsp, 0)
            return None if err == 0 else f"FindCoordinator v0: error_code {err}"

        def loaded():
            for i in range(1, self.n + 1):
                rsp = kafka_request(self.broker_port(i), 16, 0, timeout=5)
                if rsp is None:
                    return f"broker {i}: ListGroups v0: no answer"
                (err,) = struct.unpack_from(">h", rsp, 0)
                if err != 0:
                    return f"broker {i}: ListGroups v0: error_code {err}"
            return None
        self.wait_until("the group coordinator (FindCoordinator)", found)
        self.wait_until("the group coordinators' loading (ListGroups)", loaded)

    def dead(self):
        return [name for name, p, _ in self.procs if p.poll() is not None]

    def stop(self):
        """SIGTERM, brokers first; one that outlives it by 15 s is killed. The problems."""
        problems = []
        for name, p, _ in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    problems.append(f"weir {name} still running 15 s after SIGTERM (killed)")
                    continue
                if p.returncode != 0:
                    problems.append(f"weir {name} exited with {p.returncode} on SIGTERM")
            else:
                problems.append(f"weir {name} had exited by itself with {p.returncode}")
        self.procs = []
        return problems

    def logs(self):
        return self.logfiles + [
            f"{self.root}/broker{i}/trace.jsonl" for i in range(1, self.n + 1)]


def run_test(binary, name, env, limit, out_path):
    """One test in its own process; (outcome, seconds). outcome: pass, fail, skip."""
    started = time.time()
    with open(out_path, "wb") as out:
        p = subprocess.Popen([binary, "-test.v", "-test.count=1", "-test.run", f"^{name}$",
                              "-test.timeout", f"{int(limit) + 30}s"],
                             stdout=out, stderr=subprocess.STDOUT, env=env, cwd=os.path.dirname(binary),
                             start_new_session=True, preexec_fn=_die_with_parent)
        try:
            p.wait(limit)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            out.write(f"\n(killed: still running after {limit:.0f} s)\n".encode())
            return "fail", time.time() - started
    text = open(out_path, errors="replace").read()
    m = re.search(rf"^--- (PASS|FAIL|SKIP): {re.escape(name)} \(", text, re.M)
    outcome = m.group(1).lower() if m else "fail"
    if outcome == "pass" and p.returncode != 0:
        outcome = "fail"
    if outcome == "fail" and m and name in DEVIATIONS:
        # Known deviations only: every `file.go:N: message` line is one of them, no panic.
        said = [l.strip() for l in text.splitlines() if re.match(r"\s+\w+\.go:\d+: ", l)]
        if said and "panic:" not in text and all(l in DEVIATIONS[name] for l in said):
            outcome = "deviation"
    return outcome, time.time() - started


def main():
    args = sys.argv[1:]
    opts = {"--all": False, "--keep": False, "--verbose": False}
    limit, only, weir, nbrokers = 120.0, None, None, 3
    while args:
        a = args.pop(0)
        if a in opts:
            opts[a] = True
        elif a == "--limit":
            limit = float(args.pop(0))
        elif a == "--brokers":
            nbrokers = int(args.pop(0))
        elif a == "--run":
            only = re.compile(args.pop(0))
        elif a.startswith("-"):
            raise SystemExit(__doc__)
        else:
            weir = a
    weir = os.path.abspath(weir or os.path.join(HERE, "..", "..", "..", "build", "cli", "weir"))

    if not shutil.which("go"):
        skip("go is not installed")
    missing = [p for p in NEEDED if not os.path.exists(p)]
    if missing:
        skip(f"not installed: {', '.join(missing)}")
    sources = functional_sources()
    if not os.access(weir, os.X_OK):
        raise SystemExit(f"no weir binary at {weir}")

    t0 = time.time()
    root = tempfile.mkdtemp(prefix="weir-sarama-")
    env = go_env(root)
    binary = build(root, sources, env)
    tests = functional_tests(sources)
    listed = subprocess.run([binary, "-test.list", "."], capture_output=True, text=True,
                            check=True).stdout.split()
    if set(tests) - set(listed) or set(EXCLUDED) - set(tests):
        raise SystemExit(f"functional tests {sorted(set(tests) - set(listed))} not in the binary, or "
                         f"excluded tests {sorted(set(EXCLUDED) - set(tests))} not among them: "
                         f"not sarama {VERSION}?")
    selected = [t for t in tests if only is None or only.search(t)]
    excluded = [t for t in selected if t in EXCLUDED and not opts["--all"]]
    run = [t for t in selected if t not in excluded]
    print(f"sarama {VERSION} functional tests: {len(tests)}, built in {time.time() - t0:.1f} s; "
          f"running {len(run)} (-test.run '^({'|'.join(run)})$', one process each); work dir {root}",
          flush=True)

    servers = Servers(weir, root, nbrokers)
    results, problems = [], []
    os.makedirs(f"{root}/tests")
    try:
        servers.start()
        with ToxiproxyStandin(servers.proxies(), ("127.0.0.1", servers.api_port),
                              capture=f"{root}/capture.jsonl") as tp:
            servers.create_topics()
            servers.warm_coordinator()
            print(f"cluster: coord and {nbrokers} brokers ready {time.time() - t0:.1f} s in; "
                  f"KAFKA_PEERS={servers.peers()} TOXIPROXY_ADDR={tp.url}", flush=True)
            tenv = dict(env, KAFKA_PEERS=servers.peers(), TOXIPROXY_ADDR=tp.url, CI="1",
                        DEBUG="true", KAFKA_VERSION="2.2.0")
            tenv.pop("TEST_SEED", None)
            for name in run:
                tp.label = name
                out = f"{root}/tests/{name}.log"
                outcome, took = run_test(binary, name, tenv, limit, out)
                results.append((name, outcome, out))
                print(f"  {name}: {outcome} {took:.1f} s", flush=True)
                dead = servers.dead()
                if dead:
                    problems.append(f"weir {', '.join(dead)} died during {name}")
                    break
    finally:
        problems += servers.stop()

    n = {k: sum(1 for _, st, _ in results if st == k) for k in ("pass", "fail", "skip", "deviation")}
    n["pass"] += n["deviation"]
    failed = [name for name, st, _ in results if st == "fail"]
    for name, st, out in results:
        if st == "fail":
            text = open(out, errors="replace").read()
            hint = next((h for k, h in HINTS.items() if k in text), None)
            print(f"FAIL {name}" + (f"  [{hint}]" if hint else ""))
            lines = [l for l in text.splitlines() if not l.startswith("[sarama]")]
            for line in lines[-12:]:
                print(f"    {line.rstrip()[:300]}")
        elif st == "deviation":
            why = sorted(set(DEVIATIONS[name].values()))
            print(f"PASS (known deviation) {name}: {'; '.join(why)}")
        elif st == "skip" or opts["--verbose"]:
            print(f"{st.upper()} {name}")
    if excluded:
        print("not run (--all runs them): " + "; ".join(f"{t} ({EXCLUDED[t]})" for t in excluded))
    for p in problems:
        print(f"PROBLEM: {p}")
    if failed or problems:
        for log in servers.logs():
            if log.endswith(".jsonl"):  # a trace: its last warnings and errors
                try:
                    lines = [l for l in open(log, errors="replace") if '"severity":"info"' not in l]
                except OSError as e:
                    lines = [f"({e})\n"]
                print(f"--- {os.path.relpath(log, root)} (last warnings) ---\n{''.join(lines[-15:])}")
            else:
                print(f"--- {os.path.relpath(log, root)} (tail) ---\n{tail(log, 15)}")
    keep = opts["--keep"] or failed or problems
    print(f"time: {time.time() - t0:.0f} s" + (f"; logs in {root} (tests/NAME.log, capture.jsonl: "
                                               f"the Kafka frames through the proxies, broker<i>/)"
                                               if keep else ""))
    if failed:
        print("failing: " + " ".join(failed))
    print(f"{n['pass']} passed, {n['fail']} failed, {n['skip']} skipped")
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if failed or problems else 0)


if __name__ == "__main__":
    main()
