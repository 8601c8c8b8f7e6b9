"""The store of record: round trips, transactions, outbox, bad files.

Every test that does not concern SQLite files runs on SQLite and on PostgreSQL
(``stores.store_url``); PostgreSQL-only behaviour is in ``test_store_postgres.py``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from directory_core.categories import default_categories
from directory_core.model import (
    Accessibility,
    Address,
    Carrier,
    Contact,
    Cost,
    District,
    Location,
    Offer,
    Precision,
    Schedule,
    ScheduleRule,
)
from directory_core.store import Store, StoreError

from . import stores

store_url = stores.store_url


def _store(where) -> Store:
    """A store with reference data at ``where`` (a URL, or the path of a SQLite file)."""
    url = where if isinstance(where, str) and "://" in where else f"sqlite:///{where}"
    store = Store.open(url)
    store.replace_reference_data(
        [District("hoerde", "Hörde", 51.4833, 7.5)],
        [Carrier("awo", "AWO")],
        default_categories(),
    )
    return store


def _offer(**changes) -> Offer:
    values = dict(
        title="Demenzcafé Hörde",
        kind="dementia_group",
        description="Jeden zweiten Dienstag",
        carrier="awo",
        categories=["dementia.groups", "relief.family_carers"],
        district="hoerde",
        address=Address("Hörder Bahnhofstraße 16", "44263", "Dortmund"),
        location=Location(51.4847, 7.4996, Precision.POSTCODE),
        contact=Contact("0231 50-23311", "cafe@example.org", "https://example.org"),
        channels=["in_person", "phone"],
        schedule=Schedule(
            rules=[ScheduleRule("tue", "14:00", "16:00", "monthly", weeks_of_month=[2])],
            valid_from=date(2026, 1, 1),
            valid_until=date(2026, 12, 31),
            note="nicht in den Ferien",
        ),
        languages=["de", "tr"],
        accessibility=Accessibility(wheelchair=True, easy_language=True, note="Rampe"),
        cost=Cost(free_of_charge=False, note="2 € für Kaffee"),
        target_groups=["Menschen mit Demenz", "Angehörige"],
        verified_at=datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
        external_id="awo-17",
        extra={"awo.transport_service": True},
    )
    values.update(changes)
    return Offer(**values)


def test_round_trip_keeps_every_field(store_url):
    store = _store(store_url)
    offer = _offer()
    with store.transaction() as conn:
        store.write_offers(conn, [offer])
    loaded = store.get_offer(offer.id)
    assert loaded == offer
    for value in (loaded.created_at, loaded.updated_at, loaded.verified_at):
        assert value is not None and value.utcoffset() == timedelta(0)
    # SQLite's driver gives 0/1 and text, read without SQLAlchemy: the model's types
    flags = (
        loaded.district_manual,
        loaded.accessibility.wheelchair,
        loaded.accessibility.hearing_loop,
        loaded.accessibility.easy_language,
        loaded.cost.free_of_charge,
    )
    assert all(type(flag) is bool for flag in flags)
    assert type(loaded.location.lat) is float and type(loaded.version) is int
    assert loaded.location.precision is offer.location.precision
    store.close()


def test_update_keeps_created_at_and_replaces_categories(store_url):
    store = _store(store_url)
    offer = _offer()
    with store.transaction() as conn:
        store.write_offers(conn, [offer])
    created = store.get_offer(offer.id).created_at
    offer.categories = ["dementia.advice"]
    offer.title = "Demenzberatung"
    with store.transaction() as conn:
        store.write_offers(conn, [offer])
    loaded = store.get_offer(offer.id)
    assert loaded.categories == ["dementia.advice"]
    assert loaded.title == "Demenzberatung"
    assert loaded.created_at == created
    assert loaded.updated_at >= created
    assert [row[2] for row in store.outbox_after(0)] == ["upsert", "upsert"]
    store.close()


def test_failed_transaction_writes_nothing(store_url):
    store = _store(store_url)
    good, bad = _offer(), _offer(external_id="awo-18", carrier="nobody")
    with pytest.raises(Exception), store.transaction() as conn:  # noqa: B017 - FK error
        store.write_offers(conn, [good, bad])
    assert store.count_offers() == 0
    assert store.outbox_after(0) == []
    store.close()


def test_external_ids_are_unique_per_carrier(store_url):
    store = _store(store_url)
    with store.transaction() as conn:
        store.write_offers(conn, [_offer()])
    with pytest.raises(Exception), store.transaction() as conn:  # noqa: B017
        store.write_offers(conn, [_offer()])  # new id, same (carrier, external id)
    assert store.find_external("awo", ["awo-17", "awo-99"]).keys() == {"awo-17"}
    store.close()


def test_sync_positions_and_geocode_cache(store_url):
    store = _store(store_url)
    assert store.sync_position("x") == 0
    store.set_sync_position("x", 5)
    store.set_sync_position("x", 7)
    assert store.sync_position("x") == 7
    store.geocode_cache_put(
        "44263", {"lat": 1.0, "lon": 2.0, "precision": "postcode", "label": "l", "source": "s"}
    )
    assert store.geocode_cache_get("44263")["lat"] == 1.0
    assert store.geocode_cache_get("nope") is None
    store.close()


def test_schema_is_at_the_newest_migration(store_url):
    store = _store(store_url)
    assert store.schema_revision() == store.head_revision()
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_corrupt_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store.open(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_damaged_database_is_refused(tmp_path):
    path = tmp_path / "damaged.sqlite"
    store = _store(path)
    with store.transaction() as conn:
        store.write_offers(conn, [_offer(external_id=str(i)) for i in range(300)])
    store.close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 3 + 2000] = b"\xff" * 2000  # overwrite part of a b-tree page
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(StoreError):
        Store.open(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_missing_file_is_an_error_unless_created(tmp_path):
    path = tmp_path / "missing.sqlite"
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(f"sqlite:///{path}", create=False)
    assert not path.exists()
    Store.open(f"sqlite:///{path}", create=True).close()
    assert path.exists()


def test_bad_url_is_a_clear_error():
    with pytest.raises(StoreError, match="cannot use store URL"):
        Store.open("nosuchdb://x/y")


def test_times_with_an_offset_keep_their_instant_and_come_back_in_utc(store_url):
    store = _store(store_url)
    berlin = timezone(timedelta(hours=2))
    offer = _offer(verified_at=datetime(2026, 6, 1, 12, 30, 15, 123456, tzinfo=berlin))
    with store.transaction() as conn:
        store.write_offers(conn, [offer])
    loaded = store.get_offer(offer.id)
    assert loaded.verified_at == datetime(2026, 6, 1, 10, 30, 15, 123456, tzinfo=UTC)
    assert loaded.verified_at.tzinfo == UTC
    assert loaded.updated_at == offer.updated_at  # to the microsecond
    assert store.offer_versions([offer.id, "nope"]) == {offer.id: offer.updated_at}
    store.close()


def test_json_columns_keep_structure_and_text(store_url):
    store = _store(store_url)
    extra = {
        "awo.transport_service": True,
        "note": "Fußweg über die Brücke, 5 € – „Kaffee“ 🙂",
        "nested": {"list": [1, 2.5, None, "x"], "empty": {}},
        "zero": 0,
    }
    offer = _offer(extra=extra, target_groups=["Angehörige", "Menschen mit Demenz"])
    with store.transaction() as conn:
        store.write_offers(conn, [offer])
    loaded = store.get_offer(offer.id)
    assert loaded.extra == extra
    assert loaded.target_groups == ["Angehörige", "Menschen mit Demenz"]
    assert loaded.schedule == offer.schedule
    store.close()


def test_reference_data_is_upserted_never_deleted(store_url):
    store = _store(store_url)
    polygon = [[(51.48, 7.49), (51.49, 7.5), (51.48, 7.51)]]
    store.replace_reference_data(
        [District("hoerde", "Dortmund-Hörde", 51.48, 7.5, polygon=polygon, point_note="neu")],
        [Carrier("caritas", "Caritas", "https://caritas.example")],
        [],
    )
    districts = store.districts()
    assert [(d.key, d.name, d.point_note) for d in districts] == [
        ("hoerde", "Dortmund-Hörde", "neu")
    ]
    assert districts[0].polygon == polygon
    assert {c.key: c.website for c in store.carriers()} == {
        "awo": "",
        "caritas": "https://caritas.example",
    }
    assert len(store.categories()) == len(default_categories())
    store.close()


def test_outbox_records_every_write_and_delete_in_order(store_url):
    store = _store(store_url)
    first, second = _offer(), _offer(external_id="awo-18")
    with store.transaction() as conn:
        store.write_offers(conn, [first, second])
    with store.transaction() as conn:
        store.delete_offers(conn, [first.id])
    rows = store.outbox_after(0)
    assert [(r[1], r[2]) for r in rows] == [
        (first.id, "upsert"),
        (second.id, "upsert"),
        (first.id, "delete"),
    ]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert store.outbox_head() == rows[-1][0]
    assert store.outbox_pending(rows[0][0]) == 2
    assert store.get_offer(first.id) is None
    assert store.count_offers() == 1
    with store.engine.connect() as conn:
        links = conn.execute(sa.text("SELECT count(*) FROM offer_categories")).scalar()
    assert links == 2
    store.close()


def test_paging_through_offer_ids(store_url):
    store = _store(store_url)
    offers = [_offer(external_id=f"awo-{i}") for i in range(25)]
    with store.transaction() as conn:
        store.write_offers(conn, offers)
    batches = list(store.iter_offer_ids(batch=10))
    assert [len(b) for b in batches] == [10, 10, 5]
    ids = [i for b in batches for i in b]
    assert len(ids) == 25 and set(ids) == {o.id for o in offers}  # order: the collation's
    assert store.carrier_offer_ids("awo").keys() == {o.id for o in offers}
    store.close()


def test_schedule_rules_are_stored_with_every_field():
    # the store writes rules by hand (faster than dataclasses.asdict): a field added to
    # ScheduleRule must be added there too
    from dataclasses import asdict

    from directory_core.model import ScheduleRule
    from directory_core.store_rows import _rule_to_json

    rule = ScheduleRule("tue", "14:00", "16:00", "monthly", interval=2, weeks_of_month=[2, -1])
    assert _rule_to_json(rule) == asdict(rule)
    assert _rule_to_json(rule)["weeks_of_month"] is not rule.weeks_of_month


def test_insert_rows_writes_what_sqlalchemy_insert_writes(store_url):
    """``insert_rows`` (compiled once, the driver's executemany on SQLite) stores the same
    values as ``conn.execute(insert(table), rows)``, JSON and dates included; rows that
    leave a column to its Python default take SQLAlchemy's own path."""
    from directory_core import tables as t
    from directory_core.store_connection import insert_rows
    from directory_core.store_rows import _offer_to_row

    store = _store(store_url)
    at = datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=UTC)
    changes = {"title": {"old": None, "new": 'Café "Zeche" ü'}, "schedule": {"rules": []}}
    # one time object shared by rows (converted once per call), and others between
    times = [at, at, at + timedelta(microseconds=1), at, datetime(2025, 1, 2, tzinfo=UTC), at]
    rows = [
        {"offer_id": f"o{i}", "version": 1, "at": when, "who": "me", "how": "import",
         "note": "", "changes": changes}
        for i, when in enumerate(times)
    ]  # fmt: skip
    with store.engine.begin() as conn:
        insert_rows(conn, t.offer_history, rows)
        conn.execute(
            sa.insert(t.offer_history), [{**r, "offer_id": "x" + r["offer_id"]} for r in rows]
        )
        insert_rows(conn, t.offer_history, [])
    with store.engine.connect() as conn:
        got = [
            row._mapping
            for row in conn.execute(sa.select(t.offer_history).order_by(t.offer_history.c.id))
        ]
    fast = [{k: v for k, v in r.items() if k not in ("id", "offer_id")} for r in got[:6]]
    plain = [{k: v for k, v in r.items() if k not in ("id", "offer_id")} for r in got[6:]]
    assert fast == plain and fast[0]["changes"] == changes
    assert [r["at"].replace(tzinfo=r["at"].tzinfo or UTC) for r in fast] == times
    assert [r["offer_id"] for r in got] == [f"o{i}" for i in range(6)] + [
        f"xo{i}" for i in range(6)
    ]
    with store.engine.begin() as conn:  # "description" left to its default: fallback
        insert_rows(conn, t.offer_categories, [])
        row = _offer_to_row(_offer(id="d1", created_at=at, updated_at=at, version=1))
        del row["description"]
        insert_rows(conn, t.offers, [row])
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(t.offers).where(t.offers.c.id == "d1")).one()
    assert stored.description == "" and stored.title == "Demenzcafé Hörde"
    from directory_core.store_connection import _getter

    # a row's values in the statement's order, as a tuple (one column: still a tuple)
    assert _getter(("b", "a"))({"a": 1, "b": 2}) == (2, 1)
    assert _getter(("a",))({"a": 1, "b": 2}) == (1,)


