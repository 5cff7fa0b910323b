"""The batch path's verdict equals the contract's: on the adversarial record set the agreement tests
share (tests/support/adversarial.py), the Spark validation (glue.validation, compiled from
vigia_core.contract.checks) gives every record the same reason code as the Python evaluation
`checks.first_failure`, and its valid/invalid verdict equals `vigia_core.contract.validate` plus the gold rules."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pyspark.sql import functions as F

from glue import validation
from tests.support import adversarial as adv
from vigia_core import config, contract
from vigia_core.contract import checks

pytestmark = pytest.mark.integration
P = config.load()
LIMITS = checks.Limits.of(P)


def gold_rules_verdict(record: bytes) -> bool:
    """Valid by `vigia_core.contract.validate` and the gold rules, written out independently."""
    try:
        event = json.loads(record.decode("utf-8"), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (ValueError, RecursionError):
        return False
    if contract.validate(event, now=adv.ARRIVAL, max_age=timedelta(days=P.producer.max_event_age_days),
                         max_future_skew=timedelta(seconds=P.producer.max_future_skew_s)):
        return False
    spec = P.metrics.get(event["metric"])
    return spec is not None and event["unit"] == spec.unit and spec.min <= event["value"] <= spec.max


def test_spark_verdicts_equal_the_contract_on_adversarial_records(spark):
    records = adv.records(400)
    assert len(records) > 300
    df = spark.createDataFrame([(i, bytearray(r)) for i, (_, r) in enumerate(records)], "i int, b binary")
    raw = df.select("i", F.col("b").cast("string").alias("line"))  # the bytes as the text reader keeps them
    at = validation.Arrival(adv.ARRIVAL, P.firehose.buffering.interval_s)  # no Firehose file: arrived at ARRIVAL
    got = {r.i: r.reason_code for r in validation.checked(raw, LIMITS, at).select("i", "reason_code").collect()}

    expected = {}
    for i, (_, record) in enumerate(records):
        c = checks.first_failure(record, LIMITS, adv.ARRIVAL)
        expected[i] = c.code if c else None
    mismatches = [(records[i][0], expected[i], got[i]) for i in expected if expected[i] != got[i]]
    assert not mismatches, mismatches[:10]
    valid = {i for i, code in got.items() if code is None}
    assert 0 < len(valid) < len(records)
    differing = [records[i][0] for i in got if (i in valid) != gold_rules_verdict(records[i][1])]
    assert not differing, differing[:10]
