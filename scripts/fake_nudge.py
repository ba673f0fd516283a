#!/usr/bin/env python3
"""A stand-in for Nudge's Segment API on loopback, for the replay tests.

    python3 scripts/fake_nudge.py --log requests.ndjson --api-key KEY [--faults JSON]

Serves, like Nudge as Segment's destination calls it:
    PUT  /identify       one identify body (a JSON object)
    POST /events/batch   a JSON array of track bodies
checking the headers `apikey` (401 when wrong), `p: 17` and `Content-Type:
application/json` (400 when missing), and answers 200 with `{"ok":true}`.

It prints `listening on PORT` on standard output once it accepts connections, and
appends one JSON line per request to --log: the request number, method, path,
headers, body, when it arrived and was answered, and the status (null for a dropped
connection).

--faults injects failures, by request number (1-based, in arrival order):
    {"status": {"3": [429, "1"], "5": [500, null]}}   answer with this status (and Retry-After)
    {"drop": [8]}                                      close the connection without answering
    {"slow": {"10": 1.5}}                              wait this many seconds before answering
    {"latency": 0.02}                                  wait before every answer
    {"reject_identify": ["user_7"]}                    400 for every identify of these ext_ids
    {"always": 503}                                    answer every request with this status
"""

import argparse
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--faults", default="{}")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    faults = json.loads(args.faults)
    lock = threading.Lock()
    counter = [0]
    log = open(args.log, "a", encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def setup(self):
            super().setup()
            # Headers and body go out in two writes: without this, Nagle's algorithm and
            # the client's delayed ACK add 40 ms to every answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def handle_one(self):
            arrived = time.time()
            with lock:
                counter[0] += 1
                number = counter[0]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            entry = {
                "n": number, "method": self.command, "path": self.path, "arrived": arrived,
                "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
            }
            status, retry_after, payload = 200, None, b'{"ok":true}'
            expected = {"PUT": "/identify", "POST": "/events/batch"}
            if str(number) in faults.get("status", {}):
                status, retry_after = faults["status"][str(number)]
                payload = b'{"error":"injected"}'
            elif "always" in faults:
                status, payload = faults["always"], b'{"error":"always"}'
            elif self.headers.get("apikey") != args.api_key:
                status, payload = 401, b'{"error":"bad apikey"}'
            elif self.headers.get("p") != "17" or self.headers.get("Content-Type") != "application/json":
                status, payload = 400, b'{"error":"missing headers"}'
            elif expected.get(self.command) != self.path or body is None:
                status, payload = 404, b'{"error":"no such route"}'
            elif self.command == "PUT" and body.get("ext_id") in faults.get("reject_identify", []):
                status, payload = 400, b'{"error":"identify rejected for test"}'
            delay = faults.get("latency", 0) + faults.get("slow", {}).get(str(number), 0)
            if delay:
                time.sleep(delay)
            if number in faults.get("drop", []):
                entry.update(status=None, answered=time.time())
                with lock:
                    log.write(json.dumps(entry) + "\n")
                    log.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            entry.update(status=status, answered=time.time())
            with lock:
                log.write(json.dumps(entry) + "\n")
                log.flush()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(payload)

        do_PUT = handle_one
        do_POST = handle_one

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
