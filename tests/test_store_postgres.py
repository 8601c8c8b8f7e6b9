"""The store of record on a real PostgreSQL server: connection errors, sessions in UTC,
outbox ids that commit in order under concurrent writers, one syncer per index, processes
starting together, and a whole directory (save, search, import) on PostgreSQL.

The tests shared with SQLite are in ``test_store.py`` and ``test_migrations.py``; see
``stores.py`` for the server (``DIRECTORY_TEST_PG_URL``).
"""

from __future__ import annotations

import dataclasses
import random
import socket
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from directory_cli.main import cli
from directory_schema.cache import OfferCache
from directory_search.base import GeoPoint, SearchQuery
from sqlalchemy.engine.url import make_url

from directory_core.categories import default_categories
from directory_core.directory import open_directory
from directory_core.instance import SearchSettings, load_instance
from directory_core.model import Carrier, District, Offer
from directory_core.store import Store, StoreError
from directory_core.sync import sync_index

from . import stores
from .conftest import DORTMUND_FILE, HOERDE_44263, load_known_offers

pg_store_url = stores.pg_store_url

DISTRICTS = [District("hoerde", "Hörde", 51.4833, 7.5)]
CARRIERS = [Carrier("awo", "AWO")]


def _store(url: str) -> Store:
    store = Store.open(url)
    store.replace_reference_data(DISTRICTS, CARRIERS, default_categories())
    return store


def _offer(number: int, title: str | None = None) -> Offer:
    return Offer(
        id=f"00000000-0000-4000-8000-{number:012d}",
        title=title or f"Angebot {number}",
        kind="service",
        carrier="awo",
        categories=["dementia.advice"],
        district="hoerde",
        external_id=f"awo-{number}",
    )


