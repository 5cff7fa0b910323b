"""Synthesize the stack ONCE per test session (jsii start + synth take ~20 s), offline, with
small placeholder code artifacts (the template does not depend on their content) and two
Athena queries; tests then read the synthesized CloudFormation template as JSON."""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # Node 20 here; see Makefile

from vigia_core import config  # noqa: E402

RUN_OPTIONS = {"python": "main.py", "jarfile": "lib/vigia-kinesis-connector.jar", "pyFiles": "python-packages/"}
QUERIES = {"hourly_rollup": "SELECT entity_id, count(*) FROM entity_metric_hourly GROUP BY 1",
           "freshness": "SELECT source, max(event_time) FROM events GROUP BY 1"}


@dataclass
class Synth:
    pipeline: config.Pipeline
    template: dict
    template_path: Path
    outdir: Path
    run_options: dict
    queries: dict

    def resources(self, cfn_type: str) -> dict[str, dict]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == cfn_type}

    def one(self, cfn_type: str) -> dict:
        found = self.resources(cfn_type)
        assert len(found) == 1, f"expected one {cfn_type}, found {sorted(found)}"
        return next(iter(found.values()))["Properties"]

    def one_where(self, cfn_type: str, **props) -> dict:
        return self.template["Resources"][self.logical_id(cfn_type, **props)]["Properties"]

    def logical_id(self, cfn_type: str, **props) -> str:
        """The logical ID of the one resource of `cfn_type` whose properties include `props`."""
        ids = [k for k, v in self.resources(cfn_type).items()
               if all(v.get("Properties", {}).get(pk) == pv for pk, pv in props.items())]
        assert len(ids) == 1, f"{cfn_type} with {props}: {ids}"
        return ids[0]

    def role_statements(self, role_id: str) -> list[dict]:
        out = []
        for pol in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_id} in pol["Properties"]["Roles"]:
                out += pol["Properties"]["PolicyDocument"]["Statement"]
        return out


def placeholder_artifacts(root: Path):
    from infra.artifacts import Artifacts

    (root / "producer").mkdir(parents=True)
    (root / "producer" / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    for name in ("flink.zip", "libs.zip"):
        with zipfile.ZipFile(root / name, "w") as z:
            z.writestr("placeholder.txt", "test")
    (root / "run-options.json").write_text(json.dumps(  # the format flink_app/package.py writes
        {"PropertyGroupId": "kinesis.analytics.flink.run.options", "PropertyMap": RUN_OPTIONS}))
    (root / "raw_to_gold.py").write_text("print('placeholder')\n")
    with zipfile.ZipFile(root / "checks.jar", "w") as z:
        z.writestr("placeholder.txt", "test")
    (root / "queries").mkdir()
    for name, sql in QUERIES.items():
        (root / "queries" / f"{name}.sql").write_text(sql + "\n")
    return Artifacts(producer_dir=root / "producer", flink_zip=root / "flink.zip",
                     flink_run_options=root / "run-options.json", glue_script=root / "raw_to_gold.py",
                     glue_libs=root / "libs.zip", glue_jar=root / "checks.jar", queries_dir=root / "queries")


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Synth:
    from infra.app import build

    root = tmp_path_factory.mktemp("infra")
    artifacts = placeholder_artifacts(root / "artifacts")
    p = config.load()
    outdir = root / "cdk.out"
    app, stack = build(p, artifacts, outdir)
    app.synth()  # raises if cdk-nag reports an unacknowledged finding
    path = outdir / stack.template_file
    return Synth(pipeline=p, template=json.loads(path.read_text()), template_path=path, outdir=outdir,
                 run_options=RUN_OPTIONS, queries=QUERIES)
