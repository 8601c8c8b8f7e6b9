"""The plugin system: one test per hook, plus loading, collisions and tracing."""

from __future__ import annotations

import inspect
import types

import pytest
from directory_search.base import SearchQuery

from directory_core import hookimpl, hookspecs
from directory_core.custom_fields import CustomField
from directory_core.geocoding import GeocodeResult
from directory_core.importers.base import Importer, ImportRecord
from directory_core.model import Category, Location, Offer
from directory_core.plugins import PluginError, collect, get_plugin_manager, plugin_overview
from directory_core.validation import FieldError, OfferValidationError

from .helpers import install_dist, make_directory

HOOKS = sorted(
    name
    for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(value, "directory_spec")
)


def plugin(name: str, **functions) -> tuple[str, types.SimpleNamespace]:
    """A temporary plugin object with the given hook implementations."""
    return name, types.SimpleNamespace(**{k: hookimpl(v) for k, v in functions.items()})


class DummyImporter(Importer):
    name = "dummy"
    description = "Reads nothing"
    formats = ("txt",)

    def read(self, source):
        yield ImportRecord("line 1", Offer(title=source, kind="service", external_id="1"))


def test_every_hook_has_a_test():
    tested = {name[len("test_hook_") :] for name in globals() if name.startswith("test_hook_")}
    assert set(HOOKS) <= tested, f"hooks without a test: {set(HOOKS) - tested}"


def test_hook_register_importers(tmp_path):
    directory = make_directory(
        tmp_path,
        [plugin("dummy-plugin", register_importers=lambda register: register(DummyImporter))],
    )
    assert directory.registry.importers["dummy"] is DummyImporter
    assert directory.registry.importer_plugins["dummy"] == "dummy-plugin"
    assert {"csv", "xlsx", "json"} <= set(directory.registry.importers)
    directory.close()


def test_duplicate_importer_names_both_plugins():
    pm = get_plugin_manager(
        extra=[
            plugin("first", register_importers=lambda register: register(DummyImporter)),
            plugin("second", register_importers=lambda register: register(DummyImporter)),
        ]
    )
    with pytest.raises(
        PluginError, match="'dummy' is registered twice: by plugin 'first' and by plugin 'second'"
    ):
        collect(pm)


def test_hook_register_custom_fields():
    pm = get_plugin_manager(
        extra=[
            plugin(
                "awo",
                register_custom_fields=lambda register: register(
                    CustomField("transport_service", "boolean", "Fahrdienst", filterable=True)
                ),
            )
        ]
    )
    registry = collect(pm)
    assert registry.fields.get("awo.transport_service").label == "Fahrdienst"


@pytest.mark.parametrize(
    "declared,message",
    [
        (CustomField("Bad Name", "string", "X"), "must be snake_case"),
        (CustomField("zone", "enum", "Zone"), "needs values"),
        (CustomField("zone", "colour", "Zone"), "is not one of"),
        (CustomField("count", "integer", "Anzahl", searchable=True), "cannot be searchable"),
    ],
)
def test_invalid_custom_field_fails_at_startup(declared, message):
    pm = get_plugin_manager(
        extra=[plugin("awo", register_custom_fields=lambda register: register(declared))]
    )
    with pytest.raises(PluginError, match=message) as info:
        collect(pm)
    assert "plugin 'awo'" in str(info.value)


def test_custom_field_declared_twice_fails():
    def twice(register):
        register(CustomField("zone", "string", "Zone"))
        register(CustomField("zone", "string", "Zone"))

    with pytest.raises(PluginError, match="declared twice"):
        collect(get_plugin_manager(extra=[plugin("awo", register_custom_fields=twice)]))


def test_custom_fields_are_validated_and_indexed(tmp_path):
    directory = make_directory(
        tmp_path,
        [
            plugin(
                "awo",
                register_custom_fields=lambda register: (
                    register(
                        CustomField("transport_service", "boolean", "Fahrdienst", filterable=True)
                    ),
                    register(
                        CustomField(
                            "zone", "enum", "Zone", values=("nord", "sued"), kinds=("service",)
                        )
                    ),
                    register(CustomField("motto", "text", "Motto", searchable=True)),
                ),
            )
        ],
    )
    bad = Offer(
        title="Mittagstisch",
        kind="meeting_place",
        location=Location(51.48, 7.5),
        extra={"awo": {"transport_service": "ja", "zone": "nord", "colour": 1}, "nobody": {}},
    )
    with pytest.raises(OfferValidationError) as info:
        directory.save([bad])
    fields = {e.field for e in info.value.errors}
    assert fields == {
        "extra.awo.transport_service",
        "extra.awo.zone",
        "extra.awo.colour",
        "extra.nobody",
    }
    good = Offer(
        title="Mittagstisch",
        kind="service",
        location=Location(51.48, 7.5),
        extra={"awo": {"transport_service": True, "zone": "nord", "motto": "Gemeinsam kochen"}},
    )
    directory.save([good])
    document = directory.document_builder()(directory.get(good.id))
    assert document.extra == {"awo.transport_service": True}  # only filterable ones
    assert "Gemeinsam kochen" in document.text  # searchable text
    directory.close()


