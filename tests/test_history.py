"""Offer versions and history: every write (CLI/Directory, import, API) records who, when,
how and what in the same transaction; ``directory history`` shows it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from directory_cli.main import cli

from directory_core import tables as t
from directory_core.directory import open_directory
from directory_core.history import Actor, VersionConflict, offer_history
from directory_core.importing import run_import
from directory_core.instance import load_instance

from . import stores
from .conftest import build_known_offers

store_url = stores.store_url


@pytest.fixture
def directory(store_url, tmp_path):
    instance_file = stores.write_instance_file(
        tmp_path / "dortmund.toml",
        store_url,
        {"backend": "embedded", "path": str(tmp_path / "index.sqlite")},
    )
    opened = open_directory(load_instance(instance_file))
    opened.instance_file = instance_file
    yield opened
    opened.close()


def test_save_and_archive_bump_the_version_and_record_the_change(directory):
    cafe = build_known_offers()["cafe"]
    directory.save([cafe], actor=Actor("Anna (AWO)", "api"))
    assert cafe.version == 1 and directory.get(cafe.id).version == 1
    cafe.title = "Demenzcafé am See"
    cafe.internal_note = "Ansprechpartnerin: Frau B."
    directory.save([cafe])
    assert cafe.version == 2 and directory.get(cafe.id).version == 2
    directory.archive([cafe.id], actor=Actor("Anna (AWO)", "api", note="endet im Mai"))
    newest, changed, created = offer_history(directory.store.engine, cafe.id)
    assert [h["version"] for h in (newest, changed, created)] == [3, 2, 1]
    assert (created["who"], created["how"]) == ("Anna (AWO)", "api")
    assert created["changes"]["title"] == {"old": None, "new": "Demenzcafé am Phoenix-See"}
    assert changed["how"] == "cli" and changed["changes"] == {
        "title": {"old": "Demenzcafé am Phoenix-See", "new": "Demenzcafé am See"},
        "internal_note": {"old": "", "new": "Ansprechpartnerin: Frau B."},
    }
    assert newest["note"] == "endet im Mai"
    assert newest["changes"] == {"status": {"old": "active", "new": "archived"}}


def test_a_stale_version_is_refused_and_nothing_is_written(directory):
    cafe = build_known_offers()["cafe"]
    directory.save([cafe])
    before = stores.dump_store(directory.store)
    cafe.title = "Zu spät"
    with pytest.raises(VersionConflict, match="is at version 1, not 0"):
        directory.save([cafe], expect={cafe.id: 0})
    assert stores.dump_store(directory.store) == before
    directory.save([cafe], expect={cafe.id: 1})
    assert directory.get(cafe.id).version == 2


def test_imports_bump_versions_keep_staff_fields_and_record_history(directory, tmp_path):
    source = stores.write_offers_csv(tmp_path / "a.csv", 2)
    report = run_import(directory, "diakonie", "csv", str(source), user="import-bot")
    first = report.created[0]
    first.internal_note = "nur für Fachleute"
    directory.save([first])
    changed = stores.write_offers_csv(tmp_path / "b.csv", 2, title_prefix="Neu: ")
    report = run_import(directory, "diakonie", "csv", str(changed), user="import-bot")
    assert report.counts()["updated"] == 2
    stored = directory.get(first.id)
    assert stored.version == 3 and stored.internal_note == "nur für Fachleute"
    newest = offer_history(directory.store.engine, first.id)[0]
    assert (newest["who"], newest["how"], newest["version"]) == ("import-bot", "import", 3)
    assert set(newest["changes"]) == {"title"}
    with directory.store.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(t.offer_history)).scalar()
    assert rows == 5  # two created, one edited, two updated by the import


def test_history_command(directory):
    cafe = build_known_offers()["cafe"]
    directory.save([cafe], actor=Actor("Anna", "api"))
    cafe.title = "Neuer Name"
    directory.save([cafe], actor=Actor("Bert", "api"))
    result = CliRunner().invoke(
        cli, ["--instance", str(directory.instance_file), "history", cafe.id]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("version 2") and "Bert via api" in lines[0]
    assert lines[1] == '    title: "Demenzcafé am Phoenix-See" -> "Neuer Name"'
    assert any(line.startswith("version 1") and "Anna via api" in line for line in lines)
    missing = CliRunner().invoke(
        cli, ["--instance", str(directory.instance_file), "history", "nope"]
    )
    assert missing.exit_code == 1 and "no offer with id 'nope'" in missing.output


def test_a_new_offers_history_lists_the_fields_with_a_value():
    from datetime import UTC, date, datetime

    from directory_core.history import changes

    at = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    row = {
        "id": "x",  # bookkeeping: never a change
        "version": 1,
        "created_at": at,
        "updated_at": at,
        "title": "Treff",
        "note": "",
        "lat": 51.5,
        "precision": None,
        "wheelchair": False,
        "district_manual": True,
        "interval": 0,
        "zero": 0.0,
        "languages": [],
        "channels": ["phone"],
        "extra": {},
        "schedule": {"rules": []},
        "verified_at": at,
        "valid_from": date(2026, 1, 1),
    }
    assert changes(None, row) == {
        "title": {"old": None, "new": "Treff"},
        "lat": {"old": None, "new": 51.5},
        "district_manual": {"old": None, "new": True},
        "channels": {"old": None, "new": ["phone"]},
        "schedule": {"old": None, "new": {"rules": []}},
        "verified_at": {"old": None, "new": at.isoformat()},
        "valid_from": {"old": None, "new": "2026-01-01"},
    }
