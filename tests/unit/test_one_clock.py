"""Product code asks `vigia_core.clock.now()` for the time: no other call reads the wall clock.

A direct `datetime.now()` is how a fixed date met the wall clock before (the simulator's replay
against the producer's age check): this finds any new one, with its file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("vigia_core", "vigia", "producer", "glue", "flink_app", "firehose", "infra")
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time"), ("time", "time_ns")}
ALLOWED = {
    "vigia_core/clock.py",  # the one clock
    # When an SNS message reached the local inbox: compared with the job's publish time to measure
    # alert latency, a duration between two wall-clock readings.
    "vigia/local/inbox.py",
}


def wall_clock_calls(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and (node.func.value.id, node.func.attr) in WALL_CLOCK):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.func.value.id}.{node.func.attr}()")
    return found


def test_no_product_module_reads_the_wall_clock_but_vigia_clock():
    files = [f for d in PRODUCT for f in (ROOT / d).rglob("*.py")
             if "node_modules" not in f.parts and str(f.relative_to(ROOT)) not in ALLOWED]
    assert len(files) > 30
    assert [c for f in files for c in wall_clock_calls(f)] == []


def test_the_check_finds_a_wall_clock_call(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import time\nfrom datetime import datetime\nNOW = datetime.now()\nT = time.time()\n")
    assert wall_clock_calls(probe, tmp_path) == ["probe.py:3: datetime.now()", "probe.py:4: time.time()"]
