"""Screenshots of the web pages for the README: search, results with map, handout, in
German and Arabic.

    .venv/bin/python tools/screenshots.py [OUT_DIR]      (default: docs/images)

Starts the real app (GraphQL and pages, as ``directory serve``) with the Dortmund demo
data in a temporary SQLite store, and drives Debian's Chromium (``/usr/bin/chromium``,
or ``DIRECTORY_CHROMIUM``) through Playwright, which the ``test`` extra installs. Map
tiles are not fetched (the machines that make these have no internet; the map shows its
markers and circle on a plain background), so the images are the same on every run
except for the date on the handout.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from directory_app.assembly import create_app

from directory_core.demo import load_demo
from directory_core.directory import open_directory
from directory_core.instance import load_instance

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("DIRECTORY_CHROMIUM", "/usr/bin/chromium")
SHOTS = [
    # (file name, path, viewport, full page)
    ("search-{lang}.png", "/", (1280, 900), False),
    ("results-{lang}.png", "/search?where=44263&radius=2&category=dementia", (1280, 1500), False),
    ("handout-{lang}.png", "/handout?{offers}&office={office}", (794, 1123), True),  # A4
    ("gaps-{lang}.png", "/gaps?category=dementia", (1280, 1300), False),
    ("carriers-{lang}.png", "/carriers", (1280, 900), False),  # after signing in
]


def _serve(app) -> tuple[uvicorn.Server, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        instance = load_instance(ROOT / "instances" / "dortmund.toml")
        instance = dataclasses.replace(instance, store_url=f"sqlite:///{tmp}/demo.sqlite")
        directory = open_directory(instance)
        load_demo(directory, samples=400)
        from directory_search.base import GeoPoint, SearchQuery

        near = directory.search(
            SearchQuery(near=GeoPoint(51.4847, 7.4996), radius_km=2, limit=3, want_total=False)
        )
        offers = "&".join(f"offer={hit.id}" for hit in near.hits)
        office = (
            directory.search(
                SearchQuery(kinds=("advice_office",), text="Hörde", limit=1, want_total=False)
            )
            .hits[0]
            .id
        )
        from directory_core.auth import create_token

        token = create_token(directory.store, "Redaktion AWO", "editor", ["awo"])[1]
        server, url = _serve(create_app(directory, sync_interval=None))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
                )
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
                tab = context.new_page()
                tab.goto(f"{url}/carriers/sign-in")  # for the carrier area's picture
                tab.fill("#field-token", token)
                tab.click("button[type=submit]")
                tab.wait_for_url(f"{url}/carriers")
                for lang in ("de", "ar"):
                    for name, path, (width, height), full in SHOTS:
                        tab.set_viewport_size({"width": width, "height": height})
                        target = path.format(offers=offers, office=office)
                        separator = "&" if "?" in target else "?"
                        tab.goto(f"{url}{target}{separator}lang={lang}")
                        if name.startswith("results"):
                            tab.wait_for_selector("#map[data-ready=true]")
                        if name.startswith("handout"):
                            tab.emulate_media(media="print")
                        file = out / name.format(lang=lang)
                        tab.screenshot(path=str(file), full_page=full)
                        tab.emulate_media(media="screen")
                        print(file)
                browser.close()
        finally:
            server.should_exit = True
            time.sleep(0.5)
            directory.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images")
