#!/usr/bin/env python3
"""A stand-in for Nudge's Segment API on loopback, for the replay tests and benchmark.

    python3 scripts/fake_nudge.py --log requests.ndjson --api-key KEY [--faults JSON]
                                  [--quiet-log [--bodies FILE]] [--engine asyncio|threaded] [--port N]

Serves, like Nudge as Segment's destination calls it:
    PUT  /identify       one identify body (a JSON object)
    POST /events/batch   a JSON array of track bodies
checking the headers `apikey` (401 when wrong), `p: 17` and `Content-Type:
application/json` (400 when missing), and answers 200 with `{"ok":true}`. Other paths
(or a body that is not JSON) answer 404; methods other than PUT and POST answer 501
and are neither counted nor logged. HTTP/1.1 keep-alive; bodies by Content-Length
(or chunked); `Expect: 100-continue` is honoured.

It prints `listening on PORT` on standard output once it accepts connections, and
appends one JSON line per request to --log: the request number, method, path,
headers, body, when it arrived and was answered, and the status (null for a dropped
or cut connection). Every line is flushed as it is written. Fields, in order:
    n, method, path, arrived, headers (names lowercased), body, status, answered
and `"cut": true` on a request cut by cut_every (its body is null).
With --quiet-log each line holds only
    n, method, path, arrived, idempotency_key (the header's value or null),
    elements (a batch's array length, 1 for an object body, null when not JSON),
    [body_at,] status, answered [, cut]
so that a benchmark of 100k requests does not spend its time writing bodies; the
asyncio engine then flushes the log every 0.2 s and when it stops (SIGTERM or
SIGINT), not after every line. With --bodies FILE too, each request's raw body bytes
are appended to FILE as they came and its line gets "body_at": [offset, length].

--faults injects failures, by request number (1-based, in arrival order):
    {"status": {"3": [429, "1"], "5": [500, null]}}   answer with this status (and Retry-After)
    {"status_every": {"13": [500, null], "17": [429, "1"]}}
                                                       request n with n % K == 0 answers that
                                                       status (and Retry-After); like "status"
    {"storm": {"from": 100, "to": 300, "retry_after": "1"}}
                                                       requests 100..300 (inclusive) answer 429
                                                       with that Retry-After (null: none)
    {"revoke_after": 50}                               requests numbered above 50 answer 401
                                                       (the key revoked half-way)
    {"drop": [8]}                                      close the connection without answering
                                                       (after reading the whole request)
    {"cut_every": 29}                                  every 29th request (n % 29 == 0) is cut:
                                                       its headers and at most half of its body
                                                       are read, then the socket is closed
                                                       abruptly (SO_LINGER 0: a TCP RST), no
                                                       answer; logged with status null, "cut": true
    {"slow": {"10": 1.5}}                              wait this many seconds before answering
    {"latency": 0.02}                                  wait before every answer (other connections
                                                       are not held up)
    {"always": 503}                                    answer every request with this status
    {"status_for_path": {"/identify": 404}}            every request to that path answers that
                                                       status (a wrong endpoint)
    {"max_batch": 500}                                 413 for a POST /events/batch whose array
                                                       holds more than 500 elements
    {"reject_identify": ["user_7"]}                    400 for every identify of these ext_ids
Keys combine. For one request the first that applies wins, in this order: cut_every
(decided before the body is read), status, status_every (lowest K first), storm,
revoke_after, always, status_for_path, apikey (401), p and Content-Type (400), the
route and a JSON body (404), max_batch (413), reject_identify (400). Then latency +
slow are waited, then drop closes instead of answering.

Engines: `asyncio` (the default: one thread, an asyncio.Protocol per connection,
delays as timers) answers about three times the requests/s of `threaded`
(http.server's ThreadingHTTPServer, a thread per connection), which stays available
with --engine threaded. Both answer, cut, drop and log alike; they differ only in the
Server header and in the body of a 400/501 for a malformed request.
"""

import argparse
import asyncio
import functools
import http
import json
import signal
import socket
import struct
import sys
import threading
import time
from email.utils import formatdate
from json.encoder import encode_basestring_ascii as _escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUTES = {"PUT": "/identify", "POST": "/events/batch"}
OK = b'{"ok":true}'


