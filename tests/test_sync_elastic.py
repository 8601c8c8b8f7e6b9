"""The outbox sync, ``directory reindex``, ``/healthz`` and the embedded fallback with the
Elasticsearch backend, through a real ``Directory`` (temporary SQLite store, instance
parsed with ``parse_instance``). Needs ``DIRECTORY_TEST_ES_URL`` (see
``test_search_elastic.py``)."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from directory_app.assembly import create_app
from directory_cli.main import cli
from directory_search.base import GeoPoint, SearchQuery, SearchUnavailable
from directory_search.elastic import ElasticsearchBackend
from directory_search.embedded import EmbeddedBackend

from directory_core.directory import Directory, open_directory
from directory_core.instance import Instance, load_instance, parse_instance
from directory_core.sample import generate_offers

from . import search_fixtures as fx
from .conftest import DORTMUND_FILE, HOERDE_44263, build_known_offers
from .stores import write_instance_file

pytestmark = pytest.mark.elasticsearch


@pytest.fixture(scope="module")
def es_url() -> str:
    return fx.elasticsearch_url(fx.ES_URL_VARIABLE)


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def store_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "dortmund.sqlite"
    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("DIRECTORY_ELASTICSEARCH_URL", raising=False)
    return path


@pytest.fixture
def prefix(es_url):
    """A fresh index prefix; its indices are deleted at teardown."""
    name = fx.unique_prefix("sync")
    yield name
    cleanup = ElasticsearchBackend(es_url, name)
    try:
        cleanup.drop()
    finally:
        cleanup.close()


def es_instance(url: str, prefix: str, fallback: bool) -> Instance:
    """instances/dortmund.toml with the Elasticsearch backend (store: DIRECTORY_STORE_URL)."""
    data = tomllib.loads(DORTMUND_FILE.read_text(encoding="utf-8"))
    data["search"] = {"backend": "elasticsearch", "url": url, "index_prefix": prefix}
    if fallback:
        data["search"]["fallback"] = "embedded"
    data["server"] = {"health_details": True}  # the tests read /healthz's full report
    instance = parse_instance(data, source="test")
    assert instance.search.backend == "elasticsearch"
    return instance


@pytest.fixture
def open_es(store_file, es_url, prefix):
    """Open Dortmund directories on the same store and prefix (``url`` may be dead)."""
    opened: list[Directory] = []

    def open_(url: str | None = None, fallback: bool = True) -> Directory:
        directory = open_directory(es_instance(url or es_url, prefix, fallback))
        opened.append(directory)
        return directory

    yield open_
    for directory in opened:
        directory.close()


def samples(directory: Directory, n: int, seed: int = 5):
    carriers = [c.key for c in directory.carriers]
    return list(generate_offers(directory.districts, carriers, n, seed=seed, city="Dortmund"))


def write_to_store_only(directory: Directory, offers) -> None:
    """What another process (an import) does: store and outbox, no index update."""
    with directory.store.transaction() as conn:
        directory.store.write_offers(conn, offers)


def ids(result) -> set[str]:
    return {h.id for h in result.hits}


def near_hoerde(**kw) -> SearchQuery:
    return SearchQuery(near=GeoPoint(*HOERDE_44263), radius_km=3.0, limit=100, **kw)


# -- sync ----------------------------------------------------------------------------------


def test_sync_pushes_the_outbox_in_bulk(open_es):
    directory = open_es(fallback=False)
    assert isinstance(directory.search_backend, ElasticsearchBackend)
    offers = samples(directory, 1500)
    write_to_store_only(directory, offers)
    assert directory.sync_lag() == 1500

    client = directory.search_backend.es
    requests = []
    real_bulk = client.bulk

    def counting_bulk(*args, **kwargs):
        requests.append(1)
        return real_bulk(*args, **kwargs)

    client.bulk = counting_bulk
    try:
        assert directory.sync() == 1500
    finally:
        del client.bulk
    assert len(requests) == 1  # one outbox batch (2000 rows) = one bulk request
    assert directory.sync_lag() == 0
    assert directory.search_backend.count() == 1500
    assert directory.search(SearchQuery(limit=0, include_archived=True)).total == 1500

    # updates and archiving go the same way
    changed = offers[:10]
    for offer in changed:
        offer.title = "Umbenannter Mittagstisch Zwölfender"
    write_to_store_only(directory, changed)
    assert directory.sync() == 10
    directory.archive([offers[10].id])  # synced by the directory itself (after_write)
    found = directory.search(SearchQuery(text="zwolfender", limit=50))
    assert ids(found) == {o.id for o in changed}
    assert offers[10].id not in ids(directory.search(SearchQuery(limit=2000)))
    assert directory.sync_lag() == 0


def test_a_save_is_searchable_at_once(open_es):
    directory = open_es(fallback=False)
    known = build_known_offers()
    directory.save(list(known.values()))
    assert directory.sync_lag() == 0
    hits = directory.search(SearchQuery(text="Phoenix"))
    assert [h.id for h in hits.hits] == [known["cafe"].id]
    near = directory.search(near_hoerde())
    assert known["treff"].id == near.hits[0].id  # 0.3 km: the nearest
    assert known["archived"].id not in ids(near)


def test_while_elasticsearch_is_down_nothing_is_lost(open_es, caplog):
    live = open_es(fallback=False)
    live.save(samples(live, 20, seed=1))
    down = open_es(dead_url(), fallback=False)  # the same store, the cluster unreachable
    new = samples(down, 30, seed=2)
    with caplog.at_level(logging.WARNING, logger="directory_core.directory"):
        down.save(new)  # the write succeeds; the index is behind
    assert "search index not updated now" in caplog.text
    assert down.sync_lag() == 30
    with pytest.raises(SearchUnavailable, match="127.0.0.1"):
        down.search(SearchQuery())
    with pytest.raises(SearchUnavailable):
        down.sync()
    assert down.sync_lag() == 30  # the position did not move
    health = down.health()
    assert health["ok"] is False and health["search"]["ok"] is False
    assert health["sync_lag"] == 30 and health["search"]["lag"] == 30
    assert "127.0.0.1" in health["search"]["error"]

    # the cluster is back (the live directory reaches it): the sync catches up
    assert live.sync() == 30
    assert live.sync_lag() == 0
    assert live.search(SearchQuery(limit=0)).total == 50
    assert live.health()["ok"] is True


def test_the_fallback_answers_while_elasticsearch_is_down(open_es):
    live = open_es()
    assert isinstance(live.fallback, EmbeddedBackend)
    known = build_known_offers()
    live.save(list(known.values()))
    assert live.sync_lags() == {"primary": 0, "fallback": 0}
    health = live.health()
    assert health["ok"] is True and "degraded" not in health
    assert health["search"]["backend"] == "elasticsearch" and health["search"]["lag"] == 0
    assert health["fallback"]["backend"] == "embedded" and health["fallback"]["lag"] == 0

    down = open_es(dead_url())
    extra = samples(down, 25, seed=3)
    extra[0].title = "Spätlese-Treff am Phoenix-See"
    down.save(extra)
    assert down.sync_lags() == {"primary": 25, "fallback": 0}
    health = down.health()
    assert health["ok"] is True and health["degraded"] is True
    assert health["search"]["ok"] is False and health["search"]["lag"] == 25
    assert health["fallback"]["ok"] is True and health["fallback"]["lag"] == 0
    # answered by the fallback, which has the new offers
    found = down.search(SearchQuery(text="spatlese"))
    assert [h.id for h in found.hits] == [extra[0].id]
    everything = down.search(SearchQuery(limit=0, include_archived=True))
    assert everything.total == len(known) + 25
    assert ids(down.search(near_hoerde())) == ids(live.fallback.search(near_hoerde()))
    with pytest.raises(SearchUnavailable):  # the primary itself is still down
        down.search_backend.search(SearchQuery())

    # Elasticsearch is back: the sync catches up, the lag is 0 again
    assert live.sync() == 25
    assert live.sync_lags() == {"primary": 0, "fallback": 0}
    assert [h.id for h in live.search_backend.search(SearchQuery(text="spatlese")).hits] == [
        extra[0].id
    ]
    assert live.search_backend.count() == len(known) + 25
    health = live.health()
    assert health["ok"] is True and "degraded" not in health


def test_answering_from_the_fallback_is_logged_once_per_interval(open_es, caplog):
    down = open_es(dead_url())
    down.save(samples(down, 5, seed=4))
    with caplog.at_level(logging.WARNING, logger="directory_core.directory"):
        for _ in range(20):
            down.search(near_hoerde())
    lines = [r.getMessage() for r in caplog.records if "fallback" in r.getMessage()]
    assert len(lines) == 1, lines  # not one per search while the cluster is down
    assert lines[0].startswith("search backend unavailable: search (answered from the fallback)")


def test_a_graphql_search_without_fallback_is_a_clear_error(open_es, serve, graphql_client):
    down = open_es(dead_url(), fallback=False)
    client = graphql_client(serve(create_app(down, sync_interval=None)).url)
    error = client.error("{ offers { totalCount } }")
    assert error["message"] == "The search service is unavailable; try again in a moment."
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"


# -- reindex ---------------------------------------------------------------------------------


def test_reindex_swaps_the_alias_while_searches_go_on(open_es):
    directory = open_es()
    offers = samples(directory, 3000, seed=9)
    write_to_store_only(directory, offers)
    directory.sync()
    backend = directory.search_backend
    assert isinstance(backend, ElasticsearchBackend)
    backend.old_index_grace = 0.5
    first = backend.current_index()
    queries = [SearchQuery(limit=10), near_hoerde(), SearchQuery(text="mittagstisch")]
    expected = {q: directory.search(q).total for q in queries}
    assert all(expected.values())
    problems: list[object] = []
    searches = 0
    stop = threading.Event()

    def search_forever():
        nonlocal searches
        while not stop.is_set():
            for q in queries:
                try:
                    result = directory.search(q)
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    problems.append(exc)
                    continue
                searches += 1
                if not result.hits or result.total != expected[q]:
                    problems.append((q, result.total))

    thread = threading.Thread(target=search_forever)
    thread.start()
    try:
        assert directory.reindex(fallback=False) == 3000
        second = backend.current_index()
        assert directory.reindex(fallback=False) == 3000
    finally:
        stop.set()
        thread.join()
    assert not problems, problems[:3]
    assert searches > 20
    third = backend.current_index()
    assert len({first, second, third}) == 3
    assert backend.indices() == [third]
    assert directory.sync_lags() == {"primary": 0, "fallback": 0}


def test_reindex_rebuilds_the_fallback_too(open_es):
    directory = open_es()
    offers = samples(directory, 50, seed=4)
    write_to_store_only(directory, offers)
    assert directory.sync_lags() == {"primary": 50, "fallback": 50}
    assert directory.reindex() == 50
    assert directory.sync_lags() == {"primary": 0, "fallback": 0}
    assert directory.fallback.count() == directory.search_backend.count() == 50


def test_cli_reindex_and_sync(open_es, es_url, prefix, tmp_path, monkeypatch):
    directory = open_es()
    write_to_store_only(directory, samples(directory, 40, seed=6))
    text = DORTMUND_FILE.read_text(encoding="utf-8")
    text = text.replace(
        'backend = "embedded"',
        f'backend = "elasticsearch"\nurl = "{es_url}"\nindex_prefix = "{prefix}"\n'
        'fallback = "embedded"',
        1,
    )
    instance_file = tmp_path / "dortmund-es.toml"
    instance_file.write_text(text, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["--instance", str(instance_file), "sync"])
    assert result.exit_code == 0, result.output
    assert "applied 40 changes; lag 0; fallback lag 0" in result.output
    result = runner.invoke(cli, ["--instance", str(instance_file), "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 40 offers" in result.output
    # an unreachable cluster is a clear error, not a traceback
    monkeypatch.setenv("DIRECTORY_ELASTICSEARCH_URL", dead_url())
    result = runner.invoke(cli, ["--instance", str(instance_file), "reindex", "--no-fallback"])
    assert result.exit_code == 1
    assert "reindex failed" in result.output and "not reachable" in result.output


def test_two_cities_on_one_cluster(store_file, es_url, tmp_path):
    """Dortmund and Bochum with their default prefixes (from the instance key) never see
    each other's offers."""
    key = fx.unique_prefix("city").replace("test-", "")
    made = []
    try:
        for city, file_name in (("dortmund", "dortmund.toml"), ("bochum", "bochum.toml")):
            data = tomllib.loads((DORTMUND_FILE.parent / file_name).read_text(encoding="utf-8"))
            data["instance"]["key"] = f"{city}-{key}"
            data["search"] = {"backend": "elasticsearch", "url": es_url}
            instance = parse_instance(data, source=file_name)
            assert instance.search.index_prefix == f"directory-{city}-{key}"
            instance = dataclasses.replace(
                instance, store_url=f"sqlite:///{tmp_path / (city + '.sqlite')}"
            )
            directory = open_directory(instance)
            made.append(directory)
            directory.save(samples(directory, 10 if city == "dortmund" else 7, seed=8))
        dortmund, bochum = made
        assert dortmund.search(SearchQuery(limit=0)).total == 10
        assert bochum.search(SearchQuery(limit=0)).total == 7
        assert set(dortmund.search_backend.indices()).isdisjoint(bochum.search_backend.indices())
    finally:
        for directory in made:
            directory.search_backend.drop()
            directory.close()


