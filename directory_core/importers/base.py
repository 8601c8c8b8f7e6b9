"""The importer interface for plugin authors.

An importer reads one source (a file path or an http(s) URL) and yields one
``ImportRecord`` per entry: an ``Offer`` (with ``external_id`` set, carrier left to the
core) or the errors that make the entry unusable. The core
(``directory_core.importing.run_import``) does the rest: validation, geocoding, upsert by
(carrier, external id), archiving in ``--full`` mode, the report and the run record.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ..model import Offer
from ..validation import FieldError

if TYPE_CHECKING:  # pragma: no cover
    from ..directory import Directory


class SourceError(Exception):
    """The source as a whole cannot be read (missing file, HTTP error, wrong format)."""


@dataclass
class ImportRecord:
    """One entry of a source: where it is, and the offer or why there is none."""

    location: str  # "row 17", "line 3", "event 4": shown in reports
    offer: Offer | None = None
    errors: list[FieldError] = field(default_factory=list)
    #: the entry's id in the source when it is known but the entry is rejected (no
    #: ``offer``): ``--full`` then keeps the offer with this id instead of archiving it
    external_id: str | None = None


class Importer(abc.ABC):
    """Base class of importers. Subclasses set the class attributes and ``read``.

    :cvar name: unique name used on the command line (``directory import awo NAME ...``).
    :cvar description: one sentence for ``directory importers``.
    :cvar formats: file formats read, e.g. ``("xlsx", "csv")``.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    formats: ClassVar[tuple[str, ...]]

    def __init__(self, carrier: str, settings: dict[str, Any], directory: Directory):
        #: the carrier whose offers are imported
        self.carrier = carrier
        #: this importer's table from the instance file (``[importers.NAME]``), merged
        #: with its ``carriers.CARRIER`` sub-table
        self.settings = settings
        self.directory = directory

    @abc.abstractmethod
    def read(self, source: str) -> Iterator[ImportRecord]:
        """Yield a record per entry of ``source``; raise ``SourceError`` only when the
        source as a whole is unreadable, never for one bad entry."""

    def count(self, source: str) -> int | None:
        """The number of entries, if cheap to know (for the progress bar)."""
        return None

    def read_text(self, source: str) -> str:
        """The text of ``source`` (file or URL) in the encoding of the instance file's
        ``[importers.NAME] encoding`` setting (default UTF-8); a ``SourceError`` naming
        line, byte and that setting if it does not fit."""
        encoding = self.settings.get("encoding", "utf-8")
        if not isinstance(encoding, str):
            raise SourceError(f"[importers.{self.name}] encoding must be text, got {encoding!r}")
        return decode_text(
            read_source(source), source, encoding, setting=f"[importers.{self.name}] encoding"
        )


def read_source(source: str, timeout: float = 30.0) -> bytes:
    """The bytes of a file path or http(s) URL; ``SourceError`` with the reason."""
    if source.startswith(("http://", "https://")):
        try:
            response = httpx.get(source, timeout=timeout, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise SourceError(f"cannot download {source}: {exc}") from exc
        return response.content
    path = Path(source)
    if not path.is_file():
        raise SourceError(f"source file {source} does not exist")
    return path.read_bytes()


def decode_text(
    data: bytes, source: str, encoding: str = "utf-8", setting: str = "encoding"
) -> str:
    """Decode ``data``; a wrong encoding is a ``SourceError`` naming line and byte, and
    ``setting``, where the instance file sets the encoding. Importers call
    ``Importer.read_text``, which passes the instance's setting."""
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except LookupError as exc:
        raise SourceError(f"{setting}: unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"{source}: line {line} is not valid {encoding} (byte {exc.object[exc.start]:#x} at "
            f"offset {exc.start}); save the file as {encoding} or set the encoding in the "
            f'instance file (e.g. {setting} = "cp1252")'
        ) from exc
