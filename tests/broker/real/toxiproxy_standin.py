#!/usr/bin/python3
"""A stand-in for toxiproxy 2.1's server (Debian has no toxiproxy: it left in 2019, #940453),
just enough for sarama 1.22.1's functional tests (sarama_suite.py): TCP proxies that forward
to an upstream, can be disabled and enabled (disabled: the listener is closed and every
connection through it cut, as toxiproxy does), and take a `latency` toxic (each chunk read on
the toxic's stream is forwarded `latency` ms, +- `jitter`, after it was read; order kept, as
toxiproxy's latency toxic). Controlled by toxiproxy's HTTP API:

    GET    /version, /proxies, /proxies/NAME, /proxies/NAME/toxics
    POST   /reset                         every proxy enabled, every toxic removed (204)
    POST   /proxies/NAME                  {"enabled": ..., "listen": ..., "upstream": ...}
    POST   /proxies/NAME/toxics           {"name", "type": "latency", "stream", "toxicity",
                                           "attributes": {"latency": ms, "jitter": ms}}
    DELETE /proxies/NAME/toxics/TOXIC     (204)

Other toxic types are refused (400): the stand-in does not fake what it cannot do. `toxicity`
below 1 is honoured per connection, as toxiproxy (a connection gets the toxic with that
probability when it is made or the toxic added).

    with ToxiproxyStandin([("kafka1", "127.0.0.1:9091", "127.0.0.1:29091"), ...],
                          api=("127.0.0.1", 8474), capture="capture.jsonl") as tp:
        tp.url  # "http://127.0.0.1:8474"
        tp.label = "TestX"  # written into each capture line from now on

With `capture`, the Kafka requests and responses that pass through the proxies are written to
that file as JSON lines (not a toxiproxy feature: for diagnosing the tests): per frame the
proxy, the connection, the time, for a request its api_key, api_version, correlation_id and
client_id, for a response its correlation_id and the api_key and api_version of the request it
answers, and the frame after the size as hex (Produce and Fetch: its first 64 bytes only).
"""

API_NAMES = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
             9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
             13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups", 16: "ListGroups",
             18: "ApiVersions", 19: "CreateTopics", 22: "InitProducerId", 42: "DeleteGroups",
             47: "OffsetDelete"}


class _Capture:
    """Splits each direction of a connection into Kafka frames and writes them as JSON lines."""

    def __init__(self, path):
        self.out = open(path, "w")
        self.lock = threading.Lock()
        self.label = None
        self.next_link = 0

    def new_link(self):
        with self.lock:
            self.next_link += 1
            return self.next_link

    def frame(self, proxy, link, stream, data, pending):
        rec = {"t": round(time.time(), 6), "proxy": proxy, "conn": link, "test": self.label}
        if stream == "upstream" and len(data) >= 8:
            key, ver, corr = struct.unpack_from(">hhi", data, 0)
            pending[corr] = (key, ver)
            cid = ""
            if len(data) >= 10:
                (n,) = struct.unpack_from(">h", data, 8)
                cid = data[10:10 + max(n, 0)].decode(errors="replace")
            rec.update(dir="request", api=API_NAMES.get(key, key), api_version=ver, corr=corr,
                       client_id=cid)
        elif stream == "downstream" and len(data) >= 4:
            (corr,) = struct.unpack_from(">i", data, 0)
            key, ver = pending.pop(corr, (None, None))
            rec.update(dir="response", api=API_NAMES.get(key, key), api_version=ver, corr=corr)
        else:
            rec.update(dir=stream)
        key = rec.get("api")
        body = data[:64] if key in ("Produce", "Fetch") else data[:4096]
        rec.update(size=len(data), hex=binascii.hexlify(body).decode())
        line = json.dumps(rec) + "\n"
        with self.lock:
            if not self.out.closed:
                self.out.write(line)

    def close(self):
        with self.lock:
            self.out.close()