def test_json_columns_fall_back_to_the_standard_library_for_what_orjson_refuses():
    import json

    from directory_core.store_connection import json_dumps, json_loads

    plain = {"a": [1, 2.5, "ü"], "b": None, 3: True}
    assert json.loads(json_dumps(plain)) == json.loads(json.dumps(plain))
    assert json_loads(json_dumps(2**70)) == 2**70  # beyond 64 bits: json.dumps writes it
    beyond = {"n": 2**70, "t": "Café ü"}
    assert json_dumps(beyond) == json.dumps(beyond)  # its text exactly, as always
    from directory_core.store_connection import json_bytes

    assert json_bytes(beyond) == json.dumps(beyond).encode()
    assert json_bytes(plain) == json_dumps(plain).encode()  # orjson's UTF-8 as it is
    assert json_loads("[1, 2]") == [1, 2]
    # NaN is not JSON: written as null (json.dumps wrote NaN, which PostgreSQL refused),
    # and a NaN stored by an older version is still read
    assert json_loads(json_dumps(float("nan"))) is None
    nan = json_loads("[NaN]")[0]
    assert nan != nan


def test_a_page_cache_that_cannot_be_restored_does_not_hide_the_write_error(tmp_path):
    """A write that broke its connection raises its own error, not the failed restore."""
    from directory_core.store_writes import _bulk_cache

    store = _store(tmp_path / "store.sqlite")
    conn = store.engine.connect()
    with pytest.raises(ValueError, match="the write's own error"):
        with _bulk_cache(conn, 5000):
            conn.close()  # as a lost connection: the restoring PRAGMA cannot run
            raise ValueError("the write's own error")


