"""Run every benchmark module (or those named on the command line) and write latest.json."""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import bench_batch, bench_flink, bench_kinesis_source, bench_producer

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
# A new benchmark module is added here: a plain import shows what `make bench` runs.
BENCHMARKS = {m.__name__.removeprefix("bench."): m
              for m in (bench_batch, bench_flink, bench_kinesis_source, bench_producer)}


def main(names: list[str]) -> None:
    modules = sorted(BENCHMARKS)
    chosen = [m for m in modules if not names or m in names or m.removeprefix("bench_") in names]
    results: dict = {}
    if RESULTS.exists() and names:  # a partial run keeps the other modules' last numbers
        results = json.loads(RESULTS.read_text())
    for name in chosen:
        print(f"== {name}", flush=True)
        t0 = time.monotonic()
        out = BENCHMARKS[name].run()
        out[f"{name}_wall_s"] = round(time.monotonic() - t0, 1)
        print(json.dumps(out, indent=2), flush=True)
        results.update(out)
    results["_meta"] = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                        "modules": chosen}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