import binascii, json, queue, random, socket, struct, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _split(addr):
    host, _, port = addr.rpartition(":")
    return host or "127.0.0.1", int(port)


class _Link:
    """One client connection and its upstream connection: per direction a reader thread that
    queues chunks with their release times and a writer thread that sends them then."""

    def __init__(self, proxy, client, upstream):
        self.proxy, self.client, self.upstream = proxy, client, upstream
        self.closed = False
        self.lock = threading.Lock()
        self.done = 0
        self.dice = {}  # toxic name -> whether this link got it (toxicity < 1)
        self.capture = proxy.capture
        self.id = self.capture.new_link() if self.capture else 0
        self.pending = {}  # correlation id -> (api_key, api_version) of requests not yet answered

    def start(self):
        for stream, src, dst in (("upstream", self.client, self.upstream),
                                 ("downstream", self.upstream, self.client)):
            q = queue.Queue()
            threading.Thread(target=self._read, args=(stream, src, q), daemon=True).start()
            threading.Thread(target=self._write, args=(dst, q), daemon=True).start()

    def _delay(self, stream):
        ms = 0.0
        for t in self.proxy.toxics_of(stream):
            if t["type"] != "latency":
                continue
            if t["name"] not in self.dice:
                self.dice[t["name"]] = random.random() < float(t.get("toxicity", 1.0))
            if self.dice[t["name"]]:
                a = t.get("attributes") or {}
                jitter = float(a.get("jitter", 0))
                ms += max(0.0, float(a.get("latency", 0)) + random.uniform(-jitter, jitter))
        return ms / 1000.0

    def _read(self, stream, src, q):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                q.put((time.monotonic() + self._delay(stream), data))
                if self.capture:
                    buf += data
                    while len(buf) >= 4:
                        (size,) = struct.unpack_from(">i", buf, 0)
                        if size < 0 or len(buf) < 4 + size:
                            break
                        self.capture.frame(self.proxy.name, self.id, stream, buf[4:4 + size],
                                           self.pending)
                        buf = buf[4 + size:]
        except OSError:
            pass
        q.put(None)

    def _write(self, dst, q):
        try:
            while True:
                item = q.get()
                if item is None:
                    dst.shutdown(socket.SHUT_WR)
                    break
                wait = item[0] - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                dst.sendall(item[1])
        except OSError:
            self.close()
        with self.lock:
            self.done += 1
            last = self.done == 2
        if last:
            self.close()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.proxy.forget(self)


class _Proxy:
    def __init__(self, name, listen, upstream, capture):
        self.name, self.listen, self.upstream, self.capture = name, listen, upstream, capture
        self.enabled = False
        self.toxics = []
        self.links = set()
        self.lock = threading.Lock()
        self.listener = None

    def describe(self):
        with self.lock:
            return {"name": self.name, "listen": self.listen, "upstream": self.upstream,
                    "enabled": self.enabled, "toxics": [dict(t) for t in self.toxics]}

    def toxics_of(self, stream):
        with self.lock:
            return [t for t in self.toxics if t["stream"] == stream]

    def forget(self, link):
        with self.lock:
            self.links.discard(link)

    def set_enabled(self, on):
        if on and not self.enabled:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(_split(self.listen))
            s.listen(128)
            self.listener, self.enabled = s, True
            threading.Thread(target=self._accept, args=(s,), daemon=True).start()
        elif not on and self.enabled:
            self.enabled = False
            s, self.listener = self.listener, None
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the accept() of its thread
            except OSError:
                pass
            s.close()
            with self.lock:
                links = list(self.links)
            for link in links:
                link.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.listener is not listener:
                client.close()
                return
            try:
                up = socket.create_connection(_split(self.upstream), timeout=5)
                up.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, up):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(self, client, up)
            with self.lock:
                self.links.add(link)
            link.start()
            if self.listener is not listener:  # disabled meanwhile: cut it as the others
                link.close()

    def add_toxic(self, spec):
        kind = spec.get("type")
        if kind != "latency":
            raise ValueError(f"toxic type {kind!r} is not supported by the stand-in (latency only)")
        stream = spec.get("stream") or "downstream"
        if stream not in ("upstream", "downstream"):
            raise ValueError(f"stream {stream!r}")
        toxic = {"name": spec.get("name") or f"{kind}_{stream}", "type": kind, "stream": stream,
                 "toxicity": float(spec.get("toxicity", 1.0)),
                 "attributes": dict(spec.get("attributes") or {})}
        with self.lock:
            if any(t["name"] == toxic["name"] for t in self.toxics):
                raise KeyError(f"toxic {toxic['name']} already exists")
            self.toxics.append(toxic)
        return toxic

    def remove_toxic(self, name):
        with self.lock:
            before = len(self.toxics)
            self.toxics = [t for t in self.toxics if t["name"] != name]
            return len(self.toxics) != before


