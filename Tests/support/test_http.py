"""What the tests' small HTTP servers (fake-store.py, slow-proxy.py) share: a quiet handler
with one way to answer, GET /stats and POST /control?KEY=VALUE over a state dict under a lock,
and a loopback-only server that exits by itself after 30 minutes."""
import json, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class ControlledHandler(BaseHTTPRequestHandler):
    state, lock = {}, threading.Lock()  # set by the server script
    control_key, control_parse = "mode", str  # what POST /control?KEY=VALUE sets, and how

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
        if self.path != "/stats":
            return self.reply(404)
        with self.lock:
            body = json.dumps(self.state).encode()
        self.reply(200, body, {"Content-Type": "application/json"})

    def controlled(self, url):
        """Answers POST /control (True), or leaves the request to the caller (False)."""
        if url.path != "/control":
            return False
        with self.lock:
            self.state[self.control_key] = self.control_parse(parse_qs(url.query)[self.control_key][0])
        self.reply(200, b"ok")
        return True


def serve(port, handler, wrap_socket=None):
    """Serves on 127.0.0.1:port, each request on its own thread, for 30 minutes at most."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    if wrap_socket:
        server.socket = wrap_socket(server.socket)
    threading.Timer(1800, server.shutdown).start()
    server.serve_forever()