# -- a lost index, a shared index ------------------------------------------------------------


OFFERS_TOTAL = "{ offers(filter: {includeArchived: true}) { totalCount } }"


def test_a_lost_index_is_never_an_empty_answer_and_is_rebuilt(
    open_es, es_url, serve, graphql_client, caplog
):
    """The live index is deleted while the server runs: searches fail with a clear
    error (never "0 found"), /healthz is not ok, and the server's sync task rebuilds
    the index from the store without a manual step."""
    directory = open_es(fallback=False)
    directory.save(list(build_known_offers().values()) + samples(directory, 30, seed=12))
    expected = directory.store.count_offers()
    server = serve(create_app(directory, sync_interval=0.5))
    client = graphql_client(server.url)
    assert client.data(OFFERS_TOTAL)["offers"]["totalCount"] == expected
    index = directory.search_backend.current_index()

    # hold the sync lock, so the server's sync task cannot repair it while we look
    with directory.store.sync_lock(directory.sync_name):
        assert httpx.delete(f"{es_url}/{index}").status_code == 200
        error = client.error(OFFERS_TOTAL)
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        with pytest.raises(SearchUnavailable, match="missing"):
            directory.search(SearchQuery())
        response = httpx.get(f"{server.url}/healthz")
        assert response.status_code == 503
        health = response.json()
        assert health["ok"] is False and health["search"]["ok"] is False
        assert "missing" in health["search"]["error"]
    # the sync task (every 0.5 s) rebuilds it from the store
    with caplog.at_level(logging.WARNING, logger="directory_core.directory"):
        deadline = time.monotonic() + 15
        while httpx.get(f"{server.url}/healthz").status_code != 200:
            assert time.monotonic() < deadline, httpx.get(f"{server.url}/healthz").json()
            time.sleep(0.2)
    assert client.data(OFFERS_TOTAL)["offers"]["totalCount"] == expected
    assert directory.search_backend.current_index() not in (None, index)
    assert "rebuilt from the store" in caplog.text


