"""The carrier area in a real browser (Chromium through Playwright): sign in with a token,
own offers with stale marks, edit with the validator's errors next to the fields, verify
with one click, upload a file and see accepted and rejected rows, sign out; cookies are
HttpOnly and SameSite=Strict and every form is CSRF-protected."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import httpx
import pytest
import uvicorn
from directory_app.assembly import create_app

from directory_core.history import offer_history
from directory_core.model import Address, Contact, Location, Offer, Precision
from directory_core.store import utcnow

from . import web_fixtures as wf
from .conftest import RunningServer
from .stores import dump_store
from .write_fixtures import csv_source, role_tokens, write_directory

browser = wf.browser  # the fixture, by name

STALE_ID = "00000000-0000-4000-c000-000000000001"
FRESH_ID = "00000000-0000-4000-c000-000000000002"
OTHER_ID = "00000000-0000-4000-c000-000000000003"


def _offer(offer_id: str, title: str, carrier: str, **more) -> Offer:
    return Offer(
        id=offer_id,
        title=title,
        kind="meeting_place",
        carrier=carrier,
        categories=["encounter.meeting"],
        address=Address("Hörder Bahnhofstraße 1", "44263", "Dortmund"),
        location=Location(51.4847, 7.4996, Precision.ADDRESS),
        contact=Contact(phone="0231 123456"),
        **more,
    )


@pytest.fixture
def area(tmp_path):
    """(server, directory, tokens): the app with offers of AWO (one stale, one fresh) and
    one of Caritas."""
    directory = write_directory(f"sqlite:///{tmp_path / 'store.sqlite'}", tmp_path / "index")
    directory.save(
        [
            _offer(STALE_ID, "Seniorentreff am Markt", "awo"),
            _offer(FRESH_ID, "Spielenachmittag", "awo", verified_at=utcnow() - timedelta(days=3)),
            _offer(OTHER_ID, "Caritas-Treff", "caritas"),
        ]
    )
    tokens = role_tokens(directory)
    server = QuietServer(create_app(directory, sync_interval=None)).start()
    try:
        yield server, directory, tokens
    finally:
        server.stop()
        directory.close()


class QuietServer(RunningServer):
    """``conftest.RunningServer`` that leaves the logging configuration alone: uvicorn's
    default configuration would replace the handlers the shared ``web`` server of the
    other page tests reads its access log from."""

    def __init__(self, app):  # not super().__init__: its Config would reconfigure logging
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # access_log=False would empty the access logger's handlers: leave it as it is
        config = uvicorn.Config(app, log_config=None, access_log=True, lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )


@pytest.fixture
def tab(browser, area):
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        yield page
    finally:
        context.close()


def sign_in(tab, url: str, token: str) -> None:
    tab.goto(f"{url}/carriers")
    assert tab.url.endswith("/carriers/sign-in")
    tab.fill("#field-token", token)
    tab.click("button[type=submit]")


def test_sign_in_own_offers_with_stale_marks_and_sign_out(tab, area):
    server, directory, tokens = area
    sign_in(tab, server.url, "1.falsch")
    assert tab.locator("#token-error").is_visible()
    assert tab.locator(".error-summary a[href='#field-token']").count() == 1
    sign_in(tab, server.url, tokens["counsellor"])
    assert tab.locator("#token-error").is_visible()  # counsellors cannot change offers

    sign_in(tab, server.url, tokens["editor_a"])
    tab.wait_for_url(f"{server.url}/carriers")
    rows = tab.locator("tr.offer-row")
    assert rows.count() == 2  # only AWO's offers, not Caritas'
    assert tab.locator(f"tr[data-offer='{STALE_ID}'] .stale-mark").count() == 1
    assert tab.locator(f"tr[data-offer='{FRESH_ID}'] .stale-mark").count() == 0
    assert "Redaktion AWO" in tab.locator(".carrier-nav").inner_text()
    [session] = [c for c in tab.context.cookies() if c["name"] == "carrier_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert tokens["editor_a"].split(".")[1] not in session["value"]  # never the secret

    tab.goto(f"{server.url}/carriers/offers/{OTHER_ID}")  # Caritas' offer
    assert "Caritas-Treff" not in tab.content()

    tab.click(".carrier-nav button[type=submit]")
    tab.wait_for_url(f"{server.url}/carriers/sign-in")
    assert not [c for c in tab.context.cookies() if c["name"] == "carrier_session"]
    tab.goto(f"{server.url}/carriers")
    assert tab.url.endswith("/carriers/sign-in")


def test_edit_with_errors_next_to_fields_then_verify_with_one_click(tab, area):
    server, directory, tokens = area
    sign_in(tab, server.url, tokens["editor_a"])
    tab.click(f"tr[data-offer='{STALE_ID}'] a")
    tab.fill("#field-postcode", "4426")
    tab.fill("#field-title", "Seniorentreff am Markt (neu)")
    tab.click("form.carrier-form button[type=submit]")
    error = tab.locator(".field.has-error #postcode-error")
    assert "must be five digits" in error.inner_text()
    assert tab.locator(".error-summary a[href='#field-postcode']").count() == 1
    assert directory.get(STALE_ID).title == "Seniorentreff am Markt"  # nothing saved

    tab.fill("#field-postcode", "44263")
    tab.fill("#field-internal_note", "Ansprechpartnerin Frau B.")
    tab.click("form.carrier-form button[type=submit]")
    tab.wait_for_url(f"{server.url}/carriers?done=saved")
    saved = directory.get(STALE_ID)
    assert saved.title == "Seniorentreff am Markt (neu)" and saved.version == 2
    assert saved.internal_note == "Ansprechpartnerin Frau B."
    newest = offer_history(directory.store.engine, STALE_ID)[0]
    assert (newest["who"], newest["how"]) == ("Redaktion AWO", "api")

    tab.click(f"tr[data-offer='{STALE_ID}'] form.inline-form button")
    tab.wait_for_url(f"{server.url}/carriers?done=verified")
    assert tab.locator(f"tr[data-offer='{STALE_ID}'] .stale-mark").count() == 0
    verified = directory.get(STALE_ID)
    assert verified.verified_by == "Redaktion AWO" and verified.version == 3


def test_upload_shows_accepted_and_rejected_rows(tab, area, tmp_path):
    server, directory, tokens = area
    source = tmp_path / "angebote.csv"
    source.write_bytes(
        csv_source(
            [
                {"external_id": "u-1", "title": "Wombat-Kaffeerunde"},
                {"external_id": "u-2", "title": "Kaputte Zeile", "postcode": "12"},
            ]
        )
    )
    sign_in(tab, server.url, tokens["editor_a"])
    tab.click(".carrier-nav a[href='/carriers/upload']")
    tab.select_option("#field-importer", "csv")
    tab.set_input_files("#field-file", str(source))
    tab.check("#field-dry-run")
    tab.click("form.carrier-form button[type=submit]")
    assert tab.locator("[data-count=created]").inner_text() == "1"
    assert directory.store.count_offers() == 3  # trial run: nothing saved

    tab.set_input_files("#field-file", str(source))
    tab.click("form.carrier-form button[type=submit]")
    tab.wait_for_selector("#report-title:has-text('Import')")
    assert tab.locator("ul.accepted li").all_inner_texts() == ["Wombat-Kaffeerunde"]
    rejected = tab.locator("table.rejections tbody tr").all_inner_texts()
    assert len(rejected) == 1 and "row 3" in rejected[0] and "five digits" in rejected[0]
    assert directory.store.count_offers() == 4


def test_every_form_needs_its_csrf_token(tab, area):
    server, directory, tokens = area
    sign_in(tab, server.url, tokens["editor_a"])
    tab.wait_for_url(f"{server.url}/carriers")
    cookies = {c["name"]: c["value"] for c in tab.context.cookies()}
    before = dump_store(directory.store)
    forms = {
        f"/carriers/offers/{STALE_ID}/verify": {"version": "1"},
        f"/carriers/offers/{STALE_ID}": {"version": "1", "title": "Gekapert"},
        "/carriers/sign-out": {},
    }
    with httpx.Client(base_url=server.url, cookies=cookies) as http:
        for path, data in forms.items():
            for csrf in (None, "falsch"):
                posted = {**data, **({"csrf": csrf} if csrf else {})}
                assert http.post(path, data=posted).status_code == 403, path
        upload = http.post("/carriers/upload", data={"carrier": "awo", "importer": "csv"},
                           files={"file": ("a.csv", b"x", "text/csv")})  # fmt: skip
        assert upload.status_code == 403
        # the sign-in form is protected by its double-submit cookie
        signed = http.post("/carriers/sign-in", data={"token": tokens["editor_a"], "csrf": "x"})
        assert signed.status_code == 400
    assert dump_store(directory.store) == before


def test_carrier_pages_pass_axe(tab, area):
    server, directory, tokens = area
    tab.goto(f"{server.url}/carriers/sign-in")
    found = {"sign-in": wf.axe_violations(tab)}
    sign_in(tab, server.url, tokens["editor_a"])
    tab.wait_for_url(f"{server.url}/carriers")
    found["offers"] = wf.axe_violations(tab)
    tab.click(f"tr[data-offer='{STALE_ID}'] a")
    tab.fill("#field-email", "keine-adresse")
    tab.click("form.carrier-form button[type=submit]")
    tab.wait_for_selector("#email-error")
    found["edit with errors"] = wf.axe_violations(tab)
    tab.goto(f"{server.url}/carriers/upload")
    found["upload"] = wf.axe_violations(tab)
    assert found == {page: [] for page in found}
