"""The producer Lambda's code directory, as `make package-producer` builds it, runs the handler
the way Lambda does: Python 3.12, the bundle first on sys.path, boto3 from the "runtime", and the
deployed bucket names from VIGIA_BUCKET_SUFFIX (set by the stack)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from infra.artifacts import ROOT
from infra.components.producer import HANDLER, RUNTIME
from vigia import simulator
from vigia.local import provision, stream
from vigia.local.variants import with_source
from vigia_core import config

pytestmark = pytest.mark.integration

SUFFIX = "-123456789012-eu-west-1"
LAMBDA_PYTHON = RUNTIME.name.removeprefix("python")  # "3.12"


def lambda_python() -> str | None:
    """An interpreter of the Lambda's Python version (pyenv installs it on this machine kind)."""
    candidates = [shutil.which(f"python{LAMBDA_PYTHON}"),
                  *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{LAMBDA_PYTHON}.*/bin/python3")))]
    for exe in filter(None, candidates):
        probe = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == LAMBDA_PYTHON:
            return exe
    return None


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> tuple[str, Path, Path]:
    exe = lambda_python()
    if exe is None:
        pytest.skip(f"no Python {LAMBDA_PYTHON} interpreter to run the Lambda bundle with")
    from infra.package_producer import build

    root = tmp_path_factory.mktemp("lambda")
    build(root / "task")
    runtime = root / "runtime"  # what the Lambda runtime provides besides the bundle
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(runtime),
                    "--python-version", LAMBDA_PYTHON, "--only-binary=:all:", "boto3"], check=True)
    return exe, root / "task", runtime


def test_bundle_runs_the_handler_with_the_deployed_bucket_names(bundle, local_pipeline, simulator_server,
                                                                 aws_env, tmp_path):
    exe, task, runtime = bundle
    settings = simulator.Settings(seed=5, count=300)
    p = with_source(local_pipeline, "simulator", url=simulator_server(settings))
    deployed = config.parse({**p.model_dump(mode="json"),
                             "buckets": {k: v + SUFFIX for k, v in p.buckets.model_dump().items()}})
    provision.provision(deployed, aws_env)  # in AWS the stack creates the suffixed buckets
    definition = tmp_path / "pipeline.yaml"
    definition.write_text(yaml.safe_dump(p.model_dump(mode="json")))

    module, function = HANDLER.rsplit(".", 1)
    script = (f"import json, types; from {module} import {function} as h; "
              "ctx = types.SimpleNamespace(function_name='vigia-producer', memory_limit_in_mb=256, "
              "invoked_function_arn='arn:aws:lambda:eu-west-1:123456789012:function:vigia-producer', "
              "aws_request_id='r1'); "
              "print('RESULT ' + json.dumps(h({'sources': ['simulator']}, ctx)))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHONPATH=f"{task}{os.pathsep}{runtime}", VIGIA_PIPELINE=str(definition),
               VIGIA_BUCKET_SUFFIX=SUFFIX, POWERTOOLS_SERVICE_NAME="producer")
    # -S: no site-packages of that interpreter, only the bundle and the runtime's boto3.
    run = subprocess.run([exe, "-S", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))[7:])

    assert result["produced"] == len(stream.read_records(p)) > 0
    s3 = boto3.client("s3", region_name=p.region)

    def objects(bucket: str, prefix: str) -> list[str]:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return [s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode() for o in listed]

    # Rejects and the cursor land in the suffixed buckets, i.e. the deployed names were used.
    reject_lines = [line for body in objects(deployed.buckets.raw, p.producer.rejects_prefix)
                    for line in body.splitlines()]
    assert result["rejected"] == len(reject_lines) > 0
    assert len(objects(deployed.buckets.artifacts, p.producer.cursor_prefix)) == 1


def test_bundle_ships_the_shared_core_whole_and_not_the_local_runtime(bundle):
    _, task, _ = bundle
    core = ROOT / "vigia_core"
    expected = {f.relative_to(ROOT).as_posix() for f in core.rglob("*")
                if f.is_file() and "__pycache__" not in f.parts and f.name != "README.md"}
    shipped = {f.relative_to(task).as_posix() for f in (task / "vigia_core").rglob("*")
               if f.is_file() and "__pycache__" not in f.parts}  # caches: written when the handler ran
    assert shipped == expected
    assert not (task / "vigia").exists()
