"""docs/reference.md is the text the model generates (``directory_core.reference``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from directory_core import reference
from directory_core.model import Offer

REFERENCE = Path(__file__).parent.parent / "docs" / "reference.md"


def test_the_committed_reference_is_the_generated_one():
    assert REFERENCE.read_text(encoding="utf-8") == reference.render_reference(), (
        "the model changed: python -m directory_core.reference > docs/reference.md"
    )


def test_every_field_kind_and_category_is_in_it():
    text = reference.render_reference()
    for f in dataclasses.fields(Offer):
        assert f"| `{f.name}` |" in text
    assert "| `dementia_group` | Demenzgruppe |" in text
    assert "| `advice.care_counselling` | Senioren- und Pflegefachberatung | `advice` |" in text
    assert "from directory_core.model import (\n    Category,\n    Offer,\n    Address," in text


def test_a_field_without_a_meaning_is_refused(monkeypatch):
    meanings = dict(reference.MEANINGS)
    del meanings["Offer.title"]
    monkeypatch.setattr(reference, "MEANINGS", meanings)
    with pytest.raises(KeyError, match="Offer.title has no line"):
        reference.render_reference()
