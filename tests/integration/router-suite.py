#!/usr/bin/env python3
"""dyno-router integration suite: real router, real backends on loopback, real clients
(curl and raw sockets). Run as `router-suite.py GROUP` with GROUP one of conformance,
malformed, hcodes, reload; prints TAP. Every process it starts is killed by PID on exit."""
import atexit
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP_SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_BUILD = os.environ.get("top_builddir", ".")
ROUTER = os.path.join(TOP_BUILD, "dyno-router")
BACKEND = os.path.join(TOP_SRC, "tests", "helpers", "router-backend.py")

# ---------------------------------------------------------------- TAP

_n = 0
_failed = 0


def ok(cond, name, diag=None):
    global _n, _failed
    _n += 1
    if cond:
        print(f"ok {_n} - {name}", flush=True)
    else:
        _failed += 1
        print(f"not ok {_n} - {name}", flush=True)
        if diag is not None:
            for line in str(diag).splitlines()[:20]:
                print(f"# {line}", flush=True)
    return cond


def is_(got, want, name):
    return ok(got == want, name, f"got {got!r}, want {want!r}")


def like(got, regex, name):
    return ok(got is not None and re.search(regex, got) is not None, name,
              f"got {got!r}, want match of /{regex}/")


def done():
    print(f"1..{_n}", flush=True)
    sys.exit(1 if _failed else 0)


def skip_all(reason):
    print(f"1..0 # SKIP {reason}", flush=True)
    sys.exit(77)


