"""`make package-glue`: the job script, the zip of the Python modules it imports and the jar of its
JVM code (the CDK app uploads all three: --extra-py-files, --extra-jars; it also writes the deployed
pipeline definition the job reads from --pipeline_uri)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "glue"
# What raw_to_gold.py imports at run time in Glue: the shared core (config, clock, the contract with
# the checks the validation is compiled from), shipped whole, and the job's modules.
CORE = "vigia_core"
# The record checks as a Spark UDF (glue/udf), built by `make glue-udf` (a prerequisite of package-glue).
JAR = ROOT / "build" / "jars" / "vigia-glue-checks.jar"
MODULES = ["glue/__init__.py", "glue/transforms.py", "glue/validation.py", "glue/bookmark.py", "glue/catalog.py"]


def core_files() -> list[str]:
    """Every file of the core folder (relative to the repo), caches left out."""
    return sorted(f.relative_to(ROOT).as_posix() for f in (ROOT / CORE).rglob("*")
                  if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc" and f.name != "README.md")


def build() -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    script = OUT / "raw_to_gold.py"
    shutil.copyfile(ROOT / "glue" / "raw_to_gold.py", script)
    libs = OUT / "vigia_glue_libs.zip"
    with zipfile.ZipFile(libs, "w", zipfile.ZIP_DEFLATED) as z:
        for m in core_files() + MODULES:
            z.write(ROOT / m, m)
    if not JAR.exists():
        raise SystemExit(f"missing {JAR}: run `make glue-udf`")
    jar = OUT / JAR.name
    shutil.copyfile(JAR, jar)
    return [script, libs, jar]


if __name__ == "__main__":
    for path in build():
        print(path.relative_to(ROOT))
