"""Background services of the local runtime (moto server, simulator, ...), tracked by PID file.

State lives under `.local/` at the repository root: `pids/<name>.pid`, `logs/<name>.log`.
`stop` ends only processes whose PID file we wrote, so nothing else on the machine is touched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("VIGIA_STATE_DIR", ROOT / ".local"))


def pid_file(name: str) -> Path:
    return STATE_DIR / "pids" / f"{name}.pid"


def log_file(name: str) -> Path:
    return STATE_DIR / "logs" / f"{name}.log"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def running_pid(name: str) -> int | None:
    f = pid_file(name)
    if not f.exists():
        return None
    pid = int(f.read_text().strip() or 0)
    return pid if pid and alive(pid) else None


class PortInUse(RuntimeError):
    """A port we need is held by a process this checkout did not start (another checkout's
    moto or simulator, say): using it would mix our run with someone else's state."""


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


def wait_healthy(url: str, timeout_s: float = 30, pid: int | None = None, name: str = "service") -> None:
    """Poll `url` until it answers; fail early if the process died, with its log's tail."""
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while time.monotonic() < deadline:
        if healthy(url):
            return
        if pid is not None and not alive(pid):
            break
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    tail = ""
    if log_file(name).exists():
        tail = "\n".join(log_file(name).read_text().splitlines()[-20:])
    raise RuntimeError(f"{name} did not become healthy at {url} within {timeout_s}s\n{tail}")


def start(name: str, argv: list[str], health_url: str, env: dict[str, str] | None = None,
          timeout_s: float = 30) -> tuple[int, bool]:
    """Start `argv` in the background unless it already runs; return (pid, started_now)."""
    pid = running_pid(name)
    if pid is not None and healthy(health_url):
        return pid, False
    if pid is not None:  # alive but not answering: ours, so restart it
        stop(name)
    port = urlparse(health_url).port
    if port and listening(port):
        raise PortInUse(f"{name}: port {port} on 127.0.0.1 is already in use by a process this checkout did not "
                        f"start (no PID file under {STATE_DIR / 'pids'}); stop that process or choose another port")
    for d in ("pids", "logs"):
        (STATE_DIR / d).mkdir(parents=True, exist_ok=True)
    with open(log_file(name), "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True, cwd=ROOT)
    pid_file(name).write_text(str(proc.pid))
    wait_healthy(health_url, timeout_s, pid=proc.pid, name=name)
    return proc.pid, True


def stop(name: str, timeout_s: float = 10) -> bool:
    """Stop the service we started under `name` (its whole process group); True if it ran."""
    pid = running_pid(name)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)  # start_new_session made pid the group leader
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.killpg(pid, signal.SIGKILL)
    return True


def known() -> list[str]:
    d = STATE_DIR / "pids"
    return sorted(p.stem for p in d.glob("*.pid")) if d.exists() else []


def python_argv(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
