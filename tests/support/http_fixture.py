"""A real local HTTP server that serves canned responses by path, optionally failing first."""

from __future__ import annotations

import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class FixtureServer:
    def __init__(self, routes: dict[str, bytes], faults: list[int] | None = None):
        self.routes = routes
        self.faults = list(faults or [])   # statuses for the first requests, whatever the path
        self.requests: defaultdict[str, list[str]] = defaultdict(list)  # path -> query strings seen
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                server.requests[url.path].append(url.query)
                status, body = 200, server.routes.get(url.path)
                if server.faults:
                    status, body = server.faults.pop(0), b'{"error": "injected"}'
                elif body is None:
                    status, body = 404, b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FixtureServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
