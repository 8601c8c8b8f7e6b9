"""Tests of the pure geographic helpers in directory_core.geo."""

from __future__ import annotations

import math

import pytest

from directory_core.geo import (
    GREAT_CIRCLE_TOLERANCE,
    assign_district,
    distance_km,
    geodesic_km,
    great_circle_relative_error,
    point_in_polygon,
    validate_lat_lon,
)
from directory_core.model import District

# Station coordinates from the Wikipedia infoboxes (Dortmund Hbf 51°31'3"N 7°27'32"E,
# Bochum Hbf 51°28'42.6"N 7°13'22"E).
DORTMUND_HBF = (51.5175, 7.45889)
BOCHUM_HBF = (51.478506, 7.222781)

# The twelve Dortmund Stadtbezirke, Wikipedia infobox points (shared/data).
DORTMUND = [
    District("innenstadt-west", "Innenstadt-West", 51.513889, 7.465278),
    District("innenstadt-nord", "Innenstadt-Nord", 51.529167, 7.471667),
    District("innenstadt-ost", "Innenstadt-Ost", 51.511667, 7.493889),
    District("eving", "Eving", 51.55, 7.466667),
    District("scharnhorst", "Scharnhorst", 51.55, 7.533333),
    District("brackel", "Brackel", 51.516667, 7.566667),
    District("aplerbeck", "Aplerbeck", 51.491667, 7.566667),
    District("hoerde", "Hörde", 51.483333, 7.5),
    District("hombruch", "Hombruch", 51.475833, 7.439444),
    District("luetgendortmund", "Lütgendortmund", 51.5, 7.35),
    District("huckarde", "Huckarde", 51.533333, 7.4),
    District("mengede", "Mengede", 51.574722, 7.385),
]


def test_distance_dortmund_hbf_to_bochum_hbf() -> None:
    # 0.236° of longitude at 51.5° N is 16.4 km, 0.039° of latitude 4.3 km: about 16.9 km.
    assert distance_km(*DORTMUND_HBF, *BOCHUM_HBF) == pytest.approx(16.91, abs=0.05)
    assert geodesic_km(*DORTMUND_HBF, *BOCHUM_HBF) == pytest.approx(16.96, abs=0.05)


def test_distance_is_symmetric_and_zero_for_same_point() -> None:
    there = distance_km(*DORTMUND_HBF, *BOCHUM_HBF)
    assert distance_km(*BOCHUM_HBF, *DORTMUND_HBF) == pytest.approx(there, rel=1e-12)
    assert distance_km(*DORTMUND_HBF, *DORTMUND_HBF) == 0.0
    assert great_circle_relative_error(*DORTMUND_HBF, *DORTMUND_HBF) == 0.0


def test_one_degree_of_latitude() -> None:
    assert distance_km(51.0, 7.0, 52.0, 7.0) == pytest.approx(111.19, abs=0.01)
    assert geodesic_km(51.0, 7.0, 52.0, 7.0) == pytest.approx(111.26, abs=0.05)


