"""District populations in the instance file: copied figures with date and source, derived
figures labelled and checked, unknown figures absent."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from directory_core.instance import InstanceError, load_instance, parse_instance

from .helpers import instance_data

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _with_population(tmp_path, population):
    data = instance_data(tmp_path)
    data["districts"] = [dict(data["districts"][0], population=population)]
    return parse_instance(data, source="test.toml")


def test_population_table_is_read_with_date_source_and_derived_label(tmp_path):
    instance = _with_population(
        tmp_path,
        {
            "total": 57315,
            "date": "2023-12-31",
            "source": "Wikipedia (de), Stadtbezirk Hörde",
            "share_65_plus_percent": 22.7,
            "age_65_plus": 13011,
            "derived": {"age_65_plus": "share × total"},
        },
    )
    population = instance.populations["hoerde"]
    assert population.total == 57315
    assert population.band("age_65_plus") == 13011
    assert population.band("age_60_plus") is None  # unknown, not zero
    assert population.is_derived("age_65_plus") and not population.is_derived("total")
    assert population.date == "2023-12-31"


@pytest.mark.parametrize(
    "population,message",
    [
        ({"total": 10, "date": "2020"}, "districts[0].population.source: is required"),
        ({"total": 10, "source": "x"}, "districts[0].population.date: is required"),
        ({"total": -1, "date": "2020", "source": "x"}, "population.total: must be a whole"),
        ({"total": 10.5, "date": "2020", "source": "x"}, "population.total: must be a whole"),
        ({"totl": 10, "date": "2020", "source": "x"}, "population.totl: is not a known key"),
        (
            {
                "total": 1000,
                "date": "2020",
                "source": "x",
                "age_65_plus": 300,
                "share_65_plus_percent": 20.0,
                "derived": {"age_65_plus": "share × total"},
            },
            "population.age_65_plus: is 300, but share_65_plus_percent × total gives 200",
        ),
        (
            {"total": 1000, "date": "2020", "source": "x", "derived": {"age_80_plus": "guess"}},
            "population.derived.age_80_plus: names a figure the table does not give",
        ),
        ({"date": "2020", "source": "x", "share_65_plus_percent": 120}, "must be 0 to 100"),
    ],
)
def test_bad_population_tables_name_the_place(tmp_path, population, message):
    with pytest.raises(InstanceError) as err:
        _with_population(tmp_path, population)
    assert message in str(err.value)


def test_coverage_settings_are_checked(tmp_path):
    data = instance_data(
        tmp_path,
        coverage={"threshold_km": {"demenz": 2, "advice": -1}, "languages": ["xx"], "foo": 1},
    )
    with pytest.raises(InstanceError) as err:
        parse_instance(data, source="test.toml")
    message = str(err.value)
    assert "coverage.threshold_km.demenz: is not a category key" in message
    assert "coverage.threshold_km.advice: must be a positive number" in message
    assert "coverage.languages: has unknown language code 'xx'" in message
    assert "coverage.foo: is not a known key" in message


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="shared/data is not available")
@pytest.mark.parametrize("city", ["Dortmund", "Bochum"])
def test_shipped_instances_carry_the_source_figures_and_nothing_else(city):
    """Every figure in the instance file is the source's, or derived as labelled; a
    district the source has no total for has no population table."""
    instance = load_instance(ROOT / "instances" / f"{city.lower()}.toml")
    names = {d.name: d.key for d in instance.districts}
    with (SHARED_DATA / "stadtbezirke_altersstruktur.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["city"] == city]
    with (SHARED_DATA / "stadtbezirke_dortmund_bochum.csv").open(encoding="utf-8") as f:
        older = {r["stadtbezirk"]: r for r in csv.DictReader(f) if r["city"] == city}
    assert len(rows) == len(instance.districts)
    for row in rows:
        key = names[row["stadtbezirk"]]
        population = instance.populations.get(key)
        fallback = older[row["stadtbezirk"]]  # the older file has a few more totals
        total = row["population_total"] or fallback["population"]
        when = row["reference_date"] or fallback["population_date"]
        if not total:
            assert population is None, key
            continue
        assert population is not None, key
        assert population.total == int(total)
        assert population.date[:4] == when[:4]
        assert population.source
        for band in ("age_60_plus", "age_80_plus"):
            assert population.band(band) is None  # no source has them
        if row["other_band_name"] == "share_65_plus_percent":
            share = float(row["other_band_value"])
            assert population.share_65_plus_percent == share
            assert population.age_65_plus == round(share * int(total) / 100)
            assert population.is_derived("age_65_plus")
        else:
            assert population.age_65_plus is None
            assert not population.derived
