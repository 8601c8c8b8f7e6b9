"""Query parameters of the HSDS API (``directory_hsds.params``), without a server."""

from __future__ import annotations

import pytest
from directory_hsds.params import Near, Paging, ParameterError, Params, near, paging
from starlette.datastructures import QueryParams

from directory_core.instance import Limits


def params(query: str, *allowed: str) -> Params:
    return Params(QueryParams(query), allowed)


def test_paging_defaults_and_limits():
    assert paging(params("", "page", "per_page", "format"), Limits()) == Paging(1, 20)
    found = paging(
        params("page=3&per_page=100&format=json", "page", "per_page", "format"), Limits()
    )
    assert (found.page, found.per_page, found.offset) == (3, 100, 200)
    with pytest.raises(ParameterError, match="per_page: must be between 1 and 10, got 11"):
        paging(params("per_page=11", "per_page"), Limits(max_page_size=10))


def test_unknown_and_repeated_parameters():
    with pytest.raises(
        ParameterError, match="bogus: is not a parameter of this endpoint; allowed: page"
    ):
        params("bogus=1", "page")
    with pytest.raises(ParameterError, match="is not a parameter of this endpoint; allowed: none"):
        params("x=1")
    with pytest.raises(ParameterError, match="page: is given more than once"):
        params("page=1&page=2", "page")


def test_text_boolean_and_moment():
    p = params(
        "search=+demenz+&full=TRUE&top_only=0&modified_after=2026-11-01",
        "search",
        "full",
        "top_only",
        "modified_after",
    )
    assert p.text("search") == "demenz"
    assert p.boolean("full") is True and p.boolean("top_only") is False
    assert p.moment("modified_after").isoformat() == "2026-11-01T00:00:00+00:00"
    assert (
        params("modified_after=2026-11-01T10:00:00+01:00", "modified_after")
        .moment("modified_after")
        .utcoffset()
        .total_seconds()
        == 3600
    )
    assert params("search=%20", "search").text("search") is None
    local = params("modified_after=2026-11-01 10:00", "modified_after").moment("modified_after")
    assert local.isoformat() == "2026-11-01T10:00:00+00:00"


ALL = ("postcode", "proximity", "lat", "lon", "radius_km")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", None),
        ("postcode=44263", Near(50.0, postcode="44263")),
        ("postcode=44263&proximity=2500", Near(2.5, postcode="44263")),
        ("lat=51.5&lon=7.4", Near(50.0, lat=51.5, lon=7.4)),
        ("lat=51.5&lon=7.4&radius_km=3", Near(3.0, lat=51.5, lon=7.4)),
        ("lat=51.5&lon=7.4&proximity=800", Near(0.8, lat=51.5, lon=7.4)),
    ],
)
def test_nearby_forms(query, expected):
    assert near(params(query, *ALL), Limits()) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("radius_km=2", "radius_km: needs postcode, or lat and lon"),
        ("lon=7", "lat: is required together with lon"),
        ("lat=nan&lon=7", "lat: must be between -90 and 90, got nan"),
        ("lat=51&lon=7&radius_km=0", "radius_km: must be greater than 0 and at most 50 km, got 0"),
        ("postcode=44263&proximity=-5", "proximity: must be between 0 and inf, got -5"),
        ("postcode=Hörde", "postcode: must be five digits, got 'Hörde'"),
    ],
)
def test_nearby_errors_name_the_parameter(query, message):
    with pytest.raises(ParameterError) as raised:
        near(params(query, *ALL), Limits())
    assert str(raised.value).startswith(message)
