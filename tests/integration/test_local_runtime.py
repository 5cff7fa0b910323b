"""`vigia up` is idempotent and `vigia down` ends exactly what it started."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from tests.conftest import free_port
from vigia.local import provision, services

pytestmark = pytest.mark.integration


def vigia(*args: str, env: dict) -> str:
    out = subprocess.run([sys.executable, "-m", "vigia.cli", *args], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_up_twice_creates_nothing_new_and_down_stops_our_processes(tmp_path):
    env = {**os.environ, "VIGIA_STATE_DIR": str(tmp_path), "VIGIA_MOTO_PORT": str(free_port())}
    first = vigia("up", env=env)
    created = int(re.search(r"(\d+) created", first).group(1))
    assert created >= 14
    pid = int((tmp_path / "pids" / "moto.pid").read_text())
    second = vigia("up", env=env)
    assert "already running" in second and f"0 created, {created} already present" in second
    assert int((tmp_path / "pids" / "moto.pid").read_text()) == pid
    assert "stopped: moto" in vigia("down", env=env)
    assert not services.alive(pid)  # (a reaped process, or a zombie left to an init that does not reap)
    assert not (tmp_path / "pids" / "moto.pid").exists()
    assert "nothing to stop" in vigia("down", env=env)


def test_provisioning_twice_reports_every_resource_as_existing(local_pipeline, aws_env):
    again = provision.provision(local_pipeline, aws_env)
    assert again and all(c.action == "exists" for c in again)


def test_a_bad_definition_stops_the_cli_with_the_key_and_reason(tmp_path):
    bad = tmp_path / "pipeline.yaml"
    bad.write_text(config_text().replace("shard_count: 2", "shard_count: 0").replace("cooldown_s: 300", "cooldown: 300", 1))
    out = subprocess.run([sys.executable, "-m", "vigia.cli", "--pipeline", str(bad), "validate"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "stream.shard_count: Input should be greater than or equal to 1 (got 0)" in out.stderr
    assert "rules.0.cooldown: unknown key" in out.stderr


def config_text() -> str:
    from vigia_core import config

    return config.DEFAULT_PATH.read_text()


def test_a_port_held_by_a_process_we_did_not_start_stops_up_with_its_number(tmp_path):
    """Another checkout's moto (or anything) on our port: `vigia up` must not use it silently."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        env = {**os.environ, "VIGIA_STATE_DIR": str(tmp_path), "VIGIA_MOTO_PORT": str(port)}
        out = subprocess.run([sys.executable, "-m", "vigia.cli", "up"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert out.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "pids" / "moto.pid").exists()
