#!/usr/bin/env python3
"""An HTTP service-discovery endpoint (Prometheus HTTP SD format) whose answer the test controls.

Usage: sd-server.py PORT DIR [TOKEN]
  GET /targets   answers with DIR/status (an HTTP status code; 200 when the file is absent)
                 and the bytes of DIR/body.json (Content-Type: application/json). With TOKEN,
                 a request without "Authorization: Bearer TOKEN" gets 401. Every request is
                 counted in DIR/requests (one line per request: its status).
  GET /health    200 "ok".
The test changes DIR/status and DIR/body.json (write a temp file and rename it). Listens on
127.0.0.1 only; exits by itself after 30 minutes.
"""
import os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR = int(sys.argv[1]), sys.argv[2]
TOKEN = sys.argv[3] if len(sys.argv) > 3 else None
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body, kind="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with lock, open(os.path.join(DIR, "requests"), "a") as f:
            f.write(f"{code}\n")

    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, b"ok")
        if self.path != "/targets":
            return self.reply(404, b"not found")
        if TOKEN and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.reply(401, b"unauthorized")
        try:
            with open(os.path.join(DIR, "status")) as f:
                code = int(f.read().strip())
        except FileNotFoundError:
            code = 200
        try:
            with open(os.path.join(DIR, "body.json"), "rb") as f:
                body = f.read()
        except FileNotFoundError:
            body = b"[]"
        self.reply(code, body if code == 200 else b"failing on purpose", "application/json" if code == 200 else "text/plain")


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
threading.Timer(1800, server.shutdown).start()
server.serve_forever()
