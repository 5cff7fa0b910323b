"""An HTTP proxy in front of the moto server, for injecting the Kinesis faults moto never produces.

It forwards every request unchanged unless a subclass's `intercept` answers it (or changes what is
forwarded). Subclasses: `kinesis_fault_proxy.FaultProxy` (per-record PutRecords failures) and
`tests/flink_connector/throttle_proxy.ThrottleProxy` (GetRecords throttling).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import requests

JSON = "application/x-amz-json-1.1"
Reply = tuple[int, bytes, str]  # status, body, content type


class KinesisProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def intercept(self, target: str, body: bytes, forward: Callable[[bytes], requests.Response]) -> Reply | None:
        """Answer the request (`X-Amz-Target` = target) yourself, or None to forward it as it is."""
        return None

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}

                def forward(body: bytes) -> requests.Response:
                    return requests.post(proxy.upstream + self.path, data=body, headers=headers, timeout=30)

                reply = proxy.intercept(self.headers.get("X-Amz-Target", ""), raw, forward)
                if reply is None:
                    resp = forward(raw)
                    reply = (resp.status_code, resp.content, resp.headers.get("Content-Type", ""))
                status, body, content_type = reply
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
