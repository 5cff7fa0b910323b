"""Batching within the PutRecords limits, and retry of only the failed records."""

import random

from producer.kinesis_writer import KinesisWriter, Record, batches, record_size
from vigia_core.config import KinesisWriterSettings


def rec(i: int, size: int = 100) -> Record:
    return Record(b"x" * (size - len(f"k{i}")), f"k{i}", ref=i)


def test_batches_respect_record_count_and_bytes():
    records = [rec(i) for i in range(1201)]
    assert [len(b) for b in batches(records, 500, 5 * 1024 * 1024)] == [500, 500, 201]
    big = [rec(i, 400_000) for i in range(30)]
    out = batches(big, 500, 5 * 1024 * 1024)
    assert all(sum(record_size(r) for r in b) <= 5 * 1024 * 1024 for b in out)
    assert [r.ref for b in out for r in b] == list(range(30))  # order kept, nothing lost
    assert len(out[0]) == 13  # 13 * 400,000 <= 5 MiB < 14 * 400,000


class ScriptedKinesis:
    """Fails the records whose ref is in `fail[attempt]` on the given attempt number of that record."""

    def __init__(self, fail_times: dict[int, int]):
        self.fail_times = fail_times       # ref -> how many times it fails before succeeding
        self.sent: list[list[str]] = []

    def put_records(self, StreamName, Records):  # noqa: N803
        self.sent.append([r["PartitionKey"] for r in Records])
        out = []
        for r in Records:
            i = int(r["PartitionKey"][1:])
            if self.fail_times.get(i, 0) > 0:
                self.fail_times[i] -= 1
                out.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"})
            else:
                out.append({"ShardId": "shardId-0", "SequenceNumber": str(i)})
        return {"FailedRecordCount": sum("ErrorCode" in o for o in out), "Records": out}


def test_only_failed_records_are_retried_with_growing_backoff():
    kinesis = ScriptedKinesis({3: 1, 7: 2, 9: 99})
    sleeps = []
    w = KinesisWriter(kinesis, "s", KinesisWriterSettings(max_attempts=4, backoff_base_s=0.1),
                      sleep=sleeps.append, rng=random.Random(1))
    result = w.put([rec(i) for i in range(10)])
    assert kinesis.sent[0] == [f"k{i}" for i in range(10)]
    assert kinesis.sent[1:] == [["k3", "k7", "k9"], ["k7", "k9"], ["k9"]]
    assert sorted(r.ref for r, _, _ in result.accepted) == [i for i in range(10) if i != 9]
    assert [(r.ref, code) for r, code, _ in result.failed] == [(9, "ProvisionedThroughputExceededException")]
    assert result.retried_records == 6 and result.calls == 4
    assert len(sleeps) == 3 and all(0 <= s <= 0.1 * 2 ** (n + 1) for n, s in enumerate(sleeps))


def test_oversized_records_are_not_sent():
    kinesis = ScriptedKinesis({})
    w = KinesisWriter(kinesis, "s", KinesisWriterSettings(max_record_bytes=1000), sleep=lambda s: None)
    result = w.put([rec(1, 1000), rec(2, 1001)])
    assert [r.ref for r in result.too_large] == [2]
    assert kinesis.sent == [["k1"]]
