"""Tests of the offline gazetteer and its shipped data (directory_core.gazetteer, data/)."""

from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path

import pytest

from directory_core.gazetteer import Gazetteer, GeocodeResult, find_postcodes, name_key
from directory_core.geo import assign_district, distance_km
from directory_core.model import District, Location, Precision

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA = files("directory_core").joinpath("data")
HOERDE = (51.483333, 7.5)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer()


def _read(resource: object) -> list[dict[str, str]]:
    with resource.open(encoding="utf-8", newline="") as f:  # type: ignore[attr-defined]
        return list(csv.DictReader(f))


# --- postcodes -----------------------------------------------------------------------


def test_postcode_44263(gazetteer: Gazetteer) -> None:
    result = gazetteer.postcode("44263")
    assert result == GeocodeResult(
        51.4847, 7.4996, "postcode", "44263 Dortmund (Postleitzahl, Mittelpunkt)", "gazetteer"
    )
    assert distance_km(result.lat, result.lon, 51.4847, 7.4996) < 0.01


def test_postcode_accepts_int_and_whitespace(gazetteer: Gazetteer) -> None:
    assert gazetteer.postcode(" 44135 ") == gazetteer.postcode(44135)
    result = gazetteer.postcode(1067)  # Dresden, a leading zero
    assert result is not None and result.label.startswith("01067 Dresden ")


@pytest.mark.parametrize("plz", ["99999", "00000", "4426", "442630", "abcde", ""])
def test_unknown_postcode_is_none(gazetteer: Gazetteer, plz: str) -> None:
    assert gazetteer.postcode(plz) is None


def test_placeholder_postcodes_share_a_point_and_say_so(gazetteer: Gazetteer) -> None:
    results = [gazetteer.postcode(p) for p in ("44289", "44329", "44357")]
    assert {(r.lat, r.lon) for r in results if r} == {(51.5161, 7.4683)}
    for result in results:
        assert result is not None and "Platzhalterpunkt" in result.label


def test_bochum_postcode(gazetteer: Gazetteer) -> None:
    result = gazetteer.postcode("44801")
    assert result is not None
    assert (result.lat, result.lon, result.label) == (
        51.4833,
        7.2167,
        "44801 Bochum (Postleitzahl, Mittelpunkt)",
    )


def test_postcodes_in_city(gazetteer: Gazetteer) -> None:
    dortmund = gazetteer.postcodes_in("Dortmund")
    assert len(dortmund) == 24  # 27 minus the three on the shared placeholder point
    assert dortmund["44263"] == gazetteer.postcode("44263")
    assert "44289" not in dortmund
    assert len(gazetteer.postcodes_in("dortmund", include_shared_points=True)) == 27
    assert len(gazetteer.postcodes_in("Bochum")) == 18
    assert gazetteer.postcodes_in("Nirgendwo") == {}


def test_find_postcodes() -> None:
    assert find_postcodes("Hörder Bahnhofstraße 16, 44263 Dortmund") == ["44263"]
    assert find_postcodes("D-44135 Dortmund") == ["44135"]
    assert find_postcodes("Tel. 0231 502939, 123456") == []


# --- districts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Hörde",
        "hoerde",
        "HÖRDE",
        "Horde",
        "Dortmund-Hörde",
        "dortmund hoerde",
        "Hörde (Dortmund)",
        "Hörde, Dortmund",
        "Stadtbezirk Hörde",
        "  Ho\u0308rde ",  # decomposed umlaut
    ],
)
def test_district_spellings(gazetteer: Gazetteer, name: str) -> None:
    result = gazetteer.district(name)
    assert result is not None
    assert (result.lat, result.lon) == HOERDE
    assert result.precision == "district"
    assert result.label == "Dortmund-Hörde (Stadtbezirk, Bezugspunkt)"
    assert result.source == "gazetteer"


def test_district_city_filter(gazetteer: Gazetteer) -> None:
    assert gazetteer.district("Hörde", city="Dortmund") is not None
    assert gazetteer.district("Hörde", city="dortmund") is not None
    assert gazetteer.district("Hörde", city="Bochum") is None


def test_district_names_with_city_prefix(gazetteer: Gazetteer) -> None:
    ost = gazetteer.district("Bochum-Ost")
    assert ost is not None and (ost.lat, ost.lon) == (51.470556, 7.297778)
    assert ost.label == "Bochum-Ost (Stadtbezirk, Bezugspunkt)"
    assert gazetteer.district("Ost", city="Bochum") == ost
    assert gazetteer.district("Ost") == ost  # the only "Ost" without another prefix
    assert gazetteer.district("Lütgendortmund") == gazetteer.district("luetgendortmund")


def test_district_without_shipped_coordinates(gazetteer: Gazetteer) -> None:
    # Bochum-Mitte has no point in the shipped data (NOT FOUND in the sources).
    assert gazetteer.district("Bochum-Mitte") is None
    assert gazetteer.district("Nirgendwo") is None
    assert gazetteer.district("") is None


def test_instance_districts_fill_gaps() -> None:
    mitte = District("mitte", "Bochum-Mitte", 51.4818, 7.2162, point_note="Rathaus")
    gazetteer = Gazetteer([mitte], city="Bochum")
    for name in ("Bochum-Mitte", "Mitte", "mitte", "bochum mitte"):
        result = gazetteer.district(name)
        assert result is not None, name
        assert (result.lat, result.lon) == (51.4818, 7.2162)
    assert gazetteer.district("Mitte", city="Dortmund") is None
    assert gazetteer.search("Bochum-Mitte") == gazetteer.district("Mitte")
    # the shipped points are still there
    assert gazetteer.district("Hörde") is not None


