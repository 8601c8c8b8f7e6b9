"""The HSDS 3.0 read API at /hsds: every endpoint, its answers validated against the
official schemas (plain and strict), paging, errors, and the conformance of its nearby
and text search with GraphQL's ``offers`` (both front doors called over the one ASGI app
with httpx)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from directory_core.directory import Directory
from directory_core.hsds.mapping import CATEGORIES_TAG, Publication

from . import hsds_schemas as hs
from .asgi_client import AsgiClient
from .conftest import HOERDE_44263, ROOT
from .hsds_fixtures import app_of, demo_directory


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    directory = demo_directory(tmp_path_factory.mktemp("hsds-app"))
    try:
        yield directory
    finally:
        directory.close()


@pytest.fixture(scope="module")
def client(demo: Directory) -> Iterator[AsgiClient]:
    with AsgiClient(app_of(demo)) as opened:
        yield opened


def ok(client: AsgiClient, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def bad(client: AsgiClient, url: str, parameter: str, status: int = 400) -> str:
    response = client.get(url)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["parameter"] == parameter
    assert error["message"].startswith(f"{parameter}: ")
    return error["message"]


# -- validity of every endpoint's answer ---------------------------------------------------


def test_root_describes_the_api(client):
    body = ok(client, "/hsds/")
    assert body["version"] == "3.0"
    assert body["openapi_url"].endswith("openapi.json")
    schema = hs._load("openapi.json")["paths"]["/"]["get"]["responses"]["200"]["content"]
    validator = hs.Draft202012Validator(
        hs.strict(schema["application/json"]["schema"]), format_checker=hs.FormatChecker()
    )
    assert list(validator.iter_errors(body)) == []


@pytest.mark.parametrize(
    ("url", "item_schema"),
    [
        ("/hsds/services?per_page=100", "compiled/service_list.json"),
        ("/hsds/services?per_page=100&page=2", "compiled/service_list.json"),
        ("/hsds/services?per_page=100&full=true", "compiled/service.json"),
        ("/hsds/services?search=demenz&full=true", "compiled/service.json"),
        ("/hsds/service_at_locations?per_page=100", "compiled/service_at_location_list.json"),
        (
            "/hsds/service_at_locations?per_page=100&page=3",
            "compiled/service_at_location_list.json",
        ),
        (
            "/hsds/service_at_locations?full=true&postcode=44263",
            "compiled/service_at_location.json",
        ),
        ("/hsds/organizations", "compiled/organization_list.json"),
        ("/hsds/organizations?full=true", "compiled/organization.json"),
        ("/hsds/taxonomies", "taxonomy.json"),
        ("/hsds/taxonomy_terms?per_page=100", "taxonomy_term.json"),
    ],
)
def test_every_page_validates_strictly(client, url, item_schema):
    body = ok(client, url)
    assert body["contents"], "an empty page proves nothing"
    assert hs.page_errors(item_schema, body) == []


def test_entities_by_id_validate_strictly(client, demo):
    services = ok(client, "/hsds/services?per_page=100")["contents"]
    for service in services[:25]:
        assert (
            hs.errors("compiled/service.json", ok(client, f"/hsds/services/{service['id']}")) == []
        )
    at_locations = ok(client, "/hsds/service_at_locations?per_page=20")["contents"]
    for item in at_locations:
        found = ok(client, f"/hsds/service_at_locations/{item['id']}")
        assert found["service"]["id"] == item["service_id"]
        assert hs.errors("compiled/service_at_location.json", found) == []
    for org in ok(client, "/hsds/organizations")["contents"]:
        found = ok(client, f"/hsds/organizations/{org['id']}")
        assert hs.errors("compiled/organization.json", found) == []
        listed = ok(client, f"/hsds/services?organization_id={org['id']}&per_page=1")
        assert len(found["services"]) == listed["total_items"]
    for taxonomy in ok(client, "/hsds/taxonomies")["contents"]:
        assert ok(client, f"/hsds/taxonomies/{taxonomy['id']}") == taxonomy
    term = ok(client, "/hsds/taxonomy_terms?per_page=1")["contents"][0]
    assert ok(client, f"/hsds/taxonomy_terms/{term['id']}") == term


def test_full_service_of_a_small_organization(client, demo):
    pub = Publication.of(demo)
    org_id = pub.organization_id("paritaet")
    body = ok(client, f"/hsds/organizations/{org_id}?full_service=true")
    assert body["services"] and all("attributes" in s for s in body["services"])
    assert hs.errors("compiled/organization.json", body) == []


# -- filters and paging ----------------------------------------------------------------------


def test_pages_cover_every_active_offer_once(client, demo):
    seen: list[str] = []
    page = 1
    while True:
        body = ok(client, f"/hsds/services?per_page=37&page={page}")
        seen += [s["id"] for s in body["contents"]]
        assert body["page_number"] == page and body["size"] == len(body["contents"])
        if body["last_page"]:
            break
        page += 1
    assert body["total_pages"] == page
    assert len(seen) == len(set(seen)) == body["total_items"] == demo.store.count_offers("active")


def test_a_page_after_the_last_is_empty_not_an_error(client):
    body = ok(client, "/hsds/services?per_page=100&page=50")
    assert body["contents"] == [] and body["size"] == 0 and body["last_page"]


def test_filter_by_category_term_and_organization(client, demo):
    pub = Publication.of(demo)
    term = pub.term_id(CATEGORIES_TAG, "dementia")
    body = ok(client, f"/hsds/services?taxonomy_term_id={term}&per_page=100&full=true")
    assert body["total_items"] > 0
    for service in body["contents"]:
        codes = [a["taxonomy_term"]["code"] for a in service["attributes"]]
        assert any(c.startswith("dementia") for c in codes)
    org = pub.organization_id("awo")
    body = ok(client, f"/hsds/services?organization_id={org}&per_page=100")
    assert body["total_items"] > 0
    assert {s["organization_id"] for s in body["contents"]} == {org}


def test_modified_after(client, demo):
    everything = ok(client, "/hsds/services?per_page=1")["total_items"]
    assert ok(client, "/hsds/services?modified_after=2000-01-01&per_page=1")["total_items"] == (
        everything
    )
    body = ok(client, "/hsds/services?modified_after=2999-01-01T00:00:00Z")
    assert body["total_items"] == 0 and body["empty"]


def test_postcode_and_proximity_in_metres(client):
    body = ok(client, "/hsds/service_at_locations?postcode=44263&proximity=1500&per_page=100")
    assert (
        0 < body["total_items"] < ok(client, "/hsds/service_at_locations?per_page=1")["total_items"]
    )
    from geopy.distance import great_circle

    for item in body["contents"]:
        point = (item["location"]["latitude"], item["location"]["longitude"])
        assert great_circle(point, HOERDE_44263).km <= 1.5 + 0.01


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/hsds/services?per_page=101", "per_page"),
        ("/hsds/services?per_page=0", "per_page"),
        ("/hsds/services?per_page=abc", "per_page"),
        ("/hsds/services?page=0", "page"),
        ("/hsds/services?search=" + "x" * 201, "search"),
        ("/hsds/services?full=maybe", "full"),
        ("/hsds/services?minimal=true", "minimal"),
        ("/hsds/services?format=ndjson", "format"),
        ("/hsds/services?modified_after=yesterday", "modified_after"),
        ("/hsds/services?taxonomy_term_id=nope", "taxonomy_term_id"),
        ("/hsds/services?taxonomy_id=nope", "taxonomy_id"),
        ("/hsds/services?organization_id=nope", "organization_id"),
        ("/hsds/services?colour=red", "colour"),
        ("/hsds/services?page=1&page=2", "page"),
        ("/hsds/service_at_locations?postcode=4426", "postcode"),
        ("/hsds/service_at_locations?postcode=99999", "postcode"),
        ("/hsds/service_at_locations?proximity=1000", "proximity"),
        ("/hsds/service_at_locations?postcode=44263&proximity=0", "proximity"),
        ("/hsds/service_at_locations?postcode=44263&proximity=50001", "proximity"),
        ("/hsds/service_at_locations?lat=51.5", "lon"),
        ("/hsds/service_at_locations?lat=91&lon=7", "lat"),
        ("/hsds/service_at_locations?lat=51.5&lon=7.4&radius_km=51", "radius_km"),
        ("/hsds/service_at_locations?lat=51.5&lon=7.4&radius_km=2&proximity=2", "radius_km"),
        ("/hsds/service_at_locations?lat=51.5&lon=7.4&postcode=44263", "postcode"),
        ("/hsds/organizations?full_service=true", "full_service"),
        ("/hsds/taxonomies?per_page=1000", "per_page"),
        ("/hsds/taxonomy_terms?top_only=yes", "top_only"),
        ("/hsds/services/00000000-0000-4000-8000-000000000001?full=true", "full"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, url, parameter):
    bad(client, url, parameter)


def test_a_big_organization_refuses_full_service(client, demo):
    org = Publication.of(demo).organization_id("stadt-dortmund")
    limits = demo.instance.limits
    saved = limits.max_page_size
    limits.max_page_size = 10  # the demo's 52 offers of the city then exceed a page
    try:
        message = bad(client, f"/hsds/organizations/{org}?full_service=true", "full_service")
    finally:
        limits.max_page_size = saved
    assert "has 52 services, more than 10" in message
    assert "/services?organization_id=" in message


@pytest.mark.parametrize(
    "url",
    [
        "/hsds/services/00000000-0000-4000-8000-999999999999",
        "/hsds/services/not-a-uuid",
        "/hsds/service_at_locations/00000000-0000-4000-8000-999999999999",
        "/hsds/service_at_locations/not-a-uuid",
        "/hsds/organizations/00000000-0000-4000-8000-999999999999",
        "/hsds/taxonomies/00000000-0000-4000-8000-999999999999",
        "/hsds/taxonomy_terms/00000000-0000-4000-8000-999999999999",
        "/hsds/no_such_endpoint",
    ],
)
def test_unknown_ids_are_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_the_access_log_never_holds_the_query_string(client, caplog):
    from directory_hsds.app import _HideQueryStrings

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/hsds/services?search=Frau+M%C3%BCller&postcode=44263", "1.1", 200),
        None,
    )
    assert _HideQueryStrings().filter(record)
    line = record.getMessage()
    assert "M%C3%BCller" not in line and "44263" not in line
    assert "/hsds/services?…" in line
    assert any(
        isinstance(f, _HideQueryStrings) for f in logging.getLogger("uvicorn.access").filters
    )


# -- conformance with GraphQL --------------------------------------------------------------

OFFERS = """query($near: GeoInput, $radius: Float, $text: String, $first: Int, $after: String) {
  offers(near: $near, radiusKm: $radius, text: $text, first: $first, after: $after) {
    totalCount edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }"""


def graphql_ids(client: AsgiClient, pages: int, **variables) -> tuple[list[list[str]], int]:
    found, after, total = [], None, 0
    for _ in range(pages):
        response = client.post(
            "/graphql", json={"query": OFFERS, "variables": {**variables, "after": after}}
        )
        body = response.json()
        assert "errors" not in body, body
        offers = body["data"]["offers"]
        found.append([e["node"]["id"] for e in offers["edges"]])
        total, after = offers["totalCount"], offers["pageInfo"]["endCursor"]
    return found, total


def hsds_ids(
    client: AsgiClient, url: str, pages: int, per_page: int
) -> tuple[list[list[str]], int]:
    found, total = [], 0
    for page in range(1, pages + 1):
        body = ok(client, f"{url}&per_page={per_page}&page={page}")
        found.append([item.get("service_id", item["id"]) for item in body["contents"]])
        total = body["total_items"]
    return found, total


CASES = [
    # (GraphQL variables, HSDS query string)
    (
        {"near": {"lat": 51.4847, "lon": 7.4996}, "radius": 3.0},
        "lat=51.4847&lon=7.4996&radius_km=3",
    ),
    ({"near": {"lat": 51.51, "lon": 7.46}, "radius": 1.2}, "lat=51.51&lon=7.46&proximity=1200"),
    ({"near": {"postcode": "44263"}, "radius": 2.5}, "postcode=44263&proximity=2500"),
    ({"near": {"postcode": "44137"}}, "postcode=44137"),
    ({"text": "demenz"}, "search=demenz"),
    ({"text": "pflege"}, "search=pflege"),
    ({"text": "café"}, "search=caf%C3%A9"),
    (
        {"near": {"lat": 51.4847, "lon": 7.4996}, "radius": 8.0, "text": "treff"},
        "lat=51.4847&lon=7.4996&radius_km=8&search=treff",
    ),
    ({}, "x=1"),
]


@pytest.mark.parametrize(("variables", "query"), CASES)
@pytest.mark.parametrize("endpoint", ["services", "service_at_locations"])
def test_same_offers_in_the_same_order_as_graphql(client, variables, query, endpoint):
    query = query.replace("x=1", "").lstrip("&")
    graphql, g_total = graphql_ids(client, 3, first=7, **variables)
    hsds, h_total = hsds_ids(client, f"/hsds/{endpoint}?{query}", 3, 7)
    assert h_total == g_total
    assert hsds == graphql
    assert sum(map(len, graphql)) > 0


def test_conformance_on_the_known_offers(known_directory):
    with AsgiClient(app_of(known_directory)) as client:
        lat, lon = HOERDE_44263
        for radius in (0.5, 1.5, 5.0, 50.0):
            for text in (None, "demenz", "treff"):
                variables = {"near": {"lat": lat, "lon": lon}, "radius": radius}
                query = f"lat={lat}&lon={lon}&radius_km={radius}"
                if text:
                    variables["text"], query = text, f"{query}&search={text}"
                graphql, g_total = graphql_ids(client, 2, first=5, **variables)
                hsds, h_total = hsds_ids(client, f"/hsds/service_at_locations?{query}", 2, 5)
                assert (hsds, h_total) == (graphql, g_total), (radius, text)


def test_mounted_in_the_app_served_by_directory_serve(tmp_path: Path):
    from directory_app.assembly import create_app

    directory = demo_directory(tmp_path, samples=5)
    try:
        app = create_app(directory, sync_interval=None)
        assert {"/graphql", "/healthz", "/hsds"} <= {getattr(r, "path", "") for r in app.routes}
    finally:
        directory.close()


def docs_curl_urls() -> list[str]:
    """The URLs of the curl examples in docs/hsds.md and the README."""
    text = (ROOT / "docs" / "hsds.md").read_text(encoding="utf-8")
    text += (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"curl -s '?http://127\.0\.0\.1:8000(/hsds/[^'\s]*)'?", text)


def test_the_documented_curl_examples_work(known_directory):
    urls = docs_curl_urls()
    assert len(urls) >= 10
    org = Publication.of(known_directory).organization_id("awo")
    with AsgiClient(app_of(known_directory)) as client:
        for url in urls:
            response = client.get(url.replace("ORG_ID", org))
            expected = 400 if "per_page=500" in url else 200
            assert response.status_code == expected, (url, response.text)
            if expected == 200 and "contents" in response.json():
                assert response.json()["contents"], url
