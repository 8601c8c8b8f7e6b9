"""Store URLs for tests that must pass on every dialect of the store of record.

``store_url`` is parametrized: ``sqlite`` (a file in the test's tmp directory) and
``postgres`` (a database of its own, created for the test and dropped after it, on the
server named by ``DIRECTORY_TEST_PG_URL``; the migrations create the tables in it).
Start a server with ``eval "$(.ci/postgres.sh start)"`` and run the tests with
``DIRECTORY_TEST_PG_URL=$PG_URL``. Without that variable the PostgreSQL cases are
skipped, or fail when ``CI`` is set (a CI run must not pass by skipping them).

Use it in a test module with ``store_url = stores.store_url`` (an assignment, so a test
argument of the same name does not shadow an import).
"""

from __future__ import annotations

import csv
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine.url import make_url

from directory_core.gazetteer import Gazetteer
from directory_core.instance import load_instance
from directory_core.sample import generate_offers
from directory_core.schedule_text import format_rules

DORTMUND_FILE = Path(__file__).parent.parent / "instances" / "dortmund.toml"
PG_ENV = "DIRECTORY_TEST_PG_URL"
DB_PREFIX = "dirtest_"

DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]

_swept = False


def pg_server_url() -> str:
    """The SQLAlchemy URL of the test server's database; skip (or fail in CI) without."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    reason = (
        f'{PG_ENV} is not set: start PostgreSQL with `eval "$(.ci/postgres.sh start)"` '
        f"and run with {PG_ENV}=$PG_URL"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


def libpq_dsn(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as a libpq URI for ``psycopg.connect``."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(server_url: str) -> psycopg.Connection:
    return psycopg.connect(libpq_dsn(server_url), autocommit=True, connect_timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(admin: psycopg.Connection) -> None:
    """Drop test databases left by test runs that were killed (their process is gone)."""
    global _swept
    if _swept:
        return
    _swept = True
    names = [
        row[0]
        for row in admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (DB_PREFIX + "%",)
        )
    ]
    for name in names:
        parts = name.removeprefix(DB_PREFIX).split("_")
        if parts and parts[0].isdigit() and not _alive(int(parts[0])):
            _drop(admin, name)


def _drop(admin: psycopg.Connection, name: str) -> None:
    """Drop a database, ending the sessions still connected to it.

    ``WITH (FORCE)`` refuses when one of those sessions belongs to a superuser, such as an
    autovacuum worker busy after a big import; a plain ``DROP`` cancels autovacuum by
    itself, so that is tried next, a few times while sessions are still closing."""
    if admin.info.server_version >= 130000:
        try:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            return
        except psycopg.errors.InsufficientPrivilege:
            pass
    else:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND usename = current_user",
            (name,),
        )
    for attempt in range(20):
        try:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 19:
                raise
            time.sleep(0.25)


@contextmanager
def fresh_pg_database(server_url: str | None = None) -> Iterator[str]:
    """A new, empty database on the test server; yields its SQLAlchemy URL and drops
    it afterwards (connections still open are ended)."""
    server_url = server_url or pg_server_url()
    name = f"{DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with _admin(server_url) as admin:
        _sweep(admin)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin(server_url) as admin:
            _drop(admin, name)


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database (skips/fails without a test server)."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=DIALECTS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL with nothing in it yet: a SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    with fresh_pg_database() as url:
        yield url


def dump_store(store) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table of the store (``repr`` of each value, rows sorted): two
    equal dumps mean nothing in the store changed."""
    import sqlalchemy as sa

    from directory_core.tables import metadata

    with store.engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in conn.execute(sa.select(table))), key=str
            )
            for table in metadata.sorted_tables
        }


# -- instance files and import sources for tests that run the `directory` command ----------

#: the CSV importer reads columns named after the offer fields for this carrier
CSV_IMPORT_SETTINGS = """
[importers.csv.carriers.diakonie]
delimiter = ","
columns = {}
"""


def write_instance_file(
    path: Path, store_url: str, search: dict[str, str], tail: str = CSV_IMPORT_SETTINGS
) -> Path:
    """instances/dortmund.toml with ``store_url`` and the ``[search]`` settings ``search``
    (e.g. ``{"backend": "embedded", "path": "..."}``), plus ``tail``."""
    text = DORTMUND_FILE.read_text(encoding="utf-8")
    store_line = 'url = "sqlite:///var/dortmund.sqlite"'
    search_line = 'backend = "embedded"'
    assert text.count(store_line) == 1 and text.count(search_line) == 1
    settings = "\n".join(f"{key} = {_toml_string(value)}" for key, value in search.items())
    text = text.replace(store_line, f"url = {_toml_string(store_url)}")
    text = text.replace(search_line, settings)
    path.write_text(text + tail, encoding="utf-8")
    return path


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


CSV_FIELDS = [
    "external_id", "title", "kind", "description", "categories", "street", "postcode", "city",
    "lat", "lon", "phone", "email", "website", "channels", "languages", "schedule",
    "wheelchair", "hearing_loop", "easy_language", "accessibility_note", "free_of_charge",
    "cost_note", "target_groups",
]  # fmt: skip


def write_offers_csv(path: Path, n: int, seed: int = 3, title_prefix: str = "") -> Path:
    """``n`` invented Dortmund offers of the carrier ``diakonie`` as a CSV file for the
    ``csv`` importer with ``CSV_IMPORT_SETTINGS``."""
    instance = load_instance(DORTMUND_FILE)
    postcodes = [(c, r.lat, r.lon) for c, r in Gazetteer().postcodes_in("Dortmund").items()]
    offers = generate_offers(
        instance.districts, ["diakonie"], n, seed=seed, city="Dortmund", postcodes=postcodes
    )
    yes = {True: "ja", False: "nein"}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_FIELDS)
        for offer in offers:
            a = offer.accessibility
            writer.writerow(
                [
                    offer.external_id, title_prefix + offer.title, offer.kind,
                    offer.description, "; ".join(offer.categories), offer.address.street,
                    offer.address.postcode, offer.address.city, offer.location.lat,
                    offer.location.lon, offer.contact.phone, offer.contact.email,
                    offer.contact.website, ", ".join(offer.channels), ", ".join(offer.languages),
                    format_rules(offer.schedule.rules), yes[a.wheelchair], yes[a.hearing_loop],
                    yes[a.easy_language], a.note, yes[offer.cost.free_of_charge],
                    offer.cost.note, "; ".join(offer.target_groups),
                ]
            )  # fmt: skip
    return path