def test_a_lost_index_is_answered_by_the_fallback_until_rebuilt(open_es, es_url):
    directory = open_es()
    known = build_known_offers()
    directory.save(list(known.values()))
    httpx.delete(f"{es_url}/{directory.search_backend.current_index()}")
    found = directory.search(SearchQuery(text="Phoenix"))  # the fallback answers
    assert [h.id for h in found.hits] == [known["cafe"].id]
    health = directory.health()
    assert health["search"]["ok"] is False and health["degraded"] is True
    directory.sync()  # what the server's sync task does: rebuild from the store
    assert directory.search_backend.count() == len(known)
    assert directory.health()["search"]["ok"] is True


def test_an_index_with_fewer_documents_than_offers_is_not_healthy(open_es):
    """An index replaced behind the directory's back (restored, emptied) while the
    outbox says it has caught up: /healthz says so."""
    directory = open_es(fallback=False)
    directory.save(samples(directory, 12, seed=13))
    assert directory.health()["ok"] is True
    directory.search_backend.clear()  # an empty index swapped in; the position stays
    health = directory.health()
    assert health["ok"] is False
    assert "holds 0 documents but the store 12 offers" in health["search"]["error"]


def test_two_instances_with_one_key_cannot_write_one_index(es_url, prefix, tmp_path, monkeypatch):
    """A new city copied from another's instance file with the same key (so the same
    index prefix) but its own store: refused, and the first city's index is untouched."""
    monkeypatch.delenv("DIRECTORY_ELASTICSEARCH_URL", raising=False)
    files = {}
    for city in ("bochum", "herne"):
        files[city] = write_instance_file(
            tmp_path / f"{city}.toml",
            f"sqlite:///{tmp_path / (city + '.sqlite')}",
            {"backend": "elasticsearch", "url": es_url, "index_prefix": prefix},
        )
    runner = CliRunner()
    result = runner.invoke(cli, ["--instance", str(files["bochum"]), "init"])
    assert result.exit_code == 0, result.output
    bochum = open_directory(load_instance(files["bochum"]))
    try:
        bochum.save(samples(bochum, 15, seed=14))
        index = bochum.search_backend.current_index()
        for command in ("init", "reindex", "sync"):
            result = runner.invoke(cli, ["--instance", str(files["herne"]), command])
            assert result.exit_code == 1, result.output
            assert "belongs to another store" in result.output
            assert "Give this instance a key of its own" in result.output
        assert bochum.search_backend.current_index() == index
        assert bochum.search(SearchQuery(limit=0)).total == 15
        assert bochum.health()["ok"] is True
    finally:
        bochum.close()


