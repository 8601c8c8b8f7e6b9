"""The search form (``directory_web.forms``): reading, checking, the public URL and the
``SearchQuery`` it becomes."""

from __future__ import annotations

import pytest
from directory_search.base import GeoPoint
from directory_web.forms import PAGE_SIZE, Place, Places, SearchForm
from starlette.datastructures import MultiDict


def _form(**values) -> SearchForm:
    items = []
    for key, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((key, one))
    return SearchForm.read(MultiDict(items))


def test_reading_trims_and_keeps_lists():
    form = _form(where="  44263  ", category=["dementia", "care"], access="wheelchair", page="3")
    assert form.where == "44263"
    assert form.categories == ["dementia", "care"]
    assert form.access == ["wheelchair"]
    assert form.page == 3
    assert _form(page="x").page == 1 and _form(page="-4").page == 1
    assert len(_form(q="a" * 1000).text) == 200


def test_a_bare_url_is_not_a_search_but_an_empty_form_is():
    assert not SearchForm().submitted
    assert not _form().submitted
    assert _form(radius="5").submitted  # sent as it is: the whole city, by title
    assert _form(radius="all").submitted
    assert _form(free="1").submitted


def test_unknown_values_are_errors_or_dropped(directory):
    form = _form(radius="3", kind="spaceship", day="someday", category="nope", access="x")
    form.check(directory)
    assert set(form.errors) == {"radius", "kind", "day"}
    assert form.categories == [] and form.access == []


def test_private_forms_have_no_url():
    assert _form(where="44263", q="demenz").public_params() is None
    params = _form(where="44263", radius="2", category="dementia", free="1").public_params()
    assert params == [("where", "44263"), ("radius", "2"), ("category", "dementia"), ("free", "1")]


def test_the_query_of_a_form():
    form = _form(
        where="44263", radius="10", kind="service", language="tr", day="tue",
        channel=["phone"], access=["wheelchair"], free="1", page="2",
    )  # fmt: skip
    query = form.query(Place(51.5, 7.5, "postcode", "44263"), max_radius_km=5.0)
    assert query.near == GeoPoint(51.5, 7.5)
    assert query.radius_km == 5.0  # the instance's limit wins
    assert query.kinds == ("service",) and query.languages == ("tr",)
    assert query.open_on == 1 and query.channels == ("phone",)
    assert query.accessibility == ("wheelchair",) and query.free_of_charge is True
    assert query.sort == "distance" and query.offset == PAGE_SIZE and query.want_facets
    whole_city = _form(radius="all").query(None, 50.0)
    assert whole_city.near is None and whole_city.radius_km is None and whole_city.sort == "title"


@pytest.mark.parametrize(
    "text, kind",
    [("44263", "postcode"), ("Hörde", "district"), ("dortmund-hoerde", "district")],
)
def test_public_places(directory, text, kind):
    place = Places(directory).public(text)
    assert place is not None and place.kind == kind


def test_addresses_are_not_public_but_resolve_rounded(directory):
    places = Places(directory)
    assert places.public("Zeisigweg 7, 44263 Dortmund") is None
    assert places.public("99999") is None
    place = places.resolve("Zeisigweg 7, 44263 Dortmund")
    assert place.kind == "address" and place.label == ""
    assert places.resolve("Nirgendwo") is None


def test_suggestions(directory):
    places = Places(directory)
    assert {"value": "Hörde", "label": "Hörde"} in places.suggestions("hoe")
    assert {"value": "44263", "label": "44263 Dortmund"} in places.suggestions("4426")
    assert places.suggestions("") == []
    assert len(places.suggestions("4", limit=3)) == 3
    assert "Hörde" in places.choices() and "44263" in places.choices()
