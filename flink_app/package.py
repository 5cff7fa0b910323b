"""`make package-flink`: the Managed Service for Apache Flink application zip and its run options.

Zip layout (build/flink/vigia-flink.zip):
  main.py                                 the `python` run option
  pipeline.yaml                           the pipeline definition the job reads its rules from
  lib/vigia-kinesis-connector.jar         the `jarfile` run option (the Kinesis source)
  python-packages/                        the `pyFiles` run option (added to PYTHONPATH):
      flink_app/, vigia_core/ (the shared core, whole) and the job's dependencies for the service's
      Python 3.12 (pyyaml, pydantic, jsonschema, boto3: boto3 is not on the service)
build/flink/run-options.json holds the property group `kinesis.analytics.flink.run.options`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "flink"
ZIP_NAME = "vigia-flink.zip"
JAR_PATH = "lib/vigia-kinesis-connector.jar"
PACKAGES = "python-packages"
# What the job imports besides pyflink (provided by the service); versions follow pyproject.toml.
REQUIREMENTS = ["pyyaml>=6", "pydantic>=2.6,<3", "jsonschema>=4.20", "boto3>=1.34"]
CORE = "vigia_core"  # the shared core the job stands on, shipped whole (it imports nothing else of ours)
RUN_OPTIONS = {"PropertyGroupId": "kinesis.analytics.flink.run.options",
               "PropertyMap": {"python": "main.py", "jarfile": JAR_PATH, "pyFiles": f"{PACKAGES}/"}}


def stage(dest: Path, jar: Path, wheels_cache: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    pkgs = dest / PACKAGES
    pkgs.mkdir(parents=True)
    shutil.copy2(ROOT / "flink_app" / "main.py", dest / "main.py")
    shutil.copy2(ROOT / "pipeline.yaml", dest / "pipeline.yaml")
    (dest / "lib").mkdir()
    shutil.copy2(jar, dest / JAR_PATH)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "package.py",  # laptop-only
                                    "application_properties.json", "README.md")
    shutil.copytree(ROOT / "flink_app", pkgs / "flink_app", ignore=ignore)
    shutil.copytree(ROOT / CORE, pkgs / CORE, ignore=ignore)
    # Wheels for the service's interpreter (CPython 3.12, x86_64 Linux), never built from source.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(pkgs),
                    "--python-version", "3.12", "--implementation", "cp", "--platform", "manylinux2014_x86_64",
                    "--only-binary=:all:", "--cache-dir", str(wheels_cache), *REQUIREMENTS], check=True)
    for junk in pkgs.glob("bin"):
        shutil.rmtree(junk)
    return dest


def write_zip(src: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(src.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(src).as_posix())
    return target


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jar", type=Path, default=ROOT / "build" / "flink-connector" / "vigia-kinesis-connector.jar")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    if not a.jar.exists():
        sys.exit(f"connector jar not found: {a.jar} (make flink-connector builds it)")
    a.out.mkdir(parents=True, exist_ok=True)
    staged = stage(a.out / "stage", a.jar, a.out / "pip-cache")
    z = write_zip(staged, a.out / ZIP_NAME)
    (a.out / "run-options.json").write_text(json.dumps(RUN_OPTIONS, indent=2) + "\n")
    print(f"{z} ({z.stat().st_size / 1e6:.1f} MB), {a.out / 'run-options.json'}")


if __name__ == "__main__":
    main()
