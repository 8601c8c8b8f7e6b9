"""The built-in XLSX importer (``directory import CARRIER xlsx FILE``).

Settings (``[importers.xlsx]``, optionally per carrier)::

    sheet = "Angebote"     # default: the first sheet
    [importers.xlsx.columns]
    title = "Angebot"      # offer field = column name (see importers/mapping.py)

Row 1 of the sheet names the columns; rows are numbered as in the spreadsheet. Numbers,
dates and booleans are taken as the cells hold them (a postcode stored as the number
44263 becomes "44263"); formulas count with their last computed value.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import openpyxl

from .. import hookimpl
from .base import Importer, ImportRecord, SourceError, read_source
from .mapping import ColumnMapping, is_blank


class XlsxImporter(Importer):
    """Rows of one sheet of an Excel workbook; columns mapped to offer fields.

    Subclasses for a carrier's own export set ``columns`` and ``values`` (the built-in
    mapping); the instance file can still override single columns.
    """

    name = "xlsx"
    description = (
        "Excel workbook (.xlsx), one offer per row of the first sheet (or `sheet`), "
        "columns mapped in [importers.xlsx.columns]"
    )
    formats = ("xlsx",)
    #: built-in column mapping (offer field → column name)
    columns: ClassVar[dict[str, str]] = {}
    #: built-in value maps (field → cell text → value)
    values: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._data: dict[str, bytes] = {}

    def mapping(self) -> ColumnMapping:
        return ColumnMapping.from_settings(
            self.settings,
            self.directory,
            columns=self.columns,
            values=self.values,
            where=f"importers.{self.name}",
            other_settings=("sheet",),
        )

    @contextmanager
    def _sheet(self, source: str) -> Iterator[Any]:
        if source not in self._data:
            self._data[source] = read_source(source)
        try:
            with warnings.catch_warnings():
                # openpyxl warns about styles and extensions it does not read
                warnings.simplefilter("ignore", UserWarning)
                workbook = openpyxl.load_workbook(
                    io.BytesIO(self._data[source]), read_only=True, data_only=True
                )
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise SourceError(
                f"{source}: not an Excel workbook (.xlsx) ({exc}); save it as .xlsx or "
                "export CSV and use the csv importer"
            ) from exc
        try:
            wanted = self.settings.get("sheet")
            if wanted is None:
                sheet = workbook.worksheets[0]
            elif wanted in workbook.sheetnames:
                sheet = workbook[wanted]
            else:
                raise SourceError(
                    f"{source}: no sheet {wanted!r}; the workbook has "
                    f"{', '.join(repr(n) for n in workbook.sheetnames)}"
                )
            yield sheet
        finally:
            workbook.close()

    def read(self, source: str) -> Iterator[ImportRecord]:
        mapping = self.mapping()  # first: a misspelt setting is the first thing to fix
        try:
            with self._sheet(source) as sheet:
                rows = sheet.iter_rows(values_only=True)
                header = next(rows, None)
                if header is None or all(is_blank(cell) for cell in header):
                    raise SourceError(
                        f"{source}: sheet {sheet.title!r} is empty; row 1 must name the columns"
                    )
                mapping.bind(header, source)
                for number, cells in enumerate(rows, start=2):
                    if all(is_blank(cell) for cell in cells):
                        continue
                    yield mapping.convert_row(cells, f"row {number}")
        finally:
            self._data.pop(source, None)

    def count(self, source: str) -> int | None:
        if source.startswith(("http://", "https://")):
            return None
        with self._sheet(source) as sheet:
            rows = sheet.max_row  # from the sheet's dimension record: cheap, may be absent
        return rows - 1 if rows else None


@hookimpl(trylast=True)
def register_importers(register):
    register(XlsxImporter)
