"""Wrong input gets a GraphQL error naming the argument and what is allowed; the server
stays up. Every argument of ``offers`` has a case here."""

from __future__ import annotations

import base64

import pytest

from .conftest import HOERDE_44263

NEAR = {"lat": HOERDE_44263[0], "lon": HOERDE_44263[1]}

OFFERS = """
query($near: GeoInput, $radius: Float, $text: String, $filter: OfferFilter, $sort: OfferSort,
      $first: Int, $after: String) {
  offers(near: $near, radiusKm: $radius, text: $text, filter: $filter, sort: $sort,
         first: $first, after: $after) {
    totalCount
    edges { node { id } }
  }
}
"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# (arguments, the argument path in extensions, words the message must contain)
OFFERS_CASES = {
    # near
    "lat out of range": (
        {"near": {"lat": 200, "lon": 7.5}},
        "near.lat",
        ["near.lat must be between -90 and 90", "got 200"],
    ),
    "lon out of range": (
        {"near": {"lat": 51.5, "lon": -500}},
        "near.lon",
        ["near.lon must be between -180 and 180", "got -500"],
    ),
    "lat without lon": (
        {"near": {"lat": 51.5}},
        "near.lon",
        ["near.lon is required together with near.lat"],
    ),
    "lon without lat": (
        {"near": {"lon": 7.5}},
        "near.lat",
        ["near.lat is required together with near.lon"],
    ),
    "point and address": (
        {"near": {"lat": 51.5, "lon": 7.5, "address": "Hörde"}},
        "near",
        ["exactly one of lat+lon", "address", "postcode", "district", "got lat+lon and address"],
    ),
    "postcode and district": (
        {"near": {"postcode": "44263", "district": "hoerde"}},
        "near",
        ["exactly one of", "got postcode and district"],
    ),
    "empty near": ({"near": {}}, "near", ["is empty", "exactly one of lat+lon"]),
    "blank address": ({"near": {"address": "  "}}, "near.address", ["must not be empty"]),
    "malformed postcode": (
        {"near": {"postcode": "4426"}},
        "near.postcode",
        ["five-digit postcode", "'4426'"],
    ),
    "unknown postcode": (
        {"near": {"postcode": "00000"}},
        "near.postcode",
        ["could not be resolved", "postcode 00000 is unknown"],
    ),
    "unknown district": (
        {"near": {"district": "Atlantis"}},
        "near.district",
        ["unknown district 'Atlantis'", "hoerde", "hombruch"],
    ),
    "unresolvable address": (
        {"near": {"address": "Nirgendwoweg 7"}},
        "near.address",
        ["could not be resolved", "Nirgendwoweg 7"],
    ),
    # radiusKm
    "negative radius": (
        {"near": NEAR, "radius": -1},
        "radiusKm",
        ['Argument "radiusKm": must be greater than 0 and at most 50 km, got -1'],
    ),
    "zero radius": ({"near": NEAR, "radius": 0}, "radiusKm", ["greater than 0", "got 0"]),
    "radius above the maximum": (
        {"near": NEAR, "radius": 50.5},
        "radiusKm",
        ["at most 50 km", "got 50.5"],
    ),
    "radius without near": ({"radius": 5}, "radiusKm", ["needs near"]),
    # text
    "text too long": ({"text": "demenz " * 40}, "text", ["at most 200 characters", "got 280"]),
    # filter
    "unknown category": (
        {"filter": {"categories": ["dementia", "knitting"]}},
        "filter.categories",
        ["unknown category 'knitting'", "dementia.groups"],
    ),
    "unknown district filter": (
        {"filter": {"districts": ["hoerde", "atlantis"]}},
        "filter.districts",
        ["unknown district 'atlantis'", "hombruch"],
    ),
    "unknown carrier": (
        {"filter": {"carriers": ["acme"]}},
        "filter.carriers",
        ["unknown carrier 'acme'", "awo", "caritas"],
    ),
    "unknown language": (
        {"filter": {"languages": ["xx"]}},
        "filter.languages",
        ["unknown language code 'xx'", "ISO 639-1"],
    ),
    "bad openAt": (
        {"filter": {"openOn": "MONDAY", "openAt": "25:00"}},
        "filter.openAt",
        ["must be a time HH:MM", "'25:00'"],
    ),
    "openAt in another format": (
        {"filter": {"openOn": "MONDAY", "openAt": "9 Uhr"}},
        "filter.openAt",
        ["HH:MM"],
    ),
    "openAt without openOn": (
        {"filter": {"openAt": "10:00"}},
        "filter.openAt",
        ["needs filter.openOn"],
    ),
    # sort
    "distance without near": ({"sort": "DISTANCE"}, "sort", ["DISTANCE needs near"]),
    "relevance without text": (
        {"near": NEAR, "sort": "RELEVANCE"},
        "sort",
        ["RELEVANCE needs text"],
    ),
    # first
    "negative first": ({"first": -1}, "first", ["between 0 and 100", "got -1"]),
    "first above the maximum": ({"first": 101}, "first", ["between 0 and 100", "got 101"]),
    # after
    "malformed cursor": ({"after": b64("page 2")}, "after", ["not a cursor from this API"]),
    "cursor that is not base64": ({"after": "%%%"}, "after", ["not base64"]),
    "cursor with a negative offset": (
        {"after": b64("offset:-5")},
        "after",
        ["points to position -5", "allowed: 0 to"],
    ),
}


@pytest.mark.parametrize("case", sorted(OFFERS_CASES))
def test_bad_offers_arguments(graphql, case):
    arguments, path, words = OFFERS_CASES[case]
    result = graphql.post(OFFERS, **arguments)
    assert result["data"] is None
    [error] = result["errors"]
    argument = path.split(".")[0]
    assert error["message"].startswith(f'Argument "{argument}": ')
    for word in words:
        assert word in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": path}
    assert error["path"] == ["offers"]
    assert "Traceback" not in str(result)


def test_every_argument_of_offers_has_a_bad_input_case(graphql):
    arguments = graphql.data(
        '{ __type(name: "Query") { fields { name args { name type { name kind } } } } }'
    )["__type"]["fields"]
    [offers] = [field for field in arguments if field["name"] == "offers"]
    tested = {path.split(".")[0] for _, path, _ in OFFERS_CASES.values()}
    assert tested == {arg["name"] for arg in offers["args"]}
    geo = graphql.data('{ __type(name: "GeoInput") { inputFields { name } } }')
    near_paths = {path for _, path, _ in OFFERS_CASES.values() if path.startswith("near.")}
    assert near_paths == {f"near.{f['name']}" for f in geo["__type"]["inputFields"]}


def test_wrong_types_are_rejected_by_graphql_itself(graphql):
    error = graphql.error(OFFERS, first="ten")
    assert "$first" in error["message"]
    assert "Int" in error["message"]
    error = graphql.error(OFFERS, filter={"kinds": ["BAKERY"]})
    assert "BAKERY" in error["message"]
    error = graphql.error(OFFERS, filter={"openOn": "FUNDAY"})
    assert "FUNDAY" in error["message"]


def test_malformed_offer_id(graphql):
    error = graphql.error('{ offer(id: "not-a-uuid") { id } }')
    assert error["message"] == ("Argument \"id\": must be an offer id (a UUID), got 'not-a-uuid'")
    assert error["extensions"]["argument"] == "id"


def test_unknown_offer_id_is_null(graphql):
    result = graphql.post('{ offer(id: "6f1c1c4e-4a4f-4d5e-9a1e-2b7f0c3d9e11") { id } }')
    assert result == {"data": {"offer": None}}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("Nirgendwoweg 7", ["could not be resolved", "Nirgendwoweg 7"]),
        ("99999", ["postcode 99999 is unknown"]),
        ("   ", ["must not be empty"]),
        ("x" * 201, ["at most 200 characters"]),
    ],
)
def test_geocode_failure_is_a_clear_error(graphql, query, words):
    error = graphql.error("query($q: String!) { geocode(query: $q) { lat lon } }", q=query)
    assert error["message"].startswith('Argument "query": ')
    for word in words:
        assert word in error["message"]
    assert error["path"] == ["geocode"]


def test_query_depth_limit(graphql):
    nested = "key"
    for _ in range(12):
        nested = f"children {{ {nested} }}"
    error = graphql.error(f"{{ categories {{ {nested} }} }}")
    assert error["message"] == (
        "The query nests fields 13 levels deep; at most 12 allowed (limits.max_query_depth "
        "in the instance file)"
    )
    assert error["extensions"] == {"code": "QUERY_LIMIT_EXCEEDED", "limit": "max_query_depth"}


def test_alias_limit(graphql):
    aliases = " ".join(f"a{i}: districts {{ key }}" for i in range(21))
    error = graphql.error(f"{{ {aliases} }}")
    assert error["message"] == (
        "The query has 21 aliased fields (fragments expanded); at most 20 allowed "
        "(limits.max_aliases in the instance file)"
    )


def test_token_limit(graphql):
    fields = " ".join(["key"] * 4100)
    error = graphql.error(f"{{ districts {{ {fields} }} }}")
    assert error["message"] == (
        "The query has more than 4000 tokens (limits.max_tokens in the instance file)"
    )


def test_syntax_errors_are_reported(graphql):
    error = graphql.error("{ offers(first: ) { totalCount } }")
    assert "Syntax Error" in error["message"]


def test_the_server_still_answers_after_bad_requests(graphql):
    for case in OFFERS_CASES.values():
        graphql.post(OFFERS, **case[0])
    data = graphql.data(OFFERS, near=NEAR, radius=2)
    assert data["offers"]["totalCount"] == 3
