"""Runs PyFlink jobs on the 'kinesis' connector jar for the tests, one JVM for many jobs.

Started as a subprocess (so `JAVA_TOOL_OPTIONS=-Daws.cborEnabled=false` reaches the JVM before it
starts) and driven over stdin/stdout with one JSON object per line; answers are printed as lines
starting with `@@ ` (the JVM may print other lines). Commands:

  {"cmd": "open", "name": t, "columns": "...", "options": {...}, "checkpoint_ms": n?, "restore": path?,
   "query": sql?, "parallelism": n?, "config": {key: value}?}
      CREATE TABLE t (...) WITH (options) and run the query (default `SELECT * FROM t`); rows are
      collected by a thread.
  {"cmd": "rows", "name": t}            -> {"rows": [...], "error": str|None} (all rows so far)
  {"cmd": "count", "name": t}           -> {"count": n, "error": str|None}
  {"cmd": "cancel", "name": t}          -> cancel the job, wait for a terminal status
  {"cmd": "savepoint", "name": t, "dir": d} -> stop with a savepoint; {"path": ..., "rows": [...]}
  {"cmd": "plan_error", "name": t, "columns": "...", "options": {...}} -> {"error": message}
  {"cmd": "quit"}
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback

from pyflink.java_gateway import get_gateway
from pyflink.table import EnvironmentSettings, TableEnvironment

JAR = sys.argv[1]
jobs: dict[str, dict] = {}


def table_env(checkpoint_ms: int | None = None, restore: str | None = None,
              parallelism: int = 2, config: dict | None = None) -> TableEnvironment:
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    cfg = t_env.get_config()
    cfg.set("pipeline.jars", f"file://{JAR}")
    cfg.set("parallelism.default", str(parallelism))
    cfg.set("table.local-time-zone", "UTC")
    if checkpoint_ms:
        cfg.set("execution.checkpointing.interval", f"{checkpoint_ms} ms")
    if restore:
        cfg.set("execution.state-recovery.path", restore)
        # The collect sink of each SELECT is a new operator; the source's state must (and does:
        # the test would see replayed records otherwise) map to the same operator.
        cfg.set("execution.state-recovery.ignore-unclaimed-state", "true")
    for key, value in (config or {}).items():
        cfg.set(key, value)
    return t_env


def ddl(name: str, columns: str, options: dict) -> str:
    with_ = ",\n".join(f"  '{k}' = '{v}'" for k, v in options.items())
    return f"CREATE TABLE {name} ({columns}) WITH (\n{with_}\n)"


def collect(job: dict) -> None:
    try:
        with job["result"].collect() as it:
            for row in it:
                job["rows"].append(list(row))
    except Exception as e:  # cancelling the job ends collect() with an error: expected
        if not job["stopping"]:
            job["error"] = f"{type(e).__name__}: {e}"
    finally:
        job["done"].set()


def wait_terminal(client, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    status = "?"
    while time.monotonic() < deadline:
        try:
            status = str(client.get_job_status().result())
        except Exception:  # the per-job mini-cluster is gone once the job ended
            return "GONE"
        if status in ("CANCELED", "FAILED", "FINISHED"):
            return status
        time.sleep(0.1)
    return status


def handle(msg: dict) -> dict:
    cmd = msg["cmd"]
    if cmd == "open":
        t_env = table_env(msg.get("checkpoint_ms"), msg.get("restore"), msg.get("parallelism", 2),
                          msg.get("config"))
        t_env.execute_sql(ddl(msg["name"], msg["columns"], msg["options"]))
        result = t_env.execute_sql(msg.get("query") or f"SELECT * FROM {msg['name']}")
        job = {"result": result, "client": result.get_job_client(), "rows": [], "error": None,
               "stopping": False, "done": threading.Event()}
        jobs[msg["name"]] = job
        threading.Thread(target=collect, args=(job,), daemon=True).start()
        return {"job_id": str(job["client"].get_job_id())}
    if cmd == "rows":
        job = jobs[msg["name"]]
        return {"rows": list(job["rows"]), "error": job["error"]}
    if cmd == "count":
        job = jobs[msg["name"]]
        return {"count": len(job["rows"]), "error": job["error"]}
    if cmd == "cancel":
        job = jobs.pop(msg["name"])
        job["stopping"] = True
        job["client"].cancel().result()
        return {"status": wait_terminal(job["client"])}
    if cmd == "savepoint":
        job = jobs.pop(msg["name"])
        job["stopping"] = True
        # pyflink 2.2's JobClient.stop_with_savepoint calls a Java overload that no longer exists
        # (it lacks the format type): call the Java client directly.
        canonical = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
        path = job["client"]._j_job_client.stopWithSavepoint(False, msg["dir"], canonical).get()
        job["done"].wait(60)  # the collect iterator drains the rows committed up to the savepoint
        return {"path": path, "rows": list(job["rows"]), "error": job["error"]}
    if cmd == "plan_error":
        t_env = table_env()
        try:
            t_env.execute_sql(ddl(msg["name"], msg["columns"], msg["options"]))
            t_env.execute_sql(f"SELECT * FROM {msg['name']}").get_job_client().cancel().result()
        except Exception as e:
            return {"error": str(e)}
        return {"error": None}
    raise ValueError(f"unknown command {cmd}")


def main() -> None:
    print("@@ " + json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["cmd"] == "quit":
            break
        try:
            answer = handle(msg)
        except Exception as e:
            answer = {"exception": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-3000:]}
        print("@@ " + json.dumps(answer, default=str), flush=True)
    for job in jobs.values():  # never leave a job running
        job["stopping"] = True
        job["client"].cancel()


if __name__ == "__main__":
    main()
