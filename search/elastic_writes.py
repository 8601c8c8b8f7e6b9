"""The Elasticsearch backend's writes: bulk indexing and deleting, and the rebuild into a
new index behind the alias. A mixin of ``elastic.ElasticsearchBackend``, split from
``elastic.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .base import (
    SearchDocument,
    SearchError,
    SearchUnavailable,
)
from .elastic_analysis import (
    _MAPPED_RANGES as _MAPPED_RANGES,  # "x as x": re-exported for tests and tools
)
from .elastic_analysis import (
    MAX_KEYWORD as MAX_KEYWORD,
)
from .elastic_analysis import (
    PREFIX_GRAMS as PREFIX_GRAMS,
)
from .elastic_analysis import fold_mapping_rules as fold_mapping_rules
from .elastic_client import (
    es_helpers,
)
from .elastic_documents import document_source
from .elastic_documents import extra_entries as extra_entries

log = logging.getLogger("directory_search.elastic")


class ElasticWrites:
    """Writes of ``ElasticsearchBackend`` (uses its client, breaker and alias)."""

    # -- writing -------------------------------------------------------------------------

    def _bulk(
        self, actions: Iterable[dict[str, Any]], what: str, parallel: bool, **options: Any
    ) -> None:
        """Send ``actions`` in bulk requests of ``bulk_chunk`` actions; with ``parallel``
        on ``bulk_threads`` connections at once (``helpers.parallel_bulk``: the actions
        of the next request are built while the others are sent)."""
        with self._call(what):
            if parallel and self.bulk_threads > 1:
                errors = [
                    item
                    for ok, item in es_helpers.parallel_bulk(
                        self.es,
                        actions,
                        thread_count=self.bulk_threads,
                        chunk_size=self.bulk_chunk,
                        raise_on_error=False,
                        raise_on_exception=True,
                        **options,
                    )
                    if not ok
                ]
            else:
                _, errors = es_helpers.bulk(
                    self.es,
                    actions,
                    chunk_size=self.bulk_chunk,
                    raise_on_error=False,
                    raise_on_exception=True,
                    **options,
                )
        problems = []
        for item in errors:
            ((op, info),) = item.items()
            status = info.get("status")
            if op == "delete" and status == 404:
                continue  # unknown ids are ignored
            problems.append((status, info.get("_id"), info.get("error")))
        if not problems:
            return
        status, doc_id, error = problems[0]
        message = f"{what}: {len(problems)} failed, first {doc_id!r}: {error}"
        if isinstance(status, int) and (status >= 500 or status in (408, 429)):
            raise SearchUnavailable(f"Elasticsearch at {self.safe_url}: {message}")
        raise SearchError(f"Elasticsearch at {self.safe_url}: {message}")

    def _refresh(self, index: str) -> None:
        with self._call("refreshing"):
            self.es.indices.refresh(index=index)

    def _record(self, changes: dict[str, dict[str, Any] | None]) -> None:
        """During a rebuild: remember writes (id -> source, ``None``: deleted) to apply
        to the new index once it is built."""
        with self._build_lock:
            if self._building is not None:
                self._pending.update(changes)

    def index(self, documents: list[SearchDocument]) -> None:
        if not documents:
            return
        self._vocabulary = None
        latest = list({d.id: d for d in documents}.values())
        sources = [(d.id, document_source(d)) for d in latest]
        self._ensure()
        self._record(dict(sources))
        actions = (
            {"_op_type": "index", "_index": self.alias, "_id": doc_id, "_source": src}
            for doc_id, src in sources
        )
        self._bulk(
            actions,
            f"indexing {len(sources)} documents",
            len(sources) > self.bulk_chunk,
            require_alias=True,
        )
        if self.refresh:
            self._refresh(self.alias)

    def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        self._vocabulary = None
        unique = list(dict.fromkeys(ids))
        self._ensure()
        self._record(dict.fromkeys(unique))
        actions = ({"_op_type": "delete", "_index": self.alias, "_id": i} for i in unique)
        self._bulk(
            actions,
            f"deleting {len(unique)} documents",
            len(unique) > self.bulk_chunk,
            require_alias=True,
        )
        if self.refresh:
            self._refresh(self.alias)

    def clear(self) -> None:
        """Swap in a new, empty index (searches never see a half-cleared one)."""
        self.rebuild([])

    def rebuild(self, batches: Iterable[list[SearchDocument]]) -> int:
        """Build a new versioned index from ``batches`` (parallel bulk requests), swap the
        alias to it atomically, then delete the old index. Searches use the old index
        until the swap. Writes through this backend meanwhile go to the old index and are
        applied to the new one before the swap. A missing alias or an index of an older
        schema is replaced; an index of another store is refused."""
        with self._lock:
            self._check_version()
            for name, info in self._alias_indices().items():
                recorded = self._foreign(name, info)
                if recorded is not None:
                    raise self._refuse_foreign(name, recorded)
            self._vocabulary = None
        new = self._create_index()
        count = 0

        def actions() -> Iterator[dict[str, Any]]:
            nonlocal count
            for batch in batches:
                for d in {d.id: d for d in batch}.values():
                    yield {
                        "_op_type": "index",
                        "_index": new,
                        "_id": d.id,
                        "_source": document_source(d),
                    }
                count += len(batch)

        with self._build_lock:
            self._building, self._pending = new, {}
        try:
            self._bulk(actions(), f"building {new}", True)
            with self._build_lock:  # writes wait for the swap from here on
                pending, self._pending = self._pending, {}
                if pending:
                    self._bulk(
                        (
                            {"_op_type": "index", "_index": new, "_id": i, "_source": src}
                            if src is not None
                            else {"_op_type": "delete", "_index": new, "_id": i}
                            for i, src in pending.items()
                        ),
                        f"applying {len(pending)} writes to {new}",
                        len(pending) > self.bulk_chunk,
                    )
                self._refresh(new)
                old = self._swap_to(new)
                self._building = None
                self._vocabulary = None  # the new index's words
        except BaseException:
            with self._build_lock:
                self._building, self._pending = None, {}
            try:
                self._delete_indices([new])
            except SearchError:
                log.warning("could not delete the unfinished index %s", new)
            raise
        if old:
            if self.old_index_grace > 0:
                time.sleep(self.old_index_grace)  # let searches running there finish
            self._delete_indices(old)
        return count
