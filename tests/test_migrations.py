"""The Alembic migrations create exactly the schema of ``tables.py``."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from directory_core.store import Store
from directory_core.tables import metadata


def test_migrations_match_the_table_definitions(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'm.sqlite'}")
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


def test_migrate_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    Store.open(url).close()
    store = Store.open(url)
    assert store.schema_revision() == store.head_revision()
    store.close()
