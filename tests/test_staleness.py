"""Stale offers: not verified within a period; ``directory stale`` prints them as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from click.testing import CliRunner
from directory_cli.main import cli

from directory_core.staleness import is_stale, stale_offers
from directory_core.store import utcnow

from .conftest import build_known_offers


def test_stale_offers_and_the_stale_command(directory, tmp_path, monkeypatch):
    known = build_known_offers()
    known["cafe"].verified_at = utcnow() - timedelta(days=10)  # fresh (caritas)
    known["mengede"].verified_at = utcnow() - timedelta(days=400)  # stale (paritaet)
    directory.save(list(known.values()))
    stale = stale_offers(directory.store, 365)
    ids = [o.id for o in stale]
    assert known["cafe"].id not in ids and known["archived"].id not in ids
    assert ids[-1] == known["mengede"].id  # never verified first, then the oldest
    assert len(ids) == 7 and all(is_stale(o) for o in stale)
    assert [o.id for o in stale_offers(directory.store, 5, ["caritas"])] == [known["cafe"].id]

    monkeypatch.setenv("DIRECTORY_STORE_URL", directory.instance.store_url)
    result = CliRunner().invoke(
        cli, ["stale", "--carrier", "paritaet", "--days", "30"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["id", "title", "carrier", "district", "verified_at", "verified_by"]
    assert [r[:3] for r in rows[1:]] == [[known["mengede"].id, "Demenzcafé Mengede", "paritaet"]]
    wrong = CliRunner().invoke(cli, ["stale", "--carrier", "nope"])
    assert wrong.exit_code == 2 and "unknown carrier 'nope'" in wrong.output
