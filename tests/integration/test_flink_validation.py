"""One validation, two runtimes: the job's routing on the mini-cluster and the gold rules in Python
(vigia_core.contract.checks, which agrees with vigia_core.contract.validate: tests/unit/test_contract_checks.py)
give the same verdict, and the same reason code, for every adversarial record."""

from __future__ import annotations

import base64
import json

import pytest

from flink_app.properties import JobSettings
from tests.support import adversarial as adv, flink_data as fd
from vigia.local.variants import with_settings
from vigia_core import config
from vigia_core.contract import checks

pytest.importorskip("pyflink")
pytestmark = pytest.mark.integration


def test_job_routing_agrees_with_the_gold_rules(tmp_path):
    from pyflink.datastream import StreamExecutionEnvironment

    from flink_app import job

    # One record per line: the file source splits on newlines (the only record with a raw
    # newline, "whitespace around the object", ends in " \t" instead).
    records = [r for _, r in adv.records(400)]
    assert all(b"\n" not in r for r in records)
    src = fd.write_jsonl(records, tmp_path / "src" / "records.txt", arrival=adv.ARRIVAL)
    p = with_settings(config.load(), "flink", parallelism=1)
    limits = checks.Limits.of(p)
    s = JobSettings(region=p.region, source_connector="filesystem", source_path=str(src), sink="collect")
    env = StreamExecutionEnvironment.get_execution_environment(job.configure(p, s))
    with job.build(env, p, s, rules=fd.RULES).execute_and_collect() as results:
        rows = [json.loads(line) for line in results]
    # The job stores the record as its source decoded it (bytes that are not UTF-8 as U+FFFD).
    flink = {base64.b64decode(r["data_base64"]).decode(): r["reason_code"] for r in rows if r["kind"] == "invalid"}
    python = {}
    for r in records:
        c = checks.first_failure(r, limits, adv.ARRIVAL)
        if c is not None:
            python[r.decode(errors="replace")] = c.code
    assert 150 < len(python) < len(records) - 100, "both verdicts in numbers"
    assert flink == python
    # A file record's key is its file and hash (on Kinesis: shard and sequence number): distinct
    # records never share one.
    dropped = [r for r in rows if r["kind"] in ("late", "invalid")]
    assert len({r["record_key"] for r in dropped}) == len({r["data_base64"] for r in dropped})
