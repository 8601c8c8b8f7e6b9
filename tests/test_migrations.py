"""The Alembic migrations create exactly the schema of ``tables.py``, on SQLite and on
PostgreSQL (``stores.store_url``: an empty file or database each time)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