def test_a_large_write_has_a_larger_page_cache_and_restores_it(tmp_path, monkeypatch):
    """A write of at least ``BULK_CACHE_OFFERS`` offers runs with ``BULK_CACHE_KIB`` of
    page cache on SQLite (its dirty index pages would spill to the WAL otherwise); the
    connection's own size comes back after it, also when the write fails."""
    from directory_core import history, store_writes
    from directory_core.history import VersionConflict

    store = _store(tmp_path / "store.sqlite")  # SQLite only: a per-connection setting
    monkeypatch.setattr(store_writes, "BULK_CACHE_OFFERS", 2)
    seen: list[int] = []
    record = history.record

    def spy(conn, entries):
        seen.append(conn.exec_driver_sql("PRAGMA cache_size").scalar())
        record(conn, entries)

    monkeypatch.setattr(history, "record", spy)

    def cache(conn) -> int:
        return conn.exec_driver_sql("PRAGMA cache_size").scalar()

    with store.transaction() as conn:
        before = cache(conn)
        store.write_offers(conn, [_offer(external_id="a1")])  # one offer: as it was
        store.write_offers(conn, [_offer(external_id="a2"), _offer(external_id="a3")])
        after = cache(conn)
    assert seen == [before, store_writes.BULK_CACHE_KIB] and after == before != seen[1]
    stored = store.find_external("awo", ["a1", "a2", "a3"])
    with pytest.raises(VersionConflict), store.transaction() as conn:
        offers = list(store.get_offers(stored.values()).values())
        try:
            store.write_offers(conn, offers, expect={offers[0].id: 99})
        finally:
            assert cache(conn) == before
    assert store.count_offers() == 3


