"""The AWO example plugin installs with pip and is found through its entry point."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .import_fixtures import DORTMUND, PLUGINS

pytestmark = pytest.mark.slow

GUIDE = Path(__file__).parent.parent / "docs" / "plugins.md"


def build_isolation_needed() -> bool:
    """The venv's setuptools builds wheels by itself from 70.1 on (or with ``wheel``);
    older ones need pip's isolated build, which fetches setuptools from the index."""
    import setuptools

    version = tuple(int(p) for p in setuptools.__version__.split(".")[:2])
    return version < (70, 1) and importlib.util.find_spec("wheel") is None


def test_pip_install_then_the_cli_finds_the_importer(tmp_path):
    # build from a copy, so that build/ and *.egg-info never land in plugins/
    source = tmp_path / "awo_spreadsheet"
    shutil.copytree(PLUGINS / "awo_spreadsheet", source)
    # install into a folder of its own on PYTHONPATH: the shared venv stays as it was, so
    # tests running at the same time never see a half-installed plugin
    site = tmp_path / "site"
    # offline: ./dev installs setuptools>=70.1 and wheel, which build the plugin by themselves
    assert not build_isolation_needed(), "run the tests through ./dev test (setuptools>=70.1)"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site)]
    command += ["--no-build-isolation", "--no-index"]
    installed = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (site / "directory_plugin_awo.py").is_file()

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("DIRECTORY_INSTANCE", None)
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlib.metadata import entry_points; "
            "print(sorted((e.name, e.value) for e in entry_points(group='directory.plugins')))",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert "('awo', 'directory_plugin_awo')" in found.stdout

    instance = tmp_path / "dortmund.toml"
    text = DORTMUND.read_text(encoding="utf-8")
    instance.write_text(text.replace("enabled = []", 'enabled = ["awo"]'), encoding="utf-8")
    script = Path(sys.executable).parent / "directory"
    cli = [str(script)] if script.is_file() else [sys.executable, "-c", CLI]
    listed = subprocess.run(
        [*cli, "--instance", str(instance), "importers"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert ["awo-xlsx", "awo", "xlsx"] in [row[:3] for row in rows]

    # its custom fields are typed fields and filters of the GraphQL schema
    sdl = subprocess.run(
        [*cli, "--instance", str(instance), "schema"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert sdl.returncode == 0, sdl.stderr
    assert "type ExtraAwo {" in sdl.stdout
    assert "transportService: Boolean" in sdl.stdout
    assert "mealsOnWheelsZone: ExtraAwoMealsOnWheelsZone" in sdl.stdout
    assert "input ExtraAwoFilter {" in sdl.stdout

    # without the plugin enabled, its importer is not there
    plain = subprocess.run(
        [*cli, "--instance", str(DORTMUND), "importers"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert plain.returncode == 0, plain.stderr
    assert "awo-xlsx" not in plain.stdout


CLI = "from directory_cli.main import main; main()"


def guide_files(text: str) -> dict[str, str]:
    """The files of docs/plugins.md: code blocks whose first line is ``# file: NAME`` or
    whose info string ends in ``file=NAME``."""
    files = {}
    for info, body in re.findall(r"^```([^\n]*)\n(.*?)^```", text, re.S | re.M):
        marked = re.search(r"file=(\S+)", info)
        first, _, rest = body.partition("\n")
        if marked:
            files[marked.group(1)] = body
        elif first.startswith("# file: "):
            files[first.removeprefix("# file: ").strip()] = rest
    return files


def guide_commands(text: str) -> list[list[str]]:
    """The ``directory`` commands of the guide's walkthrough, in order."""
    start = text.index("## A complete minimal plugin")
    section = text[start : text.index("\n## ", start + 3)]
    commands = []
    for line in section.splitlines():
        if line.startswith(".venv/bin/directory "):
            commands.append(shlex.split(line.split("#")[0])[1:])
    return commands


def test_the_guide_alone_builds_a_plugin_that_pip_installs_and_imports(tmp_path):
    text = GUIDE.read_text(encoding="utf-8")
    files = guide_files(text)
    assert {"pyproject.toml", "directory_example_carrier.py", "sprechstunden.csv"} <= set(files)
    package = tmp_path / "directory-example-carrier"
    package.mkdir()
    for name in ("pyproject.toml", "directory_example_carrier.py"):
        (package / name).write_text(files[name], encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    (work / "sprechstunden.csv").write_text(files["sprechstunden.csv"], encoding="utf-8")

    site = tmp_path / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site)]
    command += ["--no-build-isolation", "--no-index", str(package)]
    installed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # the instance file as the guide says: Dortmund's, with the plugin enabled
    [enabling] = re.findall(r"```toml\n# instances/dortmund.toml\n(.*?)```", text, re.S)
    instance = work / "dortmund.toml"
    dortmund = DORTMUND.read_text(encoding="utf-8")
    assert "[plugins]\nenabled = []\n" in dortmund
    instance.write_text(dortmund.replace("[plugins]\nenabled = []\n", enabling), "utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "DIRECTORY_INSTANCE": str(instance),
        "DIRECTORY_STORE_URL": f"sqlite:///{work / 'store.sqlite'}",
    }
    script = Path(sys.executable).parent / "directory"
    cli = [str(script)] if script.is_file() else [sys.executable, "-c", CLI]
    commands = guide_commands(text)
    assert commands[0] == ["init"] and commands[-1][0] == "import"
    outputs = []
    for args in commands:
        done = subprocess.run(
            [*cli, *args], capture_output=True, text=True, env=env, cwd=work, timeout=120
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        outputs.append(done.stdout)
    plugins = next(o for a, o in zip(commands, outputs, strict=True) if a == ["plugins"])
    row = next(line for line in plugins.splitlines() if line.startswith("example "))
    assert row.split()[1:4] == ["enabled", "directory-example-carrier", "0.1.0"]
    assert "register_custom_fields, register_importers" in row
    assert "created 2, updated 0, unchanged 0, archived 0, rejected 0" in outputs[-1]