class Nudge:
    """What both engines share: numbering, the checks and faults, and the log."""

    def __init__(self, api_key, faults, log_path, quiet, bodies_path=None):
        self.api_key = api_key
        self.quiet = quiet
        self.counter = 0
        self.lock = threading.Lock()
        self.log = open(log_path, "a", encoding="utf-8")
        self.flush_each = True
        self.bodies = open(bodies_path, "ab") if bodies_path and quiet else None
        self.bodies_size = self.bodies.seek(0, 2) if self.bodies else 0
        f = faults
        self.status = {int(k): (v[0], v[1]) for k, v in f.get("status", {}).items()}
        self.status_every = sorted((int(k), (v[0], v[1])) for k, v in f.get("status_every", {}).items())
        storm = f.get("storm")
        self.storm = (int(storm["from"]), int(storm["to"]), storm.get("retry_after")) if storm else None
        self.revoke_after = f.get("revoke_after")
        self.always = f.get("always")
        self.status_for_path = f.get("status_for_path", {})
        self.max_batch = f.get("max_batch")
        self.reject_identify = set(f.get("reject_identify", []))
        self.cut_every = f.get("cut_every") or 0
        self.drop = set(f.get("drop", []))
        self.latency = f.get("latency", 0)
        self.slow = {int(k): v for k, v in f.get("slow", {}).items()}

    def number(self):
        with self.lock:
            self.counter += 1
            return self.counter

    def is_cut(self, n):
        return self.cut_every > 0 and n % self.cut_every == 0

    def delay(self, n):
        return self.latency + self.slow.get(n, 0)

    def decide(self, n, method, path, headers, body):
        """(status, Retry-After or None, payload) for request n; headers have lowercased names."""
        if n in self.status:
            status, retry_after = self.status[n]
            return status, retry_after, b'{"error":"injected"}'
        for every, (status, retry_after) in self.status_every:
            if every > 0 and n % every == 0:
                return status, retry_after, b'{"error":"injected"}'
        if self.storm and self.storm[0] <= n <= self.storm[1]:
            return 429, self.storm[2], b'{"error":"rate limited"}'
        if self.revoke_after is not None and n > self.revoke_after:
            return 401, None, b'{"error":"api key revoked"}'
        if self.always is not None:
            return self.always, None, b'{"error":"always"}'
        if path in self.status_for_path:
            return self.status_for_path[path], None, b'{"error":"wrong endpoint"}'
        if headers.get("apikey") != self.api_key:
            return 401, None, b'{"error":"bad apikey"}'
        if headers.get("p") != "17" or headers.get("content-type") != "application/json":
            return 400, None, b'{"error":"missing headers"}'
        if ROUTES.get(method) != path or body is None:
            return 404, None, b'{"error":"no such route"}'
        if (self.max_batch is not None and method == "POST" and isinstance(body, list)
                and len(body) > self.max_batch):
            return 413, None, b'{"error":"payload too large"}'
        if method == "PUT" and isinstance(body, dict) and body.get("ext_id") in self.reject_identify:
            return 400, None, b'{"error":"identify rejected for test"}'
        return 200, None, OK

    def entry(self, n, method, path, arrived, headers, body, raw=None):
        if self.quiet:
            elements = len(body) if isinstance(body, list) else (None if body is None else 1)
            entry = {"n": n, "method": method, "path": path, "arrived": arrived,
                     "idempotency_key": headers.get("idempotency-key"), "elements": elements}
            if self.bodies is not None and raw is not None:
                with self.lock:
                    entry["body_at"] = [self.bodies_size, len(raw)]
                    self.bodies.write(raw)
                    self.bodies_size += len(raw)
            return entry
        return {"n": n, "method": method, "path": path, "arrived": arrived, "headers": headers, "body": body}

    def write(self, entry):
        line = _quiet_line(entry) if self.quiet else json.dumps(entry) + "\n"
        with self.lock:
            self.log.write(line)
            if self.flush_each:
                self.log.flush()
                if self.bodies is not None:
                    self.bodies.flush()

    def flush(self):
        with self.lock:
            self.log.flush()
            if self.bodies is not None:
                self.bodies.flush()

    def close(self):
        self.log.close()
        if self.bodies is not None:
            self.bodies.close()


def _quiet_line(e):
    """json.dumps(e) + newline for the quiet log's entries, twice as fast."""
    key, elements, status, at = e["idempotency_key"], e["elements"], e["status"], e.get("body_at")
    return '{"n": %d, "method": %s, "path": %s, "arrived": %r, "idempotency_key": %s, "elements": %s, %s' \
           '"status": %s, "answered": %r%s}\n' % (
               e["n"], _escape(e["method"]), _escape(e["path"]), e["arrived"],
               "null" if key is None else _escape(key), "null" if elements is None else elements,
               "" if at is None else '"body_at": [%d, %d], ' % (at[0], at[1]),
               "null" if status is None else status, e["answered"], ', "cut": true' if e.get("cut") else "")