def test_record_times_are_read_as_aware_utc_whatever_wrote_them():
    from directory_core.store_rows import _record_time

    assert _record_time("2026-11-27 04:35:48.139282") == datetime(
        2026, 11, 27, 4, 35, 48, 139282, tzinfo=UTC
    )
    plain = _record_time("2026-11-27 04:35:48")
    assert plain == datetime(2026, 11, 27, 4, 35, 48, tzinfo=UTC) and plain.tzinfo is UTC
    # text this project does not write keeps its instant
    assert _record_time("2026-11-27T06:35:48+02:00") == datetime(
        2026, 11, 27, 4, 35, 48, tzinfo=UTC
    )
    assert _record_time("2026-11-27T04:35:48Z").tzinfo is UTC
    midnight = _record_time("2026-11-27")  # a date alone: fromisoformat drops an offset
    assert midnight == datetime(2026, 11, 27, tzinfo=UTC) and midnight.tzinfo is UTC
    # PostgreSQL's driver gives datetimes
    berlin = timezone(timedelta(hours=1))
    assert _record_time(datetime(2026, 1, 1, 13, tzinfo=berlin)) == datetime(
        2026, 1, 1, 12, tzinfo=UTC
    )
    assert _record_time(None) is None
    with pytest.raises(ValueError):
        _record_time("gestern")


