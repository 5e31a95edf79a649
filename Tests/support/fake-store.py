#!/usr/bin/env python3
"""A remote-write endpoint whose answers the test controls, for the shipper's failure paths.

Usage: fake-store.py PORT DIR [CERT KEY CLIENT_CA]
  With CERT KEY CLIENT_CA: HTTPS, and a client certificate signed by CLIENT_CA is required (mTLS).
  POST /api/v1/write      answered per the current mode; every body is saved as DIR/req-N.bin
                          (N counts from 1) with its headers in DIR/req-N.json
  POST /control?mode=M    set the mode: ok | 400 | 429:SECONDS | 500 | too-old | too-old:N
                          (the next N requests, then ok) | hang:SECONDS | flaky:N (every
                          Nth request 500, the rest ok; saved with the answer it got)
  GET  /stats             {"requests": N, "mode": M, "in_flight": K, "max_in_flight": MAX}
                          (requests being answered now / at most at once so far)
Listens on 127.0.0.1 only; exits by itself after 30 minutes.
"""
import json, os, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PORT, DIR = int(sys.argv[1]), sys.argv[2]
state = {"mode": "ok", "requests": 0, "in_flight": 0, "max_in_flight": 0}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                self.reply(200, json.dumps(state).encode())
        else:
            self.reply(404)

    def do_POST(self):
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if url.path == "/control":
            with lock:
                state["mode"] = parse_qs(url.query)["mode"][0]
            return self.reply(200, b"ok")
        if url.path != "/api/v1/write":
            return self.reply(404)
        with lock:
            state["requests"] += 1
            state["in_flight"] += 1
            state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
            n, mode = state["requests"], state["mode"]
        try:
            self.answer(n, mode, body)
        finally:
            with lock:
                state["in_flight"] -= 1

    def answer(self, n, mode, body):
        if mode.startswith("flaky:"):  # every Nth request fails; saved as the answer it got
            mode = "500" if n % int(mode.partition(":")[2]) == 0 else "ok"
        with open(os.path.join(DIR, f"req-{n}.bin"), "wb") as f:
            f.write(body)
        with open(os.path.join(DIR, f"req-{n}.json"), "w") as f:
            json.dump({"mode": mode, "headers": dict(self.headers.items())}, f)
        kind, _, arg = mode.partition(":")
        if kind == "ok":
            self.reply(204)
        elif kind == "400":
            self.reply(400, b"bad request: snappy: corrupt input")
        elif kind == "429":
            self.reply(429, b"slow down", {"Retry-After": arg or "1"})
        elif kind == "500":
            self.reply(500, b"internal error")
        elif kind == "too-old":
            if arg:
                with lock:
                    left = int(state["mode"].partition(":")[2]) - 1
                    state["mode"] = f"too-old:{left}" if left > 0 else "ok"
            self.reply(500, b"too old sample")
        elif kind == "hang":
            time.sleep(float(arg or "30"))
            self.reply(204)


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
if len(sys.argv) == 6:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    ctx.load_verify_locations(sys.argv[5])
    ctx.verify_mode = ssl.CERT_REQUIRED
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
threading.Timer(1800, server.shutdown).start()
server.serve_forever()
