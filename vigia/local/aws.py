"""The local AWS endpoint: a moto server on 127.0.0.1, and the environment that points boto3 at it.

boto3 honours AWS_ENDPOINT_URL, so the producer, the alert publisher and the other stages run
unchanged: locally only the environment differs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import boto3

from vigia.local import services

DEFAULT_PORT = 5055
SERVICE = "moto"
ACCOUNT_ID = "123456789012"  # moto's default account


def port() -> int:
    return int(os.environ.get("VIGIA_MOTO_PORT", DEFAULT_PORT))


def endpoint(p: int | None = None) -> str:
    return f"http://127.0.0.1:{p or port()}"


def env(region: str, p: int | None = None) -> dict[str, str]:
    """Environment variables that send every AWS SDK call to the local endpoint."""
    return {
        "AWS_ENDPOINT_URL": endpoint(p),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # Lambda Powertools: metrics need a namespace; tracing has no X-Ray daemon locally.
        "POWERTOOLS_METRICS_NAMESPACE": "Vigia",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def use(region: str, p: int | None = None) -> None:
    """Point this process (and children) at the local endpoint."""
    os.environ.update(env(region, p))


def client(name: str, region: str, p: int | None = None):
    return boto3.client(name, region_name=region, endpoint_url=endpoint(p),
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def health_url(p: int | None = None) -> str:
    return f"{endpoint(p)}/moto-api/data.json"


def moto_argv(p: int) -> list[str]:
    """moto's server with the AWS rules it lacks added (vigia/local/moto_server.py), on 127.0.0.1."""
    return [sys.executable, "-m", "vigia.local.moto_server", "-H", "127.0.0.1", "-p", str(p)]


def start(p: int | None = None) -> tuple[int, bool]:
    """Start the moto server unless ours already runs; (pid, started_now)."""
    p = p or port()
    return services.start(SERVICE, moto_argv(p), health_url(p))


@contextlib.contextmanager
def private_server(log: Path | None = None):
    """A moto server of our own on a free port (tests, benchmarks), ended on exit; yields the port."""
    from vigia.local.variants import free_port

    port = free_port()
    with open(log, "wb") if log else open(os.devnull, "wb") as out:
        proc = subprocess.Popen(moto_argv(port), stdout=out, stderr=subprocess.STDOUT)
        try:
            services.wait_healthy(health_url(port), timeout_s=60, pid=proc.pid, name="moto")
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=10)
