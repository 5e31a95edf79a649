#!/usr/bin/env python3
"""A remote-write endpoint whose answers the test controls, for the shipper's failure paths.

Usage: fake-store.py PORT DIR [CERT KEY CLIENT_CA]
  With CERT KEY CLIENT_CA: HTTPS, and a client certificate signed by CLIENT_CA is required (mTLS).
  POST /api/v1/write      answered per the current mode; every body is saved as DIR/req-N.bin
                          (N counts from 1) with its headers in DIR/req-N.json
  POST /control?mode=M    set the mode: ok | 400 | 429:SECONDS | 500 | too-old | too-old:N
                          (the next N requests, then ok) | hang:SECONDS | flaky:N (every
                          Nth request 500, the rest ok; saved with the answer it got)
                          | status:CODE (that HTTP status with a short body) | redirect:CODE (a 3xx
                          with Location: /redirected/api/v1/write) | auth:TOKEN (204 only with
                          "Authorization: Bearer TOKEN", saved as ok; else 401 "unauthorized",
                          saved as auth-refused) | slow:SECONDS (204 after the delay; several
                          requests may wait at once)
  POST /redirected/...    counted in "redirected", answered 204, nothing saved (an agent that
                          follows redirects would land here)
  GET  /stats             {"requests": N, "mode": M, "in_flight": K, "max_in_flight": MAX,
                          "redirected": R} (requests being answered now / at most at once so far)
Listens on 127.0.0.1 only; exits by itself after 30 minutes.
"""
import json, os, ssl, sys, threading, time
from urllib.parse import urlparse

from test_http import ControlledHandler, serve

PORT, DIR = int(sys.argv[1]), sys.argv[2]
state = {"mode": "ok", "requests": 0, "in_flight": 0, "max_in_flight": 0, "redirected": 0}
STATUS_BODIES = {400: b"bad request", 401: b"unauthorized", 403: b"forbidden", 404: b"not found",
                 405: b"method not allowed", 422: b"unprocessable", 500: b"internal error", 503: b"unavailable"}
lock = threading.Lock()


class Handler(ControlledHandler):
    state, lock = state, lock

    def do_POST(self):
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.controlled(url):
            return
        if url.path.startswith("/redirected/"):
            with lock:
                state["redirected"] += 1
            return self.reply(204)
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
        if mode.startswith("auth:"):  # the right bearer token: ok; else 401
            wanted = "Bearer " + mode.partition(":")[2]
            mode = "ok" if self.headers.get("Authorization") == wanted else "auth-refused"
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
        elif kind == "auth-refused":
            self.reply(401, b"unauthorized")
        elif kind == "status":
            code = int(arg)
            self.reply(code, STATUS_BODIES.get(code, b"fake store answers %d" % code))
        elif kind == "redirect":
            where = f"http://127.0.0.1:{PORT}/redirected/api/v1/write"
            self.reply(int(arg or "302"), b"moved", {"Location": where})
        elif kind == "slow":
            time.sleep(float(arg or "1"))
            self.reply(204)
        elif kind == "hang":
            time.sleep(float(arg or "30"))
            self.reply(204)


def mutual_tls(sock):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    ctx.load_verify_locations(sys.argv[5])
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx.wrap_socket(sock, server_side=True)


serve(PORT, Handler, mutual_tls if len(sys.argv) == 6 else None)
