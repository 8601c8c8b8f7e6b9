"""The category taxonomy: stable keys, German labels, a small hierarchy.

The default tree follows the building blocks of the Dortmund Seniorenbüros' work: advice
on old age and care, case management (care, relief for family carers, dementia, housing),
encounter, health and education offers, and volunteering. Keys are stable identifiers
used in the API and in import files; labels may change. Instances may replace or extend
the tree (instance file, plugins).
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import Category

# (key, label, parent)
DEFAULT_CATEGORIES: tuple[tuple[str, str, str | None], ...] = (
    ("advice", "Beratung und Casemanagement", None),
    ("advice.care_counselling", "Senioren- und Pflegefachberatung", "advice"),
    ("advice.case_management", "Casemanagement", "advice"),
    ("advice.powers_of_attorney", "Vorsorgevollmacht und Patientenverfügung", "advice"),
    ("advice.applications", "Hilfe bei Anträgen und Finanzierung", "advice"),
    ("advice.migrants", "Beratung für Migrantinnen und Migranten", "advice"),
    ("care", "Pflege zu Hause und in Einrichtungen", None),
    ("care.outpatient", "Ambulante Pflege", "care"),
    ("care.day_care", "Tagespflege", "care"),
    ("care.inpatient", "Stationäre Pflege", "care"),
    ("care.visiting", "Besuchs- und Begleitdienste", "care"),
    ("care.meals", "Mahlzeitendienste", "care"),
    ("relief", "Entlastung pflegender Angehöriger", None),
    ("relief.family_carers", "Angebote für pflegende Angehörige", "relief"),
    ("relief.training", "Schulungen für Angehörige und Ehrenamtliche", "relief"),
    ("dementia", "Demenz", None),
    ("dementia.groups", "Demenzgruppen und Demenzcafés", "dementia"),
    ("dementia.advice", "Demenzberatung", "dementia"),
    ("housing", "Wohnen und Wohnungsanpassung", None),
    ("housing.adaptation", "Wohnungsanpassung", "housing"),
    ("housing.assisted_living", "Betreutes Wohnen", "housing"),
    ("encounter", "Begegnung, Bildung, Kultur und Gesundheit", None),
    ("encounter.meeting", "Begegnung und Geselligkeit", "encounter"),
    ("encounter.education", "Bildung", "encounter"),
    ("encounter.culture", "Kultur", "encounter"),
    ("encounter.health", "Gesundheit und Bewegung", "encounter"),
    ("volunteering", "Bürgerschaftliches Engagement und Ehrenamt", None),
    ("volunteering.placement", "Vermittlung von Ehrenamtlichen", "volunteering"),
    ("volunteering.associations", "Unterstützung von Vereinen", "volunteering"),
    ("intergenerational", "Generationenübergreifende Angebote", None),
)


def default_categories() -> list[Category]:
    return [Category(key=k, label=label, parent=p) for k, label, p in DEFAULT_CATEGORIES]


class Taxonomy:
    """A category tree with fast ancestor and descendant look-ups."""

    def __init__(self, categories: Iterable[Category]):
        self.by_key: dict[str, Category] = {}
        for category in categories:
            if category.key in self.by_key:
                raise ValueError(f"category {category.key!r} is defined twice")
            self.by_key[category.key] = category
        for category in self.by_key.values():
            if category.parent is not None and category.parent not in self.by_key:
                raise ValueError(
                    f"category {category.key!r} names unknown parent {category.parent!r}"
                )
        self._children: dict[str | None, list[str]] = {}
        for category in self.by_key.values():
            self._children.setdefault(category.parent, []).append(category.key)
        for key in self.by_key:  # cycles would make ancestors() loop for ever
            self.ancestors(key)

    def __contains__(self, key: object) -> bool:
        return key in self.by_key

    def __iter__(self):
        return iter(self.by_key.values())

    def __len__(self) -> int:
        return len(self.by_key)

    def label(self, key: str) -> str:
        return self.by_key[key].label

    def ancestors(self, key: str) -> list[str]:
        """The parents of ``key``, nearest first (without ``key`` itself)."""
        result: list[str] = []
        parent = self.by_key[key].parent
        while parent is not None:
            if parent in result or parent == key:
                raise ValueError(f"category {key!r} is part of a cycle")
            result.append(parent)
            parent = self.by_key[parent].parent
        return result

    def with_ancestors(self, keys: Iterable[str]) -> list[str]:
        """``keys`` plus all their ancestors, without duplicates, in a stable order."""
        seen: dict[str, None] = {}
        for key in keys:
            seen[key] = None
            for parent in self.ancestors(key):
                seen[parent] = None
        return list(seen)

    def descendants(self, key: str) -> list[str]:
        """``key`` and everything below it."""
        result = [key]
        stack = list(self._children.get(key, ()))
        while stack:
            child = stack.pop()
            result.append(child)
            stack.extend(self._children.get(child, ()))
        return result

    def children(self, key: str | None) -> list[str]:
        return list(self._children.get(key, ()))
