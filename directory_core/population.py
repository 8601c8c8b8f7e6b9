"""Residents of a district as an instance file states them: totals and older age groups.

The gap analysis (``coverage.py``) divides offer counts by these figures. They come from
an instance file's ``[districts.population]`` table, copied by hand from a named source
with its date. A figure the source does not give is left out of the file: it is then
unknown (``None``), never zero, and per-resident figures built on it are absent. A figure
computed from others (e.g. residents aged 65+ = share × total) must be listed under
``[districts.population.derived]`` with how it was computed; for ``age_65_plus`` from
``share_65_plus_percent`` the parser also checks the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

#: The older age groups an instance file may give, and how they are shown.
AGE_BANDS: dict[str, str] = {"age_60_plus": "60+", "age_65_plus": "65+", "age_80_plus": "80+"}

#: Every key of a ``[districts.population]`` table (``load_instance`` rejects others).
POPULATION_KEYS = (
    "total",
    *AGE_BANDS,
    "share_65_plus_percent",
    "share_65_plus_date",
    "date",
    "source",
    "source_url",
    "note",
    "derived",
)
_COUNTS = ("total", *AGE_BANDS)
_TEXTS = ("share_65_plus_date", "source", "source_url", "note")


@dataclass(frozen=True)
class Population:
    """One district's residents. ``None`` means the source has no such figure.

    ``date`` is the reference date as the source gives it ("2023-12-31", or only a year,
    "2016"); ``derived`` maps a field name to how it was computed (every other figure is
    copied from ``source``).
    """

    source: str
    date: str
    total: int | None = None
    age_60_plus: int | None = None
    age_65_plus: int | None = None
    age_80_plus: int | None = None
    share_65_plus_percent: float | None = None
    share_65_plus_date: str = ""
    source_url: str = ""
    note: str = ""
    derived: dict[str, str] = field(default_factory=dict)

    def band(self, name: str) -> int | None:
        """The residents of an age band (``age_60_plus``, ``age_65_plus``, ``age_80_plus``)."""
        return getattr(self, name)

    def is_derived(self, name: str) -> bool:
        return name in self.derived


class _Errors(Protocol):
    def fail(self, where: str, message: str) -> None: ...


class _Counting:
    """Passes failures on and counts them."""

    def __init__(self, errors: _Errors) -> None:
        self.errors = errors
        self.count = 0

    def fail(self, where: str, message: str) -> None:
        self.count += 1
        self.errors.fail(where, message)


def parse_population(value: Any, where: str, errors: _Errors) -> Population | None:
    """A ``Population`` from a ``[districts.population]`` table; problems go to
    ``errors.fail(place, message)`` and give ``None``."""
    where = f"{where}.population"
    if not isinstance(value, dict):
        errors.fail(where, "must be a table ([districts.population])")
        return None
    found = _Counting(errors)
    errors = found
    unknown = sorted(set(value) - set(POPULATION_KEYS))
    for key in unknown:
        errors.fail(f"{where}.{key}", f"is not a known key; allowed: {', '.join(POPULATION_KEYS)}")
    counts: dict[str, int | None] = {}
    for key in _COUNTS:
        item = value.get(key)
        if item is not None and (isinstance(item, bool) or not isinstance(item, int) or item < 0):
            errors.fail(f"{where}.{key}", f"must be a whole number of residents, got {item!r}")
            item = None
        counts[key] = item
    texts = {}
    for key in _TEXTS:
        item = value.get(key, "")
        if not isinstance(item, str):
            errors.fail(f"{where}.{key}", f"must be a string, got {item!r}")
            item = ""
        texts[key] = item
    source = texts["source"].strip()
    if not source:
        errors.fail(f"{where}.source", "is required: name where the figures come from")
    when = value.get("date")
    if isinstance(when, date):
        when = when.isoformat()
    if not isinstance(when, str) or not when.strip():
        errors.fail(f"{where}.date", f"is required: the figures' reference date, got {when!r}")
        when = ""
    share = value.get("share_65_plus_percent")
    if share is not None:
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 100:
            errors.fail(f"{where}.share_65_plus_percent", f"must be 0 to 100, got {share!r}")
            share = None
        else:
            share = float(share)
    derived = value.get("derived", {})
    if not isinstance(derived, dict) or not all(isinstance(v, str) for v in derived.values()):
        errors.fail(f"{where}.derived", "must be a table: field = how it was computed")
        derived = {}
    for key in derived:
        if key not in _COUNTS:
            errors.fail(f"{where}.derived.{key}", f"is not a figure; allowed: {', '.join(_COUNTS)}")
        elif counts.get(key) is None:
            errors.fail(f"{where}.derived.{key}", "names a figure the table does not give")
    _check_share(counts, share, derived, where, errors)
    if found.count:
        return None
    return Population(
        source=source,
        date=when.strip(),
        total=counts["total"],
        age_60_plus=counts["age_60_plus"],
        age_65_plus=counts["age_65_plus"],
        age_80_plus=counts["age_80_plus"],
        share_65_plus_percent=share,
        share_65_plus_date=texts["share_65_plus_date"],
        source_url=texts["source_url"],
        note=texts["note"],
        derived=dict(derived),
    )


def _check_share(
    counts: dict[str, int | None],
    share: float | None,
    derived: dict[str, str],
    where: str,
    errors: _Errors,
) -> None:
    """A derived 65+ count must be what share × total gives (rounded), so a typo in the
    file cannot pass as a source figure."""
    older = counts.get("age_65_plus")
    if "age_65_plus" not in derived or older is None or share is None:
        return
    total = counts.get("total")
    if total is None:
        errors.fail(f"{where}.age_65_plus", "is derived from the share but total is not given")
        return
    expected = round(share * total / 100)
    if abs(expected - older) > 1:
        errors.fail(
            f"{where}.age_65_plus",
            f"is {older}, but share_65_plus_percent × total gives {expected}",
        )
