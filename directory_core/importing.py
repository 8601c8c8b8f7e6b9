"""Running an importer: validate, geocode, upsert, archive, report, record.

``run_import`` is what ``directory import`` calls. A rejected record never stops the
others; the whole run is written in one transaction, so an interrupted import leaves
the store as it was before it or fully applied, never half.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .history import Actor, login_name
from .importers.base import Importer, SourceError
from .index_ahead import IndexAhead
from .model import Offer
from .store import Store, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from .directory import Directory


class ImportFailed(Exception):
    """The import cannot run at all (unknown carrier or importer, unreadable source)."""


class ImporterCrashed(ImportFailed):
    """The importer raised something other than ``SourceError`` (a bug in it, e.g. a
    ``KeyError`` for a misspelt column). Nothing was written; the run is recorded as
    failed. The message names importer and plugin; ``__cause__`` is the original error."""


@dataclass(frozen=True)
class Rejection:
    location: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}, field {self.field}: {self.reason}"


@dataclass
class ImportReport:
    carrier: str
    importer: str
    source: str
    full: bool
    dry_run: bool
    created: list[Offer] = field(default_factory=list)
    updated: list[Offer] = field(default_factory=list)
    unchanged: int = 0
    archived: list[Offer] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the run as a whole
    records: int = 0
    seconds: float = 0.0
    run_id: int | None = None

    @property
    def rejected_records(self) -> int:
        return len({r.location for r in self.rejected})

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "archived": len(self.archived),
            "rejected": self.rejected_records,
        }

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts().items())
        rate = self.records / self.seconds if self.seconds else 0.0
        mode = " (dry run: nothing written)" if self.dry_run else ""
        return (
            f"{self.records} records from {self.source} in {self.seconds:.2f} s "
            f"({rate:.0f}/s): {counts}{mode}"
        )


def _comparable(offer: Offer) -> dict[str, Any]:
    values = asdict(offer)
    for key in ("id", "created_at", "updated_at", "version"):
        values.pop(key)
    if values["location"] is not None:
        values["location"]["precision"] = str(values["location"]["precision"])
    return values


def run_import(
    directory: Directory,
    carrier: str,
    importer_name: str,
    source: str,
    *,
    full: bool = False,
    dry_run: bool = False,
    user: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportReport:
    """Import ``source`` for ``carrier`` with the importer called ``importer_name``."""
    with fewer_collections():
        return _run_import(
            directory,
            carrier,
            importer_name,
            source,
            full=full,
            dry_run=dry_run,
            user=user,
            progress=progress,
        )


# Python's cyclic garbage collector runs after every 700 new container objects and walks
# the young ones each time; an import keeps every record's offer (a dozen containers
# each) alive until it commits, so the collector walked them again and again: a quarter
# of an import's time. During imports it runs 70 times less often (it still runs, so
# cyclic garbage is still freed); the thresholds are restored when the last import of
# the process ends.
IMPORT_GC_THRESHOLD = (50_000, 20, 10)
_gc_lock = threading.Lock()
_gc_imports = 0
_gc_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often inside (``IMPORT_GC_THRESHOLD``);
    nested and concurrent uses are counted, the last one out restores the thresholds."""
    global _gc_imports, _gc_saved
    with _gc_lock:
        if _gc_imports == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(*IMPORT_GC_THRESHOLD)
        _gc_imports += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_imports -= 1
            if _gc_imports == 0:
                gc.set_threshold(*_gc_saved)


def _run_import(
    directory: Directory,
    carrier: str,
    importer_name: str,
    source: str,
    *,
    full: bool,
    dry_run: bool,
    user: str | None,
    progress: Callable[[int, int | None], None] | None,
) -> ImportReport:
    if carrier not in directory.carrier_by_key:
        raise ImportFailed(
            f"unknown carrier {carrier!r}; the instance lists: "
            f"{', '.join(sorted(directory.carrier_by_key))}"
        )
    importers = directory.registry.importers
    if importer_name not in importers:
        raise ImportFailed(
            f"unknown importer {importer_name!r}; available: {', '.join(sorted(importers))}"
        )
    settings = dict(directory.instance.importers.get(importer_name, {}))
    per_carrier = settings.pop("carriers", {}).get(carrier, {})
    settings.update(per_carrier)

    started_at = utcnow()
    started = time.perf_counter()
    report = ImportReport(carrier, importer_name, source, full, dry_run)
    read = _Read()
    try:
        importer: Importer = importers[importer_name](carrier, settings, directory)
        _read_records(importer, source, carrier, report, read, progress)
    except SourceError:
        raise
    except Exception as exc:
        plugin = directory.registry.importer_plugins.get(importer_name, "?")
        where = f"after {read.location}" if read.location else "before its first record"
        message = (
            f"importer {importer_name!r} of plugin {plugin!r} failed {where}: "
            f"{type(exc).__name__}: {exc}; nothing was written"
        )
        if not dry_run:
            _record_run(directory, report, started_at, user, status="failed", error=message)
        raise ImporterCrashed(message) from exc

    store = directory.store
    existing, accepted_external = _match(directory, carrier, report, read.candidates)
    accepted_external |= read.protected

    if full and read.unidentified:
        report.notes.append(
            f"--full: no offer was archived, because {len(read.unidentified)} rejected "
            f"record(s) have no external id ({', '.join(read.unidentified[:5])}"
            f"{', ...' if len(read.unidentified) > 5 else ''}) and could be any of the carrier's "
            "offers; fix them and import again"
        )
    elif full:
        current = store.carrier_offer_ids(carrier, status="active")
        gone = [i for i, ext in current.items() if ext not in accepted_external]
        existing.update(store.get_offers(gone))
        for offer in store.get_offers(gone).values():
            offer.status = "archived"
            report.archived.append(offer)

    report.seconds = time.perf_counter() - started
    if dry_run:
        return report
    written = report.created + report.updated + report.archived
    changes = {"created": report.created, "updated": report.updated, "archived": report.archived}
    # a large import is indexed by a second process while the store writes it, and
    # becomes searchable when both have committed (index_ahead.py)
    with IndexAhead(directory, written, directory.document_builder()) as ahead:
        with store.transaction() as conn:
            store.write_offers(
                conn, written, actor=Actor(user or login_name(), "import"), previous=existing
            )
            report.run_id = _insert_run(store, conn, report, started_at, user)
        ahead.store_committed()
        directory.sync_written(changes, indexed=ahead.indexed)
    directory.notify_written(changes)  # the plugins after the sync lock is let go
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Read:
    """What the importer's records gave, before they are matched with the store."""

    candidates: list[tuple[str, Offer]] = field(default_factory=list)  # (location, offer)
    # ids of entries rejected at any stage: still in the source, so never archived
    protected: set[str] = field(default_factory=set)
    unidentified: list[str] = field(default_factory=list)  # rejected, no id: any offer
    location: str | None = None  # of the last record read


