"""A small threaded HTTP server on 127.0.0.1 for fake provider APIs (tests and benchmarks).

Subclasses register routes; the base class gives them::

    with SomeFake() as fake:                       # start() on a free port, stop() on exit
        fake.base_url                              # http://127.0.0.1:<port><prefix>
        fake.fail_next(2, status=500)              # the next 2 matching calls answer 500
        fake.rate_limit_next(1, retry_after=1)     # 429 + Retry-After (seconds or HTTP date)
        fake.delay_next(1, seconds=2)              # answer late (then handle the call)
        fake.malformed_next(1)                     # 200 with a body that is not JSON
        fake.disconnect_next(1)                    # close the connection without answering
        fake.truncate_next(1)                      # handle the call, cut its answer short
        fake.chaos(0.3, seed=7)                    # from now on, 30 % of calls fail at random
        fake.call_count("POST", "/documents")      # calls per method / path substring
        fake.calls                                 # Counter {"GET /v1/documents/{id}": n}
        fake.requests[-1]                          # recent RecordedRequest (last 100)

Every fault takes ``method=`` and ``path=`` (a substring of the request path) filters.
No pytest imports here: the Odoo test suite and the benchmarks import this module too.
"""

import collections
import json
import random
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime as http_date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024 * 1024


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict
    headers: dict  # lower-case names
    body: bytes
    match: dict = field(default_factory=dict)

    def json(self):
        """The parsed JSON body (parsed once; raises ValueError if it is not JSON)."""
        if "_json" not in self.__dict__:
            self.__dict__["_json"] = json.loads(self.body) if self.body else None
        return self.__dict__["_json"]

    def form(self):
        return {
            k: v[-1]
            for k, v in urllib.parse.parse_qs(
                self.body.decode("utf-8", "replace"), keep_blank_values=True
            ).items()
        }

    @property
    def bearer(self):
        value = self.headers.get("authorization", "")
        return value[7:].strip() if value.lower().startswith("bearer ") else ""


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict
    headers: dict
    json: object


@dataclass
class FakeResponse:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def json_response(data, status=200, headers=None):
    body = json.dumps(data).encode()
    return FakeResponse(status, body, {"Content-Type": "application/json", **(headers or {})})


def empty_response(status=204):
    return FakeResponse(status, b"", {})


