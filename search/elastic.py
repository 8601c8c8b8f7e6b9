"""The Elasticsearch search backend.

Tested for real against Elasticsearch 7.10.2 (the only version these machines can run);
the code uses only the client API common to the ``elasticsearch`` Python client 7.17 to
9.x: keyword arguments (``query=``, ``sort=``, ``aggs=``, ``mappings=``, ``settings=``),
no ``body=`` and no ``doc_type``. Writes and deletes go through ``helpers.bulk`` and
``helpers.parallel_bulk`` (same signatures in 7.17, 8 and 9); counts are
``search(size=0, track_total_hits=True)``. The one call without a common keyword form,
the atomic alias swap, goes through ``update_aliases`` below.

Index layout (one instance = one alias; cities never share an index):

* The alias is the instance's ``index_prefix`` (default ``directory-<instance key>``); it
  points to exactly one versioned index ``<prefix>-v<microseconds since 1970>``.
  ``rebuild`` (``directory reindex``) builds a new versioned index next to it with bulk
  requests, swaps the alias in one ``_aliases`` request (remove + add) and then deletes
  the old index, so searches keep working throughout. ``clear`` swaps in an empty index.
* ``text``: the document's texts, analysed exactly like ``directory_search.text``
  (``index_tokens``): a ``mapping`` char filter generated from ``text.fold`` for the
  non-ASCII characters it changes (so that ``é``/``й``/``ά``/combining marks fold the
  way Python folds them), a ``pattern`` tokenizer on ``[^\\p{L}\\p{N}]+``, ``lowercase``,
  ``asciifolding``, ``german_normalization`` and ``dictionary_decompounder`` with the
  shipped word list (inline). ``text.prefix`` adds an ``edge_ngram`` filter (1 to
  ``PREFIX_GRAMS`` characters, original kept): a query term (folded in Python with
  ``text.query_terms``) is a ``term`` query there, a longer term a ``prefix`` query on
  ``text``; the groups of the expanded text (``semantics.text_groups``) are nested
  ``bool`` queries: groups ``must``, alternatives ``should``, the terms of one alternative
  ``must``. Relevance is Elasticsearch's BM25 score, ties by ``id``.
* ``vocab``: the index tokens computed in Python (``text.index_token_list``, the same as
  the analysed ``text``), doc values only: ``vocabulary()`` reads it with a composite
  terms aggregation for the query expansion.
* ``title_sort``: ``text.fold(title)`` computed in Python (keyword order is code point
  order, the same as Python's string order), ties by the ``id`` keyword.
* ``location`` (``geo_point``) narrows ``near`` queries; the exact test and the distance
  order use a Painless script over ``lat``/``lon`` (``double`` doc values, not quantised)
  with the formula of ``semantics.haversine_km``; returned ``distance_km`` values are
  computed in Python from the stored point, so they equal the brute-force ones.
* ``slots``: nested ``{weekday, start, end}`` (``open_on``/``open_at`` are exact).
* ``extra``: one nested entry per custom-field value (per element for lists):
  ``k`` field name, ``t`` type (``bool``/``num``/``str``/``null``/``json``), ``l`` element
  of a list, and the value in ``b``/``n``/``s`` (``j`` hash of the canonical JSON of lists
  and objects). This reproduces ``semantics.extra_matches`` without a mapping per field.
* Facets are ``terms`` aggregations over the filtered set; totals use
  ``track_total_hits=True``.

Known limits of the reproduction, none of which German, Turkish, Polish, Russian, Greek or
Arabic text runs into (``tests/test_search_elastic.py`` checks every character of the
mapped ranges): Hangul and CJK compatibility characters (outside the generated mapping);
about 400 rare letters that ``text.fold`` keeps but Lucene's ``asciifolding`` folds
(``ĸ``, ``ŋ``, ``ƀ``, ``ǥ``, IPA and phonetic letters; only ``text.py`` can align those);
the Greek final sigma. Custom fields: numbers compare as doubles (exact up to 2**53),
a stored string longer than ``MAX_KEYWORD`` characters is compared by its first
``MAX_KEYWORD`` characters when the filter value is that long too, and ``contains``
looks only at those; string filter values longer than ``NATIVE_CONTAINS_MAX`` /
``NATIVE_RANGE_MAX`` are checked by a Painless script (exact, but it reads every entry
of the field).

Layout of the code: the client's compatibility shims are in ``elastic_client``, the index
settings and mappings in ``elastic_analysis``, the documents in ``elastic_documents``, the
query DSL in ``elastic_queries``; this module holds the backend (index lifecycle, aliases,
breaker, bulk writes, search) and stays over 500 lines because those share one client,
one breaker and one alias state, and the tests patch ``WINDOW``, ``CHUNK``,
``build_query`` and ``client_version`` here.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .base import (
    IndexMissing,
    SearchBackend,
    SearchDocument,
    SearchError,
    SearchHit,
    SearchMisconfigured,
    SearchQuery,
    SearchResult,
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
from .elastic_analysis import SCHEMA_VERSION, WINDOW, index_mappings, index_settings
from .elastic_analysis import fold_mapping_rules as fold_mapping_rules
from .elastic_client import (
    _CLIENT_ERRORS,
    _CONNECTION_ERRORS,
    _body,
    _client_major,
    _error_type,
    _status,
    client_version,
    elasticsearch,
    es_helpers,
    redact_url,
    server_version,
    update_aliases,
    version_problem,
)
from .elastic_documents import document_source
from .elastic_documents import extra_entries as extra_entries
from .elastic_queries import FACET_AGGS, _facets, build_query, build_sort
from .semantics import (
    haversine_km,
    validate,
)

log = logging.getLogger(__name__)

CHUNK = 5_000  # hits per request beyond WINDOW (search_after)
VOCABULARY_PAGE = 10_000  # vocabulary terms per composite-aggregation request
# seconds a vocabulary read from the index is reused; own writes drop it at once, writes
# of other processes are seen after at most this long
VOCABULARY_TTL = 30.0
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")


# -- the backend --------------------------------------------------------------------------


class ElasticsearchBackend(SearchBackend):
    """Search in an Elasticsearch cluster; see the module docstring."""

    name: ClassVar[str] = "elasticsearch"

    def __init__(
        self,
        url: str | None,
        index_prefix: str | None,
        *,
        shards: int = 1,
        replicas: int | None = None,
        refresh: bool = True,
        timeout: float = 10.0,
        search_timeout: float | None = None,
        max_retries: int = 1,
        bulk_chunk: int = 2000,
        bulk_threads: int = 2,
        old_index_grace: float = 1.0,
        owner: str | None = None,
        create_missing: bool = True,
        breaker_seconds: float = 0.0,
        check_version: bool = True,
        client: Any = None,
    ):
        """``url``: the cluster (``http://host:9200``, credentials allowed in it);
        ``index_prefix``: the alias of this instance (also the prefix of its versioned
        indices). ``shards``/``replicas`` apply to new indices (``replicas=None``: 0 on a
        single node, 1 as soon as there are two: ``auto_expand_replicas = 0-1``).
        ``refresh``: make every ``index``/``delete`` visible to searches before it
        returns. ``bulk_chunk``: documents per bulk request; ``bulk_threads``: bulk
        requests sent at the same time for large batches. ``old_index_grace``: seconds
        between the alias swap of a rebuild and the deletion of the old index (searches
        already running there may finish). ``timeout``: seconds per request;
        ``search_timeout``: seconds per search, status and alias request (default:
        ``timeout``), short so that a hung cluster is noticed quickly.
        ``owner``: the id of the store of record this index is built from; an index of
        another store is refused (``SearchMisconfigured``), so two instances that share a
        key cannot write one index. ``create_missing``: create a missing index on first
        use (a backend used on its own); ``False`` (a ``Directory``): raise
        ``IndexMissing`` instead, so the directory rebuilds it from its store and never
        answers from an empty index. ``breaker_seconds``: after a request that got no
        answer (timeout, refused connection), fail at once for this long instead of
        waiting again (0: off). ``check_version``: compare the client's major version with
        the server's on first contact. Nothing is sent to the cluster until the backend
        is used."""
        if elasticsearch is None:  # pragma: no cover
            raise SearchError(
                "the elasticsearch backend needs the 'elasticsearch' package "
                "(pip install 'seniorennetz-directory[elasticsearch]')"
            )
        if not url:
            raise SearchError("the elasticsearch backend needs a URL (search.url)")
        prefix = index_prefix or "directory"
        if (
            not _INDEX_NAME.match(prefix)
            or len(prefix.encode()) > 200
            or re.search(r"-v\d+$", prefix)
        ):
            raise SearchError(
                f"index_prefix {prefix!r} is not usable: lower-case letters, digits, "
                "'-', '_', '.', '+'; not ending in '-v<digits>' (reserved for the "
                "versioned indices)"
            )
        self.url = url
        self.safe_url = redact_url(url)
        try:
            self._secret = urlsplit(url).password
        except ValueError:
            self._secret = None
        self.alias = prefix
        self.shards = shards
        self.replicas = replicas
        self.refresh = refresh
        self.bulk_chunk = bulk_chunk
        self.bulk_threads = bulk_threads
        self.old_index_grace = old_index_grace
        self.owner = owner
        self.create_missing = create_missing
        self.timeout = timeout
        self.search_timeout = timeout if search_timeout is None else search_timeout
        self.breaker_seconds = breaker_seconds
        self._down_until = 0.0  # circuit breaker: fail fast until then (monotonic)
        self._down_reason = ""
        self._checked: list[str] = []  # the alias's indices at the last full check
        self._version_checked = not check_version
        self._versioned = re.compile(rf"^{re.escape(prefix)}-v\d+$")
        self._lock = threading.RLock()
        self._ready = False
        self._vocabulary: tuple[float, dict[str, int]] | None = None
        self._build_lock = threading.Lock()
        self._building: str | None = None  # the index a rebuild is filling right now
        self._pending: dict[str, dict[str, Any] | None] = {}  # writes meanwhile
        reader = client
        if client is None:
            # two clients, because the way to give one request its own timeout differs
            # between client versions (7.17: a keyword, 8/9: .options())
            client = self._client(url, timeout, max_retries)
            reader = self._client(url, self.search_timeout, max_retries)
        self.es = client
        self._reader = reader  # searches, status and alias lookups

    def _client(self, url: str, timeout: float, max_retries: int) -> Any:
        options: dict[str, Any] = {"max_retries": max_retries, "retry_on_timeout": False}
        options["request_timeout" if _client_major() >= 8 else "timeout"] = timeout
        try:
            return elasticsearch.Elasticsearch(url, **options)
        except Exception as e:  # bad URL, bad options
            raise SearchError(f"cannot use Elasticsearch at {self.safe_url}: {e}") from e

    # -- errors ------------------------------------------------------------------------

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        """Turn client errors into ``SearchUnavailable`` (cluster unreachable, 5xx, 429)
        or ``SearchError`` (a bad request). While the circuit breaker is open (a request
        got no answer less than ``breaker_seconds`` ago) fail at once."""
        left = self._down_until - time.monotonic()
        if left > 0:
            raise SearchUnavailable(
                f"Elasticsearch at {self.safe_url} did not answer ({self._down_reason}); "
                f"not asking again for {left:.1f} s"
            )
        try:
            yield
        except SearchError:
            raise
        except _CONNECTION_ERRORS as e:
            if self.breaker_seconds > 0:
                self._down_reason = f"{what}: {type(e).__name__}"
                self._down_until = time.monotonic() + self.breaker_seconds
            raise SearchUnavailable(
                f"Elasticsearch at {self.safe_url} is not reachable ({what}): {self._scrub(e)}"
            ) from e
        except _CLIENT_ERRORS as e:
            status = _status(e)
            if status is None or status >= 500 or status in (408, 429):
                raise SearchUnavailable(
                    f"Elasticsearch at {self.safe_url} is unavailable ({what}): {self._scrub(e)}"
                ) from e
            raise SearchError(
                f"Elasticsearch at {self.safe_url} refused {what}: {self._scrub(e)}"
            ) from e

    def _scrub(self, error: BaseException) -> str:
        """The text of a client error without the password of the URL."""
        message = str(error)
        if self._secret:
            message = message.replace(self._secret, "***")
        return message

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

    def _check_version(self) -> None:
        """Once: refuse a client whose major version does not fit the server's."""
        if self._version_checked:
            return
        if time.monotonic() < self._down_until:
            return  # the breaker is open: the next request says so
        number = server_version(self.url, self.search_timeout)
        if number is not None:
            problem = version_problem(client_version(), number, self.safe_url)
            if problem:
                raise SearchMisconfigured(problem)
        self._version_checked = True

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

    # -- reading -------------------------------------------------------------------------

    def _search(self, **request: Any) -> dict[str, Any]:
        """One search request on the alias; retried once if the index went away (a
        concurrent rebuild deleted it) or answered only partly."""
        for attempt in (1, 2):
            self._ensure()
            try:
                with self._call("search"):
                    response = self._reader.search(index=self.alias, **request)
            except SearchError as e:
                cause = e.__cause__
                if attempt == 1 and cause is not None and "index_not_found" in _error_type(cause):
                    self._ready = False
                    continue
                raise
            response = _body(response)
            shards = response.get("_shards", {})
            if shards.get("failed") or response.get("timed_out"):
                if attempt == 1:
                    continue
                reason = (shards.get("failures") or [{}])[0].get("reason")
                raise SearchUnavailable(
                    f"Elasticsearch at {self.safe_url} answered only partly: {reason}"
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def vocabulary(self) -> dict[str, int]:
        """Read with a composite terms aggregation over ``vocab`` (pages of
        ``VOCABULARY_PAGE``), cached for ``VOCABULARY_TTL`` seconds or until this backend
        writes."""
        cached = self._vocabulary
        if cached is not None and time.monotonic() - cached[0] < VOCABULARY_TTL:
            return cached[1]
        vocab: dict[str, int] = {}
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": VOCABULARY_PAGE,
                "sources": [{"t": {"terms": {"field": "vocab"}}}],
            }
            if after is not None:
                composite["after"] = after
            response = self._search(
                size=0, track_total_hits=False, aggs={"v": {"composite": composite}}
            )
            agg = response["aggregations"]["v"]
            for bucket in agg["buckets"]:
                vocab[str(bucket["key"]["t"])] = int(bucket["doc_count"])
            after = agg.get("after_key")
            if len(agg["buckets"]) < VOCABULARY_PAGE or after is None:
                break
        self._vocabulary = (time.monotonic(), vocab)
        return vocab

    def count(self) -> int:
        response = self._search(size=0, track_total_hits=True, query={"match_all": {}})
        return int(response["hits"]["total"]["value"])

    def search(self, query: SearchQuery) -> SearchResult:
        sort = validate(query)
        if query.limit == 0 and not query.want_total and not query.want_facets:
            return SearchResult(hits=[])
        es_query = build_query(query, sort)
        es_sort = build_sort(query, sort)
        near = query.near
        request: dict[str, Any] = {
            "query": es_query,
            "sort": es_sort,
            "track_total_hits": bool(query.want_total),
            "_source": ["lat", "lon"] if near is not None else False,
            # the same copies of the shards for the same query: scores (and so the
            # relevance order) stay the same from page to page
            "preference": f"q{zlib.crc32(repr(es_query).encode()):08x}",
        }
        if query.want_facets:
            request["aggs"] = FACET_AGGS
        need = query.offset + query.limit
        if need <= WINDOW or query.limit == 0:
            response = self._search(
                from_=query.offset if query.limit else 0, size=query.limit, **request
            )
            raw = response["hits"]["hits"]
        else:  # deep: search_after in chunks (from + size is limited to WINDOW)
            size = min(CHUNK, need)
            response = self._search(size=size, **request)
            page = response["hits"]["hits"]
            raw = list(page)
            more = {**request, "track_total_hits": False}
            more.pop("aggs", None)
            while len(page) == size and len(raw) < need:
                size = min(CHUNK, need - len(raw))
                page = self._search(size=size, search_after=page[-1]["sort"], **more)["hits"][
                    "hits"
                ]
                raw.extend(page)
            raw = raw[query.offset : need]
        hits = []
        for h in raw:
            distance = score = None
            if near is not None:
                src = h.get("_source") or {}
                distance = haversine_km(near.lat, near.lon, src["lat"], src["lon"])
            if sort == "relevance":
                score = float(h["_score"] if h.get("_score") is not None else h["sort"][0])
            hits.append(SearchHit(id=h["_id"], distance_km=distance, score=score))
        result = SearchResult(hits=hits)
        if query.want_total:
            result.total = int(response["hits"]["total"]["value"])
        if query.want_facets:
            result.facets = _facets(response["aggregations"])
        return result

    # -- status --------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        self.verify()  # a deleted index is reported, not created
        documents = self.count()
        with self._call("cluster health"):
            cluster = _body(self._reader.cluster.health(index=self.alias))
        if cluster.get("status") == "red":
            raise SearchUnavailable(
                f"Elasticsearch at {self.safe_url}: index {self.alias} is red "
                "(a primary shard is not available)"
            )
        return {
            "backend": self.name,
            "documents": documents,
            "url": self.safe_url,
            "alias": self.alias,
            "index": self.current_index(),
            "cluster": cluster.get("cluster_name"),
            "status": cluster.get("status"),
        }

    def close(self) -> None:
        for client in {id(self.es): self.es, id(self._reader): self._reader}.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing must not fail
                pass