class ToxiproxyStandin:
    """The proxies ((name, listen, upstream) each, enabled from the start) and the HTTP API on
    `api` ((host, port))."""

    def __init__(self, proxies, api, capture=None):
        self.capture = _Capture(capture) if capture else None
        self.proxies = {name: _Proxy(name, listen, up, self.capture) for name, listen, up in proxies}
        self.api = api
        self.url = f"http://{api[0]}:{api[1]}"
        self.requests = []  # (method, path, status) the API answered, for the runner's log
        self.server = None

    def start(self):
        for p in self.proxies.values():
            p.set_enabled(True)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                standin.requests.append((self.command, self.path, status))

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n) or b"{}") if n else {}

            def _route(self):
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                try:
                    standin.handle(self.command, parts, self._body, self._answer)
                except (ValueError, TypeError) as e:
                    self._answer(400, {"error": str(e), "status": 400})
                except KeyError as e:
                    self._answer(409, {"error": str(e), "status": 409})

            do_GET = do_POST = do_DELETE = _route

        self.server = ThreadingHTTPServer(self.api, Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def handle(self, method, parts, body, answer):
        notfound = lambda what: answer(404, {"error": f"{what} not found", "status": 404})
        if parts == ["version"] and method == "GET":
            return answer(200, "weir-standin-2.1")
        if parts == ["reset"] and method == "POST":
            for p in self.proxies.values():
                p.set_enabled(True)
                with p.lock:
                    p.toxics = []
            return answer(204)
        if parts == ["proxies"] and method == "GET":
            return answer(200, {n: p.describe() for n, p in self.proxies.items()})
        if len(parts) >= 2 and parts[0] == "proxies":
            p = self.proxies.get(parts[1])
            if p is None:
                return notfound("proxy")
            if len(parts) == 2 and method == "GET":
                return answer(200, p.describe())
            if len(parts) == 2 and method == "POST":
                spec = body()
                if spec.get("listen", p.listen) != p.listen or spec.get("upstream", p.upstream) != p.upstream:
                    raise ValueError("the stand-in cannot move a proxy (listen, upstream)")
                if "enabled" in spec:
                    p.set_enabled(bool(spec["enabled"]))
                return answer(200, p.describe())
            if len(parts) == 3 and parts[2] == "toxics":
                if method == "GET":
                    return answer(200, p.describe()["toxics"])
                if method == "POST":
                    return answer(200, p.add_toxic(body()))
            if len(parts) == 4 and parts[2] == "toxics":
                if method == "GET":
                    t = [t for t in p.describe()["toxics"] if t["name"] == parts[3]]
                    return answer(200, t[0]) if t else notfound("toxic")
                if method == "DELETE":
                    return answer(204) if p.remove_toxic(parts[3]) else notfound("toxic")
        return answer(405 if parts else 404, {"error": f"{method} /{'/'.join(parts)}", "status": 405})

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for p in self.proxies.values():
            p.set_enabled(False)
        if self.capture:
            self.capture.close()

    @property
    def label(self):
        return self.capture.label if self.capture else None

    @label.setter
    def label(self, value):
        if self.capture:
            self.capture.label = value

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
