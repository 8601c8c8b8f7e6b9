"""The store of record: offers and reference data in a relational database.

SQLite in one file (WAL) by default, PostgreSQL where several processes share a
directory. The schema is created and changed only by Alembic migrations. The store
does not validate: ``directory.Directory`` validates every write before it gets here.
Every offer write records an outbox row in the same transaction (see ``sync.py``).

PostgreSQL specifics:

* Outbox ids come from a sequence, and a sequence hands out ids in the order
  transactions *ask* for them, not in the order they commit: a reader could see id 8
  while id 7 is still uncommitted, move its position to 8 and never see 7. So every
  offer write first takes a transaction-scoped advisory lock (``OUTBOX_LOCK``): offer
  writes run one at a time, each one's outbox ids are drawn and committed before the
  next one draws any, and an id below a visible one never turns up later (as with
  SQLite, which has one writer at a time anyway).
* ``sync_lock`` serialises the processes that feed the same search index, so a slow
  syncer never overwrites a newer document with an older one.
* Every session runs in UTC; times come back as aware UTC datetimes on both dialects.

Opening a store (URLs, file checks, session settings, error mapping) is in
``store_connection``, the mapping of offers to rows in ``store_rows``, the offer writes
(a mixin of ``Store``) in ``store_writes``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url

from . import store_records
from . import tables as t
from .model import (
    Carrier,
    Category,
    District,
    Offer,
)
from .record_layout import offer_from_record
from .store_connection import (
    MIGRATION_LOCK,
    OUTBOX_LOCK,
    PG_CONNECT_TIMEOUT,
    SQLITE_BUSY_MS,
    StoreError,
    _check_sqlite_file,
    _connect_error,
    _pg_session,
    _sqlite_path,
    _sqlite_pragmas,
    _utc,
    display_url,
    json_dumps,
    json_loads,
    utcnow,
)
from .store_connection import is_outage as is_outage  # re-exported
from .store_locks import StoreSyncLock
from .store_rows import OfferRecord
from .store_writes import _CHUNK, StoreWrites

MIGRATIONS = Path(__file__).parent / "migrations"
#: how long a process starting on a SQLite store waits for another one's migration
MIGRATION_WAIT_MS = 600_000


class Store(StoreSyncLock, StoreWrites):
    """The relational store of record. Open with ``Store.open(url)``."""

    def __init__(self, engine: Engine, url: str):
        self.engine = engine
        self.url = url
        self._sync_locks: dict[str, threading.RLock] = {}
        self._sync_depth: dict[str, int] = {}
        self._sync_locks_guard = threading.Lock()
        self._identity: str | None = None

    @property
    def display_url(self) -> str:
        """The store URL for messages (password hidden)."""
        return display_url(self.url)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @classmethod
    def open(cls, url: str, *, create: bool = True, migrate: bool = True) -> Store:
        """Open (and by default create and migrate) the store at ``url``.

        A missing SQLite file is created only with ``create=True``; a file that is not a
        SQLite database, or fails its integrity check, raises ``StoreError`` and is never
        written to. A PostgreSQL database must exist (``create`` does not create it; the
        migrations create the tables in it); an unreachable server, a missing database
        or a refused login raise ``StoreError`` naming the URL without its password.
        """
        path = _sqlite_path(url)
        if path is not None:
            if not path.exists() and not create:
                raise StoreError(
                    f"store file {path} does not exist; create it with `directory init` "
                    "or start with --demo"
                )
            _check_sqlite_file(path)
            path.parent.mkdir(parents=True, exist_ok=True)
        shown = display_url(url)
        try:
            parsed = make_url(url)
            options: dict[str, Any] = {
                "json_serializer": json_dumps,
                "json_deserializer": json_loads,
            }
            if parsed.get_backend_name() == "postgresql":
                options["pool_pre_ping"] = True  # survive a restarted server
                if "connect_timeout" not in parsed.query:
                    options["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT}
            engine = sa.create_engine(url, **options)
        except ModuleNotFoundError as exc:
            hint = ""
            if make_url(url).get_backend_name() == "postgresql":
                hint = " (for PostgreSQL: pip install 'seniorennetz-directory[postgres]')"
            raise StoreError(f"cannot use store URL {shown!r}: {exc}{hint}") from exc
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"cannot use store URL {shown!r}: {exc}") from exc
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        elif engine.dialect.name == "postgresql":
            sa.event.listen(engine, "connect", _pg_session)
        store = cls(engine, url)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            engine.dispose()
            raise _connect_error(url, exc) from exc
        except sa.exc.DatabaseError as exc:
            engine.dispose()
            raise StoreError(f"store at {shown} is not usable: {exc.orig}") from exc
        if migrate:
            store.migrate()
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- schema -----------------------------------------------------------------

    def _alembic_config(self, connection: Connection) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        return config

    def migrate(self) -> None:
        """Bring the schema to the newest migration.

        On PostgreSQL the migration runs under an advisory lock, so several processes
        starting at once on a new database do not create the tables twice (the DDL is
        transactional: the second one finds the schema at head). On SQLite a store that
        is behind takes the write lock first (``BEGIN IMMEDIATE``): Python's driver opens
        a transaction only before inserts, updates and deletes, so a migration's
        ``CREATE TABLE`` would otherwise be kept when the run stopped halfway (the next
        start then failing on it), and a second process would not wait for the first.
        """
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
            elif connection.dialect.name == "sqlite" and not self._at_head(connection):
                # a migration that fills a column of every offer takes some 20 s at a
                # million: wait for another process's as long as for a large import
                connection.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
                try:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                finally:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            command.upgrade(self._alembic_config(connection), "head")

    def _at_head(self, connection: Connection) -> bool:
        return self._revision(connection) == self._head(connection)

    @staticmethod
    def _revision(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    def _head(self, connection: Connection) -> str | None:
        return ScriptDirectory.from_config(self._alembic_config(connection)).get_current_head()

    def identity(self) -> str:
        """The id of this store (made once by migration 0004, never changed): search
        indices record it, so that another store cannot write them."""
        if self._identity is None:
            with self.engine.connect() as connection:
                found = connection.execute(
                    sa.select(t.store_identity.c.id).order_by(t.store_identity.c.created_at)
                ).first()
            if found is None:
                raise StoreError(
                    f"the store at {self.display_url} has no identity row (table "
                    "store_identity is empty); run `directory init` on a fresh store"
                )
            self._identity = str(found[0])
        return self._identity

    def schema_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return self._revision(connection)

    def head_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return self._head(connection)

    # -- transactions -------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on
        any exception (so a failed import leaves nothing half-written)."""
        with self.engine.begin() as connection:
            yield connection

    def lock_outbox(self, conn: Connection) -> None:
        """Wait until no other transaction is writing offers, and keep others waiting
        until this transaction ends (PostgreSQL; a no-op on SQLite, which has one writer
        at a time). ``write_offers`` and ``delete_offers`` call it before they touch a
        row, so outbox ids become visible in increasing order (see the module doc)."""
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(OUTBOX_LOCK)))

    # -- reference data -----------------------------------------------------------

    def replace_reference_data(
        self,
        districts: Iterable[District],
        carriers: Iterable[Carrier],
        categories: Iterable[Category],
    ) -> None:
        """Upsert the instance's districts, carriers and categories (never deletes: old
        offers may still point to a key the instance file no longer lists)."""
        with self.transaction() as conn:
            _upsert(conn, t.districts, "key", [asdict(d) for d in districts])
            _upsert(conn, t.carriers, "key", [asdict(c) for c in carriers])
            _upsert(conn, t.categories, "key", [asdict(c) for c in categories])

    def districts(self) -> list[District]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.districts).order_by(t.districts.c.name))
            return [
                District(
                    key=r.key,
                    name=r.name,
                    lat=r.lat,
                    lon=r.lon,
                    polygon=[[tuple(p) for p in ring] for ring in r.polygon] if r.polygon else None,
                    point_note=r.point_note,
                )
                for r in rows
            ]

    def carriers(self) -> list[Carrier]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.carriers).order_by(t.carriers.c.name))
            return [Carrier(key=r.key, name=r.name, website=r.website) for r in rows]

    def categories(self) -> list[Category]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.categories).order_by(t.categories.c.key))
            return [
                Category(key=r.key, label=r.label, parent=r.parent, description=r.description)
                for r in rows
            ]

    # -- offers -------------------------------------------------------------------

    def get_offer(self, offer_id: str) -> Offer | None:
        return self.get_offers([offer_id]).get(offer_id)

    def get_offers(self, ids: Iterable[str], conn: Connection | None = None) -> dict[str, Offer]:
        """Offers by id (missing ids are left out)."""
        records = self.get_offer_records(ids, conn)
        return {offer_id: offer_from_record(record) for offer_id, record in records.items()}

    def get_offer_records(
        self, ids: Iterable[str], conn: Connection | None = None
    ) -> dict[str, OfferRecord]:
        """The records of offers by id (missing ids are left out): plain tuples to keep
        in a cache, turned into offers by ``record_layout.offer_from_record``."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        with self._conn(conn) as c:
            return store_records.offer_records(c, ids)

    def find_external(
        self, carrier: str, external_ids: Iterable[str], conn: Connection | None = None
    ) -> dict[str, str]:
        """Map external ids of one carrier to offer ids."""
        external_ids = list(external_ids)
        found: dict[str, str] = {}
        with self._conn(conn) as c:
            for start in range(0, len(external_ids), _CHUNK):
                chunk = external_ids[start : start + _CHUNK]
                for row in c.execute(
                    sa.select(t.offers.c.id, t.offers.c.external_id).where(
                        t.offers.c.carrier == carrier, t.offers.c.external_id.in_(chunk)
                    )
                ):
                    found[row.external_id] = row.id
        return found

    def carrier_offer_ids(
        self, carrier: str, status: str = "active", conn: Connection | None = None
    ) -> dict[str, str | None]:
        """Offer id -> external id of every offer of ``carrier`` with ``status``."""
        with self._conn(conn) as c:
            rows = c.execute(
                sa.select(t.offers.c.id, t.offers.c.external_id).where(
                    t.offers.c.carrier == carrier, t.offers.c.status == status
                )
            )
            return {row.id: row.external_id for row in rows}

    def iter_offer_ids(self, batch: int = 2000) -> Iterator[list[str]]:
        """All offer ids, in batches, in id order."""
        last = ""
        while True:
            with self.engine.connect() as conn:
                ids = list(
                    conn.execute(
                        sa.select(t.offers.c.id)
                        .where(t.offers.c.id > last)
                        .order_by(t.offers.c.id)
                        .limit(batch)
                    ).scalars()
                )
            if not ids:
                return
            yield ids
            last = ids[-1]

    def offer_versions(
        self, ids: Iterable[str], conn: Connection | None = None
    ) -> dict[str, datetime]:
        """``updated_at`` of the offers with these ids (missing ids are left out): a cheap
        way to tell whether an ``Offer`` in memory is still the stored one."""
        ids = list(dict.fromkeys(ids))
        found: dict[str, datetime] = {}
        with self._conn(conn) as c:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                for row in c.execute(
                    sa.select(t.offers.c.id, t.offers.c.updated_at).where(t.offers.c.id.in_(chunk))
                ):
                    found[row.id] = _utc(row.updated_at)
        return found

    def count_offers(self, status: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(t.offers)
        if status:
            query = query.where(t.offers.c.status == status)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    # -- outbox and sync positions -------------------------------------------------

    def outbox_after(self, position: int, limit: int = 2000) -> list[tuple[int, str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.outbox.c.id, t.outbox.c.offer_id, t.outbox.c.action)
                .where(t.outbox.c.id > position)
                .order_by(t.outbox.c.id)
                .limit(limit)
            )
            return [(r.id, r.offer_id, r.action) for r in rows]

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """One connection for several reads in a row (``outbox_head(conn)``, then
        ``get_offer_records(ids, conn)``): a checkout from the pool costs about as much
        as reading the outbox head."""
        with self.engine.connect() as conn:
            yield conn

    def outbox_head(self, conn: Connection | None = None) -> int:
        """The newest outbox position (0 for an empty outbox)."""
        with self._conn(conn) as c:
            return store_records.outbox_head(c)

    def outbox_pending(self, position: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.id > position)
            ).scalar_one()

    def sync_position(self, name: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(t.sync_state.c.position).where(t.sync_state.c.name == name)
            ).scalar()
            return value or 0

    def set_sync_position(self, name: str, position: int) -> None:
        with self.transaction() as conn:
            _upsert(
                conn,
                t.sync_state,
                "name",
                [{"name": name, "position": position, "updated_at": utcnow()}],
            )

    # -- geocode cache (implements directory_core.geocoding.GeocodeCache) ----------

    def geocode_cache_get(self, query: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.geocode_cache).where(t.geocode_cache.c.query == query)
            ).first()
            return dict(row._mapping) if row else None

    def geocode_cache_put(self, query: str, values: dict[str, Any]) -> None:
        with self.transaction() as conn:
            _upsert(
                conn,
                t.geocode_cache,
                "query",
                [{**values, "query": query, "created_at": utcnow()}],
            )

    # -- import runs ----------------------------------------------------------------

    def record_import_run(self, conn: Connection, **values: Any) -> int:
        """Insert one row of ``import_runs`` in the caller's transaction; its id."""
        return conn.execute(sa.insert(t.import_runs).values(**values)).inserted_primary_key[0]

    def import_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest recorded import runs, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.import_runs).order_by(t.import_runs.c.id.desc()).limit(limit)
            )
            return [dict(row._mapping) for row in rows]

    # -- helpers ------------------------------------------------------------------

    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.engine.connect() as c:
                yield c


def _upsert(conn: Connection, table: sa.Table, key: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``, or update those whose ``key`` exists. One atomic statement
    (``INSERT ... ON CONFLICT DO UPDATE``) on PostgreSQL and SQLite, so processes that
    start at the same time and write the same reference data do not collide."""
    if not rows:
        return
    insert = {"postgresql": pg_dialect.insert, "sqlite": sqlite_dialect.insert}.get(
        conn.dialect.name
    )
    if insert is not None:
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(row), []).append(row)
        for columns, group in groups.items():
            statement = insert(table)
            updates = {c: statement.excluded[c] for c in columns if c != key}
            statement = (
                statement.on_conflict_do_update(index_elements=[key], set_=updates)
                if updates
                else statement.on_conflict_do_nothing(index_elements=[key])
            )
            conn.execute(statement, group)
        return
    keys = [row[key] for row in rows]
    present = set(conn.execute(sa.select(table.c[key]).where(table.c[key].in_(keys))).scalars())
    for row in rows:
        if row[key] in present:
            conn.execute(sa.update(table).where(table.c[key] == row[key]).values(**row))
        else:
            conn.execute(sa.insert(table).values(**row))
