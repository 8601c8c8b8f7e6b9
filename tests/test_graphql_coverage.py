"""The ``coverage`` query over HTTP: the same figures as ``directory gaps``, argument errors
like the rest of the API, and a cached result refreshed after a write."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from directory_app.assembly import create_app
from directory_cli.main import cli

from directory_core.demo import load_demo
from directory_core.directory import Directory, open_directory
from directory_core.model import Location, Offer, Precision

from .conftest import GraphQLClient, dortmund_instance_at, running_server
from .stores import write_instance_file

QUERY = """
query ($category: String, $district: String, $asOf: Date) {
  coverage(category: $category, district: $district, asOf: $asOf) {
    instance asOf referenceDate storePosition notes
    districts { key name postcodes
      population { total age60Plus age65Plus age80Plus date source derived { field how } } }
    categories { key label thresholdKm }
    matrix { district category active verifiedWithinYear all
      perThousand60Plus perThousand65Plus perThousand80Plus
      postcodeAreas beyondThreshold shareBeyondThreshold missingQualities }
    postcodeAreas { postcode district lat lon nearest { category distanceKm offerId } }
  }
}
"""


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Directory, Path]]:
    """A Dortmund demo directory and an instance file pointing at its store."""
    folder = tmp_path_factory.mktemp("coverage")
    store = folder / "dortmund.sqlite"
    opened = open_directory(dortmund_instance_at(store))
    try:
        load_demo(opened, samples=300)
        path = write_instance_file(
            folder / "dortmund.toml", f"sqlite:///{store}", {"backend": "embedded"}, tail=""
        )
        yield opened, path
    finally:
        opened.close()


@pytest.fixture(scope="module")
def client(demo_store) -> Iterator[GraphQLClient]:
    directory, _ = demo_store
    with running_server(create_app(directory, sync_interval=None)) as server:
        graphql = GraphQLClient(server.url)
        try:
            yield graphql
        finally:
            graphql.close()


def _cli_rows(path: Path, *args: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(
        cli, ["--instance", str(path), "gaps", "--format", "csv", *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def _graphql_rows(data: dict) -> list[dict[str, str]]:
    """The GraphQL answer in the CLI's CSV columns and spelling."""
    coverage = data["coverage"]
    districts = {d["key"]: d for d in coverage["districts"]}
    categories = {c["key"]: c for c in coverage["categories"]}

    def text(value) -> str:
        return "" if value is None else str(value)

    out = []
    for cell in coverage["matrix"]:
        district = districts[cell["district"]]
        population = district["population"] or {}
        out.append(
            {
                "district": cell["district"],
                "district_name": district["name"],
                "category": cell["category"],
                "category_label": categories[cell["category"]]["label"],
                "active": text(cell["active"]),
                "verified_within_year": text(cell["verifiedWithinYear"]),
                "all": text(cell["all"]),
                "residents_60_plus": text(population.get("age60Plus")),
                "residents_65_plus": text(population.get("age65Plus")),
                "residents_80_plus": text(population.get("age80Plus")),
                "derived_figures": " ".join(
                    sorted(d["field"] for d in population.get("derived", []))
                ),
                "population_date": text(population.get("date")),
                "population_source": text(population.get("source")),
                "per_1000_60_plus": text(cell["perThousand60Plus"]),
                "per_1000_65_plus": text(cell["perThousand65Plus"]),
                "per_1000_80_plus": text(cell["perThousand80Plus"]),
                "threshold_km": text(categories[cell["category"]]["thresholdKm"]),
                "postcode_areas": text(cell["postcodeAreas"]),
                "beyond_threshold": text(cell["beyondThreshold"]),
                "share_beyond_threshold": text(cell["shareBeyondThreshold"]),
                "missing_qualities": " ".join(cell["missingQualities"]),
            }
        )
    return out


@pytest.mark.parametrize(
    "variables,args",
    [
        ({}, []),
        ({"category": "dementia.groups"}, ["--category", "dementia.groups"]),
        (
            {"district": "hoerde", "asOf": "2025-12-31"},
            ["--district", "hoerde", "--as-of", "2025-12-31"],
        ),
    ],
)
def test_graphql_and_cli_give_the_same_figures(demo_store, client, variables, args):
    _, path = demo_store
    data = client.data(QUERY, **variables)
    assert data["coverage"]["matrix"]
    assert _graphql_rows(data) == _cli_rows(path, *args)


def test_coverage_answers_with_reach_per_postcode_and_the_population_sources(client):
    coverage = client.data(QUERY, category="encounter.meeting")["coverage"]
    assert {c["key"] for c in coverage["categories"]} == {"encounter.meeting"}
    assert coverage["categories"][0]["thresholdKm"] == 2.0
    assert len(coverage["postcodeAreas"]) == 24
    for area in coverage["postcodeAreas"]:
        assert [n["category"] for n in area["nearest"]] == ["encounter.meeting"]
        assert area["nearest"][0]["distanceKm"] is not None
    aplerbeck = next(d for d in coverage["districts"] if d["key"] == "aplerbeck")
    assert aplerbeck["population"]["age65Plus"] == 13699
    assert aplerbeck["population"]["derived"][0]["field"] == "age_65_plus"
    assert "Wikipedia" in aplerbeck["population"]["source"]
    eving = next(d for d in coverage["districts"] if d["key"] == "eving")
    assert eving["population"]["age65Plus"] is None
    assert any("capacity" in note for note in coverage["notes"])


@pytest.mark.parametrize(
    "variables,message",
    [
        (
            {"category": "demenz"},
            "Argument \"category\": has unknown category 'demenz'; allowed: advice",
        ),
        (
            {"district": "nord"},
            "Argument \"district\": has unknown district 'nord'; allowed: aplerbeck",
        ),
        ({"asOf": "2999-01-01"}, 'Argument "asOf": must not be in the future'),
    ],
)
def test_bad_arguments_are_named(client, variables, message):
    error = client.error(QUERY, **variables)
    assert error["message"].startswith(message)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_query_limits_apply(client):
    aliases = " ".join(f"a{i}: coverage {{ instance }}" for i in range(25))
    error = client.error("{ " + aliases + " }")
    assert "aliases" in error["message"]


def test_cached_result_is_refreshed_after_offers_change(demo_store, client):
    directory, _ = demo_store
    first = client.data(QUERY, district="eving", category="dementia.groups")["coverage"]
    again = client.data(QUERY, district="eving", category="dementia.groups")["coverage"]
    assert again == first  # one store state: the cached result
    eving = directory.district_by_key["eving"]
    directory.save(
        [
            Offer(
                title="Demenzcafé Eving (neu)",
                kind="dementia_group",
                categories=["dementia.groups"],
                location=Location(eving.lat, eving.lon, Precision.MANUAL),
                languages=["de"],
            )
        ]
    )
    after = client.data(QUERY, district="eving", category="dementia.groups")["coverage"]
    assert after["storePosition"] > first["storePosition"]
    assert after["matrix"][0]["active"] == first["matrix"][0]["active"] + 1
