"""Build the producer Lambda's code directory without Docker (`make package-producer`).

Third-party dependencies are the project's runtime dependencies (pyproject.toml) minus boto3
(the Lambda runtime has it), downloaded as manylinux wheels for the Lambda's Python; then the
project's own code: producer/, the shared core vigia_core/ (whole) and pipeline.yaml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from infra.artifacts import PLACEHOLDER, ROOT, Artifacts
from infra.components.producer import RUNTIME

IN_RUNTIME = {"boto3", "botocore", "s3transfer"}  # the runtime's own; a bundled botocore would shadow it
EXTRAS = {"aws-lambda-powertools": {"tracer"}}  # Tracer needs the X-Ray SDK


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    out = []
    for dep in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        req = Requirement(dep)
        if req.name.lower() in IN_RUNTIME:
            continue
        req.extras |= EXTRAS.get(req.name, set())
        out.append(str(req))
    return out


def build(target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    python_version = RUNTIME.name.removeprefix("python")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
                    "--platform", "manylinux2014_x86_64", "--implementation", "cp",
                    "--python-version", python_version, "--only-binary=:all:", *requirements()], check=True)
    for pulled_in in IN_RUNTIME:  # e.g. the X-Ray SDK depends on botocore
        for path in target.glob(f"{pulled_in}*"):
            shutil.rmtree(path)
    for package in ("producer", "vigia_core"):
        src = ROOT / package
        if src.is_dir():
            shutil.copytree(src, target / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "README.md"))
        else:  # only until the producer is merged; `make deploy` refuses STUB artifacts
            print(f"WARNING: {src} is missing; the Lambda asset gets a placeholder handler", file=sys.stderr)
            (target / package).mkdir()
            (target / package / "handler.py").write_text(
                f"def handler(event, context):\n    raise RuntimeError('{PLACEHOLDER}: {src} was missing at build time')\n")
    shutil.copy2(ROOT / "pipeline.yaml", target / "pipeline.yaml")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Artifacts.from_repo().producer_dir)
