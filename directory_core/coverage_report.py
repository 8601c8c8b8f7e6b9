"""The gap analysis as a table for spreadsheets and documents (``directory gaps``).

One row per district × category with every figure of ``coverage.Cell`` and the
population it was divided by; CSV for spreadsheets, Markdown for documents (with the date
and source of every figure above the table). The web page and the GraphQL query show the
same values: ``rows`` is the one place that flattens a ``Coverage``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from .coverage import Coverage
from .population import AGE_BANDS

COLUMNS = (
    "district",
    "district_name",
    "category",
    "category_label",
    "active",
    "verified_within_year",
    "all",
    "residents_60_plus",
    "residents_65_plus",
    "residents_80_plus",
    "derived_figures",
    "population_date",
    "population_source",
    "per_1000_60_plus",
    "per_1000_65_plus",
    "per_1000_80_plus",
    "threshold_km",
    "postcode_areas",
    "beyond_threshold",
    "share_beyond_threshold",
    "missing_qualities",
)


def rows(coverage: Coverage) -> list[dict[str, Any]]:
    """One dict per district × category, keys ``COLUMNS``; unknown figures are ``None``."""
    districts = {d.key: d for d in coverage.districts}
    categories = {c.key: c for c in coverage.categories}
    out = []
    for cell in coverage.cells:
        district = districts[cell.district]
        category = categories[cell.category]
        population = district.population
        row: dict[str, Any] = {
            "district": cell.district,
            "district_name": district.name,
            "category": cell.category,
            "category_label": category.label,
            "active": cell.active,
            "verified_within_year": cell.verified,
            "all": cell.all,
            "derived_figures": " ".join(sorted(population.derived)) if population else "",
            "population_date": population.date if population else "",
            "population_source": population.source if population else "",
            "threshold_km": category.threshold_km,
            "postcode_areas": cell.postcode_areas,
            "beyond_threshold": cell.beyond,
            "share_beyond_threshold": cell.share_beyond,
            "missing_qualities": " ".join(cell.missing),
        }
        for band, label in AGE_BANDS.items():
            suffix = label.replace("+", "_plus")
            row[f"residents_{suffix}"] = population.band(band) if population else None
            row[f"per_1000_{suffix}"] = cell.per_thousand[band]
        out.append({column: row[column] for column in COLUMNS})
    return out


def to_csv(coverage: Coverage) -> str:
    """``rows`` as CSV (comma, header row); unknown figures are empty cells."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows(coverage):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def _md(value: Any) -> str:
    if value is None or value == "":
        return "–"
    return str(value).replace("|", "\\|")


def header_lines(coverage: Coverage) -> list[str]:
    """What the figures are as of, and where every population figure comes from."""
    when = coverage.as_of.isoformat() if coverage.as_of else "now"
    lines = [
        f"Offers as of: {when} (reference date {coverage.reference_date.isoformat()}); "
        f"computed {coverage.computed_at:%Y-%m-%d %H:%M} UTC from the directory's store "
        f"(state {coverage.store_position}) and search index.",
        "Reach: distance from each postcode centroid (GeoNames, CC BY 4.0) to the nearest "
        "active offer; thresholds "
        + ", ".join(f"{c.key} {c.threshold_km:g} km" for c in coverage.categories[:3])
        + (" …" if len(coverage.categories) > 3 else "")
        + ".",
    ]
    for district in coverage.districts:
        population = district.population
        if population is None:
            lines.append(f"Residents {district.name}: no figures in the instance file.")
            continue
        derived = "; ".join(f"{k} derived: {v}" for k, v in population.derived.items())
        lines.append(
            f"Residents {district.name}: {population.source}, as of {population.date}"
            + (f"; {derived}" if derived else "")
            + (f"; {population.note}" if population.note else "")
        )
    return lines + coverage.notes


def to_markdown(coverage: Coverage) -> str:
    """A heading, the dates and sources, and the table of ``rows``."""
    shown = [c for c in COLUMNS if c not in ("population_source", "district", "category")]
    lines = [f"# Supply gaps: {coverage.instance}", ""]
    lines += [f"- {line}" for line in header_lines(coverage)]
    lines += ["", "| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for row in rows(coverage):
        lines.append("| " + " | ".join(_md(row[c]) for c in shown) + " |")
    return "\n".join(lines) + "\n"


def render(coverage: Coverage, fmt: str) -> str:
    """``fmt`` is ``csv`` or ``md``."""
    if fmt == "csv":
        return to_csv(coverage)
    if fmt == "md":
        return to_markdown(coverage)
    raise ValueError(f"format must be csv or md, got {fmt!r}")
