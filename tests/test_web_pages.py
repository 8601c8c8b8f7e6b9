"""The counsellor's pages in a real browser (Chromium through Playwright), one test per
step of issue 10: search form, results, map, offer page, handout, languages. Every test
also checks that no request left the app's origin except map tiles (which are aborted)."""

from __future__ import annotations

import re

import pytest

from . import web_fixtures as wf
from .web_fixtures import RecordedPage, WebServer

# the fixtures of web_fixtures.py, used by name in this module
web_directory, web, browser, page = wf.web_directory, wf.web, wf.browser, wf.page

KNOWN_CAFE = "00000000-0000-4000-8000-000000000001"
KNOWN_TREFF = "00000000-0000-4000-8000-000000000003"


def only_own_origin(page: RecordedPage) -> None:
    assert page.foreign_requests() == []


def search(page: RecordedPage, web: WebServer, where: str, radius: str = "5", **extra) -> None:
    tab = page.page
    tab.goto(f"{web.url}/")
    tab.fill("#field-where", where)
    tab.select_option("#field-radius", radius)
    for selector in extra.get("check", ()):
        tab.check(selector)
    if "q" in extra:
        tab.fill("#field-q", extra["q"])
    tab.click("button[type=submit][name=page]")
    tab.wait_for_selector("#results-heading")


def test_1_search_form_has_where_what_and_filters(page, web):
    tab = page.page
    tab.goto(f"{web.url}/")
    assert tab.get_attribute("html", "lang") == "de"
    assert tab.title().startswith("Angebote finden")
    # where: one field for address, postcode or district; radius 1/2/5/10 or the city
    assert tab.is_visible("label[for=field-where]")
    radii = tab.eval_on_selector_all("#field-radius option", "els => els.map(e => e.value)")
    assert radii == ["1", "2", "5", "10", "all"]
    # what: the category tree grouped by building block, the kinds, free text
    groups = tab.locator(".category-group .group-head label").all_inner_texts()
    assert "Demenz" in groups
    assert "Entlastung pflegender Angehöriger" in groups
    assert "Bürgerschaftliches Engagement und Ehrenamt" in groups
    assert tab.locator("#field-category-dementia\\.groups").count() == 1
    kinds = tab.locator("#field-kind option").all_inner_texts()
    assert "Demenzgruppe" in kinds and "Seniorenbüro" in kinds
    assert tab.is_visible("#field-q")
    # filters: language, free, accessibility, weekday, channels
    assert "Türkisch" in tab.locator("#field-language option").all_inner_texts()
    assert "Dienstag" in tab.locator("#field-day option").all_inner_texts()
    for field in (
        "free",
        "access-wheelchair",
        "access-hearing_loop",
        "access-easy_language",
        "channel-phone",
        "channel-home_visit",
        "channel-online",
    ):
        assert tab.is_visible(f"#field-{field}"), field
    # districts and postcodes are suggested while typing ("hoe" finds Hörde)
    tab.type("#field-where", "hoe")
    tab.wait_for_selector("#field-where[data-suggested]")
    suggested = tab.eval_on_selector_all("#places option", "els => els.map(e => e.value)")
    assert "Hörde" in suggested
    tab.fill("#field-where", "")
    tab.type("#field-where", "4426")
    tab.wait_for_function(
        "() => [...document.querySelectorAll('#places option')].some(o => o.value === '44263')"
    )
    only_own_origin(page)


def test_2_results_nearest_first_with_everything_a_counsellor_needs(page, web):
    search(page, web, "44263", "5")
    tab = page.page
    assert "/search?" in tab.url and "where=44263" in tab.url  # bookmarkable
    heading = tab.inner_text("#results-heading")
    total = int(re.match(r"(\d+) Angebote gefunden", heading).group(1))
    assert total > 10
    items = tab.locator(".result")
    titles = items.locator("h3").all_inner_texts()
    assert titles.index("Seniorentreff Hörde") < titles.index("Demenzcafé am Phoenix-See")
    distances = [
        float(text.replace(" km", "").replace(",", "."))
        for text in tab.locator(".result dt:text-is('Entfernung') + dd").all_inner_texts()
    ]
    assert distances == sorted(distances) and len(distances) == 10
    cafe = tab.locator(f"#offer-{KNOWN_CAFE}")
    facts = cafe.inner_text()
    for expected in (
        "Demenzgruppe",  # kind
        "Caritasverband",  # carrier
        "0,6 km",  # 0.56 km
        "Teststraße 1, 44263 Dortmund",
        "jeden Dienstag, 14:00–16:00 Uhr",
        "Deutsch und Türkisch",
        "rollstuhlgerecht",
        "kostenlos",
        "cafe@beispiel.invalid",
    ):
        assert expected in facts, expected
    assert cafe.locator("a[href='tel:0231123456']").count() == 1
    # verified long ago (or never): marked
    assert cafe.locator(".stale-mark").count() == 1
    # facet counts beside the filters and per district
    kind_option = tab.locator("#field-kind option[value=dementia_group]").inner_text()
    assert re.search(r"Demenzgruppe \(\d+\)", kind_option)
    assert tab.locator(".facet-districts li").count() >= 2
    # paging
    tab.click(".pager button[value='2']")
    tab.wait_for_selector(".result")
    assert tab.locator(".result").first.get_attribute("value") == "11"
    assert "page=2" in tab.url
    only_own_origin(page)


