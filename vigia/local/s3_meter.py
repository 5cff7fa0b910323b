"""A metering proxy in front of the local S3 endpoint: counts the object bytes readers download.

Athena reports (and bills) "data scanned" as the bytes it reads from S3. Locally, the benchmark puts
this proxy between the local Athena and moto and counts the bodies of GetObject responses (object
reads, including ranged reads of Parquet footers and column chunks; listings are not data).

It runs as its own process: DuckDB may hold the GIL while it waits for the pyarrow scan, and a
proxy on threads of the same process would then never answer. `GET /__meter__` returns the count
(`?reset=1` also zeroes it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

from vigia.local import services
from vigia.local.variants import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}
METER_PATH = "/__meter__"


def make_server(upstream_port: int, port: int) -> ThreadingHTTPServer:
    lock, state = threading.Lock(), {"object_bytes": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

        def log_message(self, fmt, *args):  # quiet
            pass

        def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes, length: str | None = None):
            self.send_response(status)
            for k, v in headers:
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", length if length is not None else str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _forward(self):
            parts = urlsplit(self.path)
            if parts.path == METER_PATH:
                with lock:
                    body = json.dumps(state).encode()
                    if "reset=1" in parts.query:
                        state["object_bytes"] = 0
                return self._reply(200, [("Content-Type", "application/json")], body)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            if (self.command == "GET" and parts.path.strip("/").count("/") >= 1
                    and "list-type" not in parts.query and resp.status in (200, 206)):
                with lock:
                    state["object_bytes"] += len(data)
            # a HEAD answer keeps the object's length; other bodies are sent whole
            self._reply(resp.status, resp.getheaders(), data,
                        resp.getheader("Content-Length") if self.command == "HEAD" else None)

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


class S3Meter:
    """`with S3Meter(upstream_port) as meter:` ... `meter.endpoint`, `meter.reset()` -> bytes so far."""

    def __init__(self, upstream_port: int):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.argv = [sys.executable, "-m", "vigia.local.s3_meter", "--upstream-port", str(upstream_port),
                     "--port", str(self.port)]

    def reset(self) -> int:
        """The object bytes read since the last reset."""
        return requests.get(f"{self.endpoint}{METER_PATH}?reset=1", timeout=10).json()["object_bytes"]

    def __enter__(self) -> "S3Meter":
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        services.wait_healthy(f"{self.endpoint}{METER_PATH}", timeout_s=30, pid=self.proc.pid, name="s3-meter")
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="S3 metering proxy on 127.0.0.1")
    ap.add_argument("--upstream-port", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    make_server(a.upstream_port, a.port).serve_forever()
