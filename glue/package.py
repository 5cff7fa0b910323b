"""`make package-glue`: the job script and the zip of the Python modules it imports (the CDK app
uploads both; it also writes the deployed pipeline definition the job reads from --pipeline_uri)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "glue"
# What raw_to_gold.py imports at run time in Glue: the shared config, clock and contract (with the
# checks the validation is compiled from), and the job's modules.
MODULES = ["vigia/__init__.py", "vigia/clock.py", "vigia/config.py", "vigia/contract/__init__.py",
           "vigia/contract/checks.py", "vigia/contract/event.v1.schema.json", "glue/__init__.py",
           "glue/transforms.py", "glue/validation.py", "glue/bookmark.py", "glue/catalog.py"]


def build() -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    script = OUT / "raw_to_gold.py"
    shutil.copyfile(ROOT / "glue" / "raw_to_gold.py", script)
    libs = OUT / "vigia_glue_libs.zip"
    with zipfile.ZipFile(libs, "w", zipfile.ZIP_DEFLATED) as z:
        for m in MODULES:
            z.write(ROOT / m, m)
    return [script, libs]


if __name__ == "__main__":
    for path in build():
        print(path.relative_to(ROOT))
