"""The Glue job's --extra-py-files zip takes the shared core whole (not a list that can miss a new module)."""

from __future__ import annotations

from glue import package


def test_the_glue_libs_take_every_file_of_the_core():
    core = {f.relative_to(package.ROOT).as_posix() for f in (package.ROOT / package.CORE).rglob("*")
            if f.is_file() and "__pycache__" not in f.parts and f.name != "README.md"}
    assert set(package.core_files()) == core
    assert {"vigia_core/__init__.py", "vigia_core/contract/checks.py",
            "vigia_core/contract/event.v1.schema.json"} <= core
    assert not any(m.startswith("vigia/") for m in package.MODULES)
