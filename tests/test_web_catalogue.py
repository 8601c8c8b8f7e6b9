"""The message catalogues are complete: every text of the pages and every label in every
language, with the same placeholders as the message id, and no id that is no longer used
(``directory_web.catalogue``)."""

from __future__ import annotations

import re

import pytest
from directory_web.catalogue import (
    label_messages,
    languages_of,
    page_messages,
    po_path,
    read_catalogue,
)

from directory_core.labels import LANGUAGES, compile_po

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
DOMAINS = {"messages": page_messages, "labels": label_messages}
CASES = [(domain, lang) for domain in DOMAINS for lang in languages_of(domain)]


def _ids(catalog) -> dict:
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


def test_eleven_languages_german_first():
    assert list(LANGUAGES)[:2] == ["de", "en"]
    assert len(LANGUAGES) == 11


@pytest.mark.parametrize("domain, lang", CASES)
def test_every_message_is_translated_with_its_placeholders(domain, lang):
    wanted = _ids(DOMAINS[domain]())
    have = _ids(read_catalogue(domain, lang))
    assert sorted(set(wanted) - set(have)) == [], (
        f"{po_path(domain, lang)} lacks ids: run python -m directory_web.catalogue"
    )
    assert sorted(set(have) - set(wanted)) == [], f"{po_path(domain, lang)}: unused ids"
    for message_id, message in have.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{po_path(domain, lang)}: {message_id!r} is not translated"
        assert "fuzzy" not in message.flags, f"{po_path(domain, lang)}: {message_id!r} is fuzzy"
        expected = sorted(set(PLACEHOLDER.findall(message_id)))
        for string in strings:
            assert sorted(set(PLACEHOLDER.findall(string))) == expected, (lang, message_id)


@pytest.mark.parametrize("lang", languages_of("messages"))
def test_catalogues_compile_in_memory(lang):
    translations = compile_po(po_path("messages", lang), lang)
    assert translations.gettext("Search") != "Search"
    assert "%(num)d" in translations.ngettext("%(num)d offer found", "%(num)d offers found", 5)


def test_a_missing_catalogue_translates_nothing(tmp_path):
    assert compile_po(tmp_path / "none.po", "tr").gettext("Search") == "Search"
