"""The application around the schema: /healthz, GraphiQL, start-up, the index sync task and
the offer cache."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import httpx
import pytest
from directory_app.assembly import create_app
from directory_app.assembly import open_from_environment as open_directory_from_environment

from directory_core.directory import open_directory

from .conftest import DORTMUND_FILE, build_known_offers, dortmund_instance_at


def test_healthz_reports_store_and_search(known_directory, serve):
    known_directory.instance.server.health_details = True  # or the admin token
    try:
        server = serve(create_app(known_directory, sync_interval=None))
        response = httpx.get(f"{server.url}/healthz")
    finally:
        known_directory.instance.server.health_details = False
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["ok"] is True
    assert health["instance"] == "dortmund"
    assert health["store"]["ok"] is True
    assert health["store"]["dialect"] == "sqlite"
    assert health["store"]["offers"] == 49  # 9 known (one archived) + 40 samples
    assert health["sync_lag"] == 0
    assert health["search"]["ok"] is True
    assert health["search"]["backend"] == "embedded"
    assert health["search"]["documents"] == 49


def test_healthz_is_503_when_the_search_index_is_down(directory, serve):
    directory.instance.server.health_details = True
    server = serve(create_app(directory, sync_interval=None))
    directory.search_backend.close()
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 503
    health = response.json()
    assert health["status"] == "down"
    assert health["ok"] is False
    assert health["store"]["ok"] is True
    assert health["search"]["ok"] is False
    assert health["search"]["error"]


def test_search_down_is_a_clear_graphql_error(directory, serve, graphql_client):
    client = graphql_client(serve(create_app(directory, sync_interval=None)).url)
    directory.search_backend.close()
    error = client.error("{ offers { totalCount } }")
    assert error["message"] == "The search service is unavailable; try again in a moment."
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"


def test_graphiql_in_a_browser(known_server):
    response = httpx.get(f"{known_server.url}/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_queries_over_get(known_server):
    response = httpx.get(
        f"{known_server.url}/graphql",
        params={"query": "{ districts { key } }"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert len(response.json()["data"]["districts"]) == 12


def test_unexpected_errors_are_masked(directory, serve, graphql_client, caplog):
    client = graphql_client(serve(create_app(directory, sync_interval=None)).url)

    def broken(ids, conn=None):
        raise RuntimeError("secret connection string postgres://admin:pw@db")

    directory.save([build_known_offers()["cafe"]])
    directory.store.get_offer_records = broken  # what the API reads offers with
    with caplog.at_level(logging.ERROR, logger="directory_schema.http"):
        result = client.post("{ offers { edges { node { title } } } }")
    [error] = result["errors"]
    request_id = error["extensions"]["requestId"]
    assert error["message"] == f"Internal server error (request {request_id})."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in str(result)
    assert "secret" in caplog.text  # but the log has it, for the operator
    assert f"request {request_id}" in caplog.text  # with the id the client was told


# -- start-up ------------------------------------------------------------------------------


def test_startup_without_instance_variable(monkeypatch):
    monkeypatch.delenv("DIRECTORY_INSTANCE", raising=False)
    with pytest.raises(SystemExit, match="DIRECTORY_INSTANCE is not set"):
        _app_from_environment()


def test_startup_with_a_missing_store(monkeypatch, tmp_path):
    monkeypatch.setenv("DIRECTORY_INSTANCE", str(DORTMUND_FILE))
    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{tmp_path / 'missing.sqlite'}")
    with pytest.raises(SystemExit, match="missing.sqlite does not exist; create it with"):
        _app_from_environment()
    assert not (tmp_path / "missing.sqlite").exists()


def test_startup_with_a_corrupt_store(monkeypatch, tmp_path):
    store = tmp_path / "corrupt.sqlite"
    store.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("DIRECTORY_INSTANCE", str(DORTMUND_FILE))
    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{store}")
    with pytest.raises(SystemExit, match="is not a SQLite database"):
        _app_from_environment()


def test_startup_with_a_broken_instance_file(monkeypatch, tmp_path):
    instance = tmp_path / "broken.toml"
    instance.write_text("[instance\nname = ", encoding="utf-8")
    monkeypatch.setenv("DIRECTORY_INSTANCE", str(instance))
    with pytest.raises(SystemExit, match="not valid TOML"):
        _app_from_environment()


def test_app_from_environment_serves_the_store(monkeypatch, tmp_path, serve, graphql_client):
    store = tmp_path / "dortmund.sqlite"
    prepared = open_directory(dortmund_instance_at(store))
    prepared.save([build_known_offers()["cafe"]])
    prepared.close()
    monkeypatch.setenv("DIRECTORY_INSTANCE", str(DORTMUND_FILE))
    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{store}")
    client = graphql_client(serve(_app_from_environment()).url)
    data = client.data('{ offers(text: "Phoenix") { totalCount } }')
    assert data["offers"]["totalCount"] == 1


def test_a_worker_freezes_what_startup_built(monkeypatch, tmp_path, serve, graphql_client):
    """After the app is built, the collector leaves the startup objects (the index, the
    schema) out of its passes and collects young objects less often, and a thread
    waiting for the GIL gets it sooner."""
    import gc
    import sys

    from directory_app.assembly import app_from_environment
    from directory_app.serving import GC_THRESHOLDS, SWITCH_INTERVAL_SECONDS

    store = tmp_path / "dortmund.sqlite"
    open_directory(dortmund_instance_at(store)).close()
    monkeypatch.setenv("DIRECTORY_INSTANCE", str(DORTMUND_FILE))
    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{store}")
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.unfreeze()
    try:
        server = serve(app_from_environment())
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        assert sys.getswitchinterval() == SWITCH_INTERVAL_SECONDS
        assert graphql_client(server.url).data("{ __typename }") == {"__typename": "Query"}
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)


def _app_from_environment():
    """``app_from_environment`` with the interpreter left as the test process had it (a
    server's worker tunes its garbage collector and switch interval: ``tune_worker``)."""
    import gc
    import sys

    from directory_app.assembly import app_from_environment

    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        return app_from_environment()
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)


