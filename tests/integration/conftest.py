"""Fixtures of the integration tests that run the Flink job as its own process."""

from __future__ import annotations

import pytest

from vigia.local import flink, services


@pytest.fixture
def job_state(tmp_path, monkeypatch):
    """Local state (pid, log files) of the Flink job under tmp_path; the job is stopped at the end."""
    monkeypatch.setattr(services, "STATE_DIR", tmp_path / "state")
    flink.ensure_connector_jar()
    yield tmp_path
    flink.stop()