def parse_json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# The threaded engine: http.server, a thread per connection
# ---------------------------------------------------------------------------

def serve_threaded(nudge, port):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def setup(self):
            super().setup()
            # Headers and body go out in two writes: without this, Nagle's algorithm and
            # the client's delayed ACK add 40 ms to every answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def read_body(self):
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length)

        def handle_one(self):
            arrived = time.time()
            number = nudge.number()
            headers = {k.lower(): v for k, v in self.headers.items()}
            if nudge.is_cut(number):
                self.rfile.read(int(self.headers.get("Content-Length") or 0) // 2)
                entry = nudge.entry(number, self.command, self.path, arrived, headers, None)
                entry.update(status=None, answered=time.time(), cut=True)
                nudge.write(entry)
                # An abrupt close: SO_LINGER 0 makes close() send RST, and closing the
                # descriptor here (not through socketserver) skips its shutdown's FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                socket.close(self.connection.detach())
                self.close_connection = True
                return
            raw = self.read_body()
            body = parse_json(raw)
            entry = nudge.entry(number, self.command, self.path, arrived, headers, body, raw)
            status, retry_after, payload = nudge.decide(number, self.command, self.path, headers, body)
            delay = nudge.delay(number)
            if delay:
                time.sleep(delay)
            if number in nudge.drop:
                entry.update(status=None, answered=time.time())
                nudge.write(entry)
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            entry.update(status=status, answered=time.time())
            nudge.write(entry)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.end_headers()
            self.wfile.write(payload)

        do_PUT = handle_one
        do_POST = handle_one

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # socketserver's 5 drops SYNs when 32 clients connect at once

        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], ConnectionError):  # a client gone is no news
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", port), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


# ---------------------------------------------------------------------------
# The asyncio engine: one thread, a coroutine per connection
# ---------------------------------------------------------------------------

class _Date:
    """The Date header's value, formatted once a second."""
    second = None
    text = ""

    @classmethod
    def now(cls):
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.text = second, formatdate(second, usegmt=True)
        return cls.text


@functools.lru_cache(maxsize=None)
def _status_line(status):
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return ("HTTP/1.1 %d %s\r\n" % (status, phrase)).encode("latin-1")


def response(status, payload, retry_after=None, close=False):
    head = [_status_line(status), b"Server: fake-nudge\r\nDate: ", _Date.now().encode("latin-1"),
            b"\r\nContent-Type: application/json\r\nContent-Length: ", str(len(payload)).encode("latin-1"), b"\r\n"]
    if retry_after is not None:
        head.append(b"Retry-After: " + str(retry_after).encode("latin-1") + b"\r\n")
    if close:
        head.append(b"Connection: close\r\n")
    head.append(b"\r\n")
    head.append(payload)
    return b"".join(head)


class _Malformed(Exception):
    pass


HEAD_LIMIT = 1 << 20


def _parse_head(head):
    """(method, path, version, headers) of a request head, or None when malformed."""
    lines = head.decode("latin-1").split("\r\n")
    while lines and not lines[0]:  # empty lines before a request line are ignored
        del lines[0]
    parts = lines[0].split() if lines else []
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], parts[2], headers


def _take_chunked(buffer):
    """(body, bytes consumed) of a complete chunked body at the start of buffer, or None."""
    parts, at = [], 0
    while True:
        end = buffer.find(b"\r\n", at)
        if end < 0:
            return None
        try:
            size = int(bytes(buffer[at:end]).split(b";")[0].strip() or b"0", 16)
        except ValueError:
            raise _Malformed()
        at = end + 2
        if size == 0:
            while True:  # trailers, up to an empty line
                end = buffer.find(b"\r\n", at)
                if end < 0:
                    return None
                empty, at = end == at, end + 2
                if empty:
                    return b"".join(parts), at
        if len(buffer) < at + size + 2:
            return None
        parts.append(bytes(buffer[at:at + size]))
        at += size + 2


