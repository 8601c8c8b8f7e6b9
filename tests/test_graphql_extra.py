"""Custom fields of plugins as typed GraphQL fields and filters."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from directory_app.assembly import create_app
from directory_schema.app import build_schema
from directory_schema.extra import ExtraTypes

from directory_core.custom_fields import CustomField
from directory_core.directory import open_directory
from directory_core.hookspecs import hookimpl
from directory_core.model import Contact, Location, Offer
from directory_core.plugins import PluginError

from .conftest import dortmund_instance_at
from .import_fixtures import load_plugin

SNAPSHOT = Path(__file__).parent / "snapshots" / "schema_with_example_plugins.graphql"
HOERDE = (51.4847, 7.4996)


def example_plugins():
    return [
        ("awo", load_plugin("awo_spreadsheet", "directory_plugin_awo")),
        ("diakonie", load_plugin("diakonie_feed", "directory_plugin_diakonie")),
        ("caritas-demenz", load_plugin("caritas_dementia_ical", "directory_plugin_caritas_demenz")),
    ]


@pytest.fixture
def plugin_directory(tmp_path):
    directory = open_directory(
        dortmund_instance_at(tmp_path / "d.sqlite"), extra_plugins=example_plugins()
    )
    yield directory
    directory.close()


def test_generated_sdl_matches_the_snapshot(plugin_directory):
    sdl = str(
        build_schema(plugin_directory.instance.limits, ExtraTypes(plugin_directory.custom_fields))
    )
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(sdl + "\n", encoding="utf-8")
    assert sdl + "\n" == SNAPSHOT.read_text(encoding="utf-8"), (
        "the GraphQL schema changed; if on purpose, rerun with UPDATE_SNAPSHOTS=1"
    )


def test_without_custom_fields_offer_has_no_extra(directory):
    sdl = str(build_schema(directory.instance.limits, ExtraTypes(directory.custom_fields)))
    assert "OfferExtra" not in sdl


def _offer(title, north_km, **extra):
    lat, lon = HOERDE
    return Offer(
        title=title,
        kind="service",
        carrier="awo",
        categories=["care.meals"],
        location=Location(lat + north_km / 111.2, lon),
        contact=Contact(phone="0231 1"),
        extra={"awo": extra} if extra else {},
    )


def test_custom_fields_query_and_filter_over_http(plugin_directory, serve, graphql_client):
    plugin_directory.save(
        [
            _offer(
                "Mittagstisch Nord mit Fahrdienst",
                1.0,
                transport_service=True,
                meals_on_wheels_zone="nord",
            ),
            _offer("Mittagstisch Süd", 2.0, transport_service=False, meals_on_wheels_zone="sued"),
            _offer("Mittagstisch ohne Angaben", 3.0),
            _offer(
                "Mittagstisch Ost mit Fahrdienst",
                4.0,
                transport_service=True,
                meals_on_wheels_zone="ost",
            ),
        ]
    )
    server = serve(create_app(plugin_directory, sync_interval=None))
    client = graphql_client(server.url)
    query = """
    query($extra: OfferExtraFilter) {
      offers(near: {lat: 51.4847, lon: 7.4996}, radiusKm: 10, filter: {extra: $extra}) {
        totalCount
        edges { node { title extra {
          awo { transportService mealsOnWheelsZone } diakonie { parish } } } }
      }
    }"""

    def titles(extra):
        data = client.post(query, extra=extra)["data"]["offers"]
        return [e["node"]["title"] for e in data["edges"]], data

    all_titles, data = titles(None)
    assert len(all_titles) == 4
    first = data["edges"][0]["node"]["extra"]
    assert first == {
        "awo": {"transportService": True, "mealsOnWheelsZone": "NORD"},
        "diakonie": None,
    }
    assert titles({"awo": {"transportService": True}})[0] == [
        "Mittagstisch Nord mit Fahrdienst",
        "Mittagstisch Ost mit Fahrdienst",
    ]
    assert titles({"awo": {"mealsOnWheelsZone": ["SUED", "OST"]}})[0] == [
        "Mittagstisch Süd",
        "Mittagstisch Ost mit Fahrdienst",
    ]
    assert titles({"awo": {"transportService": True, "mealsOnWheelsZone": ["SUED"]}})[0] == []
    bad = client.post(query, extra={"awo": {"mealsOnWheelsZone": ["ATLANTIS"]}})
    assert "ATLANTIS" in bad["errors"][0]["message"]
    empty = client.post(query, extra={"awo": {"mealsOnWheelsZone": []}})
    assert "filter.extra.awo.mealsOnWheelsZone" in empty["errors"][0]["message"]


def test_offers_with_custom_fields_are_read_from_their_records(plugin_directory, monkeypatch):
    """With plugins the API's ``Offer`` is a class of its own (it has ``extra``); its
    pages are still read from the cache's records (``types.RecordNode``), custom fields
    included, and answer what offers built first answer."""
    from directory_schema import shared_serializers, types
    from directory_schema.cache import OfferCache
    from directory_schema.context import Context

    plugin_directory.save(
        [
            _offer("Mit Fahrdienst", 1.0, transport_service=True, meals_on_wheels_zone="nord"),
            _offer("Ohne Angaben", 2.0),
        ]
    )
    monkeypatch.setattr(shared_serializers, "_shared", {})
    turned: list[str] = []
    become = types.RecordNode._become_offer
    monkeypatch.setattr(
        types.RecordNode, "_become_offer", lambda node: (turned.append(node), become(node))
    )
    extra = ExtraTypes(plugin_directory.custom_fields)
    schema = build_schema(plugin_directory.instance.limits, extra)
    query = """{ offers(near: {lat: 51.4847, lon: 7.4996}, radiusKm: 10) { edges { node {
        title extra { awo { transportService mealsOnWheelsZone } diakonie { parish } } } } } }"""
    built = schema.execute_sync(query, context_value=Context(plugin_directory, extra=extra))
    cached = Context(plugin_directory, offers=OfferCache(plugin_directory), extra=extra)
    for _ in range(2):
        turned.clear()
        result = schema.execute_sync(query, context_value=cached)
        assert not result.errors and result.data == built.data
    assert turned == []  # the second request: written as code, read from the records
    nodes = [e["node"] for e in result.data["offers"]["edges"]]
    assert nodes[0]["extra"]["awo"] == {"transportService": True, "mealsOnWheelsZone": "NORD"}


def _plugin(name, *fields):
    class Plugin:
        @staticmethod
        @hookimpl
        def register_custom_fields(register):
            for declared in fields:
                register(declared)

    return name, Plugin


def test_ranges_and_dates(tmp_path, serve, graphql_client):
    plugin = _plugin(
        "kurse",
        CustomField("places", "integer", "Plätze", filterable=True),
        CustomField("fee", "decimal", "Gebühr", filterable=True),
        CustomField("starts", "date", "Beginn", filterable=True),
    )
    directory = open_directory(dortmund_instance_at(tmp_path / "k.sqlite"), extra_plugins=[plugin])
    lat, lon = HOERDE
    for title, places, fee, starts in (
        ("Kurs A", 5, "10.50", "2026-03-01"),
        ("Kurs B", 12, "0", "2026-05-15"),
        ("Kurs C", 20, "25", "2026-09-01"),
    ):
        directory.save(
            [
                Offer(
                    title=title,
                    kind="training_offer",
                    location=Location(lat, lon),
                    extra={"kurse": {"places": places, "fee": fee, "starts": starts}},
                )
            ]
        )
    server = serve(create_app(directory, sync_interval=None, on_shutdown=directory.close))
    client = graphql_client(server.url)
    query = """query($f: OfferExtraFilter) { offers(filter: {extra: $f}, sort: TITLE) {
        edges { node { title extra { kurse { places fee starts } } } } } }"""

    def titles(f):
        result = client.post(query, f=f)
        assert "errors" not in result, result
        return [e["node"]["title"] for e in result["data"]["offers"]["edges"]]

    assert titles({"kurse": {"places": {"min": 10}}}) == ["Kurs B", "Kurs C"]
    assert titles({"kurse": {"fee": {"max": "10.5"}}}) == ["Kurs A", "Kurs B"]
    assert titles({"kurse": {"starts": {"min": "2026-04-01", "max": "2026-06-30"}}}) == ["Kurs B"]
    node = client.post(query, f={"kurse": {"places": {"max": 5}}})["data"]["offers"]["edges"][0]
    assert node["node"]["extra"]["kurse"] == {"places": 5, "fee": "10.50", "starts": "2026-03-01"}
    wrong = client.post(query, f={"kurse": {"places": {"min": 9, "max": 3}}})
    assert "filter.extra.kurse.places" in wrong["errors"][0]["message"]


def test_colliding_or_invalid_declarations_stop_startup(tmp_path):
    twice = _plugin(
        "awo",
        CustomField("zone", "string", "Zone"),
        CustomField("zone", "string", "Zone"),
    )
    with pytest.raises(PluginError, match="declared twice"):
        open_directory(dortmund_instance_at(tmp_path / "a.sqlite"), extra_plugins=[twice])
    invalid = _plugin("awo", CustomField("zone", "enum", "Zone", values=("Nord Ost",)))
    with pytest.raises(PluginError, match="enum value 'Nord Ost'"):
        open_directory(dortmund_instance_at(tmp_path / "b.sqlite"), extra_plugins=[invalid])


def test_the_readme_custom_field_example_works(plugin_directory, serve, graphql_client):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    [query] = [q for q in re.findall(r"```graphql\n(.*?)```", readme, re.S) if "extra:" in q]
    plugin_directory.save(
        [_offer("Essen auf Rädern Süd", 1.0, transport_service=True, meals_on_wheels_zone="sued")]
    )
    server = serve(create_app(plugin_directory, sync_interval=None))
    edges = graphql_client(server.url).data(query)["offers"]["edges"]
    assert [e["node"]["extra"]["awo"] for e in edges] == [
        {"transportService": True, "mealsOnWheelsZone": "SUED"}
    ]


# -- generated names never collide (issue 12) ---------------------------------------------


def sdl_of(*plugins):
    from directory_core.plugins import collect, get_plugin_manager

    registry = collect(get_plugin_manager(extra=list(plugins)))
    return str(
        build_schema(
            dortmund_instance_at(Path("unused.sqlite")).limits, ExtraTypes(registry.fields)
        )
    )


def test_an_enum_field_named_filter_gets_a_type_name_of_its_own():
    sdl = sdl_of(
        _plugin(
            "x",
            CustomField("filter", "enum", "Filter", values=("fein", "grob"), filterable=True),
            CustomField("open", "boolean", "Offen", filterable=True),
        )
    )
    assert "input ExtraXFilter {" in sdl
    enum_name = re.search(r"filter: \[(\w+)!\]", sdl).group(1)
    assert enum_name != "ExtraXFilter" and f"enum {enum_name} {{" in sdl


def test_namespaces_and_fields_that_spell_the_same_type_name():
    # awo's enum field "zone_x" and plugin "awo_zone"'s own type and filter, plugin
    # "awo_filter"'s output type and awo's filter: all want the same names
    sdl = sdl_of(
        _plugin("awo", CustomField("zone", "enum", "Zone", values=("nord",), filterable=True)),
        _plugin("awo_zone", CustomField("nord", "boolean", "Nord", filterable=True)),
        _plugin("awo_filter", CustomField("fein", "boolean", "Fein", filterable=True)),
    )
    names = re.findall(r"^(?:type|input|enum) (\w+)", sdl, re.M)
    assert len(names) == len(set(names))
    assert {"ExtraAwo", "ExtraAwoZone", "ExtraAwoFilter"} <= set(names)


def test_an_unavoidable_collision_names_plugin_and_fields():
    with pytest.raises(PluginError) as info:
        sdl_of(
            _plugin(
                "kurse",
                CustomField("level_1", "string", "Stufe 1"),
                CustomField("level1", "string", "Stufe eins"),
            )
        )
    message = str(info.value)
    assert "plugin 'kurse'" in message and "'level_1'" in message and "'level1'" in message
    assert "level1" in message
    with pytest.raises(PluginError) as info:
        sdl_of(
            _plugin("kurs_1", CustomField("a", "string", "A")),
            _plugin("kurs1", CustomField("b", "string", "B")),
        )
    assert "'kurs_1'" in str(info.value) and "'kurs1'" in str(info.value)
