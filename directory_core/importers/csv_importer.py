"""The built-in CSV importer (``directory import CARRIER csv FILE``).

Settings (``[importers.csv]`` in the instance file, optionally per carrier in
``[importers.csv.carriers.CARRIER]``)::

    delimiter = ";"        # default: whichever of ; , TAB the header line uses most
    encoding = "utf-8"     # e.g. "cp1252" for files saved by older Excel versions
    [importers.csv.columns]
    title = "Angebot"      # offer field = column name (see importers/mapping.py)

Rows are numbered as in a spreadsheet: the header is row 1, the first offer row 2.
Empty rows are skipped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from .. import hookimpl
from ..validation import FieldError
from .base import Importer, ImportRecord, SourceError
from .mapping import ColumnMapping, is_blank

DELIMITERS = (";", ",", "\t")


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of ``DELIMITERS`` used most in the header line (outside quotes);
    "," if none is used."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class CsvImporter(Importer):
    """Rows of a CSV file; columns mapped to offer fields in the instance file."""

    name = "csv"
    description = (
        "CSV file, one offer per row; delimiter ; , or TAB (sniffed), columns mapped in "
        "[importers.csv.columns]"
    )
    formats = ("csv", "tsv", "txt")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._texts: dict[str, str] = {}

    def _text(self, source: str) -> str:
        if source not in self._texts:
            self._texts[source] = self.read_text(source)
        return self._texts[source]

    def _rows(self, source: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
        text = self._text(source)
        delimiter = self.settings.get("delimiter") or sniff_delimiter(text.split("\n", 1)[0])
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise SourceError(
                f"[importers.{self.name}] delimiter must be one character, got {delimiter!r}"
            )
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise SourceError(f"{source}: row 1 is not valid CSV: {exc}") from exc
        if header is None or all(is_blank(cell) for cell in header):
            raise SourceError(f"{source}: the file is empty; row 1 must name the columns")

        def rows() -> Iterator[tuple[int, list[str]]]:
            number = 1
            while True:
                number += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise SourceError(f"{source}: row {number} is not valid CSV: {exc}") from exc
                yield number, cells

        return header, rows()

    def mapping(self) -> ColumnMapping:
        return ColumnMapping.from_settings(
            self.settings,
            self.directory,
            where=f"importers.{self.name}",
            other_settings=("delimiter", "encoding"),
        )

    def read(self, source: str) -> Iterator[ImportRecord]:
        mapping = self.mapping()  # first: a misspelt setting is the first thing to fix
        header, rows = self._rows(source)
        mapping.bind(header, source)
        width = len(header)
        try:
            for number, cells in rows:
                if _blank_row(cells):
                    continue
                location = f"row {number}"
                extra = [c for c in cells[width:] if not is_blank(c)]
                if extra:
                    yield ImportRecord(
                        location,
                        errors=[
                            FieldError(
                                "row",
                                f"has {len(cells)} cells but the header names {width} "
                                f"columns (a {mapping.noun} delimiter inside a value? quote it)",
                            )
                        ],
                    )
                    continue
                yield mapping.convert_row(cells, location)
        finally:
            self._texts.pop(source, None)

    def count(self, source: str) -> int | None:
        if source.startswith(("http://", "https://")):
            return None  # would download twice
        header, rows = self._rows(source)
        return sum(1 for _, cells in rows if not _blank_row(cells))


def _blank_row(cells: list[str]) -> bool:
    """A row of empty or white-space cells (the csv module gives text cells)."""
    return not "".join(cells).strip()


@hookimpl(trylast=True)
def register_importers(register):
    register(CsvImporter)