@dataclass
class _Fault:
    kind: str
    remaining: int
    method: str | None
    path: str | None
    options: dict

    def matches(self, request):
        if self.method and request.method != self.method.upper():
            return False
        return not (self.path and self.path not in request.path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_connections = set()
        self.connections_lock = threading.Lock()

    def close_open_connections(self):
        """Cut kept-alive connections too: a stopped fake must not keep answering."""
        with self.connections_lock:
            connections = list(self.open_connections)
            self.open_connections.clear()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeProvider/1.0"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every kept-alive request.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.open_connections.discard(self.connection)

    def log_message(self, format, *args):  # noqa: A002 - silence stderr access logs
        return

    def _serve(self):
        self.server.fake._handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve


class FakeServer:
    """Base of the fake provider servers. Not started until :meth:`start`."""

    prefix = ""

    def __init__(self, *, clock=None):
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.lock = threading.RLock()
        self._routes = []
        self._faults = []
        self._chaos = None  # (rate, kinds, random.Random) while chaos is on
        self.faults_served = collections.Counter()  # kind -> faults answered
        self.calls = collections.Counter()
        self.requests = collections.deque(maxlen=100)
        self._httpd = None
        self._thread = None
        self._stopping = threading.Event()

    # --- lifecycle ---
    def start(self):
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_open_connections()
        self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        if self._httpd is None:
            raise RuntimeError("the fake server is not started")
        return self._httpd.server_address[1]

    @property
    def host_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self):
        return f"{self.host_url}{self.prefix}"

    def now(self):
        value = self.clock()
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    # --- routes ---
    def add_route(self, method, template, handler):
        """``template`` like ``/v1/documents/{id}``; the handler gets a :class:`FakeRequest`
        (``request.match`` holds the placeholders) and returns a :class:`FakeResponse` or a
        JSON-able object (answered 200)."""
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        self._routes.append((method.upper(), re.compile(pattern), template, handler))

    # --- faults ---
    def _add_fault(self, kind, n, method, path, **options):
        with self.lock:
            self._faults.append(_Fault(kind, int(n), method, path, options))

    def fail_next(self, n=1, status=500, *, method=None, path=None, body=None):
        self._add_fault("status", n, method, path, status=status, body=body)

    def rate_limit_next(self, n=1, retry_after=1, *, method=None, path=None, http_date=False):
        self._add_fault("rate_limit", n, method, path, retry_after=retry_after, http_date=http_date)

    def delay_next(self, n=1, seconds=1.0, *, method=None, path=None):
        self._add_fault("delay", n, method, path, seconds=seconds)

    def malformed_next(self, n=1, *, method=None, path=None):
        self._add_fault("malformed", n, method, path)

    def disconnect_next(self, n=1, *, method=None, path=None):
        self._add_fault("disconnect", n, method, path)

    def truncate_next(self, n=1, *, method=None, path=None):
        """The call is handled (a POST creates its document), then its answer is cut short:
        the client never learns what the service did."""
        self._add_fault("truncate", n, method, path)

    CHAOS_KINDS = ("500", "503", "429", "slow", "malformed", "truncate", "disconnect")

    def chaos(self, rate, *, kinds=CHAOS_KINDS, seed=None, retry_after=1, slow_seconds=3.0):
        """From now on, each call fails with probability ``rate``, with a kind drawn from
        ``kinds``: 500, 503, 429 (``Retry-After: retry_after``), ``slow`` (answered after
        ``slow_seconds``, longer than a client's read timeout), ``malformed`` (200 with a body
        that is not JSON), ``truncate`` (handled, then the answer is cut short) and
        ``disconnect`` (no answer). ``rate=0`` stops it. Reproducible with ``seed``."""
        with self.lock:
            self._chaos = (
                (
                    float(rate),
                    tuple(kinds),
                    random.Random(seed),
                    {"retry_after": retry_after, "seconds": slow_seconds},
                )
                if rate
                else None
            )

    def clear_faults(self):
        with self.lock:
            self._faults.clear()
            self._chaos = None

    def _take_fault(self, request):
        with self.lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(request):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    self.faults_served[fault.kind] += 1
                    return fault
            if self._chaos is not None:
                rate, kinds, rng, options = self._chaos
                if rng.random() < rate:
                    kind = rng.choice(kinds)
                    self.faults_served[kind] += 1
                    if kind == "429":
                        return _Fault("rate_limit", 1, None, None, options)
                    if kind.isdigit():
                        return _Fault("status", 1, None, None, {"status": int(kind), "body": None})
                    if kind == "slow":
                        return _Fault("delay", 1, None, None, options)
                    return _Fault(kind, 1, None, None, {})
        return None

    # --- counting ---
    def call_count(self, method=None, path=None):
        """Calls received, filtered by method and by a substring of the route template or
        of the path."""
        with self.lock:
            return sum(
                n
                for key, n in self.calls.items()
                if (not method or key.split(" ", 1)[0] == method.upper())
                and (not path or path in key.split(" ", 1)[1])
            )

    @property
    def total_calls(self):
        with self.lock:
            return sum(self.calls.values())

    def reset_calls(self):
        with self.lock:
            self.calls.clear()
            self.requests.clear()

    # --- dispatch ---
    def _handle(self, handler):
        parsed = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._write(handler, FakeResponse(413, b"too large"))
            return
        body = handler.rfile.read(length) if length else b""
        request = FakeRequest(
            method=handler.command,
            path=urllib.parse.unquote(parsed.path),
            query={
                k: v[-1]
                for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()
            },
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        route = None
        for method, pattern, template, route_handler in self._routes:
            match = pattern.match(parsed.path)  # still quoted: an id may hold "%2F"
            if match and method == request.method:
                request.match = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
                route = (template, route_handler)
                break
        key = f"{request.method} {route[0] if route else request.path}"
        try:
            parsed_json = (
                request.json()
                if request.headers.get("content-type", "").startswith("application/json")
                else None
            )
        except ValueError:
            parsed_json = None
        with self.lock:
            self.calls[key] += 1
            self.requests.append(
                RecordedRequest(
                    request.method, request.path, request.query, request.headers, parsed_json
                )
            )
        fault = self._take_fault(request)
        if fault is not None and fault.kind != "truncate":
            response = self._apply_fault(fault, handler)
            if response is not None:
                self._write(handler, response)
                return
            if fault.kind == "disconnect":
                return
        if route is None:
            response = json_response({"error": "not_found", "message": "no such route"}, 404)
        else:
            try:
                response = route[1](request)
            except Exception as exc:  # a fake must answer even when a handler breaks
                response = json_response({"error": "fake_error", "message": repr(exc)}, 500)
        if not isinstance(response, FakeResponse):
            response = json_response(response)
        if fault is not None and fault.kind == "truncate":
            self._write_truncated(handler, response)
            return
        self._write(handler, response)

    @staticmethod
    def _write_truncated(handler, response):
        """Announce the whole body, send half of it, close the connection."""
        handler.close_connection = True
        try:
            handler.send_response(response.status)
            for name, value in {
                **response.headers,
                "Content-Length": str(len(response.body) + 10),
            }.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(response.body[: len(response.body) // 2])
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _apply_fault(self, fault, handler):
        options = fault.options
        if fault.kind == "status":
            body = options.get("body")
            if body is None:
                return json_response(
                    {"error": "server_error", "message": "injected failure"}, options["status"]
                )
            if isinstance(body, (dict, list)):
                return json_response(body, options["status"])
            return FakeResponse(
                options["status"],
                body if isinstance(body, bytes) else str(body).encode(),
                {"Content-Type": "text/plain"},
            )
        if fault.kind == "rate_limit":
            retry_after = options["retry_after"]
            if options.get("http_date"):
                value = http_date(
                    datetime.fromtimestamp(time.time() + retry_after, timezone.utc), usegmt=True
                )
            else:
                value = str(int(retry_after))
            return json_response(
                {"error": "rate_limited", "message": "slow down"}, 429, {"Retry-After": value}
            )
        if fault.kind == "malformed":
            return FakeResponse(200, b'{"this is": not json', {"Content-Type": "application/json"})
        if fault.kind == "delay":
            self._stopping.wait(options["seconds"])
            return None
        if fault.kind == "disconnect":
            handler.close_connection = True
            try:
                handler.connection.shutdown(2)
            except OSError:
                pass
            return None
        return None

    @staticmethod
    def _write(handler, response):
        try:
            handler.send_response(response.status)
            headers = {"Content-Length": str(len(response.body)), **response.headers}
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            if handler.command != "HEAD" and response.body:
                handler.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
