"""The wheel holds every module of the project, and each imports from the wheel alone.

setup.py discovers the packages (a hand-written list once left new subpackages out).
The check builds the wheel, unpacks it into an empty folder and imports every module
in a fresh interpreter that sees that folder and the dependencies, but neither the
repository nor the editable install (``-S`` skips the ``.pth`` file that maps the
import names to the source folders).
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

IMPORT_ALL = """
import importlib, json, sys
names = json.loads(sys.argv[1])
where = {}
for name in names:
    module = importlib.import_module(name)
    where[name] = getattr(module, "__file__", None) or ""
print(json.dumps(where))
"""


def _roots() -> dict[str, str]:
    """setup.py's ``ROOTS`` (import name -> folder), read without running setup()."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ROOTS":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py defines no ROOTS")


ROOTS = _roots()


def _source_modules() -> set[str]:
    """Every module in the repository's package folders, by its installed name."""
    names = set()
    for name, folder in ROOTS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.add(".".join((name, *parts)))
    return names


@pytest.mark.slow
def test_wheel_contains_and_imports_every_module(tmp_path: Path) -> None:
    # built from a copy: setuptools reuses a build/ folder, which would hide a left-out file
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ROOTS.values():
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    target = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
        files = archive.namelist()

    in_wheel = set()
    for name in files:
        if name.endswith(".py") and ".dist-info/" not in name:
            parts = Path(name).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            in_wheel.add(".".join(parts))
    # migration scripts are loaded by Alembic from their files, not imported by name
    expected = {n for n in _source_modules() if ".migrations." not in n}
    missing = expected - in_wheel
    assert not missing, f"modules left out of the wheel: {sorted(missing)}"
    assert any(n.endswith("data/plz_de.csv") for n in files), "gazetteer data missing"
    assert "directory_bench/judged_queries.csv" in files, "the bench's judged queries missing"
    assert any(n.startswith("directory_core/migrations/versions/0001") for n in files)

    deps = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-S", "-c", IMPORT_ALL, json.dumps(sorted(expected))],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"PYTHONPATH": f"{target}:{deps}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    where = json.loads(result.stdout)
    outside = {n: f for n, f in where.items() if not f.startswith(str(target))}
    assert not outside, f"imported from outside the wheel: {outside}"
