"""Helpers of the importer tests: real Dortmund directories in tmp, the example plugins,
CSV files, and a dump of the store to compare before and after."""

from __future__ import annotations

import csv
import importlib.util
import sys
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from directory_core import hookimpl
from directory_core import tables as t
from directory_core.directory import Directory, open_directory
from directory_core.instance import load_instance

ROOT = Path(__file__).parent.parent
DORTMUND = ROOT / "instances" / "dortmund.toml"
PLUGINS = ROOT / "plugins"
AWO_SAMPLE = PLUGINS / "awo_spreadsheet" / "sample" / "awo_angebote_beispiel.xlsx"
DIAKONIE_SAMPLE = PLUGINS / "diakonie_feed" / "sample" / "diakonie_feed_beispiel.json"
CARITAS_SAMPLE = PLUGINS / "caritas_dementia_ical" / "sample" / "caritas_demenzgruppen_beispiel.ics"

#: the column mapping of the instance-file example in the importer docs
CSV_SETTINGS: dict[str, Any] = {
    "delimiter": ";",
    "encoding": "utf-8",
    "columns": {
        "external_id": "Nr",
        "title": "Angebot",
        "kind": "Art",
        "categories": "Kategorien",
        "street": "Straße",
        "postcode": "PLZ",
        "city": "Ort",
        "schedule": "Zeiten",
    },
    "values": {"kind": {"Demenzgruppe": "dementia_group", "Treff": "meeting_place"}},
}
CSV_HEADER = ["Nr", "Angebot", "Art", "Kategorien", "Straße", "PLZ", "Ort", "Zeiten"]


def csv_row(number: int, **changes: str) -> list[str]:
    """A good row of ``CSV_HEADER``; ``changes`` by column name."""
    values = {
        "Nr": str(number),
        "Angebot": f"Seniorentreff {number}",
        "Art": "Treff",
        "Kategorien": "encounter.meeting",
        "Straße": f"Hauptstraße {number}",
        "PLZ": "44263",
        "Ort": "Dortmund",
        "Zeiten": "Di 14-16 Uhr",
    } | changes
    return [values[c] for c in CSV_HEADER]


def write_csv(
    path: Path,
    rows: list[list[str]],
    header: list[str] | None = None,
    delimiter: str = ";",
    encoding: str = "utf-8",
) -> str:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header or CSV_HEADER)
        writer.writerows(rows)
    return str(path)


def load_plugin(folder: str, module: str) -> types.ModuleType:
    """An example plugin's module, loaded from ``plugins/FOLDER`` without installing it."""
    if module in sys.modules:
        return sys.modules[module]
    spec = importlib.util.spec_from_file_location(module, PLUGINS / folder / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[module] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def recorder(name: str = "recorder") -> tuple[str, types.SimpleNamespace]:
    """A plugin that records its ``offer_changed`` calls in ``.calls`` as (change,
    external ids, whether the store already had them)."""
    plugin = types.SimpleNamespace(calls=[])

    @hookimpl
    def offer_changed(offers, change, directory):
        stored = directory.get_many([o.id for o in offers])
        committed = all(
            o.id in stored and stored[o.id].status == o.status for o in offers
        )  # the write is visible: the hook runs after the commit
        plugin.calls.append((change, sorted(o.external_id for o in offers), committed))

    plugin.offer_changed = offer_changed
    return name, plugin


@contextmanager
def directories(tmp_path: Path, monkeypatch: Any) -> Iterator[Any]:
    """A factory of real Dortmund directories (SQLite store and embedded index in
    ``tmp_path``), all closed at the end: ``make(importers={...}, plugins=[...])``."""
    opened: list[Directory] = []

    def make(
        importers: dict[str, Any] | None = None,
        plugins: Iterable[tuple[str, object]] = (),
        store: str = "store.sqlite",
    ) -> Directory:
        monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{tmp_path / store}")
        instance = load_instance(DORTMUND)
        instance.importers = importers or {}
        directory = open_directory(instance, extra_plugins=list(plugins))
        opened.append(directory)
        return directory

    try:
        yield make
    finally:
        for directory in opened:
            directory.close()


def dump(directory: Directory) -> dict[str, list[tuple]]:
    """Every row of the tables an import writes to, for before/after comparisons."""
    tables = (t.offers, t.offer_categories, t.outbox, t.import_runs)
    with directory.store.engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in conn.execute(sa.select(table))), key=str
            )
            for table in tables
        }


def counts(directory: Directory) -> dict[str, int]:
    return {name: len(rows) for name, rows in dump(directory).items()}
