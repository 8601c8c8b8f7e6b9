"""The `directory` command line: init, demo, health, geocode, reindex, sync, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from directory_core.cli import cli


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
    assert result.exit_code == 1
    assert "does not exist; create it with `directory init`" in result.output
    assert not (tmp_path / "cli.sqlite").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("[instance]\nname = 3\n", encoding="utf-8")
    result = run("init", instance=str(bad))
    assert result.exit_code == 1 and "instance.name: must be a str, got 3" in result.output


def test_corrupt_store_is_refused_and_kept(run, tmp_path):
    store = tmp_path / "cli.sqlite"
    store.write_bytes(b"garbage" * 1000)
    result = run("init")
    assert result.exit_code == 1 and "is not a SQLite database" in result.output
    assert store.read_bytes() == b"garbage" * 1000