def _read_records(
    importer: Importer,
    source: str,
    carrier: str,
    report: ImportReport,
    read: _Read,
    progress: Callable[[int, int | None], None] | None,
) -> None:
    """Read every record; reject the bad ones into ``report``, collect the rest in
    ``read`` (``SourceError`` propagates: nothing is written)."""
    first_seen: dict[str, str] = {}
    # counting reads the whole source once more: only for a progress bar
    total = importer.count(source) if progress else None
    for record in importer.read(source):  # SourceError propagates: nothing is written
        read.location = record.location
        report.records += 1
        if progress:
            progress(report.records, total)
        offer = record.offer
        external_id = record.external_id or (offer.external_id if offer else None)
        if record.errors or offer is None or not offer.external_id:
            if external_id:
                read.protected.add(str(external_id))
            else:
                read.unidentified.append(record.location)
        if record.errors:
            report.rejected.extend(
                Rejection(record.location, e.field, e.message) for e in record.errors
            )
            continue
        if offer is None:
            report.rejected.append(Rejection(record.location, "-", "no offer in this entry"))
            continue
        offer.carrier = carrier
        if not offer.external_id:
            report.rejected.append(
                Rejection(record.location, "external_id", "is required for imports")
            )
            continue
        if offer.external_id in first_seen:
            report.rejected.append(
                Rejection(
                    record.location,
                    "external_id",
                    f"duplicate {offer.external_id!r}, first used at "
                    f"{first_seen[offer.external_id]}",
                )
            )
            continue
        first_seen[offer.external_id] = record.location
        read.candidates.append((record.location, offer))


def _match(
    directory: Directory, carrier: str, report: ImportReport, candidates: list[tuple[str, Offer]]
) -> tuple[dict[str, Offer], set[str]]:
    """Match the candidates with the carrier's stored offers (keeping what the directory
    owns), validate them and sort them into created, updated and unchanged in ``report``.
    Returns the stored offers and the external ids present in the source."""
    store = directory.store
    known = store.find_external(carrier, [o.external_id for _, o in candidates])
    existing = store.get_offers(known.values())
    accepted_external: set[str] = set()
    for location, offer in candidates:
        old_id = known.get(offer.external_id)
        old = existing.get(old_id) if old_id else None
        if old is not None:
            offer.id = old.id
            offer.created_at = old.created_at
            offer.version = old.version
            # staff fields are kept up in the directory, not in the carriers' sources
            offer.internal_note = offer.internal_note or old.internal_note
            if offer.verified_at is None and old.verified_at is not None:
                offer.verified_at, offer.verified_by = old.verified_at, old.verified_by
            if not offer.district_manual and old.district_manual:
                offer.district, offer.district_manual = old.district, True
        errors = directory.check(offer)
        if errors:
            report.rejected.extend(Rejection(location, e.field, e.message) for e in errors)
            accepted_external.add(offer.external_id)  # present in the source: not archived
            continue
        accepted_external.add(offer.external_id)
        if old is None:
            report.created.append(offer)
        elif _comparable(old) == _comparable(offer):
            report.unchanged += 1
        else:
            report.updated.append(offer)
    return existing, accepted_external


def _insert_run(
    store: Store,
    conn: sa.Connection,
    report: ImportReport,
    started_at: Any,
    user: str | None,
    status: str = "completed",
    error: str | None = None,
) -> int:
    return store.record_import_run(
        conn,
        carrier=report.carrier,
        importer=report.importer,
        source=report.source,
        user=user or login_name(),
        started_at=started_at,
        full=report.full,
        records=report.records,
        **report.counts(),
        rejections=[str(r) for r in report.rejected[:1000]] + report.notes,
        status=status,
        error=error,
    )


def _record_run(
    directory: Directory,
    report: ImportReport,
    started_at: Any,
    user: str | None,
    status: str,
    error: str,
) -> None:
    """Record a run that wrote no offers (a failed one)."""
    with directory.store.transaction() as conn:
        report.run_id = _insert_run(directory.store, conn, report, started_at, user, status, error)


def import_runs(directory: Directory, limit: int = 20) -> list[dict[str, Any]]:
    """The latest recorded import runs, newest first."""
    return directory.store.import_runs(limit)
