"""Opening a store: URLs, SQLite file checks, PostgreSQL session settings, advisory
lock keys, and the mapping of driver errors to ``StoreError`` with a message that says
what to do. Split from ``store.py``; the names are re-exported there.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine.url import make_url


def json_dumps(value: Any) -> str:
    """The text of a JSON column: orjson (about five times faster than the standard
    library, which a tenth of an import spent in); what orjson refuses (integers beyond
    64 bits) is written by ``json.dumps`` as before. NaN becomes ``null`` (it is not
    JSON; ``json.dumps`` wrote ``NaN``, which PostgreSQL refused)."""
    return json_bytes(value).decode()


def json_bytes(value: Any) -> bytes:
    """``json_dumps`` as UTF-8 bytes (what an HTTP answer sends)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value).encode()  # ASCII with escapes, as it always wrote


def json_loads(text: str | bytes) -> Any:
    """A JSON column's value; ``json.loads`` for what orjson refuses (NaN, huge numbers)."""
    if text == "[]":  # the most common values of the offers' JSON columns
        return []
    if text == "{}":
        return {}
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


# seconds libpq waits for a PostgreSQL server (unless the URL sets connect_timeout)
PG_CONNECT_TIMEOUT = 10


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from a name."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# PostgreSQL advisory locks (per database): offer writes (outbox order), migrations.
OUTBOX_LOCK = advisory_key("directory_core.store:outbox")
MIGRATION_LOCK = advisory_key("directory_core.store:migrations")


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to do."""


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the store's database cannot be reached right now (server
    down or restarting, connection lost) rather than a mistake in a request: the
    driver's ``OperationalError``/``InterfaceError``, or any error that invalidated its
    connection. Such errors go away by themselves when the server is back (the pool
    pings connections before use), so callers report them briefly and retry."""
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime (naive values are taken as UTC). Used both ways: SQLite
    keeps the wall-clock digits of a written value and drops its offset, so everything
    is written in UTC; it gives naive values back, PostgreSQL aware ones."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def display_url(url: str) -> str:
    """``url`` for messages and logs: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: mask anything that looks like user:password@
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not a SQLite database before SQLAlchemy touches it."""
    if path.is_dir():
        raise StoreError(f"store path {path} is a directory, not a SQLite file")
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(16)
    if header != b"SQLite format 3\x00":
        raise StoreError(
            f"store file {path} is not a SQLite database (corrupt or another kind of file); "
            "it was left untouched: restore it from a backup or point the instance at "
            "another file"
        )
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA quick_check").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"store file {path} is damaged ({exc}); it was left untouched: restore it from a backup"
        ) from exc
    if result is None or result[0] != "ok":
        raise StoreError(
            f"store file {path} failed its integrity check ({result and result[0]}); it "
            "was left untouched: restore it from a backup"
        )


