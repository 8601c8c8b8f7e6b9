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


def test_the_instance_keeps_its_name():
    # parse_instance once reused ``name`` as a loop variable over [search] settings
    instance = parse_instance({"instance": {"name": "Seniorenbüro Hörde"}})
    assert (instance.name, instance.key) == ("Seniorenbüro Hörde", "seniorenbuero-hoerde")


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


def test_unknown_keys_are_named_with_their_table_and_the_closest_known_key(tmp_path):
    path = tmp_path / "typos.toml"
    path.write_text(
        """
[instance]
name = "Testhausen"
citty = "Testhausen"
[limts]
max_radius_km = 20
[limits]
max_radius = 20
[search]
backend = "embedded"
[[districts]]
name = "Mitte"
lat = 51.5
lon = 7.4
polygone = [[[51.5, 7.4], [51.6, 7.4], [51.6, 7.5]]]
[[carriers]]
key = "awo"
name = "AWO"
webseite = "https://awo.example"
[categories]
replace_default = true
[plugins]
enable = ["awo"]
[plugins.awo]
carrier = "awo-do"
[importers.csv]
delimiter = ";"
""",
        encoding="utf-8",
    )
    with pytest.raises(InstanceError) as info:
        load_instance(path)
    lines = str(info.value).splitlines()
    expected = [
        "instance.citty: unknown key in [instance]; did you mean 'city'?",
        "limts: unknown table; did you mean 'limits'?",
        "limits.max_radius: unknown key in [limits]; did you mean 'max_radius_km'?",
        "districts[0].polygone: unknown key in [[districts]]; did you mean 'polygon'?",
        "carriers[0].webseite: unknown key in [[carriers]]; did you mean 'website'?",
        "categories.replace_default: unknown key in [categories]; did you mean 'replace_defaults'?",
        "plugins.enable: unknown key in [plugins]; did you mean 'enabled'?",
    ]
    for line in expected:
        assert f"{path}: {line}" in lines
    assert len(lines) == len(expected)  # [plugins.awo] and [importers.csv] are free-form


def test_every_shipped_key_is_known():
    # every key the documented instance files use is read by the parser
    for name in ("dortmund", "bochum"):
        load_instance(f"instances/{name}.toml")


def test_a_key_read_only_under_an_environment_override_is_still_known(monkeypatch, tmp_path):
    monkeypatch.setenv("DIRECTORY_STORE_URL", "sqlite:////tmp/other.sqlite")
    monkeypatch.setenv("DIRECTORY_ELASTICSEARCH_URL", "http://127.0.0.1:1")
    instance = parse_instance(
        {
            "instance": {"name": "X"},
            "store": {"url": "sqlite:///x.sqlite"},
            "search": {"backend": "elasticsearch", "url": "http://es:9200"},
        }
    )
    assert instance.store_url == "sqlite:////tmp/other.sqlite"


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