@pytest.mark.parametrize(
    "a, b",
    [
        (DORTMUND_HBF, BOCHUM_HBF),
        ((51.483333, 7.5), (51.574722, 7.385)),  # Hörde - Mengede (north-south)
        ((51.5, 7.35), (51.516667, 7.566667)),  # Lütgendortmund - Brackel (east-west)
        ((51.4847, 7.4996), (51.4856, 7.5366)),  # two postcode points 2.6 km apart
    ],
)
def test_great_circle_agrees_with_geodesic_in_the_city(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    error = great_circle_relative_error(*a, *b)
    assert error < GREAT_CIRCLE_TOLERANCE == 0.005
    assert math.isclose(distance_km(*a, *b), geodesic_km(*a, *b), rel_tol=0.005)


def test_validate_lat_lon_accepts_and_converts() -> None:
    assert validate_lat_lon(51, 7) == (51.0, 7.0)
    assert validate_lat_lon(-90, 180) == (-90.0, 180.0)


@pytest.mark.parametrize(
    "lat, lon, message",
    [
        (200, 7, "lat must be between -90 and 90, got 200"),
        (-90.5, 7, "lat must be between -90 and 90, got -90.5"),
        (51, 181, "lon must be between -180 and 180, got 181"),
        (51, -200.25, "lon must be between -180 and 180, got -200.25"),
        (math.nan, 7, "lat must be a finite number, got nan"),
        (51, math.inf, "lon must be a finite number, got inf"),
        ("51.5", 7, "lat must be a number, got '51.5'"),
        (51, None, "lon must be a number, got None"),
        (True, 7, "lat must be a number, got True"),
    ],
)
def test_validate_lat_lon_messages(lat: object, lon: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_lat_lon(lat, lon)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_distances_reject_bad_coordinates() -> None:
    with pytest.raises(ValueError, match="lat must be between -90 and 90, got 200"):
        distance_km(200, 7, 51, 7)
    with pytest.raises(ValueError, match="lon must be between -180 and 180, got 190"):
        geodesic_km(51, 7, 51, 190)


# A 2 x 2 km-ish square around Hörde with a hole in the middle, (lat, lon).
OUTER = [(51.47, 7.48), (51.47, 7.52), (51.50, 7.52), (51.50, 7.48)]
HOLE = [(51.48, 7.49), (51.48, 7.51), (51.49, 7.51), (51.49, 7.49), (51.48, 7.49)]


def test_point_in_polygon_outer_ring() -> None:
    assert point_in_polygon(51.475, 7.485, [OUTER])
    assert point_in_polygon(51.485, 7.50, [OUTER])
    assert not point_in_polygon(51.46, 7.50, [OUTER])  # south
    assert not point_in_polygon(51.485, 7.53, [OUTER])  # east
    assert not point_in_polygon(51.485, 7.47, [OUTER])  # west


def test_point_in_polygon_hole_is_outside() -> None:
    assert not point_in_polygon(51.485, 7.50, [OUTER, HOLE])
    assert point_in_polygon(51.475, 7.485, [OUTER, HOLE])
    assert point_in_polygon(51.495, 7.515, [OUTER, HOLE])


def test_point_in_polygon_closed_and_open_rings_agree() -> None:
    closed = [*OUTER, OUTER[0]]
    for lat, lon in [(51.475, 7.485), (51.46, 7.50), (51.499, 7.519)]:
        assert point_in_polygon(lat, lon, [closed]) == point_in_polygon(lat, lon, [OUTER])


def test_point_in_polygon_concave() -> None:
    # An "L": the square's north-east quarter is cut away.
    ell = [(0, 0), (0, 2), (1, 2), (1, 1), (2, 1), (2, 0)]
    assert point_in_polygon(0.5, 1.5, [ell])
    assert point_in_polygon(1.5, 0.5, [ell])
    assert not point_in_polygon(1.5, 1.5, [ell])


def test_point_in_polygon_degenerate() -> None:
    assert not point_in_polygon(0, 0, [])
    assert not point_in_polygon(0, 0, [[(0, 0), (1, 1)]])


@pytest.mark.parametrize(
    "lat, lon, expected",
    [
        (51.4833, 7.5, "hoerde"),
        (51.4847, 7.4996, "hoerde"),  # postcode 44263
        (51.487778, 7.499722, "hoerde"),  # Bahnhof Dortmund-Hörde
        (*DORTMUND_HBF, "innenstadt-west"),
        (51.5724, 7.3892, "mengede"),  # postcode 44359
        (51.501, 7.3371, "luetgendortmund"),  # postcode 44388
        (51.5301, 7.5972, "brackel"),  # postcode 44319
    ],
)
def test_assign_district_nearest_point(lat: float, lon: float, expected: str) -> None:
    district = assign_district(lat, lon, DORTMUND)
    assert district is not None and district.key == expected


def test_assign_district_empty_list() -> None:
    assert assign_district(51.5, 7.5, []) is None


def test_assign_district_polygon_wins_over_nearest_point() -> None:
    # The point 51.475, 7.485 is nearest to Hörde's point, but lies in Hombruch's polygon.
    hombruch = District("hombruch", "Hombruch", 51.475833, 7.439444, polygon=[OUTER])
    hoerde = District("hoerde", "Hörde", 51.483333, 7.5)
    assert assign_district(51.475, 7.485, [hoerde, hombruch]) is hombruch


def test_assign_district_hole_and_outside_fall_back_to_nearest_point() -> None:
    hombruch = District("hombruch", "Hombruch", 51.475833, 7.439444, polygon=[OUTER, HOLE])
    hoerde = District("hoerde", "Hörde", 51.483333, 7.5)
    assert assign_district(51.485, 7.50, [hombruch, hoerde]) is hoerde  # in the hole
    assert assign_district(51.51, 7.44, [hombruch, hoerde]) is hombruch  # outside, nearer


def test_assign_district_rejects_bad_point() -> None:
    with pytest.raises(ValueError, match="lon must be between -180 and 180, got 999"):
        assign_district(51.5, 999, DORTMUND)


def test_nearest_km_is_the_first_minimum_of_haversine_km() -> None:
    import random

    from directory_search.measures import haversine_km, nearest_km

    rng = random.Random(7)
    points = [(rng.uniform(51.3, 51.6), rng.uniform(7.1, 7.7)) for _ in range(18)]
    points.append(points[3])  # a tie: the first one wins, as with min()
    for _ in range(2000):
        lat, lon = rng.uniform(51.2, 51.7), rng.uniform(7.0, 7.8)
        distances = [haversine_km(lat, lon, p_lat, p_lon) for p_lat, p_lon in points]
        assert nearest_km(lat, lon, points) == distances.index(min(distances))
    assert nearest_km(51.5, 7.4, [points[3]] * 3) == 0
    assert nearest_km(51.5, 7.4, []) is None
