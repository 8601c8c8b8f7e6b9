"""The `directory` command line: init, demo, health, geocode, reindex, sync, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from directory_cli.main import cli

from .helpers import install_dist


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    runner = CliRunner()

    def invoke(*args, instance="instances/dortmund.toml"):
        return runner.invoke(cli, ["--instance", instance, *args], catch_exceptions=False)

    return invoke


def test_init_demo_health_reindex_sync(run):
    result = run("init")
    assert result.exit_code == 0, result.output
    assert "12 districts, 7 carriers" in result.output
    result = run("demo", "--samples", "40")
    assert result.exit_code == 0 and "loaded 60 demo offers" in result.output
    health = run("health")
    assert health.exit_code == 0
    report = json.loads(health.output)
    assert report["ok"] and report["store"]["offers"] == 60 and report["sync_lag"] == 0
    assert report["search"]["documents"] == 60
    result = run("reindex")
    assert result.exit_code == 0 and "indexed 60 offers" in result.output
    result = run("sync")
    assert result.exit_code == 0 and "applied 0 changes; lag 0" in result.output


def test_geocode(run):
    assert run("init").exit_code == 0
    result = run("geocode", "Hörde")
    assert result.exit_code == 0
    found = json.loads(result.output)
    assert found["precision"] == "district" and abs(found["lat"] - 51.483333) < 1e-6
    missing = run("geocode", "Nirgendwostraße 1, 99999 Nirgendwo")
    assert missing.exit_code == 1
    assert "could not resolve" in missing.output or "99999" in missing.output


def test_missing_store_and_bad_instance_are_clear_errors(run, tmp_path):
    result = run("health")
    assert result.exit_code == 3  # a store or configuration error: not "rows rejected" (1)
    assert "does not exist; create it with `directory init`" in result.output
    assert not (tmp_path / "cli.sqlite").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("[instance]\nname = 3\n", encoding="utf-8")
    result = run("init", instance=str(bad))
    assert result.exit_code == 3 and "instance.name: must be a str, got 3" in result.output


def test_corrupt_store_is_refused_and_kept(run, tmp_path):
    store = tmp_path / "cli.sqlite"
    store.write_bytes(b"garbage" * 1000)
    result = run("init")
    assert result.exit_code == 3 and "is not a SQLite database" in result.output
    assert store.read_bytes() == b"garbage" * 1000


def instance_with(tmp_path, old: str, new: str) -> str:
    """instances/dortmund.toml with one text replaced, written to ``tmp_path``."""
    text = Path("instances/dortmund.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "changed.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", [["init"], ["demo", "--samples", "1"], ["serve"]])
def test_a_missing_plugin_is_one_line_and_a_traceback_only_with_debug(run, tmp_path, command):
    instance = instance_with(tmp_path, "enabled = []", 'enabled = ["nosuchplugin"]')
    result = run(*command, instance=instance)
    assert result.exit_code == 3
    assert result.output.startswith("Error: plugin 'nosuchplugin' is enabled in the instance")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    debug = CliRunner().invoke(cli, ["--debug", "--instance", instance, *command])
    assert debug.exit_code == 3
    assert "Traceback (most recent call last)" in debug.output
    assert debug.output.splitlines()[-1].startswith("Error: plugin 'nosuchplugin'")


COLLIDING_FIELDS = """
from directory_core import hookimpl
from directory_core.custom_fields import CustomField


@hookimpl
def register_custom_fields(register):
    register(CustomField("level_1", "string", "Stufe 1"))
    register(CustomField("level1", "string", "Stufe eins"))
"""


@pytest.mark.parametrize("command", [["importers"], ["schema"], ["serve"]])
def test_a_graphql_name_collision_is_one_line_naming_plugin_and_fields(
    run, tmp_path, monkeypatch, command
):
    site = tmp_path / "site"
    install_dist(
        site, "directory-kurse", "0.1", {"kurse": "kurse_plugin"}, "kurse_plugin", COLLIDING_FIELDS
    )
    monkeypatch.syspath_prepend(str(site))
    instance = instance_with(tmp_path, "enabled = []", 'enabled = ["kurse"]')
    assert run("init", instance=instance).exit_code == 0
    result = run(*command, instance=instance)
    assert result.exit_code == 3
    assert result.output == (
        "Error: custom fields 'level_1' and 'level1' of plugin 'kurse' both become the "
        "GraphQL field 'level1'; rename one of them\n"
    )


LISTENER = """
from directory_core import hookimpl


@hookimpl(tryfirst=True)
def offer_changed(offers, change):
    pass


@hookimpl
def register_categories(register):
    pass
"""


def test_plugins_lists_builtins_installed_and_enabled_with_versions_and_hooks(
    run, tmp_path, monkeypatch
):
    site = tmp_path / "site"
    install_dist(
        site,
        "directory-listener",
        "1.2.0",
        {"listener": "listener_plugin"},
        "listener_plugin",
        LISTENER,
    )
    install_dist(site, "directory-idle", "0.9", {"idle": "idle_plugin"}, "idle_plugin")
    monkeypatch.syspath_prepend(str(site))
    instance = instance_with(
        tmp_path, "enabled = []", 'enabled = ["listener"]\ndisabled = ["xlsx_importer"]'
    )
    result = run("plugins", instance=instance)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert result.output.splitlines()[0].split() == ["NAME", "STATUS", "DISTRIBUTION", "HOOKS"]
    assert rows["listener"].split() == [
        "listener", "enabled", "directory-listener", "1.2.0",
        "offer_changed(tryfirst),", "register_categories",
    ]  # fmt: skip
    assert rows["idle"].split()[:4] == ["idle", "installed", "directory-idle", "0.9"]
    assert rows["csv_importer"].split()[:2] == ["csv_importer", "built-in"]
    assert "register_importers(trylast)" in rows["csv_importer"]
    assert rows["xlsx_importer"].split()[:2] == ["xlsx_importer", "disabled"]
