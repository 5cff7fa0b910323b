"""Run every benchmark module (or those named on the command line) and write latest.json."""

from __future__ import annotations

import importlib
import json
import pkgutil
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import bench

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def main(names: list[str]) -> None:
    modules = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    chosen = [m for m in modules if not names or m in names or m.removeprefix("bench_") in names]
    results: dict = {}
    if RESULTS.exists() and names:  # a partial run keeps the other modules' last numbers
        results = json.loads(RESULTS.read_text())
    for name in chosen:
        print(f"== {name}", flush=True)
        t0 = time.monotonic()
        out = importlib.import_module(f"bench.{name}").run()
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
