"""HSDS at 10,000 generated offers: the export and the API answers still validate
against the official schemas (strict), and the API's nearby and text answers still
equal GraphQL's. Validation is done on a sample (every 40th record, a few pages) to keep
the test time modest; the mapping is the same code for every offer."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest

from directory_core.directory import Directory, open_directory
from directory_core.gazetteer import Gazetteer
from directory_core.hsds.package import export_package
from directory_core.hsds.tabular import read_tables
from directory_core.sample import generate_offers

from . import hsds_schemas as hs
from .asgi_client import AsgiClient
from .conftest import dortmund_instance_at
from .hsds_fixtures import app_of
from .test_hsds_app import graphql_ids, hsds_ids, ok
from .test_hsds_package import JSON_SCHEMAS

N = 10_000
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    directory = open_directory(
        dortmund_instance_at(tmp_path_factory.mktemp("hsds-10k") / "d.sqlite")
    )
    postcodes = [
        (code, found.lat, found.lon)
        for code, found in Gazetteer(directory.districts, city="Dortmund")
        .postcodes_in("Dortmund")
        .items()
    ]
    offers = list(
        generate_offers(
            directory.districts,
            [c.key for c in directory.carriers],
            N,
            seed=14,
            city="Dortmund",
            postcodes=postcodes,
        )
    )
    for start in range(0, N, 2000):
        directory.save(offers[start : start + 2000])
    try:
        yield directory
    finally:
        directory.close()


def test_the_export_of_10000_offers_validates_strictly(big, tmp_path):
    report = export_package(big, tmp_path / "hsds")
    assert report.services == N
    folder = tmp_path / "hsds"
    for name, schema in JSON_SCHEMAS.items():
        items = json.loads((folder / name).read_text(encoding="utf-8"))
        if name in ("services.json", "service_at_locations.json"):
            assert len(items) == N
        for item in items[::40]:
            assert hs.errors(schema, item) == [], name
    tables = read_tables(folder)
    assert len(tables["service"]) == len(tables["location"]) == N
    for table, rows in tables.items():
        validator = hs.tabular_validator(table)
        for row in rows[::40]:
            assert [e.message for e in validator.iter_errors(row)] == [], table


def test_api_pages_at_10000_offers_validate_strictly(big):
    rng = random.Random(5)
    with AsgiClient(app_of(big)) as client:
        last = ok(client, "/hsds/services?per_page=100")["total_pages"]
        assert last == N // 100
        for page in [1, last, *rng.sample(range(2, last), 3)]:
            body = ok(client, f"/hsds/services?per_page=100&page={page}&full=true")
            assert hs.page_errors("compiled/service.json", body) == []
        body = ok(client, "/hsds/service_at_locations?postcode=44137&proximity=3000&per_page=100")
        assert body["size"] == 100
        assert hs.page_errors("compiled/service_at_location_list.json", body) == []


def test_conformance_with_graphql_at_10000_offers(big):
    rng = random.Random(9)
    with AsgiClient(app_of(big)) as client:
        for _ in range(6):
            district = rng.choice(big.districts)
            lat, lon = round(district.lat, 4), round(district.lon, 4)
            radius = rng.choice((0.8, 2.0, 5.0))
            text = rng.choice((None, "demenz", "pflege", "treff"))
            variables = {"near": {"lat": lat, "lon": lon}, "radius": radius}
            query = f"lat={lat}&lon={lon}&radius_km={radius}"
            if text:
                variables["text"], query = text, f"{query}&search={text}"
            graphql, g_total = graphql_ids(client, 2, first=20, **variables)
            hsds, h_total = hsds_ids(client, f"/hsds/service_at_locations?{query}", 2, 20)
            assert g_total > 0 and hsds == graphql, (query,)
            # GraphQL counts a nearby search exactly up to 1,000 hits (totalCountIsExact
            # false beyond: a lower bound); HSDS asks for exact counts (its paging)
            assert h_total == g_total or g_total == 1000 < h_total, (query,)
