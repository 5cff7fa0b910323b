"""Entry point of the real-time job, the same file locally and on Managed Service for Apache Flink.

In the application zip this file sits at the root (the `python` run option points at it), next to
`flink_app/`, `vigia_core/`, `pipeline.yaml` and the dependencies. Locally: `python -m flink_app.main`
with $VIGIA_FLINK_PROPERTIES naming the runtime properties (vigia/local/flink.py does this).
Any configuration problem (properties, pipeline definition, a rule) stops start-up with a message
that names it, before the JVM starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLED = HERE / "python-packages"  # in the zip: flink_app, vigia_core and the dependencies (pyFiles)
if BUNDLED.is_dir():
    sys.path.insert(0, str(BUNDLED))


def pipeline_path(settings) -> Path | None:
    if settings.pipeline_path:
        return Path(settings.pipeline_path)
    beside = HERE / "pipeline.yaml"  # in the zip; locally the repo's (vigia_core.config's default)
    return beside if beside.exists() else None


def main() -> int:
    import yaml

    from flink_app import properties, rules
    from vigia_core import config

    try:
        settings = properties.load()
        path = pipeline_path(settings) or config.DEFAULT_PATH
        # Rules first, one by one, so a bad rule is reported by its name (not only its index).
        rules.validate_raw((yaml.safe_load(path.read_text()) or {}).get("rules", []))
        pipeline = config.load(path)
        rules.compile_rules(rules.rules_of(pipeline))
    except (properties.PropertiesError, config.ConfigError, rules.RuleError) as err:
        print(f"vigia flink job: cannot start: {err}", file=sys.stderr, flush=True)
        return 2
    from flink_app import job

    on_service = properties.path() == properties.SERVICE_PATH
    print(f"vigia flink job: {len(pipeline.rules)} rules, source {settings.source_connector}, "
          f"sink {settings.sink}, properties {properties.path()}", flush=True)
    job.run(pipeline, settings, jars=[] if on_service else job.default_jars(), local=not on_service)
    return 0


if __name__ == "__main__":
    sys.exit(main())
