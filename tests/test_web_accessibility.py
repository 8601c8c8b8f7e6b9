"""Accessibility of the pages: axe-core finds no serious or critical violation on the
search, results, offer and handout pages in German and Arabic, and the whole flow
(search, tick offers, make the handout) works with the keyboard alone."""

from __future__ import annotations

import pytest

from . import web_fixtures as wf

web_directory, web, browser, page = wf.web_directory, wf.web, wf.browser, wf.page

KNOWN_CAFE = "00000000-0000-4000-8000-000000000001"
KNOWN_TREFF = "00000000-0000-4000-8000-000000000003"
PAGES = {
    "search": "/",
    "results": "/search?where=44263&radius=2",
    "offer": f"/offer/{KNOWN_CAFE}",
    "handout": f"/handout?offer={KNOWN_CAFE}&offer={KNOWN_TREFF}",
}


@pytest.mark.parametrize("lang", ["de", "ar"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_or_critical_axe_violations(page, web, name, lang):
    tab = page.page
    separator = "&" if "?" in PAGES[name] else "?"
    tab.goto(f"{web.url}{PAGES[name]}{separator}lang={lang}")
    assert tab.get_attribute("html", "lang") == lang
    if name == "results":
        tab.wait_for_selector("#map[data-ready=true]")
    assert wf.axe_violations(tab) == []


def test_axe_finds_a_planted_violation(page, web):
    # the scan can fail: an image without a text alternative is a critical violation
    tab = page.page
    tab.goto(f"{web.url}/")
    tab.evaluate(
        "() => { const i = document.createElement('img'); i.src = '/static/none.png';"
        " document.querySelector('main').appendChild(i); }"
    )
    assert any(v.startswith("image-alt (critical)") for v in wf.axe_violations(tab))


def tab_to(tab, selector: str, limit: int = 250) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        if tab.evaluate("s => document.activeElement.matches(s)", selector):
            return
        tab.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with Tab")


def test_the_whole_flow_by_keyboard_alone(page, web):
    tab = page.page
    tab.goto(f"{web.url}/")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.className") == "skip-link"
    tab.keyboard.press("Enter")
    tab_to(tab, "#field-where")
    tab.keyboard.type("44263")
    tab_to(tab, "#field-radius")
    tab.keyboard.press("ArrowUp")  # 5 km -> 2 km
    tab_to(tab, "#field-category-dementia")
    tab.keyboard.press("Space")
    tab_to(tab, "button[type=submit][name=page]")
    tab.keyboard.press("Enter")
    tab.wait_for_selector("#results-heading")
    assert "radius=2" in tab.url and "category=dementia" in tab.url
    tab_to(tab, f"#pick-{KNOWN_CAFE}")
    tab.keyboard.press("Space")
    assert tab.is_checked(f"#pick-{KNOWN_CAFE}")
    # back to the handout form above the list
    for _ in range(250):
        if tab.evaluate("document.activeElement.matches('#handout button')"):
            break
        tab.keyboard.press("Shift+Tab")
    tab.keyboard.press("Enter")
    tab.wait_for_selector(".handout-offer")
    assert tab.locator(".handout-offer h2").all_inner_texts() == ["1. Demenzcafé am Phoenix-See"]
    # the offer page is reachable too: the handout's QR codes and links point at it
    tab.goto(f"{web.url}/search?where=44263&radius=2")
    tab_to(tab, f"#offer-{KNOWN_CAFE} h3 a")
    tab.keyboard.press("Enter")
    tab.wait_for_url(f"**/offer/{KNOWN_CAFE}**")
    assert tab.inner_text("h1") == "Demenzcafé am Phoenix-See"


def test_focus_is_visible(page, web):
    tab = page.page
    tab.goto(f"{web.url}/")
    tab_to(tab, "#field-where")
    outline = tab.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