def test_instance_districts_win_over_shipped_points() -> None:
    own = District("hoerde", "Hörde", 51.4870, 7.5020)
    gazetteer = Gazetteer([own], city="Dortmund")
    result = gazetteer.district("Dortmund-Hörde")
    assert result is not None and (result.lat, result.lon) == (51.4870, 7.5020)
    keys = [d.key for d in gazetteer.district_points("Dortmund")]
    assert keys.count("hoerde") == 1 and len(keys) == 12


def test_instance_district_found_by_key() -> None:
    gazetteer = Gazetteer([District("bo-sw", "Bochum-Südwest", 51.45, 7.17)], city="Bochum")
    assert gazetteer.district("bo-sw") == gazetteer.district("Südwest")
    assert gazetteer.district("Suedwest") is not None


def test_district_points_feed_assign_district(gazetteer: Gazetteer) -> None:
    dortmund = gazetteer.district_points("Dortmund")
    assert len(dortmund) == 12
    assert all(d.polygon is None and "Wikipedia" in d.point_note for d in dortmund)
    district = assign_district(51.4833, 7.5, dortmund)
    assert district is not None and (district.key, district.name) == ("hoerde", "Hörde")
    assert [d.name for d in gazetteer.district_points("Bochum")] == ["Bochum-Ost"]


def test_name_key() -> None:
    assert name_key("Dortmund-Hörde") == name_key("dortmund  hoerde") == "dortmund-hoerde"
    assert name_key("Lütgendortmund") == "luetgendortmund"
    assert name_key("Straße") == "strasse"


# --- free-text search ----------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("44263 Dortmund", (51.4847, 7.4996)),
        ("Hörder Bahnhofstraße 16, 44263 Dortmund", (51.4847, 7.4996)),
        ("44263", (51.4847, 7.4996)),
        ("44135 Dortmund", (51.5125, 7.477)),
        ("Königswall 15, D-44137 Dortmund", (51.5097, 7.4601)),
    ],
)
def test_search_postcode(gazetteer: Gazetteer, query: str, expected: tuple[float, float]) -> None:
    result = gazetteer.search(query)
    assert result is not None
    assert (result.lat, result.lon) == expected
    assert result.precision == Precision.POSTCODE.value


@pytest.mark.parametrize(
    "query", ["Dortmund-Hörde", "Hörde", "Hörde, Dortmund", "99999 Hörde", "Musterweg 1, Hörde"]
)
def test_search_district(gazetteer: Gazetteer, query: str) -> None:
    result = gazetteer.search(query)
    assert result is not None
    assert (result.lat, result.lon, result.precision) == (*HOERDE, "district")


@pytest.mark.parametrize(
    "query",
    ["Bochum", "Dortmund", "", "   ", "Nirgendwo", "99999 Nirgendwo", "Hörder Bahnhofstraße 16"],
)
def test_search_unresolved(gazetteer: Gazetteer, query: str) -> None:
    assert gazetteer.search(query) is None


# --- GeocodeResult -------------------------------------------------------------------


def test_geocode_result_to_location() -> None:
    result = GeocodeResult(51.4847, 7.4996, "postcode", "44263 Dortmund")
    assert result.to_location() == Location(51.4847, 7.4996, Precision.POSTCODE)


def test_geocode_result_validates() -> None:
    with pytest.raises(ValueError, match="precision must be one of"):
        GeocodeResult(51.0, 7.0, "city", "Bochum")
    with pytest.raises(ValueError, match="source must be one of"):
        GeocodeResult(51.0, 7.0, "postcode", "x", source="google")
    with pytest.raises(ValueError, match="lat must be between -90 and 90, got 451.0"):
        GeocodeResult(451.0, 7.0, "postcode", "x")


# --- the shipped data ----------------------------------------------------------------


def test_shipped_postcodes_are_complete() -> None:
    rows = _read(DATA.joinpath("plz_de.csv"))
    assert len(rows) == 8310
    assert list(rows[0]) == ["plz", "places", "community", "lat", "lon", "quality_flag"]
    assert sum(1 for r in rows if r["quality_flag"]) == 505


def test_shipped_districts() -> None:
    rows = _read(DATA.joinpath("stadtbezirke.csv"))
    assert [r["city"] for r in rows].count("Dortmund") == 12
    assert [r["city"] for r in rows].count("Bochum") == 6
    assert sum(1 for r in rows if r["lat"]) == 13


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="shared/data is not available")
def test_shipped_data_matches_shared_sources() -> None:
    source = {r["plz"]: r for r in _read(SHARED_DATA / "plz_de_centroids.csv")}
    for row in _read(DATA.joinpath("plz_de.csv")):
        assert {k: source[row["plz"]][k] for k in row} == row
    districts = _read(SHARED_DATA / "stadtbezirke_dortmund_bochum.csv")
    shipped = _read(DATA.joinpath("stadtbezirke.csv"))
    assert [{k: d[k] for k in shipped[0]} for d in districts] == shipped


def test_attribution_quotes_the_required_texts() -> None:
    text = DATA.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "Postal code data © GeoNames (geonames.org), CC BY 4.0, converted by zauberware." in text
    assert "Source: Wikipedia (de), article …, CC BY-SA" in text
    assert "1–5 km" in text
    assert "44289, 44329 and 44357" in text
