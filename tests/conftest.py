"""Shared fixtures: a real moto server for the test session, and per-test pipelines on it.

Integration tests talk to a moto server process over HTTP (never in-process mocks). Each test
that provisions resources gets its own names (suffix), so tests do not see each other's data.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
from pathlib import Path

import pytest

from vigia import config
from vigia.local import aws, provision, services

_counter = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_port(tmp_path_factory) -> int:
    """A moto server process on a free port, for the whole test session."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(aws.moto_argv(port), stdout=out, stderr=subprocess.STDOUT)
    try:
        services.wait_healthy(aws.health_url(port), timeout_s=60, pid=proc.pid, name="moto")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def unique_pipeline(base: config.Pipeline, suffix: str) -> config.Pipeline:
    """A copy of `base` whose AWS resource names all end in `suffix`."""
    data = base.model_dump(mode="json")
    data["stream"]["name"] += f"-{suffix}"
    for k in data["buckets"]:
        data["buckets"][k] += f"-{suffix}"
    data["alerts"]["topic"] += f"-{suffix}"
    data["alerts"]["dead_letter_queue"] += f"-{suffix}"
    data["operations"]["topic"] += f"-{suffix}"
    data["firehose"]["name"] += f"-{suffix}"
    data["glue"]["database"] += f"_{suffix.replace('-', '_')}"
    return config.parse(data)


@pytest.fixture
def aws_env(moto_port, monkeypatch) -> int:
    """Point boto3 in this test at the session's moto server."""
    for k, v in aws.env(config.load().region, moto_port).items():
        monkeypatch.setenv(k, v)
    return moto_port


@pytest.fixture
def local_pipeline(aws_env) -> config.Pipeline:
    """The repo's pipeline definition with unique names, provisioned on the moto server."""
    p = unique_pipeline(config.load(), f"t{os.getpid()}{next(_counter)}")
    provision.provision(p, aws_env)
    return p





def with_source(p: config.Pipeline, name: str, **changes) -> config.Pipeline:
    """A copy of `p` with fields of source `name` changed (e.g. its url)."""
    data = p.model_dump(mode="json")
    for s in data["producer"]["sources"]:
        if s["name"] == name:
            s.update(changes)
    return config.parse(data)


def with_settings(p: config.Pipeline, section: str, **changes) -> config.Pipeline:
    """A copy of `p` with keys of a dotted `section` (e.g. "producer.kinesis") changed."""
    data = p.model_dump(mode="json")
    node = data
    for key in section.split("."):
        node = node[key]
    node.update(changes)
    return config.parse(data)


@pytest.fixture
def simulator_server():
    """Start a simulator on a free port: `start(settings, faults=[...]) -> url`."""
    import threading

    from vigia import simulator

    servers = []

    def start(settings, faults=None) -> str:
        srv = simulator.make_server(settings, port=0, faults=faults)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()
