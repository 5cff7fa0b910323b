"""`vigia query` as a terminal user and a script see it: the three formats, a wide result on an
80-column terminal with no value cut, and the run time and data scanned under the table."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from click.testing import CliRunner

from tests.athena.lake import UNREGISTERED_DAY
from vigia.cli import main
from vigia.local.athena import output

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(lake, moto_port, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "pipeline.yaml"
    path.write_text(yaml.safe_dump(lake.pipeline.model_dump(mode="json")))

    def invoke(*args: str) -> str:
        r = CliRunner().invoke(main, ["--pipeline", str(path), "query", *args],
                               env={"VIGIA_MOTO_PORT": str(moto_port), "COLUMNS": "80"})
        assert r.exit_code == 0, r.output
        return r.output
    return invoke


def _registered(lake):
    return [e for e in lake.events if e["event_time"].strftime("%Y-%m-%d") != UNREGISTERED_DAY]


def test_csv_and_json_for_scripts(lake, run):
    sql = "SELECT source, count(*) AS n FROM events GROUP BY source ORDER BY source"
    counts = {}
    for e in _registered(lake):
        counts[e["source"]] = counts.get(e["source"], 0) + 1
    rows = list(csv.reader(io.StringIO(run("--format", "csv", sql))))
    assert rows == [["source", "n"]] + [[s, str(n)] for s, n in sorted(counts.items())]
    assert json.loads(run("--format", "json", sql)) == [{"source": s, "n": n} for s, n in sorted(counts.items())]


def test_wide_result_is_not_cut_on_80_columns(lake, run):
    out = run("SELECT * FROM events WHERE event_id = 'ev-00007'")
    event = next(e for e in lake.events if e["event_id"] == "ev-00007")
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "…" not in out
    for value in (event["metric"], event["entity_id"], event["event_id"], "ingest_time", "attributes"):
        assert value in out


def test_run_time_and_data_scanned_under_the_table(lake, run):
    out = run("SELECT count(*) FROM events WHERE dt = '2026-11-02'")
    last = out.strip().splitlines()[-1]
    assert last.startswith("Run time: ") and "Data scanned: " in last
    scanned = last.split("Data scanned: ")[1]
    assert scanned != "0.00 KB" and scanned.split()[1] in ("KB", "MB")


def test_data_scanned_format_matches_the_console():
    assert [output.data_scanned(n) for n in (0, 512, 2960, 5 * 1024 * 1024)] == ["0.00 KB", "0.50 KB", "2.89 KB",
                                                                                 "5.00 MB"]



def test_unsupported_is_one_line_on_stderr_and_writes_nothing_else(lake, moto_port, tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(lake.pipeline.model_dump(mode="json")))
    r = CliRunner().invoke(main, ["--pipeline", str(path), "query", "EXPLAIN SELECT count(*) FROM events"],
                           env={"VIGIA_MOTO_PORT": str(moto_port)})
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == ["Error: not supported by the local Athena: the statement EXPLAIN"]
