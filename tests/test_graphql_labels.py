"""Labels in the page languages through the API: ``categories(lang:)`` and
``Offer.kindLabel(lang:)``, from the same catalogue as the web pages."""

from __future__ import annotations

from directory_core.labels import kind_label


def test_categories_in_turkish(graphql):
    data = graphql.data('{ categories(lang: "tr", topLevel: true) { key label } }')
    labels = {c["key"]: c["label"] for c in data["categories"]}
    assert labels["dementia"] == "Demans"
    assert labels["relief"] == "Bakım veren yakınlara destek"


def test_categories_default_to_german_with_children_in_the_same_language(graphql):
    german = graphql.data("{ categories(topLevel: true) { key label } }")["categories"]
    assert {c["key"]: c["label"] for c in german}["dementia"] == "Demenz"
    data = graphql.data('{ categories(lang: "ar") { key label children { label } } }')
    dementia = next(c for c in data["categories"] if c["key"] == "dementia")
    assert dementia["label"] == "الخرف"
    assert "مجموعات ومقاهي الخرف" in [c["label"] for c in dementia["children"]]


def test_offer_kind_label(graphql):
    data = graphql.data(
        '{ offer(id: "00000000-0000-4000-8000-000000000001") '
        '{ kind de: kindLabel en: kindLabel(lang: "en") uk: kindLabel(lang: "uk") } }'
    )
    offer = data["offer"]
    assert offer == {
        "kind": "DEMENTIA_GROUP",
        "de": "Demenzgruppe",
        "en": "Dementia group",
        "uk": kind_label("dementia_group", "uk"),
    }


def test_an_unknown_language_names_the_argument(graphql):
    error = graphql.error('{ categories(lang: "xx") { key } }')
    assert error["message"] == (
        "Argument \"lang\": unknown language 'xx'; "
        "allowed: ar, bg, de, el, en, it, pl, ro, ru, tr, uk"
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
