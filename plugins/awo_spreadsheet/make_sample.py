"""Write sample/awo_angebote_beispiel.xlsx: an invented AWO export with broken rows.

Every entry is invented (Beispieldaten): names, addresses, phone numbers and e-mail
addresses do not exist. Run it again after changing the rows:

    .venv/bin/python plugins/awo_spreadsheet/make_sample.py
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

OUT = Path(__file__).parent / "sample" / "awo_angebote_beispiel.xlsx"
NOTE = "Beispieldaten (erfunden)"
HEADER = (
    "Nr",
    "Angebot",
    "Art",
    "Beschreibung",
    "Straße",
    "PLZ",
    "Ort",
    "Telefon",
    "E-Mail",
    "Zeiten",
    "Sprachen",
    "Rollstuhlgerecht",
    "Kosten",
    "Fahrdienst",
    "Essen-auf-Rädern-Zone",
)
# PLZ partly as numbers, as spreadsheets store them
ROWS: tuple[tuple[object, ...], ...] = (
    # -- good rows (row 2 to 11) --
    ("AWO-101", "Essen auf Rädern Hörde", "Dienst", "Warmes Mittagessen, nach Hause geliefert.",
     "Beispielweg 12", 44263, "Dortmund", "0231 99990-101", "essen@awo-beispiel.invalid",
     "Mo-Fr 11-13 Uhr", "Deutsch", "ja", "6,50 € pro Mahlzeit", "nein", "Süd"),
    ("AWO-102", "Demenzcafé Vergissmeinnicht", "Demenzcafé",
     "Kaffee, Musik und Gespräche für Menschen mit Demenz und Angehörige.",
     "Erfundene Straße 5", 44139.0, "Dortmund", "0231 99990-102", "",
     "jeden 2. Dienstag 14-16 Uhr", "Deutsch, Türkisch", "ja", "kostenlos", "ja", None),
    ("AWO-103", "Seniorentreff Brackel", "Begegnungsstätte",
     "Offener Treff mit Spielenachmittag und Gymnastik.",
     "Musterplatz 3", "44309", "Dortmund", "0231 99990-103", "treff@awo-beispiel.invalid",
     "Mo, Mi 14:00-17:00", "Deutsch", "x", "", "ja", None),
    ("AWO-104", "Besuchsdienst Eving", "Dienst",
     "Ehrenamtliche besuchen ältere Menschen zu Hause.",
     "Probegasse 8", 44339, "Dortmund", "0231 99990-104", "", "Di 9-12",
     "Deutsch; Polnisch", "nein", "kostenlos", "nein", "Nord"),
    ("AWO-105", "Pflegekurs für Angehörige", "Fortbildung",
     "Kurs für pflegende Angehörige in sechs Terminen.",
     "Beispielweg 12", 44263, "Dortmund", "0231 99990-105", "kurs@awo-beispiel.invalid",
     "1. und 3. Do 17-19 Uhr", "Deutsch", "ja", "kostenlos", "nein", None),
    ("AWO-106", "Mittagstisch Innenstadt", "Mittagstisch", "Mittagessen in Gesellschaft.",
     "Testallee 21", 44137, "Dortmund", "0231 99990-106", "", "Mo-Fr 12-13:30",
     "Deutsch, Russisch", "ja", "4,00 €", "nein", "Mitte"),
    ("AWO-107", "Gesprächskreis pflegende Angehörige", "Demenzgruppe",
     "Austausch für Angehörige von Menschen mit Demenz.",
     "Erfundene Straße 5", 44139, "Dortmund", "", "angehoerige@awo-beispiel.invalid",
     "letzter Fr 15-17 Uhr", "Deutsch", "ja", "kostenlos", "nein", None),
    ("AWO-108", "Seniorenverein Hombruch e.V.", "Verein", "Ausflüge, Feste und Skat.",
     "Musterring 40", 44225, "Dortmund", "0231 99990-108", "", "Do 15-18",
     "Deutsch", "nein", "12 € Jahresbeitrag", "nein", None),
    ("AWO-109", "Hausnotruf", "Dienst", "Hausnotruf rund um die Uhr.",
     "Testallee 21", 44137, "Dortmund", "0231 99990-109", "", None,
     "Deutsch, Türkisch, Arabisch", "ja", "ab 25 € im Monat", "nein", "West"),
    ("AWO-110", "Wohnberatung Aplerbeck", "Dienst", "Beratung zum barrierefreien Umbau.",
     "Probegasse 2", 44287, "Dortmund", "0231 99990-110", "wohnen@awo-beispiel.invalid",
     "alle 2 Wochen Mi 10-12", "Deutsch", "ja", "kostenlos", "nein", "Ost"),
    # -- broken rows (row 12 to 19) --
    ("AWO-111", "Seniorengymnastik", "Begegnungsstätte", "PLZ mit vier Ziffern.",
     "Musterplatz 3", "4426", "Dortmund", "0231 99990-111", "", "Mi 10-11",
     "Deutsch", "ja", "kostenlos", "nein", None),
    ("AWO-112", "Tanztee", "Tanzkurs", "Unbekannte Art.",
     "Musterplatz 3", 44309, "Dortmund", "0231 99990-112", "", "Sa 15-18",
     "Deutsch", "ja", "kostenlos", "nein", None),
    ("AWO-113", None, "Dienst", "Angebot ohne Namen.",
     "Musterplatz 3", 44309, "Dortmund", "0231 99990-113", "", "Mo 9-10",
     "Deutsch", "ja", "kostenlos", "nein", "Ost"),
    ("AWO-102", "Demenzcafé (doppelt)", "Demenzcafé", "Nr. AWO-102 steht schon in Zeile 3.",
     "Erfundene Straße 5", 44139, "Dortmund", "0231 99990-102", "", "Di 14-16",
     "Deutsch", "ja", "kostenlos", "nein", None),
    ("AWO-115", "Erzählcafé", "Begegnungsstätte", "Zeiten nicht lesbar.",
     "Musterring 40", 44225, "Dortmund", "0231 99990-115", "", "dienstags nachmittags",
     "Deutsch", "ja", "kostenlos", "nein", None),
    ("AWO-116", "Einkaufshilfe", "Dienst", "Dienst ohne Telefonnummer (AWO-Regel).",
     "Probegasse 8", 44339, "Dortmund", None, "einkauf@awo-beispiel.invalid", "Fr 9-12",
     "Deutsch", "nein", "kostenlos", "nein", "Nord"),
    ("AWO-117", "Spielenachmittag", "Begegnungsstätte", "Fahrdienst weder ja noch nein.",
     "Musterplatz 3", 44309, "Dortmund", "0231 99990-117", "", "Do 14-16",
     "Deutsch", "ja", "kostenlos", "vielleicht", None),
    ("AWO-118", "Essen auf Rädern Scharnhorst", "Essen auf Rädern", "Zone gibt es nicht.",
     "Beispielweg 7", 44328, "Dortmund", "0231 99990-118", "", "Mo-Fr 11-13",
     "Deutsch", "ja", "6,50 €", "nein", "Nordost"),
)  # fmt: skip


def main() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Angebote"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in ROWS:
        number, title, kind, description, *rest = row
        sheet.append((number, title, kind, f"{NOTE}: {description}", *rest))
    note = workbook.create_sheet("Hinweis")
    note.append(("Beispieldaten",))
    note.append(
        (
            "Alle Einträge sind erfunden: Namen, Adressen, Telefonnummern und E-Mail-Adressen "
            "gibt es nicht. Die Zeilen 12 bis 19 sind absichtlich fehlerhaft (Testdaten).",
        )
    )
    workbook.properties.title = "AWO-Angebote (Beispieldaten, erfunden)"
    workbook.properties.creator = "directory-plugin-awo make_sample.py"
    # fixed timestamps, so that running the script again gives the same file content
    workbook.properties.created = workbook.properties.modified = datetime(2026, 1, 1)
    OUT.parent.mkdir(exist_ok=True)
    workbook.save(OUT)
    print(f"wrote {OUT} ({len(ROWS)} rows)")


if __name__ == "__main__":
    main()
