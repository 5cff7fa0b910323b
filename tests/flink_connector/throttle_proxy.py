"""An HTTP proxy in front of moto that throttles GetRecords, as Kinesis does past 5 calls/s/shard.

moto never throttles. This proxy answers the first `throttle_first` GetRecords calls of every
shard with HTTP 400 ProvisionedThroughputExceededException (the error Kinesis returns) without
forwarding them, forwards everything else unchanged, and records when each forwarded GetRecords
call of each shard arrived, so a test can check the reader's polling interval.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

GET_RECORDS = "Kinesis_20131202.GetRecords"


def shard_of(iterator: str) -> str:
    # moto's iterators are base64 of "<stream>:<shard id>:<sequence number>"
    return base64.decodebytes(iterator.encode()).decode().split(":")[1]


class ThrottleProxy:
    def __init__(self, upstream: str, throttle_first: int):
        self.upstream = upstream
        self.throttle_first = throttle_first
        self.throttled: Counter = Counter()  # shard id -> GetRecords calls answered with throttling
        self.forwarded: dict[str, list[float]] = defaultdict(list)  # shard id -> arrival times
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ThrottleProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _throttle(self, body: bytes) -> bool:
        shard = shard_of(json.loads(body)["ShardIterator"])
        with self._lock:
            if self.throttled[shard] < self.throttle_first:
                self.throttled[shard] += 1
                return True
            self.forwarded[shard].append(time.monotonic())
            return False

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("X-Amz-Target") == GET_RECORDS and proxy._throttle(raw):
                    error = {"__type": "ProvisionedThroughputExceededException",
                             "message": "Rate exceeded for shard (injected by the test proxy)"}
                    return self._reply(400, json.dumps(error).encode(), "application/x-amz-json-1.1")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                resp = requests.post(proxy.upstream + self.path, data=raw, headers=headers, timeout=30)
                self._reply(resp.status_code, resp.content, resp.headers.get("Content-Type", ""))

        return Handler
