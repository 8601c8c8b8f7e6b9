"""Pick and open the search backend an instance names."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine.url import make_url

from .base import SearchBackend

if TYPE_CHECKING:  # pragma: no cover
    from directory_core.instance import Instance
    from directory_core.store import Store


def embedded_path(instance: Instance, store: Store) -> Path:
    """The embedded index lives in the store's SQLite file unless the instance names
    another file (required when the store is PostgreSQL)."""
    if instance.search.path:
        return Path(instance.search.path)
    url = make_url(store.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database)
    return Path("var") / f"{instance.key}-search.sqlite"


def open_backend(instance: Instance, store: Store) -> tuple[SearchBackend, SearchBackend | None]:
    """The instance's backend and, if configured, the embedded fallback."""
    from .embedded import EmbeddedBackend

    settings = instance.search
    if settings.backend == "embedded":
        return EmbeddedBackend(embedded_path(instance, store)), None
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
        fallback = EmbeddedBackend(embedded_path(instance, store))
    return primary, fallback
