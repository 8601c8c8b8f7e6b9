"""Pick and open the search backend an instance names."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine.url import make_url

from .base import SearchBackend

if TYPE_CHECKING:  # pragma: no cover
    from directory_core.instance import Instance
    from directory_core.store import Store

log = logging.getLogger(__name__)


def embedded_path(instance: Instance, store: Store) -> Path:
    """The instance's ``search.path``, else a file of its own beside the store's SQLite
    file (``dortmund.sqlite`` -> ``dortmund.search.sqlite``), else (PostgreSQL)
    ``var/<key>-search.sqlite``.

    Its own file, not the store's: the index and the store then each have their own
    write lock, so a large import writes both at once (``directory_core/index_ahead.py``)
    and a sync never waits for a store write or the other way round. Indexes of earlier
    versions lived in the store's file; ``open_backend`` removes them from there."""
    if instance.search.path:
        return Path(instance.search.path)
    database = store_file(store)
    if database is not None:
        return database.with_name(f"{database.stem}.search{database.suffix}")
    return Path("var") / f"{instance.key}-search.sqlite"


def store_file(store: Store) -> Path | None:
    """The SQLite file of ``store``; ``None`` for PostgreSQL or an in-memory store."""
    url = make_url(store.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database)
    return None


def _open_embedded(instance: Instance, store: Store) -> SearchBackend:
    """The embedded index, kept in step with ``store`` (a new file is filled from it).
    An index an earlier version left in the store's own file is removed from there."""
    from .base import SearchError
    from .embedded import EmbeddedBackend, drop_index_tables

    path = embedded_path(instance, store)
    backend = EmbeddedBackend(path, from_store=True)
    database = store_file(store)
    if database is not None and database.resolve() != path.resolve():
        try:
            if drop_index_tables(database):
                log.warning("the search index moved from %s to %s", database, path)
        except SearchError as exc:  # only space is lost; tried again at the next start
            log.warning("%s", exc)
    return backend


def open_backend(instance: Instance, store: Store) -> tuple[SearchBackend, SearchBackend | None]:
    """The instance's backend and, if configured, the embedded fallback."""
    settings = instance.search
    if settings.backend == "embedded":
        return _open_embedded(instance, store), None
    from .elastic import ElasticsearchBackend

    primary = ElasticsearchBackend(
        settings.url,
        settings.index_prefix,
        search_timeout=settings.timeout_seconds,
        breaker_seconds=settings.breaker_seconds,
        owner=store.identity(),
        create_missing=False,  # the directory rebuilds a lost index from the store
    )
    fallback = None
    if settings.fallback == "embedded":
        fallback = _open_embedded(instance, store)
    return primary, fallback
