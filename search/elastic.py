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
query DSL in ``elastic_queries``; the index and alias management (``elastic_indices``) and
the writes (``elastic_writes``) are mixins of the backend class, which stays here with its
client, breaker, version check and search (the tests patch ``WINDOW``, ``CHUNK``,
``build_query`` and ``client_version`` in this module).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .base import (
    SearchBackend,
    SearchError,
    SearchHit,
    SearchMisconfigured,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)

# Imports written "x as x" re-export names of the seams for tests and tools.
from .elastic_analysis import (
    _MAPPED_RANGES as _MAPPED_RANGES,
)
from .elastic_analysis import (
    MAX_KEYWORD as MAX_KEYWORD,
)
from .elastic_analysis import (
    PREFIX_GRAMS as PREFIX_GRAMS,
)
from .elastic_analysis import SCHEMA_VERSION as SCHEMA_VERSION
from .elastic_analysis import WINDOW
from .elastic_analysis import fold_mapping_rules as fold_mapping_rules
from .elastic_analysis import index_mappings as index_mappings
from .elastic_analysis import index_settings as index_settings
from .elastic_client import (
    _CLIENT_ERRORS,
    _CONNECTION_ERRORS,
    _body,
    _client_major,
    _error_type,
    _status,
    client_version,
    elasticsearch,
    redact_url,
    server_version,
    version_problem,
)
from .elastic_client import update_aliases as update_aliases
from .elastic_documents import document_source as document_source
from .elastic_documents import extra_entries as extra_entries
from .elastic_indices import ElasticIndices
from .elastic_queries import FACET_AGGS, _facets, build_query, build_sort
from .elastic_writes import ElasticWrites
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


class ElasticsearchBackend(ElasticIndices, ElasticWrites, SearchBackend):
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
            total = response["hits"]["total"]
            result.total = int(total["value"])
            # "gte": Elasticsearch stopped counting (track_total_hits as a number); exact
            # here, as every search asks for the exact total (terms facets are exact too:
            # their size exceeds the number of values, checked in ``_facets``)
            result.total_exact = total.get("relation", "eq") == "eq"
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
