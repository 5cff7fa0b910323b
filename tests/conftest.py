"""Shared fixtures: a real moto server for the test session, and per-test pipelines on it.

Integration tests talk to a moto server process over HTTP (never in-process mocks). Each test
that provisions resources gets its own names (suffix), so tests do not see each other's data.
"""

from __future__ import annotations

import itertools
import os

import pytest

from vigia_core import config
from vigia.local import aws, provision
from vigia.local.variants import free_port, unique_pipeline, with_settings, with_source  # noqa: F401 (re-exported)

_counter = itertools.count()


@pytest.fixture(scope="session")
def moto_port(tmp_path_factory) -> int:
    """A moto server process on a free port, for the whole test session."""
    with aws.private_server(tmp_path_factory.mktemp("moto") / "moto.log") as port:
        yield port


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


@pytest.fixture(scope="session")
def spark_session(moto_port):
    """One local SparkSession for the whole test run (JVM start-up is the slow part), with s3a
    pointed at the session's moto server. Needs the jars of `make glue-jars`."""
    from glue import spark_local

    session = spark_local.session(aws.endpoint(moto_port), config.load().region, app="vigia-tests")
    yield session
    session.stop()


@pytest.fixture
def spark(spark_session):
    """The session's SparkSession, with PySpark's py4j error conversion in place: a PyFlink test in
    the same process replaces it with PyFlink's (both patch py4j's get_return_value), and Spark's
    AnalysisException would then arrive as a bare Py4JJavaError. Glue never runs PyFlink."""
    from pyspark.errors.exceptions.captured import install_exception_handler

    install_exception_handler()
    return spark_session