def test_2_filters_narrow_the_results(page, web):
    search(page, web, "Hörde", "2", check=["#field-access-wheelchair"])
    tab = page.page
    texts = tab.locator(".result").all_inner_texts()
    assert texts and all("rollstuhlgerecht" in t for t in texts)
    assert "access=wheelchair" in tab.url
    only_own_origin(page)


@pytest.mark.parametrize("js", [False])
def test_search_works_with_javascript_off(browser, web, js):
    context = browser.new_context(java_script_enabled=js)
    try:
        tab = context.new_page()
        tab.goto(f"{web.url}/")
        tab.fill("#field-where", "44263")
        tab.click("button[type=submit][name=page]")
        tab.wait_for_selector("#results-heading")
        assert "Seniorentreff Hörde" in tab.locator(".result h3").all_inner_texts()
        # the handout form works without the script too
        tab.check(f"#pick-{KNOWN_TREFF}")
        tab.click("#handout button[type=submit]")
        tab.wait_for_selector(".handout-offer")
        assert "Seniorentreff Hörde" in tab.inner_text(".handout-offer h2")
    finally:
        context.close()


def test_3_map_with_numbered_markers_search_point_and_radius(page, web):
    search(page, web, "44263", "2")
    tab = page.page
    tab.wait_for_selector("#map[data-ready=true]")
    numbers = tab.locator("#map .map-marker").all_inner_texts()
    listed = tab.locator(".result .marker-number").all_inner_texts()
    assert numbers == listed and numbers[:3] == ["1", "2", "3"]
    # the search point and the radius circle are drawn as vector paths
    assert tab.locator("#map path.leaflet-interactive").count() >= 2
    # tiles were asked for (and aborted: no network), the attribution is shown
    assert page.tile_requests()
    assert "OpenStreetMap" in tab.inner_text(".leaflet-control-attribution")
    # a marker leads to its entry in the list
    # (dispatched: markers of offers at the same address overlap each other)
    tab.locator("#map .map-marker:text-is('2')").dispatch_event("click")
    focused = tab.evaluate("document.activeElement.closest('li').getAttribute('value')")
    assert focused == "2"
    only_own_origin(page)


def test_4_offer_page_at_a_stable_url(page, web):
    search(page, web, "44263", "2")
    tab = page.page
    tab.click(f"#offer-{KNOWN_CAFE} h3 a")
    tab.wait_for_selector("h1")
    assert re.search(rf"/offer/{KNOWN_CAFE}\b", tab.url)
    assert tab.inner_text("h1") == "Demenzcafé am Phoenix-See"
    text = tab.inner_text("main")
    for expected in (
        "Bekanntes Testangebot cafe.",
        "Demenzgruppen und Demenzcafés",
        "Menschen mit Demenz, Angehörige",
        "Eingang ebenerdig",
        "außer Ferien",
    ):
        assert expected in text, expected
    tab.goto(f"{web.url}/offer/00000000-0000-4000-8000-999999999999")
    assert tab.inner_text("h1") == "Nicht gefunden"
    only_own_origin(page)


def test_5_handout_of_ticked_offers(page, web):
    search(page, web, "44263", "2")
    tab = page.page
    tab.check(f"#pick-{KNOWN_TREFF}")
    tab.check(f"#pick-{KNOWN_CAFE}")
    tab.select_option("#handout-lang", "tr")
    office = tab.locator("#handout-office option").nth(1)
    office_name = office.inner_text()
    tab.select_option("#handout-office", index=1)
    tab.click("#handout button[type=submit]")
    tab.wait_for_selector(".handout-offer")
    assert tab.get_attribute("html", "lang") == "tr"
    assert "44263" not in tab.url  # nothing of the search, let alone the client
    blocks = tab.locator(".handout-offer")
    assert blocks.count() == 2
    assert "Seniorentreff Hörde" in blocks.nth(1).inner_text() or "Seniorentreff" in (
        blocks.nth(0).inner_text()
    )
    # one QR code per offer, inline SVG (no image request)
    assert tab.locator(".handout-offer svg.qr").count() == 2
    # the date and the office that made it
    assert office_name in tab.inner_text(".handout-meta")
    # labels in the client's language (Turkish), offer texts as written
    assert "Ücretsiz" in tab.inner_text("main") or "ücretsiz" in tab.inner_text("main")
    # print: at least 14 pt body, black on white
    tab.emulate_media(media="print")
    size = tab.evaluate("getComputedStyle(document.body).fontSize")
    assert float(size.replace("px", "")) >= 14 * 96 / 72 - 0.01
    assert tab.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    assert not tab.is_visible(".site-header")
    pdf = tab.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    only_own_origin(page)


def test_6_language_switch_with_arabic_right_to_left(page, web):
    tab = page.page
    tab.goto(f"{web.url}/")
    tab.click(".language-switch a[hreflang=ar]")
    tab.wait_for_selector("html[lang=ar]")
    assert tab.get_attribute("html", "dir") == "rtl"
    # the choice is kept for the next page (cookie)
    tab.goto(f"{web.url}/")
    assert tab.get_attribute("html", "lang") == "ar"
    kinds = tab.locator("#field-kind option").all_inner_texts()
    assert "Demenzgruppe" not in kinds
    tab.click(".language-switch a[hreflang=tr]")
    tab.wait_for_selector("html[lang=tr]")
    assert tab.get_attribute("html", "dir") == "ltr"
    tab.fill("#field-where", "44263")
    tab.click("button[type=submit][name=page]")
    tab.wait_for_selector("#results-heading")
    assert "Salı" in tab.inner_text(f"#offer-{KNOWN_CAFE}")  # Tuesday in Turkish
    only_own_origin(page)
