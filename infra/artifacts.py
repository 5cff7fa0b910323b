"""The built code the stack deploys: producer Lambda dir, Flink zip, Glue script and libs, queries.

Each artifact is made by its own make target (the component owner's); the CDK app only
references the files, so `make synth` depends on those targets and never rebuilds code itself.
"""

from __future__ import annotations

import json
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_OPTIONS_GROUP = "kinesis.analytics.flink.run.options"
PLACEHOLDER = "VIGIA-PLACEHOLDER"  # in every stand-in artifact (e.g. package_producer)


class MissingArtifact(FileNotFoundError):
    """A code artifact is not built; the message names the make target that builds it."""


@dataclass(frozen=True)
class Artifacts:
    producer_dir: Path       # Lambda code: producer/, vigia_core/, pipeline.yaml, third-party deps
    flink_zip: Path          # Managed Flink application code
    flink_run_options: Path  # JSON: the kinesis.analytics.flink.run.options property group (or its map)
    glue_script: Path        # Glue job entry script
    glue_libs: Path          # zip for --extra-py-files
    glue_jar: Path           # the job's JVM code (the record checks as a Spark UDF) for --extra-jars
    queries_dir: Path        # athena/queries/*.sql, each becomes a named query

    @classmethod
    def from_repo(cls, root: Path = ROOT) -> "Artifacts":
        build = root / "build"
        return cls(
            producer_dir=build / "lambda" / "producer",
            flink_zip=build / "flink" / "vigia-flink.zip",
            flink_run_options=build / "flink" / "run-options.json",
            glue_script=build / "glue" / "raw_to_gold.py",
            glue_libs=build / "glue" / "vigia_glue_libs.zip",
            glue_jar=build / "glue" / "vigia-glue-checks.jar",
            queries_dir=root / "athena" / "queries",
        )

    def check(self) -> "Artifacts":
        targets = {
            self.producer_dir: "package-producer",
            self.flink_zip: "package-flink",
            self.flink_run_options: "package-flink",
            self.glue_script: "package-glue",
            self.glue_libs: "package-glue",
            self.glue_jar: "package-glue",
        }
        missing = [f"{path} (make {target})" for path, target in targets.items() if not path.exists()]
        if missing:
            raise MissingArtifact("code artifacts not built:\n  " + "\n  ".join(missing))
        return self

    def placeholders(self) -> list[Path]:
        """Artifacts that are stand-ins (carry the PLACEHOLDER marker): never to be deployed."""
        found = []
        for path in (self.producer_dir / "producer" / "handler.py", self.glue_script):
            if path.exists() and PLACEHOLDER in path.read_text():
                found.append(path)
        for path in (self.flink_zip, self.glue_libs):
            if path.exists() and PLACEHOLDER in zipfile.ZipFile(path).namelist():
                found.append(path)
        return found

    def run_options(self) -> dict[str, str]:
        """The run options map, from either a property group ({"PropertyGroupId": ..., "PropertyMap":
        {...}}, what flink_app/package.py writes) or the bare map."""
        data = json.loads(self.flink_run_options.read_text())
        if isinstance(data, dict) and "PropertyMap" in data:
            if data.get("PropertyGroupId") != RUN_OPTIONS_GROUP:
                raise ValueError(f"{self.flink_run_options}: PropertyGroupId must be {RUN_OPTIONS_GROUP!r}")
            data = data["PropertyMap"]
        if not isinstance(data, dict) or "python" not in data or "jarfile" not in data:
            raise ValueError(f"{self.flink_run_options}: expected run options with 'python' and 'jarfile'")
        return {str(k): str(v) for k, v in data.items()}

    def queries(self) -> dict[str, str]:
        """Query name (file stem) -> SQL text; none when the folder does not exist."""
        if not self.queries_dir.is_dir():
            return {}
        return {f.stem: f.read_text().strip() for f in sorted(self.queries_dir.glob("*.sql"))}


if __name__ == "__main__":  # `make deploy`: refuse stand-ins
    stand_ins = Artifacts.from_repo().check().placeholders()
    for path in stand_ins:
        print(f"placeholder artifact, not deployable: {path}", file=sys.stderr)
    sys.exit(1 if stand_ins else 0)