def test_driver_errors_of_offer_reads_are_sqlalchemys_like_every_other_read(tmp_path):
    """Offers are read through SQLite's driver directly; its errors still arrive as
    SQLAlchemy's, so ``is_outage`` and the API's error handling see what they saw."""
    from directory_core.store import is_outage

    store = _store(tmp_path / "store.sqlite")
    offer = _offer()
    with store.transaction() as conn:
        store.write_offers(conn, [offer])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql("ALTER TABLE offers RENAME TO offers_gone")
    with pytest.raises(sa.exc.OperationalError, match="no such table: offers") as caught:
        store.get_offers([offer.id])
    assert isinstance(caught.value.orig, sqlite3.OperationalError)
    assert is_outage(caught.value)
    assert store.outbox_head() > 0  # read the same way before every page of offers
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE outbox RENAME TO outbox_gone")
    with pytest.raises(sa.exc.OperationalError, match="no such table: outbox") as caught:
        store.outbox_head()
    assert is_outage(caught.value)
    store.close()


def test_sqlite_store_connections_read_through_a_memory_map(tmp_path):
    from directory_core.store_connection import SQLITE_MMAP_BYTES

    store = _store(tmp_path / "store.sqlite")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == SQLITE_MMAP_BYTES
    store.close()


def test_empty_json_values_are_new_objects_each_time():
    from directory_core.store_connection import json_loads

    first = json_loads("[]")
    first.append("x")
    assert json_loads("[]") == [] and json_loads("{}") == {}
    assert json_loads("{}") is not json_loads("{}")
    assert json_loads('["de"]') == ["de"] and json_loads(b"[]") == []