def test_hook_register_categories(tmp_path):
    directory = make_directory(
        tmp_path,
        [
            plugin(
                "awo",
                register_categories=lambda register: register(
                    Category("dementia.sport", "Sport für Menschen mit Demenz", "dementia")
                ),
            )
        ],
    )
    assert "dementia.sport" in directory.taxonomy.descendants("dementia")
    directory.close()


def test_category_collision_names_the_plugin():
    pm = get_plugin_manager(
        extra=[
            plugin("awo", register_categories=lambda register: register(Category("dementia", "X")))
        ]
    )
    with pytest.raises(PluginError, match="category 'dementia' of plugin 'awo' is already defined"):
        collect(pm, ["dementia"])


def test_hook_register_synonyms(tmp_path):
    directory = make_directory(
        tmp_path,
        [plugin("awo", register_synonyms=lambda register: register("Plauderstunde => Treff"))],
    )
    treff = Offer(title="Treff am Markt", kind="meeting_place", location=Location(51.48, 7.5))
    directory.save([treff])
    directory.sync()
    found = directory.search(SearchQuery(text="Plauderstunde"))
    assert [directory.get(h.id).title for h in found.hits] == ["Treff am Markt"]
    assert ("awo", "Plauderstunde => Treff") in directory.registry.synonym_rules
    directory.close()


def test_bad_synonym_rule_names_the_plugin():
    pm = get_plugin_manager(extra=[plugin("awo", register_synonyms=lambda register: register("x"))])
    with pytest.raises(PluginError, match="synonym rule of plugin 'awo': 'x' needs two phrases"):
        collect(pm)


def test_hook_validate_offer(tmp_path):
    def validate_offer(offer):
        if offer.kind == "service" and not offer.contact.phone:
            return [FieldError("contact.phone", "AWO services need a phone number")]
        return None

    directory = make_directory(tmp_path, [plugin("awo", validate_offer=validate_offer)])
    with pytest.raises(OfferValidationError, match="contact.phone: AWO services need a phone"):
        directory.save([Offer(title="Fahrdienst", kind="service", channels=["home_visit"])])
    directory.save([Offer(title="Treff", kind="meeting_place", location=Location(51.48, 7.5))])
    directory.close()


def test_hook_offer_changed(tmp_path):
    calls = []

    def offer_changed(offers, change):
        calls.append((change, [o.title for o in offers]))

    def broken(offers):
        raise RuntimeError("plugin bug")

    directory = make_directory(
        tmp_path,
        [plugin("listener", offer_changed=offer_changed), plugin("broken", offer_changed=broken)],
    )
    offer = Offer(title="Treff", kind="meeting_place", location=Location(51.48, 7.5))
    directory.save([offer])
    offer.title = "Treff am Markt"
    directory.save([offer])
    directory.archive([offer.id])
    assert calls == [
        ("created", ["Treff"]),
        ("updated", ["Treff am Markt"]),
        ("archived", ["Treff am Markt"]),
    ]
    assert directory.get(offer.id).status == "archived"  # the broken plugin undid nothing
    directory.close()


def test_hook_choose_geocoder(tmp_path):
    class FixedGeocoder:
        def geocode(self, query):
            return GeocodeResult(51.5, 7.46, "address", f"fixed: {query}", "gazetteer")

    directory = make_directory(
        tmp_path, [plugin("geo", choose_geocoder=lambda instance, default: FixedGeocoder())]
    )
    assert directory.geocode("Irgendwo 1").label == "fixed: Irgendwo 1"
    directory.close()


def test_hook_authenticate(tmp_path):
    from starlette.requests import Request

    from directory_core.auth import Principal, authenticate, create_token

    def by_header(request):
        user = request.headers.get("x-test-user")
        return Principal(user, "counsellor") if user else None

    directory = make_directory(tmp_path, [plugin("sso", authenticate=by_header)])
    _, token = create_token(directory.store, "Büro Hörde", "admin")

    def request(*headers):
        raw = [(k.encode(), v.encode()) for k, v in headers]
        return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})

    # the plugin is asked first; the built-in token scheme (trylast) only without it
    both = request(("x-test-user", "anna"), ("authorization", f"Bearer {token}"))
    assert authenticate(directory, both).principal == Principal("anna", "counsellor")
    only_token = request(("authorization", f"Bearer {token}"))
    assert authenticate(directory, only_token).principal == Principal("Büro Hörde", "admin")
    assert authenticate(directory, request()).principal is None
    directory.close()


