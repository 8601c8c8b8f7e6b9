"""The Elasticsearch backend's indices and alias: creating versioned indices, reading and
checking the alias, refusing indices of another store, swapping and deleting. A mixin of
``elastic.ElasticsearchBackend``, split from ``elastic.py``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from .base import (
    IndexMissing,
    SearchError,
    SearchMisconfigured,
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
from .elastic_analysis import SCHEMA_VERSION, index_mappings, index_settings
from .elastic_analysis import fold_mapping_rules as fold_mapping_rules
from .elastic_client import (
    _CLIENT_ERRORS,
    _body,
    _status,
    update_aliases,
)
from .elastic_documents import extra_entries as extra_entries

log = logging.getLogger("directory_search.elastic")


class ElasticIndices:
    """Index and alias management of ``ElasticsearchBackend`` (uses its client and breaker)."""

    # -- indices and the alias -----------------------------------------------------------

    def _new_index_name(self) -> str:
        return f"{self.alias}-v{time.time_ns() // 1000}"

    def _create_index(self, with_alias: bool = False) -> str:
        """Create a new, empty versioned index (and point the alias to it)."""
        for _ in range(5):
            name = self._new_index_name()
            try:
                with self._call(f"creating index {name}"):
                    options: dict[str, Any] = {}
                    if with_alias:
                        options["aliases"] = {self.alias: {}}
                    self.es.indices.create(
                        index=name,
                        settings=index_settings(self.shards, self.replicas),
                        mappings=index_mappings(self.alias, self.owner),
                        **options,
                    )
                return name
            except SearchError as e:
                if "resource_already_exists" not in str(e):
                    raise
                time.sleep(0.001)
        raise SearchError(f"could not create a new index for {self.alias}")  # pragma: no cover

    def _alias_indices(self) -> dict[str, Any]:
        """The indices behind the alias with their mappings (``{}`` if there is none)."""
        with self._call("reading the alias"):
            try:
                found = _body(self.es.indices.get(index=self.alias))
            except _CLIENT_ERRORS as e:
                if _status(e) == 404:
                    return {}
                raise
        if self.alias in found:
            raise SearchError(
                f"{self.alias!r} at {self.safe_url} is an index, not an alias: move it away "
                "(or choose another search.index_prefix) and run 'directory reindex'"
            )
        foreign = [name for name in found if not self._versioned.match(name)]
        if foreign:
            raise SearchError(
                f"the alias {self.alias!r} points to {', '.join(sorted(foreign))}, "
                "which this backend did not create"
            )
        return found

    def _alias_names(self) -> list[str]:
        """The names of the indices behind the alias (a small request: no mappings)."""
        with self._call("reading the alias"):
            try:
                found = _body(self._reader.indices.get_alias(name=self.alias))
            except _CLIENT_ERRORS as e:
                if _status(e) == 404:
                    return []
                raise
        return sorted(found)

    def current_index(self) -> str | None:
        """The versioned index the alias points to (``None`` before the first use)."""
        found = self._alias_names()
        return max(found) if found else None

    def _foreign(self, name: str, info: dict[str, Any]) -> str | None:
        """The store id recorded in index ``name`` if it is not this backend's owner."""
        meta = (info.get("mappings") or {}).get("_meta", {}).get("directory", {})
        recorded = meta.get("store")
        if self.owner is None or recorded is None or recorded == self.owner:
            return None
        return str(recorded)

    def _refuse_foreign(self, name: str, recorded: str) -> SearchMisconfigured:
        return SearchMisconfigured(
            f"index {name} (alias {self.alias!r}) at {self.safe_url} belongs to another "
            f"store (id {recorded}; this instance's store is {self.owner}): two instances "
            "use the same key or search.index_prefix. Give this instance a key of its own "
            "(or its own search.index_prefix) and run 'directory init'; only if this store "
            f"really replaces the other one, delete the index (DELETE {self.safe_url}/"
            f"{name}) and run 'directory reindex'"
        )

    def verify(self) -> None:
        """Look at the alias again (the index may have been deleted since the last use):
        ``IndexMissing`` when it is gone, ``SearchMisconfigured`` for an index of another
        store or a client that does not fit the server."""
        names = self._alias_names()  # small; the full check only when something changed
        with self._lock:
            if names and names == self._checked:
                return
            self._ready = False
        self._ensure()

    def _ensure(self) -> None:
        """Make sure the alias exists and points to one index of the current schema and
        of this backend's store. A missing alias is created only with
        ``create_missing``; otherwise ``IndexMissing``."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            self._check_version()
            found = self._alias_indices()
            if not found:
                if not self.create_missing:
                    raise IndexMissing(
                        f"the search index {self.alias!r} is missing at {self.safe_url} "
                        "(deleted, or the cluster lost its data): it is rebuilt from the "
                        "store by the next sync ('directory sync' or a running server), "
                        "or run 'directory reindex'"
                    )
                self._create_index(with_alias=True)
                found = self._alias_indices()
            if len(found) > 1:
                # two processes created the first index at the same time: keep one
                keep = max(found)
                log.warning(
                    "alias %s points to %d indices; keeping %s", self.alias, len(found), keep
                )
                actions = [
                    {"remove": {"index": n, "alias": self.alias}} for n in found if n != keep
                ]
                try:
                    with self._call("repairing the alias"):
                        update_aliases(self.es, actions)
                except SearchError:
                    pass  # the other process did it
                found = self._alias_indices()
            for name, info in found.items():
                recorded = self._foreign(name, info)
                if recorded is not None:
                    raise self._refuse_foreign(name, recorded)
                meta = (info.get("mappings") or {}).get("_meta", {}).get("directory", {})
                version = meta.get("schema_version")
                if version != SCHEMA_VERSION:
                    raise SearchError(
                        f"index {name} at {self.safe_url} has schema version {version}, "
                        f"expected {SCHEMA_VERSION}: run 'directory reindex'"
                    )
            self._checked = sorted(found)
            self._ready = True

    def _swap_to(self, new: str) -> list[str]:
        """Point the alias to ``new`` in one atomic request; return the old indices."""
        old = sorted(self._alias_indices())
        actions: list[dict[str, Any]] = [
            {"remove": {"index": name, "alias": self.alias}} for name in old
        ]
        actions.append({"add": {"index": new, "alias": self.alias}})
        with self._call("swapping the alias"):
            update_aliases(self.es, actions)
        self._ready = False
        return old

    def _delete_indices(self, names: list[str]) -> None:
        for name in names:
            if not self._versioned.match(name):  # never touch another instance's index
                continue
            with self._call(f"deleting index {name}"):
                try:
                    self.es.indices.delete(index=name)
                except _CLIENT_ERRORS as e:
                    if _status(e) != 404:
                        raise

    def indices(self) -> list[str]:
        """Every versioned index of this prefix (in the alias or not), sorted."""
        with self._call("listing indices"):
            try:
                found = _body(self.es.indices.get(index=f"{self.alias}-v*"))
            except _CLIENT_ERRORS as e:
                if _status(e) == 404:
                    return []
                raise
        return sorted(name for name in found if self._versioned.match(name))

    def drop(self) -> None:
        """Delete the alias and every versioned index of this prefix (tests, teardown)."""
        self._delete_indices(self.indices())
        self._ready = False
