"""The Alembic migrations create exactly the schema of ``tables.py``, on SQLite and on
PostgreSQL (``stores.store_url``: an empty file or database each time)."""

from __future__ import annotations

import json
import random

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from directory_core.model import Offer
from directory_core.store import Store
from directory_core.tables import metadata

from . import stores

store_url = stores.store_url


def _compare(conn: sa.Connection) -> list:
    # compare server defaults and types too, not only tables, columns and indexes
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "compare_server_default": True}
    )
    return compare_metadata(context, metadata)


def test_migrations_match_the_table_definitions(store_url):
    store = Store.open(store_url)
    with store.engine.connect() as conn:
        diff = _compare(conn)
        tables = set(sa.inspect(conn).get_table_names())
    store.close()
    assert diff == []
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_migrate_is_idempotent(store_url):
    Store.open(store_url).close()
    store = Store.open(store_url)
    assert store.schema_revision() == store.head_revision()
    with store.engine.connect() as conn:
        assert _compare(conn) == []
    store.close()


def test_an_empty_database_gets_the_schema_only_from_the_migrations(store_url):
    """Nothing else creates tables: without migrating, the database stays empty."""
    store = Store.open(store_url, migrate=False)
    with store.engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    assert store.schema_revision() is None
    store.migrate()
    assert store.schema_revision() == store.head_revision()
    store.close()


def _three_offers() -> list[Offer]:
    """Two offers with categories (the first's not in the alphabet's order), one without."""
    return [
        Offer(
            title="Erzählcafé",
            kind="meeting_place",
            categories=["relief.family_carers", "dementia.groups"],
        ),
        Offer(title="Beratung", kind="advice_office", categories=["advice.care_counselling"]),
        Offer(title="Ohne", kind="service"),
    ]


def test_offer_categories_are_clustered_by_offer_on_sqlite_keeping_every_row(tmp_path):
    """Migration 0006 rebuilds ``offer_categories`` without rowid on SQLite: the rows,
    and the categories' order, survive it in both directions."""
    from alembic import command

    from .test_store import _store

    store = _store(tmp_path / "store.sqlite")
    offers = _three_offers()
    with store.transaction() as conn:
        store.write_offers(conn, offers)

    def table_sql() -> str:
        with store.engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'offer_categories'"
            ).scalar()

    def rows() -> list:
        with store.engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT offer_id, category, position FROM offer_categories ORDER BY 1, 2"
            ).all()

    before = rows()
    assert len(before) == 3 and "WITHOUT ROWID" in table_sql()
    with store.engine.begin() as conn:
        command.downgrade(store._alembic_config(conn), "0005")
    assert "WITHOUT ROWID" not in table_sql() and rows() == before
    store.migrate()
    assert "WITHOUT ROWID" in table_sql() and rows() == before
    read = store.get_offers([o.id for o in offers])
    assert [read[o.id].categories for o in offers] == [o.categories for o in offers]
    with store.engine.connect() as conn:
        assert _compare(conn) == []
    store.close()


def _links(store: Store) -> dict[str, list[str]]:
    """Each offer's category keys from offer_categories, in their order."""
    keys: dict[str, list[str]] = {}
    with store.engine.connect() as conn:
        for offer_id, category in conn.exec_driver_sql(
            "SELECT offer_id, category FROM offer_categories ORDER BY offer_id, position"
        ):
            keys.setdefault(offer_id, []).append(category)
    return keys


def test_the_offers_category_keys_are_filled_from_offer_categories(store_url):
    """Migration 0007 gives every offer its category keys in its own row, in their order
    (not the alphabet's), and takes the column away again on the way down, leaving
    offer_categories as it was."""
    from alembic import command

    from .test_store import _store

    store = _store(store_url)
    offers = _three_offers()
    # more offers than one batch of the migration (2,000), with their keys in any order
    rng = random.Random(7)
    keys = ["relief.family_carers", "dementia.groups", "advice.care_counselling", "relief"]
    offers += [
        Offer(title=f"Angebot {i}", kind="service", categories=rng.sample(keys, rng.randint(0, 4)))
        for i in range(2_600)
    ]
    with store.transaction() as conn:
        store.write_offers(conn, offers)
    links = _links(store)
    assert len(links) > 2_000
    with store.engine.begin() as conn:
        command.downgrade(store._alembic_config(conn), "0006")
    with store.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("offers")}
    assert "categories" not in columns and _links(store) == links
    store.migrate()
    read = store.get_offers([o.id for o in offers])
    assert [read[o.id].categories for o in offers] == [o.categories for o in offers]
    with store.engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT id, categories FROM offers")).all())
        assert _compare(conn) == []
    assert {k: json.loads(v) for k, v in stored.items()} == {o.id: o.categories for o in offers}
    assert stored[offers[0].id] == '["relief.family_carers","dementia.groups"]'  # as written
    assert _links(store) == links
    store.close()


def test_a_migration_cut_short_on_sqlite_leaves_nothing_behind(tmp_path, monkeypatch):
    """The whole upgrade is one transaction on SQLite too: a run that fails halfway
    (a killed process, a full disk) leaves the store as it was, and the next start
    migrates it."""
    from alembic import command, op

    from .test_store import _store

    store = _store(tmp_path / "store.sqlite")
    with store.transaction() as conn:
        store.write_offers(
            conn, [Offer(title="Erzählcafé", kind="meeting_place", categories=["dementia.groups"])]
        )
    with store.engine.begin() as conn:
        command.downgrade(store._alembic_config(conn), "0005")

    def cut_short(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(op, "rename_table", cut_short)
    with pytest.raises(RuntimeError, match="disk is full"):
        store.migrate()
    with store.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        count = conn.exec_driver_sql("SELECT count(*) FROM offer_categories").scalar()
    assert "offer_categories_rebuilt" not in tables and count == 1
    assert store.schema_revision() == "0005"
    monkeypatch.undo()
    store.migrate()
    assert store.schema_revision() == store.head_revision()
    store.close()


def test_a_start_waits_for_another_process_migrating_a_sqlite_store(tmp_path, monkeypatch):
    """A process opening a SQLite store that another one is migrating waits for it as
    long as a migration may take (``MIGRATION_WAIT_MS``), not the few seconds a
    statement waits for the write lock (``SQLITE_BUSY_MS``), and then finds it at head."""
    import sqlite3
    import threading
    import time

    from alembic import command

    from directory_core import store as store_module
    from directory_core import store_connection

    from .test_store import _store

    path = tmp_path / "store.sqlite"
    store = _store(path)
    with store.engine.begin() as conn:
        command.downgrade(store._alembic_config(conn), "0006")
    store.close()
    monkeypatch.setattr(store_connection, "SQLITE_BUSY_MS", 200)
    monkeypatch.setattr(store_module, "SQLITE_BUSY_MS", 200)
    monkeypatch.setattr(store_module, "MIGRATION_WAIT_MS", 20_000)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # as another process migrating would
    release = threading.Timer(1.5, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        opened = Store.open(f"sqlite:///{path}")
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - started >= 1.4  # it waited past its statements' 0.2 s
    assert opened.schema_revision() == opened.head_revision()
    opened.close()
