"""A metering proxy in front of the local S3 endpoint: counts the object bytes readers download.

Athena bills and reports "data scanned" as the bytes it reads from S3. Locally, the benchmark puts
this proxy between the local Athena and moto and counts the bodies of GetObject responses (object
reads, including ranged reads of Parquet footers and column chunks; listings are not data).
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


class S3Meter:
    """`with S3Meter(upstream_port) as meter:` ... `meter.endpoint`, `meter.object_bytes`."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.object_bytes = 0
        self._lock = threading.Lock()
        meter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

            def log_message(self, fmt, *args):  # quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", meter.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                parts = urlsplit(self.path)
                is_object_read = (self.command == "GET" and parts.path.strip("/").count("/") >= 1
                                  and "list-type" not in parts.query and resp.status in (200, 206))
                if is_object_read:
                    with meter._lock:
                        meter.object_bytes += len(data)
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    # a HEAD answer keeps the object's length; other bodies are sent whole
                    if k.lower() not in HOP_BY_HOP and (k.lower() != "content-length" or self.command == "HEAD"):
                        self.send_header(k, v)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> int:
        with self._lock:
            n, self.object_bytes = self.object_bytes, 0
        return n

    def __enter__(self) -> "S3Meter":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
