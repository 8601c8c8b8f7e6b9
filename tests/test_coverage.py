"""The gap analysis: supply matrix against SQL counts, reach against geopy brute force,
a city with one known gap, missing qualities, figures as of an earlier date, the cache."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from geopy.distance import geodesic, great_circle
from geopy.point import Point

from directory_core import tables as t
from directory_core.coverage import Coverage, compute_coverage, coverage_for
from directory_core.coverage_reach import postcode_points
from directory_core.demo import load_demo
from directory_core.directory import Directory, open_directory
from directory_core.geo import GREAT_CIRCLE_TOLERANCE
from directory_core.model import Location, Offer, Precision, Schedule, ScheduleRule

from .conftest import dortmund_instance_at

TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """The Dortmund demo data set with 40 offers archived and 60 verified (half of them
    more than a year ago); read-only."""
    path = tmp_path_factory.mktemp("demo") / "dortmund.sqlite"
    opened = open_directory(dortmund_instance_at(path))
    try:
        load_demo(opened, samples=400)
        ids = ids_of(opened)
        opened.archive(ids[:40])
        with opened.store.transaction() as conn:
            for i, offer_id in enumerate(ids[20:80]):
                when = (
                    datetime(2026, 6, 1, tzinfo=UTC) if i % 2 else datetime(2025, 6, 1, tzinfo=UTC)
                )
                conn.execute(
                    sa.update(t.offers).where(t.offers.c.id == offer_id).values(verified_at=when)
                )
        yield opened
    finally:
        opened.close()


def ids_of(directory: Directory) -> list[str]:
    return [i for batch in directory.store.iter_offer_ids() for i in batch]


def _brute_nearest(offers: list[Offer], directory: Directory, lat: float, lon: float):
    """Per category: the geopy great-circle and geodesic distance to the nearest active
    offer, over every offer (no index)."""
    here = Point(lat, lon)
    circle, ellipsoid = great_circle(), geodesic()
    best: dict[str, tuple[float, float]] = {}
    for offer in offers:
        if offer.status != "active" or offer.location is None:
            continue
        there = Point(offer.location.lat, offer.location.lon)
        km = circle.measure(here, there)
        exact = ellipsoid.measure(here, there)
        for key in directory.taxonomy.with_ancestors(offer.categories):
            old = best.get(key)
            best[key] = (min(old[0], km), min(old[1], exact)) if old else (km, exact)
    return best


def test_reach_agrees_with_geopy_brute_force_on_demo_data(demo):
    coverage = compute_coverage(demo, today=TODAY)
    offers = list(demo.get_many(ids_of(demo)).values())
    assert len(coverage.postcodes) == 24
    checked = 0
    for area in coverage.postcodes:
        brute = _brute_nearest(offers, demo, area.point.lat, area.point.lon)
        for category in coverage.categories:
            found = area.nearest[category.key]
            if category.key not in brute:
                assert found.distance_km is None and found.offer_id is None
                continue
            km, exact = brute[category.key]
            assert found.distance_km == pytest.approx(km, abs=0.0006), (area.point, category)
            assert abs(found.distance_km - exact) <= GREAT_CIRCLE_TOLERANCE * exact + 0.001
            checked += 1
    assert checked > 24 * 20
    # the shares per district follow from those distances and the thresholds
    brute_by_code = {
        a.point.code: _brute_nearest(offers, demo, a.point.lat, a.point.lon)
        for a in coverage.postcodes
    }
    thresholds = {c.key: c.threshold_km for c in coverage.categories}
    for cell in coverage.cells:
        codes = [a.point.code for a in coverage.postcodes if a.point.district == cell.district]
        beyond = sum(
            brute_by_code[code].get(cell.category, (math.inf,))[0] > thresholds[cell.category]
            for code in codes
        )
        assert (cell.postcode_areas, cell.beyond) == (len(codes), beyond)
        assert cell.share_beyond == (round(beyond / len(codes), 4) if codes else None)
    assert any(c.beyond for c in coverage.cells) and any(not c.beyond for c in coverage.cells)


def _sql_counts(directory: Directory, reference: date) -> dict[tuple[str, str], tuple]:
    """(district, category) -> (active, verified within a year, all), counted in SQL."""
    cutoff = datetime.combine(reference + timedelta(days=1), time(), tzinfo=UTC)
    counts = {}
    with directory.store.engine.connect() as conn:
        for district in directory.districts:
            for category in directory.taxonomy:
                ids = sa.select(t.offer_categories.c.offer_id).where(
                    t.offer_categories.c.category.in_(directory.taxonomy.descendants(category.key))
                )
                every = sa.select(sa.func.count()).where(
                    t.offers.c.district == district.key, t.offers.c.id.in_(ids)
                )
                active = every.where(t.offers.c.status == "active")
                verified = active.where(
                    t.offers.c.verified_at >= cutoff - timedelta(days=365),
                    t.offers.c.verified_at < cutoff,
                )
                counts[(district.key, category.key)] = tuple(
                    conn.execute(q).scalar_one() for q in (active, verified, every)
                )
    return counts


def test_matrix_agrees_with_sql_counts_from_the_store(demo):
    coverage = compute_coverage(demo, today=TODAY)
    expected = _sql_counts(demo, TODAY)
    assert len(coverage.cells) == len(expected) == 12 * len(demo.taxonomy)
    for cell in coverage.cells:
        assert (cell.active, cell.verified, cell.all) == expected[(cell.district, cell.category)]
    assert sum(c.all - c.active for c in coverage.cells) > 0  # archived ones were seen
    assert sum(c.verified for c in coverage.cells) > 0


def test_per_thousand_only_where_the_older_population_is_known(demo):
    coverage = compute_coverage(demo, today=TODAY)
    by_key = {d.key: d for d in coverage.districts}
    for cell in coverage.cells:
        population = by_key[cell.district].population
        for band, value in cell.per_thousand.items():
            residents = population.band(band) if population else None
            if residents is None:
                assert value is None  # absent, not zero
            else:
                assert value == round(cell.active * 1000 / residents, 3)
    aplerbeck = next(c for c in coverage.cells if (c.district, c.category) == ("aplerbeck", "care"))
    assert aplerbeck.per_thousand["age_65_plus"] is not None
    assert aplerbeck.per_thousand["age_60_plus"] is None
    eving = next(c for c in coverage.cells if (c.district, c.category) == ("eving", "care"))
    assert eving.per_thousand == {"age_60_plus": None, "age_65_plus": None, "age_80_plus": None}


# -- a city with a known gap -----------------------------------------------------------------

GAP_POSTCODE = "44388"  # Lütgendortmund, at the western edge of the city


def _toward(origin, target, km: float) -> tuple[float, float]:
    """The point ``km`` from ``origin`` in the direction of ``target`` (flat earth: the
    test checks the resulting distances with geopy)."""
    north = (target.lat - origin.lat) * 111.2
    east = (target.lon - origin.lon) * 111.2 * math.cos(math.radians(origin.lat))
    scale = km / math.hypot(north, east)
    return (
        round(origin.lat + north * scale / 111.2, 6),
        round(origin.lon + east * scale / (111.2 * math.cos(math.radians(origin.lat))), 6),
    )


def _group(title: str, lat: float, lon: float, **fields) -> Offer:
    fields.setdefault("categories", ["dementia.groups"])
    return Offer(
        title=title,
        kind=fields.pop("kind", "dementia_group"),
        location=Location(lat, lon, Precision.MANUAL),
        languages=fields.pop("languages", ["de"]),
        **fields,
    )


@pytest.fixture
def gap_city(directory: Directory) -> Directory:
    """Dortmund with one dementia group per postcode area, each within 5 km of its area,
    none within 5 km of 44388; plus an archived group and a meeting place at 44388."""
    points, _ = postcode_points("Dortmund", directory.districts)
    gap = next(p for p in points if p.code == GAP_POSTCODE)
    offers = []
    for p in points:
        if p.code == GAP_POSTCODE:
            continue
        lat, lon = p.lat, p.lon
        if great_circle((gap.lat, gap.lon), (lat, lon)).km <= 5.5:
            lat, lon = _toward(gap, p, 5.6)  # push it out of the gap's reach, past p
        offers.append(_group(f"Demenzcafé {p.code}", lat, lon))
    offers.append(_group("Demenzcafé (geschlossen)", gap.lat, gap.lon))
    offers.append(
        _group(
            "Begegnungsstätte",
            gap.lat,
            gap.lon,
            kind="meeting_place",
            categories=["encounter.meeting"],
        )
    )
    directory.save(offers)
    directory.archive([offers[-2].id])
    return directory


def test_a_city_with_a_known_gap_finds_exactly_that_gap(gap_city):
    coverage = compute_coverage(gap_city, today=TODAY)
    threshold = next(c.threshold_km for c in coverage.categories if c.key == "dementia.groups")
    assert threshold == 5.0
    far = [
        a.point.code
        for a in coverage.postcodes
        if a.nearest["dementia.groups"].distance_km > threshold
    ]
    assert far == [GAP_POSTCODE]
    gap = next(a for a in coverage.postcodes if a.point.code == GAP_POSTCODE)
    assert 5.0 < gap.nearest["dementia.groups"].distance_km < 6.0
    assert gap.nearest["encounter.meeting"].distance_km == 0.0  # other categories reach it
    cells = [c for c in coverage.cells if c.category == "dementia.groups" and c.beyond]
    assert [(c.district, c.beyond, c.postcode_areas) for c in cells] == [(gap.point.district, 1, 1)]
    assert cells[0].share_beyond == 1.0


# -- missing qualities ---------------------------------------------------------------------


def test_missing_qualities_per_district_and_category(directory):
    hoerde = directory.district_by_key["hoerde"]
    evening = Schedule(rules=[ScheduleRule("tue", "17:00", "19:30")])
    saturday = Schedule(rules=[ScheduleRule("sat", "10:00", "12:00")])
    directory.save(
        [
            _group("A", hoerde.lat, hoerde.lon, languages=["de", "tr"], schedule=evening),
            _group("B", hoerde.lat, hoerde.lon, schedule=saturday, channels=["home_visit"]),
        ]
    )
    # everything the two lack: wheelchair access, free of charge (B is not), Polish ...
    directory.save([_group("C", hoerde.lat, hoerde.lon, languages=["pl"])])
    offers = directory.get_many(ids_of(directory))
    for offer in offers.values():
        offer.cost.free_of_charge = False
        offer.accessibility.wheelchair = False
    directory.save(list(offers.values()))
    coverage = compute_coverage(directory, today=TODAY)
    cell = next(
        c for c in coverage.cells if (c.district, c.category) == ("hoerde", "dementia.groups")
    )
    assert cell.active == 3
    assert cell.missing == ("free", "wheelchair", "language:ru", "language:ar")
    parent = next(c for c in coverage.cells if (c.district, c.category) == ("hoerde", "dementia"))
    assert parent.missing == cell.missing  # a parent category counts its children's offers
    other = next(c for c in coverage.cells if (c.district, c.category) == ("eving", "dementia"))
    assert other.active == 0 and "free" in other.missing


# -- as of an earlier date -------------------------------------------------------------------


def _set_times(directory: Directory, offer: Offer, created: date, updated: date | None = None):
    with directory.store.transaction() as conn:
        conn.execute(
            sa.update(t.offers)
            .where(t.offers.c.id == offer.id)
            .values(
                created_at=datetime.combine(created, time(12), tzinfo=UTC),
                updated_at=datetime.combine(updated or created, time(12), tzinfo=UTC),
            )
        )


def test_figures_as_of_an_earlier_date_from_created_and_archived_times(directory):
    hoerde = directory.district_by_key["hoerde"]
    old = _group("seit 2024", hoerde.lat - 0.02, hoerde.lon)  # about 2.2 km south
    gone = _group("2025 geschlossen", hoerde.lat, hoerde.lon)
    new = _group("neu 2026", hoerde.lat, hoerde.lon + 0.001)
    directory.save([old, gone, new])
    directory.archive([gone.id])
    _set_times(directory, old, date(2024, 1, 10))
    _set_times(directory, gone, date(2024, 6, 1), date(2025, 3, 1))
    _set_times(directory, new, date(2026, 2, 1))

    def figures(as_of):
        coverage = compute_coverage(directory, as_of, today=TODAY)
        cell = next(
            c for c in coverage.cells if (c.district, c.category) == ("hoerde", "dementia.groups")
        )
        area = next(a for a in coverage.postcodes if a.point.code == "44263")
        return cell.active, cell.all, area.nearest["dementia.groups"]

    before = figures(date(2024, 1, 9))
    assert before[:2] == (0, 0) and before[2].offer_id is None
    assert figures(date(2024, 1, 10))[2].offer_id == old.id
    active, every, nearest = figures(date(2024, 12, 31))
    assert (active, every, nearest.offer_id) == (2, 2, gone.id)  # archived now, open then
    active, every, nearest = figures(date(2025, 12, 31))
    assert (active, every, nearest.offer_id) == (1, 2, old.id)  # the gap opened in 2025
    active, every, nearest = figures(None)
    assert (active, every, nearest.offer_id) == (2, 3, new.id)  # and closed in 2026
    with pytest.raises(ValueError, match="must not be in the future"):
        compute_coverage(directory, date(2026, 11, 27), today=TODAY)


# -- cache ---------------------------------------------------------------------------------


def test_cached_per_store_state_and_refreshed_when_offers_change(directory):
    hoerde = directory.district_by_key["hoerde"]
    directory.save([_group("A", hoerde.lat, hoerde.lon)])
    first = coverage_for(directory, today=TODAY)
    assert coverage_for(directory, today=TODAY) is first  # no change: the same result
    assert coverage_for(directory, date(2026, 1, 1), today=TODAY) is not first
    directory.save([_group("B", hoerde.lat, hoerde.lon)])
    second = coverage_for(directory, today=TODAY)
    assert second is not first and second.store_position > first.store_position

    def active(coverage: Coverage) -> int:
        return next(
            c.active
            for c in coverage.cells
            if (c.district, c.category) == ("hoerde", "dementia.groups")
        )

    assert (active(first), active(second)) == (1, 2)


def test_select_keeps_one_category_and_district(demo):
    coverage = compute_coverage(demo, today=TODAY).select("dementia", "hoerde")
    assert {(c.district, c.category) for c in coverage.cells} == {("hoerde", "dementia")}
    assert [d.key for d in coverage.districts] == ["hoerde"]
    assert {a.point.district for a in coverage.postcodes} == {"hoerde"}
    assert all(set(a.nearest) == {"dementia"} for a in coverage.postcodes)


# -- the server backends ---------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.elasticsearch
def test_matrix_and_reach_on_postgresql_and_elasticsearch():
    """The same proofs with the store in PostgreSQL and reach asked from Elasticsearch."""
    from directory_search.elastic import ElasticsearchBackend

    from . import search_fixtures as fx
    from .stores import fresh_pg_database

    es_url = fx.elasticsearch_url(fx.ES_URL_VARIABLE)
    prefix = fx.unique_prefix("coverage")
    with fresh_pg_database() as url:
        instance = dortmund_instance_at(Path("unused.sqlite"))
        instance = dataclasses.replace(
            instance,
            store_url=url,
            search=dataclasses.replace(
                instance.search, backend="elasticsearch", url=es_url, index_prefix=prefix
            ),
        )
        opened = open_directory(instance)
        try:
            load_demo(opened, samples=150)
            ids = ids_of(opened)
            opened.archive(ids[:15])
            coverage = compute_coverage(opened, today=TODAY)
            expected = _sql_counts(opened, TODAY)
            for cell in coverage.cells:
                assert (cell.active, cell.verified, cell.all) == expected[
                    (cell.district, cell.category)
                ]
            offers = list(opened.get_many(ids_of(opened)).values())
            for area in coverage.postcodes:
                brute = _brute_nearest(offers, opened, area.point.lat, area.point.lon)
                for key, found in area.nearest.items():
                    if key not in brute:
                        assert found.offer_id is None
                    else:
                        assert found.distance_km == pytest.approx(brute[key][0], abs=0.0006)
            earlier = compute_coverage(opened, date(2025, 12, 31), today=TODAY)
            assert sum(c.all for c in earlier.cells) == 0  # the demo offers came later
        finally:
            opened.close()
            cleanup = ElasticsearchBackend(es_url, prefix)
            try:
                cleanup.drop()
            finally:
                cleanup.close()
