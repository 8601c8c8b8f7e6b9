"""The supply-gap page ``/gaps`` in Chromium: the heat table and the dot map show the
figures of the ``coverage`` query and of ``directory gaps``; it prints on one A4 landscape
page with the date and source of every figure; it comes from a cache refreshed when
offers change; nothing is loaded from another origin."""

from __future__ import annotations

import csv
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from directory_cli.main import cli

from directory_core.demo import load_demo
from directory_core.directory import Directory, open_directory
from directory_core.model import Location, Offer, Precision

from . import web_fixtures as wf
from .conftest import dortmund_instance_at
from .stores import write_instance_file
from .test_graphql_coverage import QUERY

browser = wf.browser  # the session's Chromium (web_fixtures.py)


@pytest.fixture(scope="module")
def gaps_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """Dortmund demo data in a store of its own (this module adds offers to it)."""
    path = tmp_path_factory.mktemp("gaps") / "dortmund.sqlite"
    opened = open_directory(dortmund_instance_at(path))
    try:
        load_demo(opened, samples=200)
        yield opened
    finally:
        opened.close()


class QuietServer:
    """The app under uvicorn in a thread, leaving the logging set-up alone: a second
    ``uvicorn.Config`` with its default log config would replace the handlers through
    which the shared server of ``web_fixtures`` captures its access log."""

    def __init__(self, directory: Directory) -> None:
        from directory_app.assembly import create_app

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(
            # access_log=False would empty the access logger's handlers: left as it is
            create_app(directory, sync_interval=None),
            log_config=None,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> QuietServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "no uvicorn"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=20)
        self._socket.close()


@pytest.fixture(scope="module")
def gaps_web(gaps_directory: Directory) -> Iterator[QuietServer]:
    with QuietServer(gaps_directory) as server:
        yield server


@pytest.fixture
def tab(browser: Any, gaps_web: QuietServer) -> Iterator[wf.RecordedPage]:
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    recorded = wf.RecordedPage(page, gaps_web.url)
    page.on("request", lambda request: recorded.requests.append(request.url))
    page.set_default_timeout(15000)
    try:
        yield recorded
    finally:
        context.close()


