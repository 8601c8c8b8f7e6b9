"""The XLSX importer: cells as spreadsheets hold them (numbers, dates, booleans), sheets."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pytest

from directory_core.importers.base import SourceError
from directory_core.importers.xlsx_importer import XlsxImporter
from directory_core.importing import run_import

from .import_fixtures import CSV_SETTINGS, directories

COLUMNS = {**CSV_SETTINGS["columns"], "valid_from": "Ab", "wheelchair": "Rollstuhl"}
SETTINGS = {"columns": COLUMNS, "values": CSV_SETTINGS["values"]}
HEADER = ["Nr", "Angebot", "Art", "Kategorien", "Straße", "PLZ", "Ort", "Zeiten", "Ab", "Rollstuhl"]


def workbook(path, rows, header=HEADER, sheets=("Angebote",)):
    book = openpyxl.Workbook()
    first = book.active
    first.title = sheets[0]
    for name in sheets[1:]:
        book.create_sheet(name).append(["Hinweis", "Beispieldaten"])
    first.append(header)
    for row in rows:
        first.append(row)
    book.save(path)
    return str(path)


def row(number, **changes):
    values = {
        "Nr": number,
        "Angebot": f"Treff {number}",
        "Art": "Treff",
        "Kategorien": "encounter.meeting",
        "Straße": "Hauptstraße 1",
        "PLZ": 44263,
        "Ort": "Dortmund",
        "Zeiten": "Mo 10-12",
        "Ab": datetime(2026, 3, 1),
        "Rollstuhl": True,
    } | changes
    return [values[h] for h in HEADER]


@pytest.fixture
def directory(tmp_path, monkeypatch):
    with directories(tmp_path, monkeypatch) as make:
        yield make(importers={"xlsx": SETTINGS})


def read(directory, source, settings=SETTINGS):
    return list(XlsxImporter("awo", settings, directory).read(source))


def test_cells_as_spreadsheets_hold_them(directory, tmp_path):
    source = workbook(
        tmp_path / "a.xlsx",
        [
            row(17),
            row(18, PLZ=44263.0, Rollstuhl="nein", Ab="01.04.2026"),
            row("19", PLZ="01067", Rollstuhl=False, Ab=None),
            row(20, PLZ=1067),  # the leading zero a number cell lost comes back
            row(21.0, PLZ=442630),
        ],
    )
    records = read(directory, source)
    assert [r.location for r in records] == ["row 2", "row 3", "row 4", "row 5", "row 6"]
    offers = [r.offer for r in records[:4]]
    assert [o.external_id for o in offers] == ["17", "18", "19", "20"]
    assert [o.address.postcode for o in offers] == ["44263", "44263", "01067", "01067"]
    assert [o.accessibility.wheelchair for o in offers] == [True, False, False, True]
    assert [o.schedule.valid_from for o in offers] == [
        date(2026, 3, 1),
        date(2026, 4, 1),
        None,
        date(2026, 3, 1),
    ]
    assert [str(e) for e in records[4].errors] == [
        "postcode: column 'PLZ': must be five digits, got '442630'"
    ]


def test_import_and_reimport(directory, tmp_path):
    source = workbook(tmp_path / "a.xlsx", [row(1), row(2), row(3, Art="Tanzkurs")])
    report = run_import(directory, "awo", "xlsx", source)
    assert report.counts()["created"] == 2
    assert [str(r) for r in report.rejected] == [
        "row 4, field kind: column 'Art': unknown kind 'Tanzkurs'; allowed: service, "
        "association, dementia_group, training_offer, advice_office, meeting_place or Dienst, "
        "Verein, Demenzgruppe, Fortbildung, Seniorenbüro, Begegnungsstätte"
    ]
    assert run_import(directory, "awo", "xlsx", source).counts()["unchanged"] == 2


def test_empty_rows_are_skipped(directory, tmp_path):
    source = workbook(tmp_path / "a.xlsx", [row(1), [None] * len(HEADER), row(3)])
    assert [r.location for r in read(directory, source)] == ["row 2", "row 4"]


def test_sheet_setting(directory, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Hinweis"
    book.active.append(["Beispieldaten"])
    sheet = book.create_sheet("Angebote")
    sheet.append(HEADER)
    sheet.append(row(1))
    path = tmp_path / "two.xlsx"
    book.save(path)
    with pytest.raises(SourceError, match="missing column"):  # the first sheet is read
        read(directory, str(path))
    records = read(directory, str(path), {**SETTINGS, "sheet": "Angebote"})
    assert records[0].offer.title == "Treff 1"
    with pytest.raises(
        SourceError, match="no sheet 'Tabelle1'; the workbook has 'Hinweis', 'Angebote'"
    ):
        read(directory, str(path), {**SETTINGS, "sheet": "Tabelle1"})


def test_missing_columns(directory, tmp_path):
    source = workbook(tmp_path / "a.xlsx", [["1", "x"]], header=["Nr", "Titel"])
    with pytest.raises(SourceError, match=r"missing column\(s\) 'Angebot' \(title\), 'Art'"):
        read(directory, source)


def test_not_a_workbook_and_empty_sheets(directory, tmp_path):
    (tmp_path / "fake.xlsx").write_text("Nr;Angebot\n1;x\n", encoding="utf-8")
    with pytest.raises(SourceError, match="not an Excel workbook"):
        read(directory, str(tmp_path / "fake.xlsx"))
    book = openpyxl.Workbook()
    book.save(tmp_path / "empty.xlsx")
    with pytest.raises(SourceError, match="sheet 'Sheet' is empty"):
        read(directory, str(tmp_path / "empty.xlsx"))


def test_count(directory, tmp_path):
    source = workbook(tmp_path / "a.xlsx", [row(i) for i in range(1, 8)])
    assert XlsxImporter("awo", SETTINGS, directory).count(source) == 7
