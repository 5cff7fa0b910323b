"""An HTTP proxy in front of the moto server that fails chosen records of PutRecords calls.

Kinesis can accept a PutRecords call while rejecting some of its records (per-record ErrorCode,
FailedRecordCount > 0). moto never does that, so this proxy does it for real over the wire: it
removes the chosen records from the request before forwarding it (so they really do not land) and
splices a ProvisionedThroughputExceededException entry for each into moto's response, at the
record's original position. Every other request is forwarded unchanged.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import requests

PUT_RECORDS = "Kinesis_20131202.PutRecords"


class FaultProxy:
    def __init__(self, upstream: str, should_fail: Callable[[dict, int], bool]):
        """`should_fail(event, attempt)`: attempt is 1 for the first time this event_id is sent."""
        self.upstream = upstream
        self.should_fail = should_fail
        self.attempts: Counter = Counter()      # event_id -> times it was sent by the client
        self.failed: Counter = Counter()        # event_id -> times the proxy failed it
        self.calls = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _split(self, body: dict) -> tuple[list[dict], list[int]]:
        keep, failed_at = [], []
        with self._lock:
            self.calls += 1
            for i, rec in enumerate(body["Records"]):
                event = json.loads(base64.b64decode(rec["Data"]))
                self.attempts[event["event_id"]] += 1
                if self.should_fail(event, self.attempts[event["event_id"]]):
                    self.failed[event["event_id"]] += 1
                    failed_at.append(i)
                else:
                    keep.append(rec)
        return keep, failed_at

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self, body: bytes) -> requests.Response:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                return requests.request(self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=30)

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("X-Amz-Target") != PUT_RECORDS:
                    resp = self._forward(raw)
                    return self._reply(resp.status_code, resp.content, resp.headers.get("Content-Type", ""))
                body = json.loads(raw)
                keep, failed_at = proxy._split(body)
                results: list[dict] = []
                if keep:
                    resp = self._forward(json.dumps({**body, "Records": keep}).encode())
                    if resp.status_code != 200:
                        return self._reply(resp.status_code, resp.content, resp.headers.get("Content-Type", ""))
                    results = resp.json()["Records"]
                merged = iter(results)
                out = [{"ErrorCode": "ProvisionedThroughputExceededException",
                        "ErrorMessage": "Rate exceeded for shard (injected by the test proxy)"}
                       if i in failed_at else next(merged) for i in range(len(body["Records"]))]
                reply = {"FailedRecordCount": len(failed_at), "Records": out}
                self._reply(200, json.dumps(reply).encode(), "application/x-amz-json-1.1")

        return Handler
