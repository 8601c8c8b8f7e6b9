"""Shared fixtures: Dortmund directories on temporary SQLite files, a set of known offers,
and real uvicorn servers for HTTP tests.

Builders that need no pytest machinery live in ``tests/helpers.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from directory_core.directory import Directory, open_directory
from directory_core.instance import Instance, load_instance
from directory_core.model import (
    Accessibility,
    Address,
    Contact,
    Cost,
    District,
    Location,
    Offer,
    Precision,
    Schedule,
    ScheduleRule,
)
from directory_core.sample import generate_offers

ROOT = Path(__file__).parent.parent
DORTMUND_FILE = ROOT / "instances" / "dortmund.toml"

# The centroid of postcode 44263 (Dortmund-Hörde) in the shipped gazetteer: the point
# the known offers are placed around.
HOERDE_44263 = (51.4847, 7.4996)


# -- instances and directories ------------------------------------------------------------


def dortmund_instance_at(store_file: Path) -> Instance:
    """The Dortmund instance file with its store in ``store_file`` (the embedded index in
    a file of its own beside it)."""
    instance = load_instance(DORTMUND_FILE)
    return dataclasses.replace(instance, store_url=f"sqlite:///{store_file}")


@pytest.fixture
def dortmund_instance(tmp_path: Path) -> Instance:
    """instances/dortmund.toml with the store in this test's temporary directory."""
    return dortmund_instance_at(tmp_path / "dortmund.sqlite")


@pytest.fixture
def directory(dortmund_instance: Instance) -> Iterator[Directory]:
    """An empty Dortmund directory (real SQLite store, embedded search index)."""
    opened = open_directory(dortmund_instance)
    try:
        yield opened
    finally:
        opened.close()


# -- known offers -------------------------------------------------------------------------


def _at(north_km: float, east_km: float) -> Location:
    """A point this far north and east of ``HOERDE_44263`` (flat-earth offsets)."""
    lat, lon = HOERDE_44263
    return Location(
        round(lat + north_km / 111.2, 6),
        round(lon + east_km / 69.3, 6),  # 111.2 km * cos(51.48°)
        Precision.ADDRESS,
    )


def _offer(key: str, number: int, **fields: Any) -> Offer:
    fields.setdefault("description", f"Bekanntes Testangebot {key}.")
    fields.setdefault("contact", Contact(phone="0231 123456", email=f"{key}@beispiel.invalid"))
    fields.setdefault("address", Address("Teststraße 1", "44263", "Dortmund"))
    return Offer(
        id=f"00000000-0000-4000-8000-{number:012d}",
        external_id=f"known-{key}",
        **fields,
    )


def build_known_offers() -> dict[str, Offer]:
    """Hand-made offers around Dortmund-Hörde whose answers the tests know, by key.

    Around ``HOERDE_44263``: ``cafe`` (0.56 km N), ``circle`` (1.33 km N), ``treff``
    (0.3 km S), ``archived`` (0.2 km W, archived), ``aplerbeck`` (4.2 km E), ``hombruch``
    (at the Hombruch district point, 4.3 km), ``office`` (Innenstadt-West, 4.1 km),
    ``mengede`` (far away) and ``phone`` (no location).
    """
    weekly = ScheduleRule
    offers = {
        "cafe": _offer(
            "cafe",
            1,
            title="Demenzcafé am Phoenix-See",
            kind="dementia_group",
            carrier="caritas",
            categories=["dementia.groups"],
            location=_at(0.56, 0),
            channels=["in_person"],
            languages=["de", "tr"],
            accessibility=Accessibility(wheelchair=True, note="Eingang ebenerdig"),
            schedule=Schedule(rules=[weekly("tue", "14:00", "16:00")], note="außer Ferien"),
            target_groups=["Menschen mit Demenz", "Angehörige"],
            verified_at=datetime(2025, 11, 3, 10, 30, tzinfo=UTC),
        ),
        "circle": _offer(
            "circle",
            2,
            title="Gesprächskreis Demenz Hörde",
            kind="dementia_group",
            carrier="diakonie",
            categories=["dementia.advice", "relief.family_carers"],
            location=_at(1.33, 0),
            channels=["in_person"],
            languages=["de"],
            accessibility=Accessibility(hearing_loop=True),
            schedule=Schedule(
                rules=[weekly("thu", "10:00", "12:00", "monthly", weeks_of_month=[1])]
            ),
        ),
        "treff": _offer(
            "treff",
            3,
            title="Seniorentreff Hörde",
            kind="meeting_place",
            carrier="stadt-dortmund",
            categories=["encounter.meeting"],
            location=_at(-0.3, 0),
            channels=["in_person"],
            languages=["de"],
            accessibility=Accessibility(wheelchair=True, easy_language=True),
            schedule=Schedule(rules=[weekly("wed", "15:00", "17:00")]),
        ),
        "archived": _offer(
            "archived",
            4,
            title="Ehemalige Demenzgruppe Hörde",
            kind="dementia_group",
            carrier="caritas",
            categories=["dementia.groups"],
            location=_at(0, -0.2),
            languages=["de"],
            status="archived",
        ),
        "aplerbeck": _offer(
            "aplerbeck",
            5,
            title="Demenzberatung Aplerbeck",
            kind="service",
            carrier="awo",
            categories=["dementia.advice"],
            location=_at(0, 4.2),
            channels=["in_person", "home_visit"],
            languages=["de", "ru"],
            cost=Cost(free_of_charge=False, note="Kosten auf Anfrage"),
            schedule=Schedule(rules=[weekly("mon", "09:00", "12:00")]),
        ),
        "hombruch": _offer(
            "hombruch",
            6,
            title="Demenz-Sprechstunde Hombruch",
            kind="service",
            carrier="drk",
            categories=["dementia.advice"],
            location=Location(51.475833, 7.439444, Precision.ADDRESS),
            channels=["in_person"],
            languages=["de", "pl"],
            schedule=Schedule(rules=[weekly("tue", "10:00", "12:00")]),
        ),
        "office": _offer(
            "office",
            7,
            title="Pflegeberatung Innenstadt",
            kind="advice_office",
            carrier="stadt-dortmund",
            categories=["advice.care_counselling"],
            location=Location(51.513889, 7.465278, Precision.ADDRESS),
            channels=["in_person", "phone"],
            languages=["de", "en"],
        ),
        "mengede": _offer(
            "mengede",
            8,
            title="Demenzcafé Mengede",
            kind="dementia_group",
            carrier="paritaet",
            categories=["dementia.groups"],
            location=Location(51.566667, 7.383333, Precision.ADDRESS),
            languages=["de"],
        ),
        "phone": _offer(
            "phone",
            9,
            title="Telefonische Demenzberatung",
            kind="service",
            carrier="shdo",
            categories=["dementia.advice"],
            address=Address(),
            channels=["phone"],
            languages=["de"],
        ),
    }
    return offers