def test_misspelled_hook_fails_with_the_plugin_name():
    with pytest.raises(PluginError, match="'typo'.*register_importer"):
        get_plugin_manager(extra=[plugin("typo", register_importer=lambda register: None)])


def test_enabled_plugin_that_is_not_installed():
    with pytest.raises(
        PluginError, match="'nosuchplugin' is enabled in the instance but not installed"
    ):
        get_plugin_manager(enabled=["nosuchplugin"])


def test_builtins_can_be_disabled():
    registry = collect(get_plugin_manager(disabled=["xlsx_importer"]))
    assert "xlsx" not in registry.importers and "csv" in registry.importers
    with pytest.raises(PluginError, match="unknown built-in"):
        get_plugin_manager(disabled=["nope"])


def test_trace_switch_prints_hook_calls(monkeypatch, capsys):
    monkeypatch.setenv("DIRECTORY_TRACE_HOOKS", "1")
    collect(get_plugin_manager())
    assert "[hook] register_importers -> csv_importer" in capsys.readouterr().err


# -- traps of plugin authors (issue 12) ---------------------------------------------------


def test_two_distributions_with_one_plugin_name_is_an_error_naming_both(tmp_path, monkeypatch):
    site = tmp_path / "site"
    install_dist(site, "directory-carrier-a", "1.0", {"shared": "carrier_a"}, "carrier_a")
    install_dist(site, "directory-carrier-b", "2.0", {"shared": "carrier_b"}, "carrier_b")
    install_dist(site, "directory-carrier-c", "0.3", {"other": "carrier_c"}, "carrier_c")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(PluginError) as info:
        get_plugin_manager(enabled=["shared"])
    message = str(info.value)
    assert "'shared'" in message
    assert "directory-carrier-a 1.0" in message and "directory-carrier-b 2.0" in message
    get_plugin_manager(enabled=["other"])  # an unambiguous name still loads
    rows, error = plugin_overview(enabled=["shared"])
    assert "directory-carrier-a 1.0" in str(error)
    [shared] = [row for row in rows if row.name == "shared"]
    assert shared.status == "conflict" and "directory-carrier-b 2.0" in shared.distribution


def test_two_plugins_sharing_a_namespace_after_normalisation():
    def fields(register):
        register(CustomField("zone", "string", "Zone"))

    def other_fields(register):
        register(CustomField("zone", "string", "Zone"))

    pm = get_plugin_manager(
        extra=[
            plugin("drk-x", register_custom_fields=fields),
            plugin("drk_x", register_custom_fields=other_fields),
        ]
    )
    with pytest.raises(PluginError) as info:
        collect(pm)
    message = str(info.value)
    assert "declared twice" not in message
    assert "plugins 'drk-x' and 'drk_x' share the namespace 'drk_x'" in message


def ordered_plugins(hook: str, calls: list[str]) -> list[tuple[str, types.SimpleNamespace]]:
    """Plugins implementing ``hook``: plain ones, ``tryfirst``, ``trylast`` and an old-style
    hook wrapper, each noting its name in ``calls``."""

    def implementation(tag: str, **options):
        def function(register=None, offers=None):
            calls.append(tag)

        return types.SimpleNamespace(**{hook: hookimpl(**options)(function)})

    def wrapper(register=None, offers=None):
        calls.append("wrapper-before")
        yield
        calls.append("wrapper-after")

    return [
        ("early", implementation("early", tryfirst=True)),
        ("plain-1", implementation("plain-1")),
        ("late", implementation("late", trylast=True)),
        ("plain-2", implementation("plain-2")),
        ("wrapping", types.SimpleNamespace(**{hook: hookimpl(hookwrapper=True)(wrapper)})),
    ]


def test_registration_hooks_run_in_pluggys_order_with_wrappers():
    calls: list[str] = []
    pm = get_plugin_manager(extra=ordered_plugins("register_categories", calls))
    pm.hook.register_categories(register=lambda category: None)
    by_pluggy = [c for c in calls]
    assert by_pluggy[0] == "wrapper-before" and by_pluggy[-1] == "wrapper-after"
    assert by_pluggy[1] == "early" and by_pluggy[-2] == "late"
    calls.clear()
    collect(pm)
    assert calls == by_pluggy


def test_offer_changed_runs_in_pluggys_order(tmp_path):
    calls: list[str] = []
    directory = make_directory(tmp_path, ordered_plugins("offer_changed", calls))
    try:
        directory.save([Offer(title="Treff", kind="meeting_place", location=Location(51.48, 7.5))])
        assert calls == [
            "wrapper-before",
            "early",
            "plain-2",
            "plain-1",
            "late",
            "wrapper-after",
        ]
    finally:
        directory.close()
