"""The house has one floor per role, and imports only go down (README: "Where things are").

  core        vigia_core/                          imports nothing else of ours (every bundle ships it whole)
  components  producer/ flink_app/ firehose/ glue/ infra/   the core and each other
  local       vigia/ (the AWS stand-ins, the simulator)     the core and the components
  cli         vigia/cli/ (the commands and demo stages)     everything below

Read from the source with `ast` (imports inside functions count too), so a dependency cannot hide
in a lazy import; and no code of ours loads a module by a dotted string (`import_module`), which
would hide it from this check.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("producer", "flink_app", "firehose", "glue", "athena", "infra")
FLOORS = {"core": 0, "component": 1, "local": 2, "cli": 3}
CHECKED = ("vigia_core", *COMPONENTS, "vigia")
EVERYTHING_OURS = (*CHECKED, "bench", "tests")


def floor(module: str) -> str | None:
    """The floor of a module of ours by its dotted name; None for anything else (stdlib, third party)."""
    top = module.split(".")[0]
    if top == "vigia_core":
        return "core"
    if top in COMPONENTS:
        return "component"
    if module == "vigia.cli" or module.startswith("vigia.cli."):
        return "cli"
    if top == "vigia":
        return "local"
    return None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, dotted name) of every import; `from a import b` yields a.b, since b may be a module."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                package = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(package + ([base] if base else []))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return out


def files(root: Path, packages: tuple[str, ...]) -> list[Path]:
    return [f for d in packages for f in (root / d).rglob("*.py") if "node_modules" not in f.parts]


def upward_imports(root: Path = ROOT, packages: tuple[str, ...] = CHECKED) -> list[str]:
    """Every import that goes up a floor, as `file:line: from-floor imports name (floor)`."""
    found = []
    for f in files(root, packages):
        module = module_name(f, root)
        here = floor(module)
        for line, name in imported(ast.parse(f.read_text(), str(f)), module, f.name == "__init__.py"):
            there = floor(name)
            if here and there and FLOORS[there] > FLOORS[here]:
                found.append(f"{f.relative_to(root)}:{line}: {here} imports {name} ({there})")
    return found


def dynamic_imports(root: Path = ROOT, packages: tuple[str, ...] = EVERYTHING_OURS) -> list[str]:
    found = []
    for f in files(root, packages):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name == "import_module":
                    found.append(f"{f.relative_to(root)}:{node.lineno}: import_module")
    return found


def test_imports_only_go_down_the_floors():
    assert len(files(ROOT, CHECKED)) > 60
    assert upward_imports() == []


def test_no_module_of_ours_is_imported_by_a_dotted_string():
    assert dynamic_imports() == []


def test_the_check_finds_an_import_up_a_floor(tmp_path):
    probes = {
        "vigia_core/config.py": "from producer import handler\n",                # core -> component
        "vigia_core/clock.py": "import vigia.local.aws\n",                       # core -> local
        "glue/job.py": "def f():\n    from vigia.local import aws\n",           # component -> local, lazily
        "flink_app/demo.py": "from vigia import cli\n",                          # component -> cli
        "vigia/local/x.py": "from ..cli import demo\n",                          # local -> cli, relative
        "vigia/local/ok.py": "from producer import handler\nfrom vigia_core import config\n",  # down: fine
        "vigia/cli/ok.py": "from vigia.local import aws\nfrom glue import raw_to_gold\n",
        "bench/x.py": "import importlib\nM = importlib.import_module('vigia.cli')\n",
    }
    for name, text in probes.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert sorted(upward_imports(tmp_path)) == sorted([
        "vigia_core/config.py:1: core imports producer.handler (component)",
        "vigia_core/clock.py:1: core imports vigia.local.aws (local)",
        "glue/job.py:2: component imports vigia.local.aws (local)",
        "flink_app/demo.py:1: component imports vigia.cli (cli)",
        "vigia/local/x.py:1: local imports vigia.cli.demo (cli)",
    ])
    assert dynamic_imports(tmp_path) == ["bench/x.py:2: import_module"]