def poll(fn, timeout=10.0, step=0.02):
    """Bounded polling: fn() until truthy or the deadline; returns the last value."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


# ---------------------------------------------------------------- processes


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="router-test-")
        self.procs = []
        self.router_proc = None
        self.router_port = None
        self.routes_path = os.path.join(self.tmp, "routes.json")
        self.log_path = os.path.join(self.tmp, "router.log")
        atexit.register(self.cleanup)
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))

    def cleanup(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        self.procs = []
        shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def free_port():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def backend(self, name="web.1", *extra):
        port = self.free_port()
        rec = os.path.join(self.tmp, f"rec-{name}-{port}")
        ready = os.path.join(self.tmp, f"ready-{port}")
        open(rec, "wb").close()
        p = subprocess.Popen([sys.executable, BACKEND, "--port", str(port), "--name", name,
                              "--record", rec, "--ready-file", ready, *extra])
        self.procs.append(p)
        if not poll(lambda: os.path.exists(ready), 15):
            raise RuntimeError(f"backend {name} did not start")
        return {"port": port, "record": rec, "proc": p, "name": name}

    def write_routes(self, apps, base="dynohost.test"):
        tmp = self.routes_path + ".new"
        with open(tmp, "w") as f:
            json.dump({"base_domain": base, "apps": apps}, f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, self.routes_path)

    def router(self, *extra, routes=True, pass_fds=()):
        port = self.free_port()
        args = [ROUTER, "--listen", f"127.0.0.1:{port}", "--request-log", self.log_path]
        args += os.environ.get("ROUTER_TEST_ARGS", "").split()
        if routes:
            args += ["--routes", self.routes_path]
        args += list(extra)
        stderr = open(os.path.join(self.tmp, f"router-{port}.err"), "wb")
        p = subprocess.Popen(args, stderr=stderr, pass_fds=pass_fds)
        self.procs.append(p)
        self.router_proc = p
        self.router_port = port

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return p.poll() is not None and "exited"
        if poll(up, 15) is not True:
            raise RuntimeError("router did not start: " +
                               open(stderr.name, errors="replace").read())
        return port

    def stop_router(self, timeout=20):
        p = self.router_proc
        os.kill(p.pid, signal.SIGTERM)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log(self):
        try:
            return open(self.log_path, errors="replace").read()
        except FileNotFoundError:
            return ""

    def log_has(self, regex, timeout=5):
        return bool(poll(lambda: re.search(regex, self.log()), timeout))


def dyno(name, be, state="up"):
    return {"name": name, "addr": "127.0.0.1", "port": be["port"] if be else 1, "state": state}


# ---------------------------------------------------------------- clients


class Conn:
    """A raw client connection with a small HTTP/1.1 response reader."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def read_response(self, head_only=False):
        """Returns (status, headers dict lowercased (last wins), list of header pairs, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        pairs = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
        h = {k.lower(): v for k, v in pairs}
        body = b""
        if head_only or status in (204, 304) or 100 <= status < 200:
            return status, h, pairs, body
        if "content-length" in h:
            n = int(h["content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        elif h.get("transfer-encoding", "").lower() == "chunked":
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                line, _, self.buf = self.buf.partition(b"\r\n")
                size = int(line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                if size == 0:
                    while b"\r\n" not in self.buf:
                        self._fill()
                    self.buf = self.buf.partition(b"\r\n")[2]
                    break
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
        else:
            try:
                while True:
                    self._fill()
            except EOFError:
                pass
            body, self.buf = self.buf, b""
        return status, h, pairs, body

    def closed(self):
        """True when the peer closed (EOF) with nothing more to read."""
        try:
            self.s.settimeout(5)
            d = self.s.recv(1)
            return d == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def request(port, data, head_only=False):
    c = Conn(port)
    try:
        c.send(data)
        return c.read_response(head_only)
    finally:
        c.close()


def status_of(port, data):
    """Send raw bytes, return the status the router answered (or an error string)."""
    try:
        c = Conn(port, timeout=5)
        try:
            c.send(data)
        except OSError:
            pass
        st = c.read_response()[0]
        c.close()
        return st
    except (EOFError, OSError) as e:
        return f"no response ({type(e).__name__})"


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "20", *args], capture_output=True)
    return r.stdout.decode("latin-1"), r.returncode


def get(port, path="/", host="hello.example.com", headers=()):
    data = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
    for h in headers:
        data += h + "\r\n"
    return request(port, (data + "\r\n").encode())


# ---------------------------------------------------------------- groups


def hello_apps(be, extra_dynos=()):
    return {"hello": {"domains": ["hello.example.com", "*.wild.example.com"],
                      "dynos": [dyno("web.1", be), *extra_dynos]}}


def group_conformance():
    env = Env()
    a = env.backend("web.1")
    env.write_routes(hello_apps(a))
    port = env.router("--request-timeout", "10s")

    out, rc = curl("-H", "Host: hello.example.com", f"http://127.0.0.1:{port}/")
    is_(out, "hello from web.1\n", "curl GET through the router reaches the dyno")

    st, h, _, body = get(port, "/echo", headers=["X-Forwarded-For: 203.0.113.9",
                                                 "X-Request-Id: abcdefghij0123456789"])
    e = json.loads(body)
    eh = {}
    for k, v in e["headers"]:
        eh.setdefault(k.lower(), []).append(v)
    is_(eh.get("x-forwarded-for"), ["203.0.113.9, 127.0.0.1"], "X-Forwarded-For is appended")
    is_(eh.get("x-forwarded-proto"), ["http"], "X-Forwarded-Proto is set")
    is_(eh.get("x-forwarded-port"), [str(port)], "X-Forwarded-Port is the listening port")
    like((eh.get("x-request-start") or [""])[0], r"^1[0-9]{12}$", "X-Request-Start is Unix ms")
    is_(eh.get("x-request-id"), ["abcdefghij0123456789"], "a valid client X-Request-Id is kept")
    is_(eh.get("via"), ["1.1 dynohost"], "Via is added")
    is_(e["version"], "HTTP/1.1", "the dyno gets HTTP/1.1")

    uuid4 = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    for rid, why in (("short", "too short"), ("a" * 201, "too long"),
                     ("abcdefghij0123456789_!", "bad characters")):
        _, _, _, body = get(port, "/echo", headers=[f"X-Request-Id: {rid}"])
        got = [v for k, v in json.loads(body)["headers"] if k.lower() == "x-request-id"]
        ok(len(got) == 1 and re.match(uuid4, got[0]), f"X-Request-Id {why} is replaced by a UUIDv4",
           got)
    _, _, _, body = get(port, "/echo")
    got = [v for k, v in json.loads(body)["headers"] if k.lower() == "x-request-id"]
    ok(len(got) == 1 and re.match(uuid4, got[0]), "a missing X-Request-Id gets a UUIDv4", got)

    # Rack/Thin fold "X_Forwarded_For" into the same variable as "X-Forwarded-For": such
    # underscore aliases of the fields the router owns or frames by must not reach the dyno.
    _, _, _, body = get(port, "/echo", headers=["X_Forwarded_For: 6.6.6.6",
                                                "X_Request_Start: 1", "Content_Length: 5",
                                                "X_Custom_Field: kept"])
    names = [k.lower() for k, _ in json.loads(body)["headers"]]
    ok(not any(n in names for n in ("x_forwarded_for", "x_request_start", "content_length")),
       "underscore aliases of router-owned and framing fields are dropped", names)
    ok("x_custom_field" in names, "other fields with underscores pass through", names)

    _, _, _, body = get(port, "/echo", headers=[
        "Connection: keep-alive, X-Secret", "X-Secret: 1", "Keep-Alive: timeout=5",
        "TE: trailers", "Trailer: X-T", "Proxy-Connection: keep-alive", "Upgrade: h2c",
        "X-Kept: yes"])
    names = [k.lower() for k, _ in json.loads(body)["headers"]]
    for hop in ("connection", "x-secret", "keep-alive", "te", "trailer", "proxy-connection",
                "upgrade"):
        ok(hop not in names, f"hop-by-hop field {hop} is not forwarded", names)
    ok("x-kept" in names, "end-to-end fields are forwarded")

    # Absolute-form: routed by its authority, sent to the dyno in origin form.
    st, _, _, body = request(port, b"GET http://hello.example.com/echo?x=1 HTTP/1.1\r\n"
                                   b"Host: other.example.org\r\n\r\n")
    e = json.loads(body)
    hosts = [v for k, v in e["headers"] if k.lower() == "host"]
    ok(st == 200 and e["target"] == "/echo?x=1" and hosts == ["hello.example.com"],
       "absolute-form target routes on its authority and reaches the dyno in origin form",
       (st, e["target"], hosts))

    # Host matching.
    for host, want, why in (("HELLO.Example.COM:80", 200, "case-insensitive, port ignored"),
                            ("hello.dynohost.test", 200, "<app>.<base domain>"),
                            ("x.y.wild.example.com", 200, "wildcard domain"),
                            ("hello.example.com.", 200, "trailing dot"),
                            ("nope.dynohost.test", 404, "unknown app is 404"),
                            ("wild.example.com", 404, "wildcard needs a label")):
        is_(get(port, "/", host)[0], want, f"Host {host}: {why}")

    # Heads larger than one receive buffer, and a head trickled in pieces.
    bigh = [f"X-Big-{i}: " + chr(97 + i) * 8000 for i in range(6)]
    st, _, _, body = get(port, "/echo", headers=bigh)
    got = {k: v for k, v in json.loads(body)["headers"]} if st == 200 else {}
    ok(st == 200 and all(got.get(f"X-Big-{i}") == chr(97 + i) * 8000 for i in range(6)),
       "a 48 KB request head (over several receives) arrives intact", st)
    c = Conn(port)
    for piece in (b"GET /echo?trickle=1 HT", b"TP/1.1\r\nHost: hello.exa", b"mple.com\r\nX-A: ",
                  b"b\r\n", b"\r\n"):
        c.send(piece)
        time.sleep(0.02)
    st, _, _, body = c.read_response()
    c.close()
    ok(st == 200 and json.loads(body)["target"] == "/echo?trickle=1",
       "a request head sent in five pieces is parsed", st)
    st, h, _, body = get(port, "/bighead?n=100000")
    ok(st == 200 and len(h.get("x-big", "")) == 100000 and body == b"ok",
       "a 100 KB response head (over several receives) is relayed", (st, len(h.get("x-big", ""))))

    # Bodies.
    st, _, _, body = request(port, b"POST /echo HTTP/1.1\r\nHost: hello.example.com\r\n"
                                   b"Content-Length: 11\r\n\r\nhello world")
    is_((st, json.loads(body)["body"]), (200, "hello world"), "Content-Length body forwarded")
    st, _, _, body = request(port, b"POST /echo HTTP/1.1\r\nHost: hello.example.com\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n"
                                   b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    is_((st, json.loads(body)["body"]), (200, "hello world"),
        "chunked body with extension and trailer forwarded")
    big = os.urandom(3 * 1024 * 1024)
    bigfile = os.path.join(env.tmp, "big")
    open(bigfile, "wb").write(big)
    out, rc = curl("-H", "Host: hello.example.com", "--data-binary", f"@{bigfile}",
                   "-H", "Content-Type: application/octet-stream",
                   f"http://127.0.0.1:{port}/echo")
    try:
        got = json.loads(out)["body"].encode("latin-1")
    except ValueError:
        got = b""
    ok(got == big, "a 3 MiB request body arrives intact (curl, Expect: 100-continue)")
    out, rc = curl("-H", "Host: hello.example.com", f"http://127.0.0.1:{port}/big?n=5000000")
    is_(len(out), 5000000, "a 5 MB response arrives intact")

    # Expect: 100-continue with a raw client that waits for it.
    c = Conn(port)
    c.send(b"PUT /echo HTTP/1.1\r\nHost: hello.example.com\r\nContent-Length: 4\r\n"
           b"Expect: 100-continue\r\n\r\n")
    st1 = c.read_response()[0]
    c.send(b"data")
    st2, _, _, body = c.read_response()
    c.close()
    is_((st1, st2, json.loads(body)["body"]), (100, 200, "data"),
        "Expect: 100-continue gets 100 before the body is sent")

    # Responses.
    out, rc = curl("-H", "Host: hello.example.com", f"http://127.0.0.1:{port}/chunked")
    is_(out, "alphabeta", "chunked response relayed to an HTTP/1.1 client")
    st, h, _, body = request(port, b"GET /chunked HTTP/1.0\r\nHost: hello.example.com\r\n\r\n")
    ok(st == 200 and body == b"alphabeta" and "transfer-encoding" not in h,
       "chunked response is de-chunked for an HTTP/1.0 client", (st, h, body))
    st, h, _, body = request(port, b"HEAD / HTTP/1.1\r\nHost: hello.example.com\r\n"
                                   b"Connection: close\r\n\r\n", head_only=True)
    ok(st == 200 and h.get("content-length") == "17", "HEAD keeps Content-Length", h)
    c = Conn(port)
    c.send(b"HEAD / HTTP/1.1\r\nHost: hello.example.com\r\n\r\n"
           b"GET /status?code=204 HTTP/1.1\r\nHost: hello.example.com\r\n\r\n"
           b"GET /status?code=304 HTTP/1.1\r\nHost: hello.example.com\r\n\r\n"
           b"GET / HTTP/1.1\r\nHost: hello.example.com\r\n\r\n")
    r1 = c.read_response(head_only=True)
    r2 = c.read_response()
    r3 = c.read_response()
    r4 = c.read_response()
    c.close()
    is_((r1[0], r2[0], r3[0], r4[0], r4[3]), (200, 204, 304, 200, b"hello from web.1\n"),
        "HEAD, 204 and 304 carry no body: the next response on the connection is intact")
    st, h, _, body = request(port, b"GET /http10 HTTP/1.1\r\nHost: hello.example.com\r\n\r\n")
    ok(st == 200 and body == b"old style body" and h.get("connection") == "close",
       "a close-delimited response is relayed and the client connection closed", (st, h, body))

    # Pipelining and keep-alive on the client side.
    c = Conn(port)
    c.send(b"".join(f"GET /echo?n={i} HTTP/1.1\r\nHost: hello.example.com\r\n\r\n".encode()
                    for i in range(5)))
    targets = [json.loads(c.read_response()[3])["target"] for _ in range(5)]
    is_(targets, [f"/echo?n={i}" for i in range(5)], "5 pipelined requests answered in order")
    c.send(b"GET /echo HTTP/1.1\r\nHost: hello.example.com\r\n\r\n")
    ok(c.read_response()[0] == 200, "the client connection stays open after pipelining")
    c.close()

    out, rc = curl("-H", "Host: hello.example.com", "-o", "/dev/null", "-o", "/dev/null",
                   "-w", "%{num_connects}\n", f"http://127.0.0.1:{port}/",
                   f"http://127.0.0.1:{port}/")
    is_(out.split(), ["1", "0"], "curl reuses its connection (client keep-alive)")

    # Keep-alive towards the dyno: new client connections reuse one dyno connection.
    conns = set()
    for _ in range(5):
        conns.add(get(port, "/conn")[3])
    is_(len(conns), 1, "sequential requests from new clients reuse one dyno connection")

    # The dyno closes a kept-alive connection right after a response: the next requests
    # (idempotent: retried on a fresh connection; POST: the stale one is detected first)
    # still succeed.
    def close_wait():
        r = subprocess.run(["ss", "-Htn", "state", "close-wait", "dst", f"127.0.0.1:{a['port']}"],
                           capture_output=True, text=True)
        return r.stdout.strip() != ""
    sts = []
    for method in ("GET", "POST", "GET", "DELETE", "POST"):
        get(port, "/closeafter")
        poll(close_wait, 5)  # the router's pooled connection has seen the dyno's FIN
        st, _, _, body = request(port, f"{method} /echo HTTP/1.1\r\nHost: hello.example.com\r\n"
                                        f"Content-Length: 2\r\n\r\nhi".encode())
        sts.append((st, json.loads(body)["body"] if st == 200 else body[:80]))
    is_(sts, [(200, "hi")] * 5, "dyno-closed keep-alive connections never fail a request")

    c = Conn(port)
    c.send(b"GET / HTTP/1.1\r\nHost: hello.example.com\r\nConnection: close\r\n\r\n")
    st, h, _, _ = c.read_response()
    ok(st == 200 and h.get("connection") == "close" and c.closed(),
       "Connection: close from the client: answered with close, then closed", h)
    c.close()
    c = Conn(port)
    c.send(b"GET / HTTP/1.0\r\nHost: hello.example.com\r\nConnection: keep-alive\r\n\r\n")
    st, h, _, _ = c.read_response()
    c.send(b"GET / HTTP/1.0\r\nHost: hello.example.com\r\n\r\n")
    st2, h2, _, _ = c.read_response()
    ok(st == 200 and h.get("connection", "").lower() == "keep-alive" and st2 == 200 and
       c.closed(), "HTTP/1.0: kept alive only when asked", (h, h2))
    c.close()

    # Websocket through Upgrade.
    c = Conn(port)
    key = base64.b64encode(os.urandom(16)).decode()
    c.send((f"GET /ws HTTP/1.1\r\nHost: hello.example.com\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    st, h, _, _ = c.read_response()
    echoes = []
    for msg in (b"hello websocket", b"x" * 300):
        mask = os.urandom(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(msg))
        ln = bytes([0x80 | len(msg)]) if len(msg) < 126 else bytes([0x80 | 126]) + \
            len(msg).to_bytes(2, "big")
        c.send(b"\x81" + ln + mask + payload)
        need = 2 + (2 if len(msg) >= 126 else 0) + len(msg)
        while len(c.buf) < need:
            c._fill()
        echoes.append(c.buf[need - len(msg):need])
        c.buf = c.buf[need:]
    c.close()
    ok(st == 101 and h.get("upgrade", "").lower() == "websocket" and
       echoes == [b"hello websocket", b"x" * 300], "websocket echo through Upgrade",
       (st, h, echoes))

    # Balancing across two dynos.
    b = env.backend("web.2")
    env.write_routes(hello_apps(a, [dyno("web.2", b)]))
    poll(lambda: "web.2" in get(port, "/")[3].decode(), 10)
    seen = {get(port, "/")[3].decode().strip() for _ in range(40)}
    is_(seen, {"hello from web.1", "hello from web.2"}, "requests spread over both dynos")

    # The log line.
    like(env.log(), r'dynohost\[router\]: at=info method=GET path="/" host=hello\.example\.com '
                    r'request_id=[0-9a-f-]{36} fwd="127\.0\.0\.1" dyno=web\.[12] connect=\d+ms '
                    r'service=\d+ms status=200 bytes=17 protocol=http',
         "one Heroku-format log line per request")
    is_(env.stop_router(), 0, "SIGTERM stops the router cleanly")
    done()


MALFORMED = [
    # (name, bytes, expected status)
    ("bare LF line endings", b"GET / HTTP/1.1\nHost: hello.example.com\n\n", 400),
    ("bare LF after a header", b"GET / HTTP/1.1\r\nHost: hello.example.com\nX: y\r\n\r\n", 400),
    ("bare CR in a value", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\nX: a\rb\r\n\r\n", 400),
    ("NUL in a value", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\nX: a\0b\r\n\r\n", 400),
    ("NUL in the target", b"GET /a\0b HTTP/1.1\r\nHost: hello.example.com\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : hello.example.com\r\n\r\n", 400),
    ("tab before colon", b"GET / HTTP/1.1\r\nHost\t: hello.example.com\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\nX: a\r\n b\r\n\r\n", 400),
    ("obs-fold with tab", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\nX: a\r\n\tb\r\n\r\n", 400),
    ("CL.TE", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\nContent-Length: 6\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", 400),
    ("TE.CL", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", 400),
    ("duplicate Content-Length, different", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("duplicate Content-Length, same", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Content-Length: 4\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("Content-Length list", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Content-Length: 4, 4\r\n\r\nabcd", 400),
    ("Content-Length negative", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Content-Length: -1\r\n\r\n", 400),
    ("Content-Length with plus", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Content-Length: +4\r\n\r\nabcd", 400),
    ("Content-Length hex", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Content-Length: 0x4\r\n\r\nabcd", 400),
    ("Content-Length overflow", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    ("Content-Length with inner space", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Content-Length: 1 0\r\n\r\n", 400),
    ("Content-Length empty", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Content-Length:\r\n\r\n", 400),
    ("Transfer-Encoding twice", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding chunked, chunked", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding chunked not last", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding gzip only", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: gzip\r\n\r\nabc", 400),
    ("Transfer-Encoding look-alike", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding unknown coding", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: br, chunked\r\n\r\n0\r\n\r\n", 501),
    ("Transfer-Encoding quoted", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding with parameter", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding empty element", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding with tab inside", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: gzip,\tchunked\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding space before colon", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding in HTTP/1.0", b"POST / HTTP/1.0\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding vertical tab", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", 400),
    ("invalid header name character", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"X(a): b\r\n\r\n", 400),
    ("empty header name", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\n: b\r\n\r\n", 400),
    ("header without colon", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\nFoo\r\n\r\n", 400),
    ("DEL in a value", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\nX: a\x7fb\r\n\r\n", 400),
    ("control character in a value", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"X: a\x01b\r\n\r\n", 400),
    ("invalid method character", b"G(ET / HTTP/1.1\r\nHost: hello.example.com\r\n\r\n", 400),
    ("lower-case version", b"GET / http/1.1\r\nHost: hello.example.com\r\n\r\n", 400),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: hello.example.com\r\n\r\n", 505),
    ("junk after version", b"GET / HTTP/1.1x\r\nHost: hello.example.com\r\n\r\n", 400),
    ("HTTP/0.9 request line", b"GET /\r\n\r\n", 400),
    ("double space in request line", b"GET  / HTTP/1.1\r\nHost: hello.example.com\r\n\r\n", 400),
    ("space in the target", b"GET /a b HTTP/1.1\r\nHost: hello.example.com\r\n\r\n", 400),
    ("DEL in the target", b"GET /a\x7f HTTP/1.1\r\nHost: hello.example.com\r\n\r\n", 400),
    ("control character in the target", b"GET /\x01 HTTP/1.1\r\nHost: hello.example.com\r\n\r\n",
     400),
    ("non-ASCII in the target", b"GET /\xc3\xa9 HTTP/1.1\r\nHost: hello.example.com\r\n\r\n", 400),
    ("missing Host in HTTP/1.1", b"GET / HTTP/1.1\r\nX: y\r\n\r\n", 400),
    ("two Host fields", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\nHost: evil.example\r\n\r\n",
     400),
    ("Host with a space", b"GET / HTTP/1.1\r\nHost: hello example.com\r\n\r\n", 400),
    ("Host with userinfo", b"GET / HTTP/1.1\r\nHost: user@hello.example.com\r\n\r\n", 400),
    ("asterisk target with GET", b"GET * HTTP/1.1\r\nHost: hello.example.com\r\n\r\n", 400),
    ("absolute-form with ftp scheme", b"GET ftp://hello.example.com/ HTTP/1.1\r\n"
     b"Host: hello.example.com\r\n\r\n", 400),
    ("absolute-form with userinfo", b"GET http://u@hello.example.com/ HTTP/1.1\r\n"
     b"Host: hello.example.com\r\n\r\n", 400),
    ("too many leading empty lines", b"\r\n" * 10 + b"GET / HTTP/1.1\r\n"
     b"Host: hello.example.com\r\n\r\n", 400),
    ("Expect other than 100-continue", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Expect: 200-ok\r\nContent-Length: 1\r\n\r\na", 417),
    ("CONNECT", b"CONNECT hello.example.com:443 HTTP/1.1\r\nHost: hello.example.com:443\r\n\r\n",
     501),
    ("chunk size not hex", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk size overflow", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk data without CRLF", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n", 400),
    ("chunk size with leading space", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk lines with bare LF", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n", 400),
    ("chunk extension with control character", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n", 400),
    ("malformed trailer", b"POST / HTTP/1.1\r\nHost: hello.example.com\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", 400),
    ("request line over 8192 bytes", b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\n"
     b"Host: hello.example.com\r\n\r\n", 414),
    ("header line over 8192 bytes", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\nX: " +
     b"a" * 8200 + b"\r\n\r\n", 431),
    ("header name over 1000 bytes", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\n" +
     b"X" * 1001 + b": a\r\n\r\n", 431),
    ("more than 1000 header fields", b"GET / HTTP/1.1\r\nHost: hello.example.com\r\n" +
     b"".join(b"X-%d: a\r\n" % i for i in range(1001)) + b"\r\n", 431),
]


def group_malformed():
    env = Env()
    a = env.backend("web.1")
    env.write_routes(hello_apps(a))
    port = env.router()
    ok(len(MALFORMED) >= 50, f"{len(MALFORMED)} malformed-request cases")
    for name, data, want in MALFORMED:
        got = status_of(port, data)
        size = os.path.getsize(a["record"])
        ok(got == want and size == 0, f"{name}: {want}, nothing reaches the dyno",
           f"status {got!r} (want {want}), dyno received {size} bytes")
    # Smuggling behind a valid request on the same connection: the first is served, the
    # second is refused and never forwarded.
    c = Conn(port)
    c.send(b"GET / HTTP/1.1\r\nHost: hello.example.com\r\n\r\n"
           b"POST / HTTP/1.1\r\nHost: hello.example.com\r\nContent-Length: 5\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n")
    st1 = c.read_response()[0]
    st2 = c.read_response()[0]
    c.close()
    rec = open(a["record"], "rb").read()
    ok(st1 == 200 and st2 == 400 and b"POST" not in rec and b"/admin" not in rec,
       "a smuggling attempt pipelined behind a valid request is refused, not forwarded",
       (st1, st2, rec[:200]))
    ok(env.log_has(r"at=error code=H26 desc=\"Request Error\".*status=400"),
       "malformed requests are logged as H26")
    ok(env.log_has(r"at=error code=H25 .*status=431"), "oversize heads are logged as H25")
    st = get(port, "/")[0]
    is_(st, 200, "the router still serves after all of that")
    is_(env.stop_router(), 0, "router stops cleanly")
    done()


def group_hcodes():
    env = Env()
    a = env.backend("web.1")
    b = env.backend("web.2")
    refused = env.free_port()  # nothing listens there
    # A listener that never accepts, its backlog filled: connects to it hang (H19).
    black = socket.socket()
    black.bind(("127.0.0.1", 0))
    black.listen(0)
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(black.getsockname())
        except BlockingIOError:
            pass
        fillers.append(f)
    hang = black.getsockname()[1]

    apps = {
        "hello": {"domains": ["hello.example.com"], "dynos": [dyno("web.1", a)]},
        "crashed": {"dynos": [dyno("web.1", None, "crashed")]},
        "empty": {"dynos": []},
        "maint": {"maintenance": True, "dynos": [dyno("web.1", a)]},
        "booting": {"dynos": [dyno("web.1", a, "booting")]},
        "refused": {"dynos": [{"name": "web.1", "addr": "127.0.0.1", "port": refused}]},
        "retry": {"dynos": [{"name": "web.1", "addr": "127.0.0.1", "port": refused},
                            {"name": "web.2", "addr": "127.0.0.1", "port": b["port"]}]},
        "hang": {"dynos": [{"name": "web.1", "addr": "127.0.0.1", "port": hang}]},
        "later": {"dynos": [dyno("web.1", a, "booting")]},
    }
    env.write_routes(apps)
    port = env.router("--connect-timeout", "300ms", "--request-timeout", "500ms",
                      "--idle-timeout", "500ms", "--boot-timeout", "500ms")

    def check(host, path, status, code, name):
        st, h, _, body = get(port, path, host)
        ok(st == status and (code is None or code.encode() in body), f"{name}: {status}",
           (st, body[:200]))
        if code:
            ok(env.log_has(rf"at=error code={code} .*host={re.escape(host)} .*status={status}"),
               f"{name}: logged as {code}")

    check("crashed.dynohost.test", "/", 503, "H10", "all dynos crashed (H10)")
    check("empty.dynohost.test", "/", 503, "H14", "no web dynos (H14)")
    check("maint.dynohost.test", "/", 503, "H80", "maintenance mode (H80)")
    check("booting.dynohost.test", "/", 503, "H20", "boot timeout (H20)")
    check("refused.dynohost.test", "/", 503, "H21", "connection refused (H21)")
    check("hang.dynohost.test", "/", 503, "H19", "connect timeout (H19)")
    check("hello.example.com", "/sleep?ms=3000", 503, "H12", "no response in time (H12)")
    check("hello.example.com", "/close", 503, "H13", "closed without response (H13)")
    check("hello.example.com", "/bad", 502, "H17", "malformed response (H17)")
    check("nope.dynohost.test", "/", 404, None, "no such app")

    sts = [get(port, "/", "retry.dynohost.test")[0] for _ in range(20)]
    is_(sts, [200] * 20, "a refused connect is retried on another dyno (20 of 20 succeed)")
    sts = []
    for _ in range(10):
        c = Conn(port)
        c.send(b"POST /echo HTTP/1.1\r\nHost: retry.dynohost.test\r\nContent-Length: 10\r\n\r\n01234")
        time.sleep(0.02)  # the rest of the body comes later (the scenario, not a wait)
        c.send(b"56789")
        st, _, _, body = c.read_response()
        sts.append((st, json.loads(body)["body"] if st == 200 else None))
        c.close()
    is_(sts, [(200, "0123456789")] * 10,
        "a refused connect is retried even while the request body is still arriving")

    # H15: the dyno sends part of the body, then nothing.
    c = Conn(port)
    c.send(b"GET /stall HTTP/1.1\r\nHost: hello.example.com\r\n\r\n")
    got = b""
    try:
        while True:
            d = c.s.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    c.close()
    ok(got.startswith(b"HTTP/1.1 200") and got.endswith(b"partial"),
       "idle dyno mid-body: the client gets what was sent, then a close", got[-40:])
    ok(env.log_has(r"at=error code=H15 .*path=\"/stall\""), "idle dyno is logged as H15")

    # H28: the client stops sending its body.
    c = Conn(port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: hello.example.com\r\nContent-Length: 100\r\n\r\nabc")
    ok(c.closed(), "an idle client mid-body is disconnected")
    c.close()
    ok(env.log_has(r"at=error code=H28 .*status=499"), "idle client is logged as H28 (499)")

    # H27: the client goes away mid-body.
    c = Conn(port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: hello.example.com\r\nContent-Length: 100\r\n\r\nabc")
    time.sleep(0.1)  # let the router forward the head before the client leaves
    c.close()
    ok(env.log_has(r"at=error code=H27 .*status=499"), "client gone mid-request is logged H27")
    c = Conn(port)
    c.send(b"GET /sleep?ms=400 HTTP/1.1\r\nHost: hello.example.com\r\n\r\n")
    poll(lambda: b"/sleep?ms=400" in open(a["record"], "rb").read(), 5)
    c.close()
    ok(env.log_has(r"at=error code=H27 .*path=\"/sleep\?ms=400\".*status=499"),
       "client gone while the dyno works is logged H27")

    # A booting dyno that comes up in time: the waiting request is served.
    env2 = Env()
    env2.write_routes({"later": {"dynos": [dyno("web.1", a, "booting")]}})
    port2 = env2.router("--boot-timeout", "20s")
    result = {}

    def waiter():
        result["r"] = get(port2, "/", "later.dynohost.test")
    t = threading.Thread(target=waiter)
    t.start()
    ok(env2.log() == "" and t.is_alive(), "a request for a booting app waits")
    env2.write_routes({"later": {"dynos": [dyno("web.1", a, "up")]}})
    t.join(20)
    r = result.get("r")
    ok(r is not None and r[0] == 200, "it is served once the dyno is up",
       r[:2] if r else "no answer")
    env2.stop_router()
    env2.cleanup()
    for f in fillers:
        f.close()
    black.close()
    is_(env.stop_router(), 0, "router stops cleanly")
    done()


def group_reload():
    env = Env()
    a = env.backend("web.1")
    b = env.backend("web.2")
    env.write_routes({"hello": {"domains": ["hello.example.com"], "dynos": [dyno("web.1", a)]}})
    port = env.router("--workers", "2")

    # Load from 4 keep-alive clients while the table flips between the two dynos.
    stop = threading.Event()
    stats = {"ok": 0, "bad": [], "seen": set()}
    lock = threading.Lock()

    def client():
        c = None
        while not stop.is_set():
            try:
                if c is None:
                    c = Conn(port)
                c.send(b"GET / HTTP/1.1\r\nHost: hello.example.com\r\n\r\n")
                st, _, _, body = c.read_response()
                with lock:
                    if st == 200:
                        stats["ok"] += 1
                        stats["seen"].add(body.decode().strip())
                    else:
                        stats["bad"].append(st)
            except (OSError, EOFError) as e:
                with lock:
                    stats["bad"].append(repr(e))
                c = None
        if c:
            c.close()

    # A slow request that is in flight across every reload.
    slow = {}

    def slow_req():
        slow["r"] = get(port, "/sleep?ms=1500")
    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    st = threading.Thread(target=slow_req)
    st.start()
    for i in range(10):
        be = b if i % 2 == 0 else a  # ends on a (web.1)
        env.write_routes({"hello": {"domains": ["hello.example.com"],
                                    "dynos": [dyno(be["name"], be)]}})
        want = f"hello from {be['name']}"
        poll(lambda: want in stats["seen"] and get(port)[3].decode().strip() == want, 10)
        with lock:
            stats["seen"].clear()
    # A broken table is refused and the current one stays.
    with open(env.routes_path + ".new", "w") as f:
        f.write("{ not json")
    os.rename(env.routes_path + ".new", env.routes_path)
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    st.join()
    ok(stats["ok"] > 100 and not stats["bad"],
       f"10 reloads under load: {stats['ok']} requests, none failed", stats["bad"][:10])
    ok(slow.get("r", (0,))[0] == 200, "a request in flight across the reloads completes")
    is_(get(port)[3].decode().strip(), "hello from web.1",
        "an invalid route file is refused and the last good table kept")

    # Graceful stop: in-flight request finishes, then the router exits 0.
    res = {}
    t = threading.Thread(target=lambda: res.setdefault("r", get(port, "/sleep?ms=800")))
    t.start()
    poll(lambda: b"/sleep?ms=800" in open(a["record"], "rb").read(), 10)
    rc = env.stop_router()
    t.join(20)
    ok(res.get("r", (0,))[0] == 200, "graceful stop: the request in flight is answered")
    is_(rc, 0, "graceful stop: exit status 0")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    ok(refused, "after the stop no new connection is accepted")

    # Route tables as a stream over a pipe (--routes-fd).
    r_fd, w_fd = os.pipe()
    port = env.router("--routes-fd", str(r_fd), routes=False, pass_fds=(r_fd,))
    os.close(r_fd)
    is_(get(port)[0], 404, "stream: no table yet, no app")
    w = os.fdopen(w_fd, "w")

    def table(be):
        return json.dumps({"apps": {"hello": {"domains": ["hello.example.com"],
                                              "dynos": [dyno(be["name"], be)]}}})
    w.write(table(a)[:20])
    w.flush()
    w.write(table(a)[20:] + "\n")
    w.flush()
    ok(poll(lambda: get(port)[3] == b"hello from web.1\n", 10),
       "stream: a table split across writes is applied")
    w.write("not json\n" + table(b) + "\n")
    w.flush()
    ok(poll(lambda: get(port)[3] == b"hello from web.2\n", 10),
       "stream: a bad line is skipped, the next table applied")
    w.close()
    time.sleep(0.1)
    is_(get(port)[3], b"hello from web.2\n", "stream: the writer closing keeps the last table")
    is_(env.stop_router(), 0, "router stops cleanly")

    # The drain bound: a request that outlives it is cut, and the router still exits 0.
    env.write_routes({"hello": {"domains": ["hello.example.com"], "dynos": [dyno("web.1", a)]}})
    port = env.router("--drain-timeout", "300ms")
    res = {}

    def long_req():
        try:
            res["r"] = get(port, "/sleep?ms=30000")
        except (OSError, EOFError) as e:
            res["r"] = repr(e)
    t = threading.Thread(target=long_req)
    t.start()
    poll(lambda: b"/sleep?ms=30000" in open(a["record"], "rb").read(), 10)
    is_(env.stop_router(), 0, "drain bound: exit 0 with a request still in flight")
    t.join(10)
    ok(isinstance(res.get("r"), str), "drain bound: the request in flight was cut", res.get("r"))
    ok(env.log_has(r"at=error code=H99 .*path=\"/sleep\?ms=30000\""),
       "drain bound: the cut request is logged")
    done()


def group_process():
    env = Env()
    a = env.backend("web.1")
    env.write_routes(hello_apps(a))

    # A parent binds the socket (as root could for port 80) and hands it over; the router
    # drops to nobody and logs to a datagram socket as well.
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(128)
    lport = lsock.getsockname()[1]
    dgram_path = os.path.join(env.tmp, "log.sock")
    dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dg.bind(dgram_path)
    os.chmod(env.tmp, 0o755)
    os.chmod(env.routes_path, 0o644)
    port = env.free_port()
    args = [ROUTER, "--listen-fd", str(lsock.fileno()), "--routes", env.routes_path,
            "--request-log", "none", "--log-socket", dgram_path, "--workers", "2"]
    if os.getuid() == 0:
        args += ["--user", "nobody"]
    p = subprocess.Popen(args, pass_fds=(lsock.fileno(),), stderr=subprocess.DEVNULL)
    env.procs.append(p)
    lsock.close()
    env.router_proc = p
    r = poll(lambda: get(lport)[0] if p.poll() is None else "exited", 10)
    is_(r, 200, "--listen-fd: the inherited socket is served")
    if os.getuid() == 0:
        uids = [l for l in open(f"/proc/{p.pid}/status") if l.startswith("Uid:")][0].split()[1:]
        is_(set(uids), {str(65534)}, "--user nobody: every uid is nobody's")
    else:
        ok(True, "# SKIP --user needs root")
    dg.settimeout(5)
    try:
        msg = dg.recv(4096).decode()
    except socket.timeout:
        msg = ""
    like(msg, r"^hello \S+ dynohost\[router\]: at=info method=GET path=\"/\" .*status=200",
         "--log-socket: one datagram \"<app> <line>\" per request")
    # Route file changes still apply after the privilege drop.
    b = env.backend("web.2")
    env.write_routes(hello_apps(b))
    os.chmod(env.routes_path, 0o644)
    ok(poll(lambda: get(lport)[3] == b"hello from web.2\n", 10),
       "the dropped router still reloads the route file")
    is_(env.stop_router(), 0, "stops cleanly")
    dg.close()
    done()


def main():
    if not os.access(ROUTER, os.X_OK):
        skip_all(f"{ROUTER} not built")
    if shutil.which("curl") is None:
        skip_all("needs curl")
    groups = {"conformance": group_conformance, "malformed": group_malformed,
              "hcodes": group_hcodes, "reload": group_reload, "process": group_process}
    if len(sys.argv) != 2 or sys.argv[1] not in groups:
        print("usage: router-suite.py " + "|".join(groups), file=sys.stderr)
        sys.exit(2)
    groups[sys.argv[1]]()


if __name__ == "__main__":
    main()