class RecordingIndex:
    """Stands in for a search backend: remembers the last document of every id."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple] = {}
        self.lock = threading.Lock()

    def index(self, documents: list[tuple]) -> None:
        with self.lock:
            for document in documents:
                self.documents[document[0]] = document

    def delete(self, ids: list[str]) -> None:
        with self.lock:
            for offer_id in ids:
                self.documents.pop(offer_id, None)

    def verify(self) -> None:
        """Never lost (``SearchBackend.verify``)."""


def _document(offer: Offer) -> tuple:
    return (offer.id, offer.title, offer.updated_at)


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _advisory_waiters(url: str) -> int:
    """Sessions of the test database waiting for an advisory lock."""
    with psycopg.connect(stores.libpq_dsn(url), autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        ).fetchone()[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- opening: clear errors, never the password ----------------------------------------------


def test_an_unreachable_server_is_a_clear_error_without_the_password():
    port = _free_port()  # nothing listens there
    url = f"postgresql+psycopg://directory:geheim@127.0.0.1:{port}/directory_test"
    with pytest.raises(StoreError) as raised:
        Store.open(url)
    message = str(raised.value)
    assert "cannot reach the PostgreSQL server" in message
    assert f"127.0.0.1:{port}" in message
    assert f"postgresql+psycopg://directory:***@127.0.0.1:{port}/directory_test" in message
    assert "is the server running" in message
    assert "geheim" not in message and "geheim" not in str(raised.value.__cause__)


@pytest.mark.postgres
def test_a_missing_database_is_a_clear_error_without_the_password():
    server = make_url(stores.pg_server_url())
    url = server.set(password="geheim", database="no_such_directory_db")
    with pytest.raises(StoreError) as raised:
        Store.open(url.render_as_string(hide_password=False))
    message = str(raised.value)
    assert "'no_such_directory_db' does not exist" in message
    assert f"createdb -h {server.host} -p {server.port}" in message
    assert ":***@" in message and "geheim" not in message


@pytest.mark.postgres
def test_an_unknown_role_is_a_clear_error():
    url = make_url(stores.pg_server_url()).set(username="no_such_role", password="geheim")
    with pytest.raises(StoreError, match="refused the login") as raised:
        Store.open(url.render_as_string(hide_password=False))
    assert "geheim" not in str(raised.value)


@pytest.mark.postgres
def test_an_existing_database_opens_without_create_and_no_file_is_checked(
    pg_store_url, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # a relative file named like the database is irrelevant
    (tmp_path / make_url(pg_store_url).database).write_bytes(b"not a database")
    store = Store.open(pg_store_url, create=False)
    assert store.schema_revision() == store.head_revision()
    assert store.display_url == make_url(pg_store_url).render_as_string(hide_password=True)
    store.close()


# -- sessions and column types ----------------------------------------------------------------


@pytest.mark.postgres
def test_sessions_run_in_utc_whatever_the_server_says(pg_store_url):
    database = make_url(pg_store_url).database
    with psycopg.connect(stores.libpq_dsn(pg_store_url), autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {database} SET timezone = 'America/New_York'")
    store = _store(pg_store_url)
    for _ in range(3):  # on new and on pooled connections, after commits and rollbacks
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
            conn.rollback()
        with store.transaction() as conn:
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
    offer = _offer(1)
    with store.transaction() as conn:
        store.write_offers(conn, [offer])
    with store.engine.connect() as conn:
        text = conn.exec_driver_sql("SELECT updated_at::text FROM offers").scalar()
    assert text.endswith("+00")
    assert store.get_offer(offer.id).updated_at == offer.updated_at
    store.close()


@pytest.mark.postgres
def test_columns_have_native_postgresql_types(pg_store_url):
    store = Store.open(pg_store_url)
    with store.engine.connect() as conn:
        types = dict(
            conn.execute(
                sa.text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = 'offers'"
                )
            ).all()
        )
        outbox_default = conn.execute(
            sa.text("SELECT pg_get_serial_sequence('outbox', 'id')")
        ).scalar()
    store.close()
    assert types["extra"] == types["schedule"] == "json"
    assert types["created_at"] == types["verified_at"] == "timestamp with time zone"
    assert types["wheelchair"] == "boolean"
    assert types["lat"] == "double precision"
    assert outbox_default == "public.outbox_id_seq"  # ids from a sequence: see below


# -- outbox order under concurrent writers -----------------------------------------------------


@pytest.mark.postgres
def test_concurrent_writers_commit_outbox_ids_in_order_so_a_sync_skips_nothing(pg_store_url):
    """Writer A has written (and drawn its outbox id) but not committed; writer B must
    wait for A, so it can neither draw a lower id nor commit a higher one before A
    commits. A sync in between applies nothing and keeps its position."""
    store = _store(pg_store_url)
    index, name = RecordingIndex(), "search:test:dortmund"
    a, b = _offer(1), _offer(2)
    conn_a = store.engine.connect()
    transaction_a = conn_a.begin()
    store.write_offers(conn_a, [a])
    b_done = threading.Event()

    def write_b() -> None:
        with store.transaction() as conn:
            store.write_offers(conn, [b])
        b_done.set()

    thread = threading.Thread(target=write_b)
    thread.start()
    try:
        _wait_until(lambda: _advisory_waiters(pg_store_url) == 1)  # B waits for A
        assert not b_done.is_set()
        assert sync_index(store, index, name, _document) == 0
        assert store.sync_position(name) == 0
    finally:
        transaction_a.commit()
        conn_a.close()
        thread.join(10)
    assert b_done.is_set()
    assert sync_index(store, index, name, _document) == 2
    assert set(index.documents) == {a.id, b.id}
    rows = store.outbox_after(0)
    assert [offer_id for _, offer_id, _ in rows] == [a.id, b.id]  # B drew its id after A
    assert store.sync_position(name) == rows[-1][0]
    store.close()


@pytest.mark.postgres
def test_without_the_outbox_lock_a_sync_would_skip_a_change(pg_store_url, monkeypatch):
    """The control experiment: what the lock prevents. A draws id 1, B draws id 2 and
    commits first; a sync moves past 2 while 1 is invisible, and 1 is never applied."""
    monkeypatch.setattr(Store, "lock_outbox", lambda self, conn: None)
    store = _store(pg_store_url)
    index, name = RecordingIndex(), "search:test:dortmund"
    a, b = _offer(1), _offer(2)
    with store.engine.connect() as conn_a:
        transaction_a = conn_a.begin()
        store.write_offers(conn_a, [a])
        with store.transaction() as conn_b:
            store.write_offers(conn_b, [b])
        assert sync_index(store, index, name, _document) == 1
        transaction_a.commit()
    assert sync_index(store, index, name, _document) == 0
    assert set(index.documents) == {b.id}  # a is lost for this index
    assert [offer_id for _, offer_id, _ in store.outbox_after(0)] == [a.id, b.id]
    store.close()


@pytest.mark.postgres
def test_the_api_offer_cache_never_keeps_an_offer_a_concurrent_writer_changed(pg_store_url):
    """schema/cache.py reads the outbox the same way: with outbox ids in commit order it
    cannot move past A's change to X while A is still open."""
    store = _store(pg_store_url)
    x, y = _offer(1, "X alt"), _offer(2, "Y alt")
    with store.transaction() as conn:
        store.write_offers(conn, [x, y])
    cache = OfferCache(SimpleNamespace(store=store, get_many=store.get_offers))
    assert cache.get_many([x.id])[x.id].title == "X alt"

    conn_a = store.engine.connect()
    transaction_a = conn_a.begin()
    x.title = "X neu"
    store.write_offers(conn_a, [x])

    def write_y() -> None:
        y.title = "Y neu"
        with store.transaction() as conn:
            store.write_offers(conn, [y])

    thread = threading.Thread(target=write_y)
    thread.start()
    try:
        _wait_until(lambda: _advisory_waiters(pg_store_url) == 1)
        assert cache.get_many([x.id, y.id])[x.id].title == "X alt"  # A not committed yet
    finally:
        transaction_a.commit()
        conn_a.close()
        thread.join(10)
    found = cache.get_many([x.id, y.id])
    assert (found[x.id].title, found[y.id].title) == ("X neu", "Y neu")
    store.close()