@pytest.fixture
def known_offers() -> dict[str, Offer]:
    """Fresh copies of ``build_known_offers()`` (not saved anywhere)."""
    return build_known_offers()


FAR_AWAY = District("fern", "Fern", 52.2, 8.4)  # ~80 km from Hörde: outside every radius


def load_known_offers(directory: Directory, samples: int = 40) -> dict[str, Offer]:
    """Save the known offers plus ``samples`` invented ones far away (for paging)."""
    known = build_known_offers()
    directory.save(list(known.values()))
    extra = list(
        generate_offers(
            [FAR_AWAY], [c.key for c in directory.carriers], samples, seed=11, city="Dortmund"
        )
    )
    if extra:
        directory.save(extra)
    return known


@pytest.fixture(scope="session")
def known_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """A Dortmund directory with the known offers and 40 far-away samples; read-only."""
    path = tmp_path_factory.mktemp("known") / "dortmund.sqlite"
    opened = open_directory(dortmund_instance_at(path))
    try:
        load_known_offers(opened)
        yield opened
    finally:
        opened.close()


# -- servers ----------------------------------------------------------------------------


class RunningServer:
    """A uvicorn server in a background thread, listening on a free local port."""

    def __init__(self, app: Any):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self, timeout: float = 20.0) -> RunningServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=20)
        self._socket.close()


@contextlib.contextmanager
def running_server(app: Any) -> Iterator[RunningServer]:
    server = RunningServer(app).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def serve() -> Iterator[Callable[[Any], RunningServer]]:
    """Start a real uvicorn server for an ASGI app: ``server = serve(app)``; stopped
    (with the app's shutdown) after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(running_server(app))


class GraphQLClient:
    """Posts GraphQL requests to a running server over HTTP."""

    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def post(self, query: str, **variables: Any) -> dict[str, Any]:
        """The JSON response (HTTP 200 required: errors come as GraphQL errors; 400 for
        a request refused as a whole, e.g. over a limit)."""
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        refused = response.status_code == 400 and response.json().get("data") is None
        assert response.status_code == 200 or refused, response.text
        return response.json()

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """The data of a request that must succeed."""
        result = self.post(query, **variables)
        assert "errors" not in result, result["errors"]
        return result["data"]

    def error(self, query: str, **variables: Any) -> dict[str, Any]:
        """The one error of a request that must fail."""
        result = self.post(query, **variables)
        assert len(result.get("errors") or []) == 1, result
        return result["errors"][0]

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="session", params=["fast-path", "graphql-core"])
def known_server(known_directory: Directory, request: pytest.FixtureRequest):
    """A real uvicorn server answering for ``known_directory``; every test using it runs
    twice: with the plain-field fast path (``execution.py``) and with graphql-core's own
    executor, so both give the same answers over HTTP."""
    from directory_app.assembly import create_app
    from directory_schema.execution import FastExecutionContext
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    executor = {
        "fast-path": FastExecutionContext,
        "graphql-core": StrawberryGraphQLCoreExecutionContext,
    }[request.param]
    with running_server(create_app(known_directory, execution_context_class=executor)) as server:
        yield server


@pytest.fixture(scope="session")
def graphql(known_server: RunningServer) -> Iterator[GraphQLClient]:
    """A client for ``known_server``."""
    client = GraphQLClient(known_server.url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def graphql_client() -> Iterator[Callable[[str], GraphQLClient]]:
    """Make clients for other servers: ``graphql_client(server.url)``; closed after."""
    clients: list[GraphQLClient] = []

    def make(url: str) -> GraphQLClient:
        clients.append(GraphQLClient(url))
        return clients[-1]

    yield make
    for client in clients:
        client.close()
