"""Fixtures for the web pages: the real app under uvicorn with demo data, and Chromium.

``web`` starts ``create_app`` (GraphQL and the pages, as ``directory serve`` does) on a
free port, over a temporary SQLite store holding the Dortmund demo data plus the known
offers of ``conftest.build_known_offers``; uvicorn's access log and every other log record
are captured (``web.log_lines()``), so privacy tests can read them.

``page`` is a fresh Chromium tab (Debian's ``/usr/bin/chromium`` through Playwright for
Python; Playwright's own browser download cannot work here). It records every request
(``page.requests``) and aborts map tile requests, so the tests run with no network and
check that the pages work without tiles. Without Chromium the tests are skipped, or fail
when ``CI`` is set (``./dev test`` installs it).

``axe_script()`` is the axe-core script (npm ``axe-core@4``, installed by ``./dev test``
into ``tests/.node``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from directory_core.demo import load_demo
from directory_core.directory import Directory, open_directory

from .conftest import build_known_offers, dortmund_instance_at

CHROMIUM = os.environ.get("DIRECTORY_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / ".node" / "node_modules" / "axe-core" / "axe.min.js"
TILE_HOSTS = ("tile.openstreetmap.org",)


def missing(reason: str) -> None:
    """Skip a test whose component is missing; under ``CI`` that is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


class Capture(logging.Handler):
    """Keeps every formatted log record (uvicorn's access log included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


class WebServer:
    """``create_app`` under uvicorn (access log on) in a thread, on a free port."""

    def __init__(self, directory: Directory):
        from directory_app.assembly import create_app

        self.directory = directory
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(directory, sync_interval=None), access_log=True, log_level="info"
        )
        self.server = uvicorn.Server(config)
        self.capture = Capture()
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._loggers = [logging.getLogger(n) for n in ("", "uvicorn.access", "uvicorn.error")]

    def start(self) -> WebServer:
        for logger in self._loggers:
            logger.addHandler(self.capture)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=20)
        self._socket.close()
        for logger in self._loggers:
            logger.removeHandler(self.capture)

    def log_lines(self) -> list[str]:
        return list(self.capture.lines)

    def access_lines(self) -> list[str]:
        return [line for line in self.capture.lines if line.startswith("uvicorn.access")]


class _Shared:
    """One instance per test session of something several test modules use.

    Each module binds the fixtures below under its own name (``web = wf.web``), which
    makes pytest set them up once per module; the browser must not be started twice
    (Playwright's sync API refuses a second event loop), and starting the server once
    saves time. The first user starts it, the last one stops it.
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.users: dict[str, int] = {}
        self.stops: dict[str, Any] = {}

    @contextlib.contextmanager
    def use(self, key: str, start: Any) -> Iterator[Any]:
        if key not in self.values:
            self.values[key], self.stops[key] = start()
            self.users[key] = 0
        self.users[key] += 1
        try:
            yield self.values[key]
        finally:
            self.users[key] -= 1
            if self.users[key] == 0:
                stop = self.stops.pop(key)
                del self.values[key]
                stop()


_shared = _Shared()


def _start_directory(tmp: Path) -> tuple[Directory, Any]:
    opened = open_directory(dortmund_instance_at(tmp / "dortmund.sqlite"))
    try:
        load_demo(opened, samples=120)
        opened.save(list(build_known_offers().values()))
    except Exception:
        opened.close()
        raise
    return opened, opened.close


@pytest.fixture(scope="session")
def web_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """Dortmund demo data plus the known offers, in a temporary SQLite store."""
    tmp = tmp_path_factory.mktemp("web")
    with _shared.use("directory", lambda: _start_directory(tmp)) as directory:
        yield directory


@pytest.fixture(scope="session")
def web(web_directory: Directory) -> Iterator[WebServer]:
    """The real app (GraphQL and pages) under uvicorn, with the demo data."""

    def start() -> tuple[WebServer, Any]:
        server = WebServer(web_directory).start()
        return server, server.stop

    with _shared.use("server", start) as server:
        yield server


def _start_browser() -> tuple[Any, Any]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
    except Exception:
        playwright.stop()
        raise

    def stop() -> None:
        launched.close()
        playwright.stop()

    return launched, stop


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        missing(f"Chromium is not installed at {CHROMIUM} (./dev test installs it)")
    with _shared.use("browser", _start_browser) as launched:
        yield launched


@dataclass
class RecordedPage:
    """A Chromium tab and every URL it requested."""

    page: Any
    origin: str
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requests that left the app's origin, other than map tiles."""
        return [
            url
            for url in self.requests
            if not url.startswith(self.origin)
            and not url.startswith("data:")
            and not any(f"://{host}/" in url for host in TILE_HOSTS)
        ]

    def tile_requests(self) -> list[str]:
        return [u for u in self.requests if any(f"://{h}/" in u for h in TILE_HOSTS)]


@pytest.fixture
def page(browser: Any, web: WebServer) -> Iterator[RecordedPage]:
    """A new tab (own cookies) that records requests; tile requests are aborted."""
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    recorded = RecordedPage(tab, web.url)
    tab.on("request", lambda request: recorded.requests.append(request.url))
    for host in TILE_HOSTS:
        context.route(f"https://{host}/**", lambda route: route.abort())
    tab.set_default_timeout(15000)
    try:
        yield recorded
    finally:
        context.close()


def axe_script() -> str:
    """The axe-core script to inject into a page."""
    if not AXE.is_file():
        missing(f"axe-core is not installed at {AXE} (./dev test installs it with npm)")
    return AXE.read_text(encoding="utf-8")


def axe_violations(tab: Any, levels: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run axe-core on the page; the serious and critical violations, one line each."""
    # evaluated through the DevTools protocol: the page's CSP forbids inline scripts
    tab.evaluate(axe_script())
    result = tab.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in result["violations"]
        if v["impact"] in levels
    ]