def _pg_session(dbapi_connection: Any, _record: Any) -> None:
    """Every PostgreSQL session in UTC (outside a transaction, so it sticks)."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
    finally:
        dbapi_connection.autocommit = autocommit


def _connect_error(url: str, exc: BaseException) -> StoreError:
    """A ``StoreError`` saying what went wrong when connecting, with the URL but never
    its password."""
    shown = display_url(url)
    detail = str(getattr(exc, "orig", None) or exc).strip()
    try:
        parsed = make_url(url)
    except Exception:
        parsed = None
    if parsed is None or parsed.get_backend_name() != "postgresql":
        return StoreError(f"cannot connect to the store at {shown}: {detail}")
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    first = detail.splitlines()[0] if detail else type(exc).__name__
    missing = re.search(r'database "([^"]+)" does not exist', detail)
    if missing:
        return StoreError(
            f"the store database {missing.group(1)!r} does not exist on the PostgreSQL "
            f"server at {where} (store URL {shown}); create it (e.g. `createdb -h "
            f"{parsed.host or 'localhost'} -p {parsed.port or 5432} -U "
            f"{parsed.username or '<user>'} {missing.group(1)}`) or fix the store URL"
        )
    if re.search(r"authentication failed|role .* does not exist|no pg_hba.conf entry", detail):
        return StoreError(
            f"the PostgreSQL server at {where} refused the login of the store URL {shown}: "
            f"{first.split('failed: ')[-1].removeprefix('FATAL:').strip()}; check user, "
            "password and the server's access rules"
        )
    return StoreError(
        f"cannot reach the PostgreSQL server of the store at {where} (store URL {shown}): "
        f"{first.removeprefix('connection failed: ')}; is the server running and reachable "
        "from here?"
    )


# Reads of a SQLite store go through a memory map of (the first) this many bytes of the
# file instead of a read() per page: a page of 20 offers spread over 100,000 took 0.24
# instead of 0.20 ms of CPU. Like the embedded index's readers (``search/embedded.py``);
# the pages are the operating system's file cache, shared by all connections. Half a GiB:
# the index's own file gets as much, so the two maps together cover as many bytes as the
# one map of the file that held both did before (mapped pages count in a process's RSS).
SQLITE_MMAP_BYTES = 512 * 1024**2


#: how long a SQLite connection waits for another's write lock before "database is locked"
SQLITE_BUSY_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.execute("PRAGMA journal_size_limit=67108864")  # a large import's WAL, cut back
    cursor.close()


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` ``rows`` (dicts with the same keys, every column of the statement
    given) into ``table``, the same as ``conn.execute(sa.insert(table), rows)``.

    On SQLite the statement is compiled once per table and set of keys, the rows are
    passed through the columns' bind processors (JSON, dates) here and go to the driver's
    ``executemany`` directly: SQLAlchemy's per-row parameter handling took an eighth of
    an import. Other databases keep SQLAlchemy's own path (its batched ``INSERT`` for
    PostgreSQL)."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(sa.insert(table), rows)
        return
    keys = tuple(rows[0])
    cache_key = (table.name, keys)
    prepared = _PREPARED.get(cache_key)
    if prepared is None:
        compiled = sa.insert(table).compile(dialect=conn.dialect, column_keys=list(keys))
        names = tuple(compiled.positiontup or ())
        if set(names) != set(keys):  # a default SQLAlchemy fills in: its own path
            conn.execute(sa.insert(table), rows)
            return
        processors = compiled._bind_processors
        # the values of a row are taken in the statement's order by one C call; only the
        # columns with a bind processor are then converted (most have none)
        converts = tuple(
            (i, processors[name], isinstance(getattr(table.c.get(name), "type", None), sa.DateTime))
            for i, name in enumerate(names)
            if processors.get(name)
        )
        prepared = _PREPARED[cache_key] = (compiled.string, _getter(names), converts)
    sql, get, prepared_converts = prepared
    # the rows of one write share their times (``now``): each is converted once per call
    converts = tuple(
        (i, _same_as_last(convert) if is_time else convert)
        for i, convert, is_time in prepared_converts
    )
    values: list[Any]
    if not converts:
        values = [get(row) for row in rows]
    else:
        values = []
        append = values.append
        for row in rows:
            value = list(get(row))
            for i, convert in converts:
                value[i] = convert(value[i])
            append(tuple(value))
    conn.exec_driver_sql(sql, values)


def _same_as_last(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` that gives its last result again for the same object (not shared
    between calls of ``insert_rows``, so between threads)."""
    last_value: Any = _NOTHING
    last_result: Any = None

    def converted(value: Any) -> Any:
        nonlocal last_value, last_result
        if value is not last_value:
            last_value, last_result = value, convert(value)
        return last_result

    return converted


_NOTHING = object()


def _getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A function giving the values of ``names`` of a row as a tuple."""
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return operator.itemgetter(*names)


# (table name, keys) -> (SQL text, the getter of a row's values in the statement's order,
# ((position, bind processor, a time?), ...) of the values to convert); SQLite only
_PREPARED: dict[
    tuple[str, tuple[str, ...]],
    tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], tuple[tuple[int, Any, bool], ...]],
] = {}
