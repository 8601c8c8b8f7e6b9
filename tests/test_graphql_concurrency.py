"""Two editors save the same version of an offer at the same moment: exactly one wins,
the other gets CONFLICT with the current version, and no update is lost. In one server
(SQLite and PostgreSQL), and with two `directory serve` processes on one PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from directory_core.auth import create_token
from directory_core.directory import open_directory
from directory_core.history import offer_history
from directory_core.instance import load_instance
from directory_core.model import Address, Location, Offer, Precision

from . import stores
from .test_multiprocess import servers  # noqa: F401  (the fixture)
from .write_fixtures import UPDATE, ApiClient, write_directory

store_url = stores.store_url
pg_store_url = stores.pg_store_url
ROUNDS = 8


def _offer() -> Offer:
    return Offer(
        id="00000000-0000-4000-b000-000000000001",
        title="Gemeinsam bearbeitet",
        kind="meeting_place",
        carrier="awo",
        categories=["encounter.meeting"],
        address=Address("Hörder Bahnhofstraße 1", "44263", "Dortmund"),
        location=Location(51.4847, 7.4996, Precision.ADDRESS),
    )


def _race(directory, first: ApiClient, second: ApiClient) -> list[dict]:
    """ROUNDS rounds of two simultaneous updates with the same version."""
    offer_id = _offer().id
    barrier = threading.Barrier(2)
    rounds = []

    def update(client: ApiClient, version: int, title: str) -> dict:
        barrier.wait()
        return client.post(UPDATE, id=offer_id, version=version, input={"title": title})

    with ThreadPoolExecutor(2) as pool:
        for n in range(ROUNDS):
            version = directory.get(offer_id).version
            futures = [
                pool.submit(update, client, version, f"Runde {n} von {name}")
                for name, client in (("A", first), ("B", second))
            ]
            results = [f.result(timeout=60) for f in futures]
            winners = [r for r in results if "errors" not in r]
            losers = [r["errors"][0] for r in results if "errors" in r]
            assert len(winners) == 1 and len(losers) == 1, results
            assert losers[0]["extensions"] == {"code": "CONFLICT", "currentVersion": version + 1}
            won = winners[0]["data"]["updateOffer"]
            assert won["version"] == version + 1
            assert directory.get(offer_id).title == won["title"]  # the winner's change stays
            rounds.append(won)
    history = offer_history(directory.store.engine, offer_id)
    assert [h["version"] for h in history] == list(range(ROUNDS + 1, 0, -1))  # none lost
    return rounds


def test_two_editors_same_version_one_server(store_url, tmp_path, serve):
    from directory_app.assembly import create_app

    directory = write_directory(store_url, tmp_path / "index")
    directory.save([_offer()])
    tokens = [create_token(directory.store, n, "editor", ["awo"])[1] for n in ("Ana", "Bo")]
    server = serve(create_app(directory, sync_interval=None, on_shutdown=directory.close))
    first, second = (ApiClient(server.url, token) for token in tokens)
    try:
        _race(directory, first, second)
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_editors_same_version_two_server_processes(
    pg_store_url,
    tmp_path,
    servers,  # noqa: F811
    monkeypatch,
):
    monkeypatch.delenv("DIRECTORY_STORE_URL", raising=False)
    search = {"backend": "embedded", "path": str(tmp_path / "shared-index.sqlite")}
    instance_file = stores.write_instance_file(tmp_path / "dortmund.toml", pg_store_url, search)
    directory = open_directory(load_instance(instance_file))
    try:
        directory.save([_offer()])
        tokens = [create_token(directory.store, n, "editor", ["awo"])[1] for n in ("Ana", "Bo")]
        one = servers(instance_file, tmp_path / "server-1.log")
        two = servers(instance_file, tmp_path / "server-2.log")
        one.wait_ready()
        two.wait_ready()
        first, second = ApiClient(one.url, tokens[0]), ApiClient(two.url, tokens[1])
        try:
            rounds = _race(directory, first, second)
        finally:
            first.close()
            second.close()
        winners = {won["title"].rsplit(" ", 1)[-1] for won in rounds}
        print(f"\ntwo processes, {ROUNDS} rounds: winners {sorted(winners)}")
    finally:
        directory.close()