@pytest.mark.postgres
def test_many_writers_and_two_syncing_processes_lose_nothing(pg_store_url):
    """Four writers (small transactions, creates and updates of the same offers) and two
    syncers with stores of their own (as two API processes would be) feeding one index:
    afterwards the index holds the newest version of every offer."""
    store = _store(pg_store_url)
    syncers = [Store.open(pg_store_url), Store.open(pg_store_url)]
    index, name = RecordingIndex(), "search:test:dortmund"
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for round_ in range(30):
                numbers = rng.sample(range(1, 40), rng.randint(1, 3))
                offers = [_offer(n, f"Angebot {n} v{seed}.{round_}") for n in numbers]
                with store.transaction() as conn:
                    store.write_offers(conn, offers)
                    time.sleep(rng.random() * 0.004)  # stay open a moment
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def syncer(own: Store) -> None:
        try:
            while not stop.is_set():
                sync_index(own, index, name, _document, batch=7)
                time.sleep(0.001)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    readers = [threading.Thread(target=syncer, args=(own,)) for own in syncers]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join(60)
    stop.set()
    for thread in readers:
        thread.join(60)
    assert errors == []
    sync_index(syncers[0], index, name, _document)
    stored = store.get_offers([_offer(n).id for n in range(1, 40)])
    assert index.documents == {i: _document(o) for i, o in stored.items()}
    assert len(store.outbox_after(0, limit=10_000)) == store.outbox_head()  # no gaps
    for own in syncers:
        own.close()
    store.close()


@pytest.mark.postgres
def test_one_syncer_per_index_across_processes(pg_store_url):
    first, second = Store.open(pg_store_url), Store.open(pg_store_url)
    got_it = threading.Event()

    def take() -> None:
        with second.sync_lock("search:embedded:dortmund"):
            got_it.set()

    with first.sync_lock("search:embedded:dortmund"):
        with second.sync_lock("search:elasticsearch:dortmund"):  # another index: no wait
            pass
        thread = threading.Thread(target=take)
        thread.start()
        _wait_until(lambda: _advisory_waiters(pg_store_url) == 1)
        assert not got_it.is_set()
    thread.join(10)
    assert got_it.is_set()
    first.close()
    second.close()


