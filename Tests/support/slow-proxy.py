#!/usr/bin/env python3
"""A reverse proxy that answers every POST only after a delay: a store that is up but slow.

Usage: slow-proxy.py LISTEN_PORT UPSTREAM_PORT DELAY_SECONDS
  POST <path>           forwarded to http://127.0.0.1:UPSTREAM_PORT<path> at once; the answer
                        is held back until DELAY_SECONDS after the request arrived
  POST /control?delay=S change the delay (seconds, float)
  GET  /stats           {"requests": N, "delay": S}
Listens on 127.0.0.1 only; every request is served on its own thread; exits by itself after
30 minutes.
"""
import json, sys, threading, time, urllib.request
from urllib.parse import urlparse

from test_http import ControlledHandler, serve

PORT, UPSTREAM, state = int(sys.argv[1]), int(sys.argv[2]), {"delay": float(sys.argv[3]), "requests": 0}
lock = threading.Lock()


class Handler(ControlledHandler):
    protocol_version = "HTTP/1.1"
    state, lock, control_key, control_parse = state, lock, "delay", float

    def do_POST(self):
        started = time.monotonic()
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.controlled(url):
            return
        with lock:
            state["requests"] += 1
            delay = state["delay"]
        req = urllib.request.Request(f"http://127.0.0.1:{UPSTREAM}{self.path}", data=body, method="POST",
                                     headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                code, answer = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, answer = e.code, e.read()
        except Exception as e:  # upstream down: a gateway error, like a real proxy
            code, answer = 502, str(e).encode()
        time.sleep(max(0.0, started + delay - time.monotonic()))
        self.reply(code, answer)


serve(PORT, Handler)
