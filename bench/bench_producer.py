"""Producer throughput on the local endpoint, and PutRecords batching: 500-record vs 50-record calls.

Everything runs in one process against one moto server in the same run, so the ratios hold on a
noisy machine even though moto bounds the absolute numbers far below real Kinesis.
- `producer_events_per_s`: a whole poll (HTTP pages, mapping, contract validation, PutRecords,
  rejects, cursor) over the simulator's items;
- `kinesis_writer_*`: the writer alone on ready records, by batch size.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time

from producer import handler as producer
from producer.kinesis_writer import KinesisWriter, Record
from vigia import simulator
from vigia.local import aws, provision
from vigia.local.variants import unique_pipeline, with_settings, with_source
from vigia_core import config

ITEMS = 6000
RECORDS = 10_000


def _writer_rate(p: config.Pipeline, port: int, batch: int) -> float:
    p = with_settings(p, "producer.kinesis", max_batch_records=batch)
    writer = KinesisWriter(aws.client("kinesis", p.region, port), p.stream.name, p.producer.kinesis)
    records = [Record(b'{"pad":"' + b"x" * 300 + b'"}', f"sensor-{i % 20:03d}") for i in range(RECORDS)]
    t0 = time.perf_counter()
    result = writer.put(records)
    assert len(result.accepted) == RECORDS
    return RECORDS / (time.perf_counter() - t0)


def run() -> dict:
    sim = simulator.make_server(simulator.Settings(count=ITEMS), port=0)
    threading.Thread(target=sim.serve_forever, daemon=True).start()
    with aws.private_server() as port:
        try:
            return _measure(port, sim)
        finally:
            sim.shutdown()


def _measure(port: int, sim) -> dict:
    base = unique_pipeline(config.load(), "bench")
    aws.use(base.region, port)
    provision.provision(base, port)
    p = with_source(base, "simulator", url=f"http://127.0.0.1:{sim.server_address[1]}", page_size=2000)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the EMF lines
        result = producer.run(p, ["simulator"])
    poll_rate = result["source_items"] / (time.perf_counter() - t0)
    rates = {batch: _writer_rate(base, port, batch) for batch in (500, 50)}
    return {"producer_events_per_s": round(poll_rate),
            "kinesis_writer_records_per_s_batch500": round(rates[500]),
            "kinesis_writer_records_per_s_batch50": round(rates[50]),
            "kinesis_writer_batch500_vs_batch50": round(rates[500] / rates[50], 2)}