class _Connection(asyncio.Protocol):
    """One client connection: requests parsed from the bytes as they come, answered in
    order; while one waits out its delay the next ones wait in the buffer."""

    def __init__(self, nudge):
        self.nudge = nudge
        self.buffer = bytearray()
        self.request = None    # a parsed head whose body is still coming
        self.waiting = None    # the timer of an answer being delayed
        self.closed = False
        self.eof = False

    def connection_made(self, transport):
        self.transport = transport
        self.sock = transport.get_extra_info("socket")
        if self.sock is not None:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc):
        self.closed = True

    def eof_received(self):
        self.eof = True
        return self.waiting is not None  # keep the transport to answer what is waiting

    def data_received(self, data):
        self.buffer += data
        if self.waiting is None:
            self.process()

    def fail(self, status, message):
        self.transport.write(response(status, message, close=True))
        self.transport.close()
        self.closed = True

    def process(self):
        buffer = self.buffer
        while not self.closed and self.waiting is None:
            if self.request is None:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > HEAD_LIMIT:
                        self.fail(431, b'{"error":"headers too large"}')
                    return
                parsed = _parse_head(bytes(buffer[:end]))
                del buffer[:end + 4]
                if parsed is None:
                    return self.fail(400, b'{"error":"bad request line"}')
                method, path, version, headers = parsed
                if method not in ROUTES:
                    return self.fail(501, b'{"error":"unsupported method"}')
                connection = headers.get("connection", "").lower()
                keep_alive = connection != "close" if version != "HTTP/1.0" else connection == "keep-alive"
                if version != "HTTP/1.0" and headers.get("expect", "").lower() == "100-continue":
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                arrived = time.time()
                number = self.nudge.number()
                chunked = "chunked" in headers.get("transfer-encoding", "").lower()
                try:
                    length = 0 if chunked else int(headers.get("content-length") or 0)
                except ValueError:
                    length = -1
                if length < 0:
                    return self.fail(400, b'{"error":"bad Content-Length"}')
                self.request = (method, path, headers, keep_alive, arrived, number, chunked, length)
            method, path, headers, keep_alive, arrived, number, chunked, length = self.request
            if self.nudge.is_cut(number):
                if len(buffer) < length // 2 and not self.eof:
                    return
                entry = self.nudge.entry(number, method, path, arrived, headers, None)
                entry.update(status=None, answered=time.time(), cut=True)
                self.nudge.write(entry)
                if self.sock is not None:
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.transport.abort()
                self.closed = True
                return
            if chunked:
                try:
                    taken = _take_chunked(buffer)
                except _Malformed:
                    return self.fail(400, b'{"error":"bad chunk"}')
                if taken is None:
                    return
                raw, used = taken
                del buffer[:used]
            else:
                if len(buffer) < length:
                    return
                raw = bytes(buffer[:length])
                del buffer[:length]
            self.request = None
            body = parse_json(raw) if raw else None
            entry = self.nudge.entry(number, method, path, arrived, headers, body, raw)
            answer = self.nudge.decide(number, method, path, headers, body)
            delay = self.nudge.delay(number)
            if delay:
                self.waiting = asyncio.get_running_loop().call_later(delay, self.answer, number, entry, answer,
                                                                     keep_alive)
                return
            self.answer(number, entry, answer, keep_alive, resume=False)

    def answer(self, number, entry, answer, keep_alive, resume=True):
        self.waiting = None
        status, retry_after, payload = answer
        if number in self.nudge.drop:
            entry.update(status=None, answered=time.time())
            self.nudge.write(entry)
            if self.sock is not None and not self.closed:
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.transport.close()
            self.closed = True
            return
        entry.update(status=status, answered=time.time())
        self.nudge.write(entry)
        if self.closed:
            return
        self.transport.write(response(status, payload, retry_after, close=not keep_alive))
        if not keep_alive or (self.eof and not self.buffer):
            self.transport.close()
            self.closed = True
        elif resume and self.buffer:
            self.process()


def serve_asyncio(nudge, port):
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Connection(nudge), "127.0.0.1", port, backlog=1024)
        print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
        if nudge.quiet:  # the quiet log is flushed every 0.2 s and on the way out, not per line
            def flush():
                nudge.flush()
                loop.call_later(0.2, flush)
            nudge.flush_each = False
            loop.call_later(0.2, flush)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--faults", default="{}")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--quiet-log", action="store_true",
                        help="log n, method, path, times, status, idempotency_key and elements only")
    parser.add_argument("--bodies", metavar="FILE",
                        help="with --quiet-log: append each request's raw body here; its line gets body_at")
    parser.add_argument("--engine", choices=["asyncio", "threaded"], default="asyncio")
    args = parser.parse_args()
    if args.bodies and not args.quiet_log:
        parser.error("--bodies goes with --quiet-log (the full log has the bodies)")
    nudge = Nudge(args.api_key, json.loads(args.faults), args.log, args.quiet_log, args.bodies)
    try:
        (serve_asyncio if args.engine == "asyncio" else serve_threaded)(nudge, args.port)
    finally:
        nudge.close()  # flushes
    return 0


if __name__ == "__main__":
    sys.exit(main())