def test_open_from_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("DIRECTORY_INSTANCE", "/nowhere/instance.toml")
    with pytest.raises(RuntimeError, match="/nowhere/instance.toml does not exist"):
        open_directory_from_environment()


# -- keeping up with other processes ------------------------------------------------------


def _wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_writes_of_another_process_reach_the_index(directory, serve, graphql_client):
    client = graphql_client(serve(create_app(directory, sync_interval=0.1)).url)
    query = '{ offers(text: "Phoenix") { edges { node { title } } } }'
    assert client.data(query)["offers"]["edges"] == []
    # another process writes to the store only (no index update of its own)
    other = open_directory(dataclasses.replace(directory.instance))
    try:
        offer = build_known_offers()["cafe"]
        assert not other.check(offer)
        with other.store.transaction() as conn:
            other.store.write_offers(conn, [offer])
    finally:
        other.close()
    found = _wait_for(lambda: client.data(query)["offers"]["edges"])
    assert found == [{"node": {"title": "Demenzcafé am Phoenix-See"}}]


def test_a_sync_failure_is_logged_and_retried(directory, serve, graphql_client, caplog):
    calls = []
    real_sync = directory.sync

    def flaky_sync():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("index locked")
        return real_sync()

    directory.sync = flaky_sync
    with caplog.at_level(logging.WARNING, logger="directory_app.assembly"):
        serve(create_app(directory, sync_interval=0.05))
        assert _wait_for(lambda: len(calls) >= 3)
    assert "search index sync failed (RuntimeError: index locked); retrying" in caplog.text


def test_changed_offers_are_not_served_from_the_cache(directory, serve, graphql_client):
    client = graphql_client(serve(create_app(directory, sync_interval=None)).url)
    offer = build_known_offers()["cafe"]
    directory.save([offer])
    query = "query($id: ID!) { offer(id: $id) { title } }"
    assert client.data(query, id=offer.id)["offer"]["title"] == "Demenzcafé am Phoenix-See"
    # changed by another process, straight in the store
    other = open_directory(dataclasses.replace(directory.instance))
    try:
        offer.title = "Demenzcafé am See"
        with other.store.transaction() as conn:
            other.store.write_offers(conn, [offer])
    finally:
        other.close()
    assert client.data(query, id=offer.id)["offer"]["title"] == "Demenzcafé am See"


def test_shutdown_closes_what_the_app_owns(directory, serve):
    closed = []
    server = serve(create_app(directory, sync_interval=0.05, on_shutdown=lambda: closed.append(1)))
    server.stop()
    assert closed == [1]


def test_graphiqls_introspection_query_is_within_the_limits(graphql):
    from graphql import get_introspection_query

    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    data = graphql.data(query)
    names = {t["name"] for t in data["__schema"]["types"]}
    assert {"Offer", "OfferConnection", "GeoInput", "OfferFilter", "Weekday"} <= names