def test_record_times_are_remembered_and_shared_as_they_cannot_change():
    from directory_core.store_rows import _record_time

    text = "2026-11-27 04:35:48.139282"
    assert _record_time(text) is _record_time(text)
    assert _record_time(text) == datetime(2026, 11, 27, 4, 35, 48, 139282, tzinfo=UTC)
    assert _record_time("2026-11-27 04:35:49") == datetime(2026, 11, 27, 4, 35, 49, tzinfo=UTC)


def test_schedules_of_records_are_new_objects_with_the_columns_values():
    """A schedule's values are remembered by its JSON text; every offer still gets
    schedule, rules and lists of its own, equal to what the JSON says."""
    from directory_core.store_connection import json_loads
    from directory_core.store_rows import _schedule_of_record, schedule_from_json

    text = (
        '{"rules":[{"weekday":"tue","start":"14:00","end":"16:00","frequency":"monthly",'
        '"interval":1,"weeks_of_month":[2,-1]},{"weekday":"fri","start":"09:00",'
        '"end":"12:00","frequency":"weekly","interval":2,"weeks_of_month":[]}],'
        '"valid_from":"2026-01-01","valid_until":null,"note":"nicht in den Ferien"}'
    )
    first, second = _schedule_of_record(text), _schedule_of_record(text)
    assert first == second == schedule_from_json(json_loads(text))
    assert first is not second and first.rules[0] is not second.rules[0]
    first.rules[0].weeks_of_month.append(3)
    first.rules.append(first.rules[1])
    first.note = "geändert"
    third = _schedule_of_record(text)
    assert third == schedule_from_json(json_loads(text))
    assert third.rules[0].weeks_of_month == [2, -1] and len(third.rules) == 2
    assert _schedule_of_record("{}") == schedule_from_json(None)
    # values that could be changed are not shared, and long texts are read each time
    odd = '{"rules":[{"weekday":"mon","start":"09:00","end":"10:00","interval":[1]}]}'
    one, two = _schedule_of_record(odd), _schedule_of_record(odd)
    assert one == two and one.rules[0].interval is not two.rules[0].interval
    long_text = text.replace("nicht in den Ferien", "x" * 3000)
    assert _schedule_of_record(long_text) == schedule_from_json(json_loads(long_text))
    assert _schedule_of_record(long_text) is not _schedule_of_record(long_text)


def test_an_offers_category_keys_follow_every_write(store_url):
    """``offers.categories`` (read with the offer in one statement) and offer_categories
    (filters, counts, foreign keys) say the same after inserts, updates and deletes."""
    import json

    store = _store(store_url)
    first = _offer(categories=["dementia.groups", "relief.family_carers"])
    second = _offer(external_id="awo-18", categories=[])
    with store.transaction() as conn:
        store.write_offers(conn, [first, second])
    first.categories = ["relief.family_carers"]
    second.categories = ["dementia.groups", "advice.care_counselling"]
    with store.transaction() as conn:
        store.write_offers(conn, [first, second])
    with store.transaction() as conn:
        store.delete_offers(conn, [first.id])

    with store.engine.connect() as conn:
        in_rows = {
            offer_id: json.loads(keys) if isinstance(keys, str) else keys
            for offer_id, keys in conn.execute(sa.text("SELECT id, categories FROM offers"))
        }
        linked: dict[str, list[str]] = {}
        for offer_id, category in conn.execute(
            sa.text("SELECT offer_id, category FROM offer_categories ORDER BY offer_id, position")
        ):
            linked.setdefault(offer_id, []).append(category)
    assert in_rows == {second.id: ["dementia.groups", "advice.care_counselling"]}
    assert linked == in_rows
    assert store.get_offer(second.id).categories == second.categories
    store.close()
