"""Three real `weir coord` processes on 127.0.0.1 for tests with third-party ZooKeeper clients
(kazoo, zkCli.sh, the C client). Shared so every such test starts, kills and restarts servers
the same way and always cleans up.

    with Ensemble(weir) as ens:        # waits until a leader serves
        ens.hosts()                    # "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
        ens.kill(ens.leader(), signal.SIGKILL); ens.start(i); ens.wait_serving()

On an exception inside the block the last lines of each server's trace are printed, since the
data directories are removed afterwards (WEIR_KEEP_COORD_DIRS=1 keeps them).
"""
import os, shutil, signal, socket, struct, subprocess, sys, tempfile, time

IDS = (1, 2, 3)


def free_port_block(count, first):
    """A block of `count` ports starting near `first` that can all be bound right now. The start
    comes from the pid, so concurrent tests rarely meet; binding checks the rest (other tests,
    ephemeral ports of unrelated connections)."""
    base = first
    for _ in range(200):
        socks = []
        try:
            for p in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            base += count
            if base + count > 32000:  # stay below Linux's ephemeral range
                base = 20000
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port block")


def four_letter(port, word, timeout=5):
    """A four-letter word's answer, or "" when the server does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word.encode())
            out = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return out.decode()
                out += chunk
    except OSError:
        return ""


def session_probe(port, timeout=5):
    """True if the server creates a session: a ConnectRequest (jute: protocolVersion,
    lastZxidSeen, timeOut, sessionId 0, 16-byte password) answered with a positive timeout.
    The session is closed again at once (closeSession, xid 1)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            body = struct.pack(">iqiqi16s", 0, 0, 4000, 0, 16, bytes(16))
            s.sendall(struct.pack(">i", len(body)) + body)
            rsp = _read_frame(s)
            if rsp is None or len(rsp) < 16:
                return False
            _, negotiated, session = struct.unpack(">iiq", rsp[:16])
            if negotiated <= 0 or session == 0:
                return False
            s.sendall(struct.pack(">iii", 8, 1, -11))
            _read_frame(s)
            return True
    except OSError:
        return False


def _read_frame(s):
    def exact(n):
        out = b""
        while len(out) < n:
            chunk = s.recv(n - len(out))
            if not chunk:
                return None
            out += chunk
        return out
    head = exact(4)
    return None if head is None else exact(struct.unpack(">i", head)[0])


class Ensemble:
    def __init__(self, weir, tick_ms=200, extra_config=""):
        self.weir = weir
        # Per server: quorum port, election port (weir's session touches), client port.
        self.base = free_port_block(9, 20000 + (os.getpid() * 9) % 11000)
        self.root = tempfile.mkdtemp(prefix="weir-coord-")
        self.procs = {}
        servers = "".join(f"server.{i}=127.0.0.1:{self.peer_port(i)}:{self.peer_port(i) + 1};"
                          f"127.0.0.1:{self.client_port(i)}\n" for i in IDS)
        for i in IDS:
            d = self.data_dir(i)
            os.makedirs(d)
            with open(os.path.join(d, "zoo.cfg"), "w") as f:
                f.write(f"tickTime={tick_ms}\ninitLimit=10\nsyncLimit=5\ndataDir={d}\n"
                        f"4lw.commands.whitelist=*\n{extra_config}{servers}")
            with open(os.path.join(d, "myid"), "w") as f:
                f.write(f"{i}\n")

    def peer_port(self, i):
        return self.base + 3 * (i - 1)

    def client_port(self, i):
        return self.base + 3 * (i - 1) + 2

    def data_dir(self, i):
        return os.path.join(self.root, f"s{i}")

    def server_of_port(self, port):
        for i in IDS:
            if self.client_port(i) == port:
                return i
        raise KeyError(port)

    def hosts(self, ids=IDS):
        return ",".join(f"127.0.0.1:{self.client_port(i)}" for i in ids)

    def start(self, i):
        assert i not in self.procs or self.procs[i].poll() is not None, f"server {i} already runs"
        cfg = os.path.join(self.data_dir(i), "zoo.cfg")
        log = open(os.path.join(self.data_dir(i), "stdout.log"), "ab")
        self.procs[i] = subprocess.Popen([self.weir, "coord", "--config", cfg], stdout=log, stderr=log)
        log.close()

    def kill(self, i, sig=signal.SIGKILL):
        p = self.procs[i]
        if p.poll() is None:
            p.send_signal(sig)
        p.wait(15)

    def running(self, i):
        return i in self.procs and self.procs[i].poll() is None

    def four(self, i, word):
        return four_letter(self.client_port(i), word)

    def mode(self, i):
        for line in self.four(i, "srvr").splitlines():
            if line.startswith("Mode: "):
                return line[len("Mode: "):]
        return None

    def leader(self):
        leaders = [i for i in IDS if self.running(i) and self.mode(i) == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def wait_serving(self, timeout=30, ids=None):
        """Until there is one leader, every running server (or `ids`) leads or follows, and each
        of them creates a session. (srvr names a mode only once ZAB has synced the server, as
        ZooKeeper's does; the session probe also checks that the client port answers.)"""
        deadline = time.time() + timeout
        while True:
            want = [i for i in (ids or IDS) if self.running(i)]
            modes = {i: self.mode(i) for i in want}
            if (list(modes.values()).count("leader") == 1 and all(m in ("leader", "follower") for m in modes.values())
                    and all(session_probe(self.client_port(i)) for i in want)):
                return self.leader()
            for i, p in self.procs.items():
                assert p.poll() is None or i not in want, f"server {i} exited with {p.returncode}"
            assert time.time() < deadline, f"ensemble not serving after {timeout} s: {modes}"
            time.sleep(0.1)

    def start_all(self):
        for i in IDS:
            self.start(i)
        return self.wait_serving()

    def trace_tail(self, i, lines=30):
        try:
            with open(os.path.join(self.data_dir(i), "coord-trace.jsonl"), "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode(errors="replace")
        except OSError as e:
            return str(e)

    def close(self, dump_traces=False):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if dump_traces:  # after the servers stopped: the trace files are complete then
            for i in IDS:
                print(f"--- server {i} trace tail ---\n{self.trace_tail(i)}", file=sys.stderr)
        if os.environ.get("WEIR_KEEP_COORD_DIRS"):
            print(f"ensemble: kept {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        try:
            self.start_all()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(dump_traces=exc_type is not None)
        return False