def _graphql(web: QuietServer, **variables: Any) -> dict:
    response = httpx.post(f"{web.url}/graphql", json={"query": QUERY, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["coverage"]


def _cells(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "td.heat",
        "els => els.map(e => ({...e.dataset}))",
    )


def _dots(page: Any) -> dict[str, str]:
    found = page.eval_on_selector_all(
        ".dot-map .dot", "els => els.map(e => [e.dataset.postcode, e.dataset.distance])"
    )
    return dict(found)


def _number(value: Any) -> str:
    return "" if value is None else str(value)


@pytest.mark.parametrize("query", ["", "?category=dementia&district=hoerde"])
def test_heat_table_and_dot_map_show_the_query_and_command_figures(
    tab, gaps_web, gaps_directory, tmp_path, query
):
    page = tab.page
    response = page.goto(f"{gaps_web.url}/gaps{query}")
    assert response.status == 200
    category = "dementia" if query else None
    district = "hoerde" if query else None
    coverage = _graphql(gaps_web, category=None, district=district)
    matrix = {(c["district"], c["category"]): c for c in coverage["matrix"]}
    cells = _cells(page)
    columns = page.eval_on_selector_all(
        ".heat-table thead th[data-category]", "els => els.map(e => e.dataset.category)"
    )
    if category:
        assert columns == ["dementia", "dementia.advice", "dementia.groups"]
    else:
        assert columns == [
            c["key"] for c in _graphql(gaps_web)["categories"] if "." not in c["key"]
        ]
    assert len(cells) == len(columns) * (1 if district else 12)
    for cell in cells:
        expected = matrix[(cell["district"], cell["category"])]
        assert cell["active"] == str(expected["active"])
        assert cell["beyond"] == str(expected["beyondThreshold"])
        assert cell["areas"] == str(expected["postcodeAreas"])
        assert cell["share"] == _number(expected["shareBeyondThreshold"])
        assert cell["perThousand"] == _number(expected["perThousand65Plus"])
    # the map: one dot per postcode area, at the distance the query gives
    map_category = page.get_attribute(".dot-map", "data-category")
    assert map_category == columns[0]
    distances = {
        area["postcode"]: next(
            _number(n["distanceKm"]) for n in area["nearest"] if n["category"] == map_category
        )
        for area in _graphql(gaps_web)["postcodeAreas"]
    }
    assert _dots(page) == distances and len(distances) == 24
    # directory gaps, on the same store, has the same counts
    instance = write_instance_file(
        tmp_path / "d.toml", gaps_directory.instance.store_url, {"backend": "embedded"}, ""
    )
    args = ["--instance", str(instance), "gaps", "--format", "csv"]
    args += ["--district", district] if district else []
    output = CliRunner().invoke(cli, args, catch_exceptions=False).output
    rows = {(r["district"], r["category"]): r for r in csv.DictReader(io.StringIO(output))}
    for cell in cells:
        row = rows[(cell["district"], cell["category"])]
        assert (row["active"], row["beyond_threshold"], row["per_1000_65_plus"]) == (
            cell["active"],
            cell["beyond"],
            cell["perThousand"],
        )
    assert tab.foreign_requests() == []


def test_prints_on_one_a4_landscape_page_with_date_and_sources(tab, gaps_web, gaps_directory):
    page = tab.page
    page.goto(f"{gaps_web.url}/gaps")
    page.emulate_media(media="print")
    assert not page.is_visible(".gaps-form")  # the form is for the screen only
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    pages = re.findall(rb"/Type\s*/Page(?!s)", pdf)
    assert len(pages) == 1
    box = [float(v) for v in re.search(rb"/MediaBox\s*\[([^\]]+)\]", pdf).group(1).split()]
    assert round(box[2] - box[0]) == 842 and round(box[3] - box[1]) == 595  # A4 landscape
    text = page.inner_text(".gaps-report")
    assert re.search(r"Angebote mit Stand \d+\. \w+ \d{4}", text)
    sources = page.eval_on_selector_all(
        ".population-source", "els => els.map(e => [e.dataset.district, e.innerText])"
    )
    assert len(sources) == 12
    for key, line in sources:
        population = gaps_directory.instance.populations[key]
        assert population.source in line and population.date in line
        if population.derived:
            assert "Abgeleitet" in line
    assert "GeoNames (geonames.org), CC BY 4.0" in text
    assert "Kapazitäten" in text


def test_page_comes_from_the_cache_and_is_refreshed_when_offers_change(
    tab, gaps_web, gaps_directory
):
    page = tab.page
    url = f"{gaps_web.url}/gaps?category=dementia.groups&district=eving"
    selector = "td.heat[data-district=eving][data-category='dementia.groups']"
    page.goto(url)
    before = int(page.get_attribute(selector, "data-active"))
    state = page.inner_text(".gaps-meta")
    page.goto(url)
    assert page.inner_text(".gaps-meta") == state  # same store state: the cached result
    eving = gaps_directory.district_by_key["eving"]
    gaps_directory.save(
        [
            Offer(
                title="Demenzcafé Eving",
                kind="dementia_group",
                categories=["dementia.groups"],
                location=Location(eving.lat, eving.lon, Precision.MANUAL),
                languages=["de"],
            )
        ]
    )
    page.goto(url)
    assert int(page.get_attribute(selector, "data-active")) == before + 1
    assert page.inner_text(".gaps-meta") != state


def test_bad_parameters_are_named_and_the_page_is_accessible(tab, gaps_web):
    page = tab.page
    response = page.goto(f"{gaps_web.url}/gaps?category=demenz&as_of=2999-01-01")
    assert response.status == 400
    problems = page.locator("#error-summary li a").all_inner_texts()
    assert problems == [
        "Wählen Sie eine Kategorie aus der Liste.",
        "Das Datum darf nicht in der Zukunft liegen.",
    ]
    page.goto(f"{gaps_web.url}/gaps?lang=tr")
    assert page.inner_text("h1") == "İlçe ve kategoriye göre hizmet açıkları"
    assert wf.axe_violations(page) == []
