"""Test-side handle on flink_driver.py: one subprocess (one JVM) running many Flink jobs."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from vigia.local.flink import child_env

DRIVER = Path(__file__).with_name("flink_driver.py")


class FlinkDriver:
    def __init__(self, jar: Path, log_path: Path):
        # CBOR off is a JVM system property, set before the gateway JVM starts: hence the subprocess.
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(DRIVER), str(jar)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True, env=child_env())
        self._answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next(timeout_s=120)  # {"ready": true} once pyflink is imported

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("@@ "):
                self._answers.put(json.loads(line[3:]))
            else:
                self._log.write(line)
        self._answers.put({"exception": f"driver exited with {self.proc.wait()}"})

    def _next(self, timeout_s: float) -> dict:
        try:
            return self._answers.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"no answer from the Flink driver in {timeout_s} s") from None

    def call(self, cmd: str, timeout_s: float = 120, **args) -> dict:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        answer = self._next(timeout_s)
        if "exception" in answer:
            raise RuntimeError(f"driver {cmd} failed: {answer['exception']}\n{answer.get('trace', '')}")
        return answer

    def rows_until(self, name: str, done, timeout_s: float = 60) -> list[list]:
        """Poll the job's rows until done(rows) holds; fail with what arrived at the deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self.call("rows", name=name)
            if answer["error"]:
                raise AssertionError(f"job {name} failed: {answer['error']}")
            if done(answer["rows"]):
                return answer["rows"]
            if time.monotonic() > deadline:
                raise AssertionError(f"job {name}: condition not met after {timeout_s} s; "
                                     f"{len(answer['rows'])} rows: {answer['rows'][:10]}")
            time.sleep(0.2)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()
