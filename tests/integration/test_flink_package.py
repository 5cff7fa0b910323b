"""The Managed Service for Apache Flink zip: layout, bundled code and dependencies, run options."""

from __future__ import annotations

import json
import zipfile

import pytest

from flink_app import package
from vigia.local import flink

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("flink-package")
    package.main(["--jar", str(flink.ensure_connector_jar()), "--out", str(out)])
    return out


def test_zip_layout_matches_the_run_options(built):
    run_options = json.loads((built / "run-options.json").read_text())
    assert run_options["PropertyGroupId"] == "kinesis.analytics.flink.run.options"
    opts = run_options["PropertyMap"]
    with zipfile.ZipFile(built / package.ZIP_NAME) as z:
        names = set(z.namelist())
        assert opts["python"] in names and opts["jarfile"] in names
        assert z.read("main.py") == (package.ROOT / "flink_app" / "main.py").read_bytes()
        assert z.read("pipeline.yaml") == (package.ROOT / "pipeline.yaml").read_bytes()
        with z.open(opts["jarfile"]) as jar, zipfile.ZipFile(jar) as j:  # the 'kinesis' table factory
            assert "KinesisDynamicTableFactory" in j.read("META-INF/services/org.apache.flink.table.factories.Factory").decode()
    pkgs = opts["pyFiles"]
    for module in ("flink_app/job.py", "flink_app/rules.py", "flink_app/publisher.py", "vigia_core/config.py",
                   "vigia_core/contract/__init__.py", "vigia_core/contract/event.v1.schema.json",
                   "boto3/__init__.py", "yaml/__init__.py", "pydantic/__init__.py", "jsonschema/__init__.py"):
        assert pkgs + module in names, module
    assert not any(n.startswith(pkgs + "pyflink/") for n in names), "the service provides PyFlink"
    core = {f.relative_to(package.ROOT).as_posix() for f in (package.ROOT / package.CORE).rglob("*")
            if f.is_file() and "__pycache__" not in f.parts and f.name != "README.md"}
    assert {pkgs + f for f in core} <= set(names), "the shared core ships whole"
    assert not any(n.startswith(pkgs + "vigia/") for n in names), "the local runtime stays on the laptop"


def test_binary_dependencies_are_built_for_the_services_python(built):
    with zipfile.ZipFile(built / package.ZIP_NAME) as z:
        native = [n for n in z.namelist() if n.endswith(".so")]
    assert native and all("cpython-312-x86_64-linux-gnu" in n for n in native), native[:5]
    assert any("pydantic_core" in n for n in native)