@pytest.mark.postgres
def test_processes_starting_together_on_an_empty_database(pg_store_url):
    """Several API processes started at once: one migrates, the others wait and find the
    schema at head; the reference data upserts do not collide."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    opened: list[Store] = []

    def start() -> None:
        try:
            barrier.wait(10)
            store = Store.open(pg_store_url)
            opened.append(store)
            store.replace_reference_data(DISTRICTS, CARRIERS, default_categories())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(opened) == 4
    assert opened[0].schema_revision() == opened[0].head_revision()
    assert [c.key for c in opened[0].carriers()] == ["awo"]
    for store in opened:
        store.close()


# -- a whole directory on PostgreSQL ------------------------------------------------------------


@pytest.mark.postgres
def test_a_directory_on_postgresql_saves_searches_archives_and_imports(pg_store_url, tmp_path):
    index_file = tmp_path / "index.sqlite"
    instance = dataclasses.replace(
        load_instance(DORTMUND_FILE),
        store_url=pg_store_url,
        search=SearchSettings(backend="embedded", path=str(index_file)),
    )
    directory = open_directory(instance)
    try:
        known = load_known_offers(directory, samples=40)
        near = GeoPoint(*HOERDE_44263)
        hits = directory.search(SearchQuery(near=near, radius_km=2, text="demenz")).hits
        assert [h.id for h in hits] == [known["cafe"].id, known["circle"].id]
        assert directory.get(known["cafe"].id) == known["cafe"]
        directory.archive([known["cafe"].id])
        hits = directory.search(SearchQuery(near=near, radius_km=2, text="demenz")).hits
        assert [h.id for h in hits] == [known["circle"].id]
        assert directory.reindex() == len(known) + 40
        health = directory.health()
        assert health["ok"] and health["store"]["dialect"] == "postgresql"
        assert health["sync_lag"] == 0
        before = directory.search(SearchQuery(carriers=("diakonie",), limit=0)).total
    finally:
        directory.close()
    assert index_file.exists()

    instance_file = stores.write_instance_file(
        tmp_path / "dortmund.toml", pg_store_url, {"backend": "embedded", "path": str(index_file)}
    )
    source = stores.write_offers_csv(tmp_path / "offers.csv", 50)
    runner = CliRunner(env={"DIRECTORY_STORE_URL": None})
    result = runner.invoke(
        cli, ["--instance", str(instance_file), "import", "diakonie", "csv", str(source)]
    )
    assert result.exit_code == 0, result.output
    assert "created 50, updated 0, unchanged 0, archived 0, rejected 0" in result.output
    result = runner.invoke(cli, ["--instance", str(instance_file), "import-runs"])
    assert result.exit_code == 0 and "diakonie csv" in result.output

    directory = open_directory(dataclasses.replace(instance))
    try:
        assert directory.store.count_offers() == len(known) + 40 + 50
        assert directory.sync_lag() == 0
        diakonie = SearchQuery(carriers=("diakonie",), limit=0)
        assert directory.search(diakonie).total == before + 50
    finally:
        directory.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_ten_thousand_offers_through_directory_import(pg_store_url, tmp_path, capsys):
    index_file = tmp_path / "index.sqlite"
    instance_file = stores.write_instance_file(
        tmp_path / "dortmund.toml", pg_store_url, {"backend": "embedded", "path": str(index_file)}
    )
    source = stores.write_offers_csv(tmp_path / "offers.csv", 10_000)
    runner = CliRunner(env={"DIRECTORY_STORE_URL": None})

    def run(*args: str):
        return runner.invoke(cli, ["--instance", str(instance_file), *args], catch_exceptions=False)

    assert run("init").exit_code == 0
    started = time.perf_counter()
    result = run("import", "diakonie", "csv", str(source))
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert "created 10000, updated 0, unchanged 0, archived 0, rejected 0" in result.output
    started = time.perf_counter()
    again = run("import", "diakonie", "csv", str(source), "--full")
    seconds_again = time.perf_counter() - started
    assert "created 0, updated 0, unchanged 10000, archived 0, rejected 0" in again.output
    store = Store.open(pg_store_url)
    assert store.count_offers() == 10_000
    assert store.outbox_head() == 10_000
    store.close()
    with capsys.disabled():
        print(
            f"\n10,000-row CSV through `directory import` into PostgreSQL: first import "
            f"{seconds:.1f} s ({10_000 / seconds:.0f} rows/s, store and embedded index "
            f"written); re-import {seconds_again:.1f} s ({10_000 / seconds_again:.0f} rows/s, "
            "all unchanged)"
        )
