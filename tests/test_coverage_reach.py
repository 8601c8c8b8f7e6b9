"""Reach at scale: the nearest-offer query of the gap analysis against a geopy brute force
over 100,000 generated documents (archived ones, ones without a place, several at one
address among them), on the embedded backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from geopy.distance import great_circle
from geopy.point import Point

from directory_core.coverage_reach import nearest_offer, postcode_points
from directory_core.instance import load_instance

from . import search_fixtures as fx
from .conftest import DORTMUND_FILE


def test_postcode_points_leave_out_shared_placeholders_and_get_a_district():
    instance = load_instance(DORTMUND_FILE)
    points, left_out = postcode_points("Dortmund", instance.districts)
    assert left_out == ["44289", "44329", "44357"]
    assert len(points) == 24
    assert {p.district for p in points} == {d.key for d in instance.districts}
    hoerde = next(p for p in points if p.code == "44263")
    assert hoerde.district == "hoerde" and "44263" in hoerde.label


@pytest.mark.slow
def test_nearest_offer_agrees_with_brute_force_on_100000_documents(tmp_path: Path):
    docs = fx.generate_documents(100_000, seed=15)
    backend = fx.embedded_factory(tmp_path)
    try:
        for start in range(0, len(docs), 10_000):
            backend.index(docs[start : start + 10_000])
        instance = load_instance(DORTMUND_FILE)
        points, _ = postcode_points("Dortmund", instance.districts)
        categories = [key for key, _, _ in fx.CATEGORY_TREE]
        candidates = [
            (Point(d.location.lat, d.location.lon), d.categories)
            for d in docs
            if d.status == "active" and d.location is not None
        ]
        circle = great_circle()
        checked = 0
        for point in points:
            here = Point(point.lat, point.lon)
            best: dict[str, float] = {}
            for there, keys in candidates:  # geopy, every offer, no index
                km = circle.measure(here, there)
                for key in keys:
                    if km < best.get(key, float("inf")):
                        best[key] = km
            for category in categories:
                found = nearest_offer(backend.search, point, category)
                if category not in best:
                    assert found.offer_id is None
                    continue
                assert found.distance_km == pytest.approx(best[category], abs=0.0006), (
                    point.code,
                    category,
                )
                checked += 1
        assert checked > len(points) * (len(categories) - 2)
    finally:
        backend.close()