def test_init_fails_when_the_index_cannot_be_created(store_file, es_url, prefix, tmp_path):
    runner = CliRunner()
    for url, message in ((dead_url(), "not reachable"), (es_url, None)):
        instance = write_instance_file(
            tmp_path / "city.toml",
            f"sqlite:///{tmp_path / 'city.sqlite'}",
            {"backend": "elasticsearch", "url": url, "index_prefix": prefix},
        )
        result = runner.invoke(cli, ["--instance", str(instance), "init"])
        if message:
            assert result.exit_code == 1, result.output
            assert "the search index could not be created" in result.output
            assert message in result.output
        else:
            assert result.exit_code == 0, result.output
            backend = ElasticsearchBackend(es_url, prefix)
            try:
                assert backend.current_index() is not None and backend.count() == 0
            finally:
                backend.close()


def test_init_names_client_and_server_versions_when_they_do_not_fit(
    store_file, es_url, prefix, tmp_path, monkeypatch
):
    from directory_search import elastic

    monkeypatch.setattr(elastic, "client_version", lambda: (9, 1, 0))
    instance = write_instance_file(
        tmp_path / "city.toml",
        f"sqlite:///{tmp_path / 'city.sqlite'}",
        {"backend": "elasticsearch", "url": es_url, "index_prefix": prefix},
    )
    result = CliRunner().invoke(cli, ["--instance", str(instance), "init"])
    assert result.exit_code == 1
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error")]
    assert "client 9.1.0 cannot talk to Elasticsearch 7.10.2" in line
    assert "pip install 'elasticsearch>=7.17,<8'" in line
