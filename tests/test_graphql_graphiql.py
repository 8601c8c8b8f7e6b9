"""GraphiQL from the app's own files (``directory_schema.graphiql``), in a real Chromium:
nothing leaves the origin and a query runs (issue 8, finding 10); the instance switches
for GraphiQL and introspection."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from directory_app.assembly import create_app
from directory_schema.graphiql import STATIC_DIR

CHROMIUM = os.environ.get("DIRECTORY_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """The system Chromium driven by Playwright; skipped without it (failing in CI)."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        message = f"no Chromium at {CHROMIUM} (set DIRECTORY_TEST_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()


def test_graphiql_runs_a_query_without_leaving_the_origin(known_server, browser):
    origin = known_server.url
    context = browser.new_context()
    requested: list[str] = []
    # record every request; let only this origin through (as behind a closed proxy)
    context.route(
        "**/*",
        lambda route: (
            requested.append(route.request.url),
            route.continue_() if route.request.url.startswith(origin) else route.abort(),
        ),
    )
    page = context.new_page()
    try:
        page.goto(f"{origin}/graphql")
        page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=30_000)
        page.evaluate(
            "document.querySelector('.graphiql-query-editor .CodeMirror')"
            ".CodeMirror.setValue('{ districts { key } }')"
        )
        page.click(".graphiql-execute-button")
        answer = ""
        deadline = time.monotonic() + 30
        while "hoerde" not in answer and time.monotonic() < deadline:
            time.sleep(0.1)  # not wait_for_function: it evals, which the CSP forbids
            answer = page.evaluate(
                "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
            )
        assert '"key": "hoerde"' in answer
    finally:
        context.close()
    assert requested
    outside = [url for url in requested if urlsplit(url).netloc != urlsplit(origin).netloc]
    assert outside == []
    assert any(url.endswith("/graphiql-assets/graphiql.min.js") for url in requested)


def test_the_page_loads_only_files_of_the_app(known_server):
    page = httpx.get(f"{known_server.url}/graphql", headers={"Accept": "text/html"}).text
    assert "http" not in page.replace('content="width', "")  # no absolute URL at all
    for name in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js"):
        assert f"/graphiql-assets/{name}" in page
        assert (STATIC_DIR / name).is_file()
        response = httpx.get(f"{known_server.url}/graphiql-assets/{name}")
        assert response.status_code == 200
    for licence in ("LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"):
        assert (STATIC_DIR / licence).is_file()


def test_graphiql_can_be_switched_off(directory, serve):
    directory.instance.server.graphiql = False
    server = serve(create_app(directory, sync_interval=None))
    page = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert httpx.get(f"{server.url}/graphiql-assets/graphiql.min.js").status_code == 404
    answer = httpx.post(f"{server.url}/graphql", json={"query": "{ __typename }"})
    assert answer.json() == {"data": {"__typename": "Query"}}


def test_introspection_can_be_switched_off(directory, serve):
    directory.instance.server.introspection = False
    server = serve(create_app(directory, sync_interval=None))
    answer = httpx.post(f"{server.url}/graphql", json={"query": "{ __schema { types { name } } }"})
    errors = answer.json()["errors"]
    assert "introspection" in errors[0]["message"].lower()
    answer = httpx.post(f"{server.url}/graphql", json={"query": "{ districts { key } }"})
    assert len(answer.json()["data"]["districts"]) == 12


def test_instance_switches_are_read_from_the_file():
    from directory_core.instance import InstanceError, parse_instance

    data = {"instance": {"name": "X"}, "server": {"graphiql": False, "introspection": False}}
    server = parse_instance(data).server
    assert (server.graphiql, server.introspection, server.health_details) == (False, False, False)
    with pytest.raises(InstanceError, match="server.graphiql: must be a bool"):
        parse_instance({"instance": {"name": "X"}, "server": {"graphiql": "no"}})