def test_startup_with_an_unknown_plugin(monkeypatch, tmp_path):
    store = tmp_path / "dortmund.sqlite"
    open_directory(dortmund_instance_at(store)).close()
    instance = tmp_path / "dortmund.toml"
    text = DORTMUND_FILE.read_text(encoding="utf-8")
    instance.write_text(text.replace("enabled = []", 'enabled = ["no-such-plugin"]', 1))
    monkeypatch.setenv("DIRECTORY_INSTANCE", str(instance))
    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{store}")
    with pytest.raises(SystemExit, match="no-such-plugin"):
        _app_from_environment()


# -- who sees what of /healthz (issue 8, finding 9) -------------------------------------------

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture
def health_server(directory, serve):
    directory.instance.server.admin_token = ADMIN_TOKEN
    return serve(create_app(directory, sync_interval=None))


def test_anonymous_callers_get_only_the_status(health_server, directory):
    response = httpx.get(f"{health_server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    for secret in (directory.instance.store_url, "sqlite", "revision", "dortmund"):
        assert secret not in response.text


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", ADMIN_TOKEN, "Bearer x"],
)
def test_a_wrong_or_missing_token_gets_the_status_only(health_server, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{health_server.url}/healthz", headers=headers)
    assert response.json() == {"status": "ok"}


def test_the_admin_token_unlocks_the_full_report(health_server):
    response = httpx.get(
        f"{health_server.url}/healthz", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    report = response.json()
    assert report["status"] == "ok"
    assert report["store"]["dialect"] == "sqlite"
    assert report["search"]["backend"] == "embedded"


def test_down_is_503_and_says_only_down(health_server, directory):
    directory.search_backend.close()
    response = httpx.get(f"{health_server.url}/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down"}


def test_degraded_is_200(directory):
    from directory_app.health import health_status

    assert health_status({"ok": True, "degraded": True}) == "degraded"
    assert health_status({"ok": True}) == "ok"
    assert health_status({"ok": False, "degraded": True}) == "down"


def test_the_admin_token_can_come_from_the_environment(monkeypatch, tmp_path):
    from directory_core.instance import load_instance

    monkeypatch.setenv("DIRECTORY_ADMIN_TOKEN", "from-env")
    assert load_instance(DORTMUND_FILE).server.admin_token == "from-env"


def _count_reports(directory, monkeypatch) -> list[float]:
    """Record when ``directory.health`` is asked (the real report is still made)."""
    asked: list[float] = []
    real = directory.health

    def counted():
        asked.append(time.monotonic())
        return real()

    monkeypatch.setattr(directory, "health", counted)
    return asked


def test_healthz_calls_within_the_cache_time_share_one_report(directory, serve, monkeypatch):
    asked = _count_reports(directory, monkeypatch)
    directory.instance.server.health_cache_seconds = 0.5
    server = serve(create_app(directory, sync_interval=None))
    with httpx.Client() as client:
        for _ in range(10):
            assert client.get(f"{server.url}/healthz").json() == {"status": "ok"}
        assert len(asked) == 1
        directory.search_backend.close()  # a failure shows once the report is older
        time.sleep(0.6)
        response = client.get(f"{server.url}/healthz")
    assert response.status_code == 503
    assert len(asked) == 2


def test_healthz_without_a_cache_time_asks_every_time(directory, serve, monkeypatch):
    asked = _count_reports(directory, monkeypatch)
    directory.instance.server.health_cache_seconds = 0
    server = serve(create_app(directory, sync_interval=None))
    with httpx.Client() as client:
        for _ in range(3):
            assert client.get(f"{server.url}/healthz").status_code == 200
    assert len(asked) == 3


def test_concurrent_healthz_calls_wait_for_one_report(directory, serve, monkeypatch):
    real = directory.health
    asked: list[float] = []

    def slow():
        asked.append(time.monotonic())
        time.sleep(0.3)  # a report that takes a while (a busy store)
        return real()

    monkeypatch.setattr(directory, "health", slow)
    directory.instance.server.health_cache_seconds = 5.0
    server = serve(create_app(directory, sync_interval=None))

    async def many() -> list[int]:
        async with httpx.AsyncClient() as client:
            responses = await asyncio.gather(
                *(client.get(f"{server.url}/healthz") for _ in range(8))
            )
        return [r.status_code for r in responses]

    assert asyncio.run(many()) == [200] * 8
    assert len(asked) == 1


def test_a_negative_health_cache_time_is_refused(tmp_path):
    from directory_core.instance import InstanceError, load_instance

    text = DORTMUND_FILE.read_text(encoding="utf-8")
    path = tmp_path / "instance.toml"
    path.write_text(text + "\n[server]\nhealth_cache_seconds = -1\n", encoding="utf-8")
    with pytest.raises(InstanceError, match=r"server\.health_cache_seconds"):
        load_instance(path)
