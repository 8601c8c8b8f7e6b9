"""Instance files: the shipped ones load, mistakes are reported with their place."""

from __future__ import annotations

import pytest

from directory_core.instance import InstanceError, load_instance, parse_instance


@pytest.mark.parametrize("name,districts", [("dortmund", 12), ("bochum", 6)])
def test_shipped_instances_load(name, districts):
    instance = load_instance(f"instances/{name}.toml")
    assert instance.key == name
    assert len(instance.districts) == districts
    assert instance.search.backend == "embedded"
    assert instance.store_url.endswith(f"{name}.sqlite")
    assert "dementia.groups" in instance.taxonomy()


def test_two_instances_never_share_a_store_or_index():
    dortmund = load_instance("instances/dortmund.toml")
    bochum = load_instance("instances/bochum.toml")
    assert dortmund.store_url != bochum.store_url
    assert dortmund.search.index_prefix != bochum.search.index_prefix


def test_errors_name_file_and_place(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        """
[instance]
name = "Testhausen"
[search]
backend = "solr"
[limits]
max_radius_km = -3
[[districts]]
name = "Mitte"
lat = 200
lon = "seven"
[[carriers]]
key = "Bad Key"
name = "X"
""",
        encoding="utf-8",
    )
    with pytest.raises(InstanceError) as info:
        load_instance(path)
    message = str(info.value)
    assert "search.backend: must be 'embedded' or 'elasticsearch', got 'solr'" in message
    assert "limits.max_radius_km: must be positive" in message
    assert "districts[0].lat: must be between -90 and 90, got 200" in message
    assert "districts[0].lon: must be a float, got 'seven'" in message
    assert "carriers[0].key" in message
    assert str(path) in message


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(InstanceError, match="does not exist"):
        load_instance(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[instance\nname=", encoding="utf-8")
    with pytest.raises(InstanceError, match="not valid TOML"):
        load_instance(broken)


def test_categories_can_be_extended_and_cycles_are_refused():
    instance = parse_instance(
        {
            "instance": {"name": "X"},
            "categories": {
                "extra": [{"key": "dementia.sport", "label": "Sport", "parent": "dementia"}]
            },
        }
    )
    assert "dementia.sport" in instance.taxonomy().descendants("dementia")
    with pytest.raises(InstanceError, match="unknown parent"):
        parse_instance(
            {
                "instance": {"name": "X"},
                "categories": {"extra": [{"key": "a", "label": "A", "parent": "zz"}]},
            }
        )


def test_environment_overrides_store_url(monkeypatch):
    monkeypatch.setenv("DIRECTORY_STORE_URL", "sqlite:////tmp/other.sqlite")
    assert load_instance("instances/dortmund.toml").store_url == "sqlite:////tmp/other.sqlite"


def test_search_synonyms_are_read_and_checked():
    instance = parse_instance(
        {"instance": {"name": "X"}, "search": {"synonyms": ["Plausch, Klönschnack"]}}
    )
    assert instance.search.synonyms == ("Plausch, Klönschnack",)
    with pytest.raises(InstanceError) as caught:
        parse_instance(
            {"instance": {"name": "X"}, "search": {"synonyms": ["ok, fine", "alone", 3]}}
        )
    message = str(caught.value)
    assert "search.synonyms[2]: 'alone' needs two phrases" in message
    assert "search.synonyms[3]: must be a string" in message
