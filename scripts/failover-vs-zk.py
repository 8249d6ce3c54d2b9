#!/usr/bin/python3
"""Leader failover of weir coord and of Apache ZooKeeper 3.8 (Debian's `zookeeper`), measured
the same way: three real servers on 127.0.0.1 with ZooKeeper's defaults (tickTime 2000,
initLimit 10, syncLimit 5), one kazoo client that knows all three and retries at once, a write
every few ms; each round kills the leader with SIGKILL and times the gap until the next write is
acknowledged, then restarts the killed server and waits until all three serve again.
A benchmark, not a test: it prints min / median / max per system.

    scripts/failover-vs-zk.py [WEIR_BINARY] [ROUNDS]    (default build/cli/weir, 9)

Environment: SYSTEMS ("weir zookeeper"), TICK_MS (2000), KEEP=1 keeps the data directories.
"""
import os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "coord", "real"))
from ensemble import four_letter, free_port_block  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402
from kazoo.retry import KazooRetry  # noqa: E402

WEIR = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/cli/weir")
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 9
TICK_MS = int(os.environ.get("TICK_MS", "2000"))
ZK_JAR = "/usr/share/java/zookeeper.jar"
IDS = (1, 2, 3)


class Cluster:
    def __init__(self, system, root):
        self.system, self.root = system, root
        self.base = free_port_block(9, 21000 + (os.getpid() * 9) % 9000)
        self.procs = {}
        servers = "".join(
            f"server.{i}=127.0.0.1:{self.port(i, 0)}:{self.port(i, 1)};127.0.0.1:{self.client(i)}\n"
            for i in IDS)
        for i in IDS:
            d = os.path.join(root, system, f"s{i}")
            os.makedirs(d)
            with open(os.path.join(d, "myid"), "w") as f:
                f.write(f"{i}\n")
            with open(os.path.join(d, "zoo.cfg"), "w") as f:
                f.write(f"tickTime={TICK_MS}\ninitLimit=10\nsyncLimit=5\ndataDir={d}\n"
                        f"4lw.commands.whitelist=srvr,ruok\nadmin.enableServer=false\n{servers}")

    def port(self, i, k):
        return self.base + 3 * (i - 1) + k

    def client(self, i):
        return self.port(i, 2)

    def dir(self, i):
        return os.path.join(self.root, self.system, f"s{i}")

    def start(self, i):
        cfg = os.path.join(self.dir(i), "zoo.cfg")
        log = open(os.path.join(self.dir(i), "out.log"), "ab")
        if self.system == "weir":
            cmd = [WEIR, "coord", "--config", cfg]
        else:
            cmd = ["java", "-Xms256m", "-Xmx512m", f"-Dzookeeper.log.dir={self.dir(i)}", "-cp",
                   ZK_JAR, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
        self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=log)
        log.close()

    def mode(self, i):
        for line in four_letter(self.client(i), "srvr", timeout=2).splitlines():
            if line.startswith("Mode: "):
                return line[6:]
        return None

    def wait_serving(self, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            modes = [self.mode(i) for i in IDS]
            if modes.count("leader") == 1 and modes.count("follower") == 2:
                return modes.index("leader") + 1
            time.sleep(0.1)
        raise RuntimeError(f"{self.system}: not serving after {timeout} s")

    def hosts(self):
        return ",".join(f"127.0.0.1:{self.client(i)}" for i in IDS)

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


def measure(system, root):
    c = Cluster(system, root)
    for i in IDS:
        c.start(i)
    try:
        c.wait_serving()
        retry = KazooRetry(max_tries=-1, delay=0.005, backoff=1, max_delay=0.005)
        zk = KazooClient(hosts=c.hosts(), timeout=10, connection_retry=retry,
                         command_retry=KazooRetry(max_tries=-1, delay=0.005, backoff=1,
                                                  max_delay=0.005))
        zk.start(timeout=30)
        zk.ensure_path("/failover")
        gaps = []
        for r in range(ROUNDS):
            leader = c.wait_serving()
            zk.retry(zk.set, "/failover", b"before")
            killed_at = time.time()
            c.procs[leader].send_signal(signal.SIGKILL)
            c.procs[leader].wait()
            zk.retry(zk.set, "/failover", str(r).encode())
            gaps.append(time.time() - killed_at)
            print(f"{system}: round {r + 1}: killed leader {leader}, next write after "
                  f"{gaps[-1]:.3f} s", file=sys.stderr)
            c.start(leader)
        zk.stop()
        zk.close()
        return gaps
    finally:
        c.stop()


def main():
    if "zookeeper" in os.environ.get("SYSTEMS", "weir zookeeper") and not os.path.exists(ZK_JAR):
        sys.exit(f"ZooKeeper is not installed ({ZK_JAR}; apt-get install zookeeper)")
    root = tempfile.mkdtemp(prefix="weir-failover-")
    results = {}
    try:
        for system in os.environ.get("SYSTEMS", "weir zookeeper").split():
            results[system] = measure(system, root)
    finally:
        if os.environ.get("KEEP"):
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"| system (tickTime {TICK_MS} ms, {ROUNDS} kills) | min s | median s | max s |")
    print("|---|---:|---:|---:|")
    for system, gaps in results.items():
        print(f"| {system} | {min(gaps):.3f} | {statistics.median(gaps):.3f} | {max(gaps):.3f} |")


if __name__ == "__main__":
    main()
