"""The directory of one instance: store, search, geocoding and plugins together.

This is the one way in for writes and searches: the GraphQL API, the importers, the
CLI, the demo loader and the benchmark all go through ``Directory``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pluggy
from directory_search.base import (
    IndexMissing,
    SearchBackend,
    SearchError,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)
from directory_search.expansion import QueryExpander, Synonyms, forgiving_search, shipped_synonyms

from .categories import Taxonomy
from .geo import assign_district
from .geocoding import GeocodeResult, GeocodingError
from .health import health_report
from .history import Actor
from .indexing import DocumentBuilder
from .instance import Instance
from .model import Carrier, District, Location, Offer, Precision
from .outage_log import OutageLog
from .plugins import Registry, call_each, collect, get_plugin_manager
from .store import Store
from .sync import rebuild_index, repair_index, sync_index
from .validation import (
    POSTCODE,
    FieldError,
    OfferValidationError,
    ValidationContext,
    validate_offer,
)

log = logging.getLogger(__name__)


@dataclass
class StoreGeocodeCache:
    """The persistent geocoding cache, kept in the store (implements ``GeocodeCache``)."""

    store: Store

    def get(self, query: str) -> GeocodeResult | None:
        row = self.store.geocode_cache_get(query)
        if row is None:
            return None
        return GeocodeResult(
            lat=row["lat"],
            lon=row["lon"],
            precision=row["precision"],
            label=row["label"],
            source=row["source"],
        )

    def put(self, query: str, result: GeocodeResult) -> None:
        self.store.geocode_cache_put(
            query,
            {
                "lat": result.lat,
                "lon": result.lon,
                "precision": result.precision,
                "label": result.label,
                "source": result.source,
            },
        )


class Directory:
    """One instance's directory. Build it with ``open_directory`` (below)."""

    def __init__(
        self,
        instance: Instance,
        store: Store,
        search: SearchBackend,
        geocoder: Any,
        plugins: pluggy.PluginManager | None = None,
        registry: Registry | None = None,
        fallback: SearchBackend | None = None,
    ):
        self.instance = instance
        self.store = store
        self.search_backend = search
        self.fallback = fallback
        self.geocoder = geocoder
        # searches geocode what a counsellor typed, perhaps a client's address: never
        # cached in the store (a geocoder that keeps its queries offers without_cache())
        without_cache = getattr(geocoder, "without_cache", None)
        self.search_geocoder = without_cache() if callable(without_cache) else geocoder
        self.plugins = plugins or get_plugin_manager()
        self.registry = registry or collect(self.plugins)
        self.custom_fields = self.registry.fields
        self._health_pool: ThreadPoolExecutor | None = None
        self._fallback_log = OutageLog(log, subject="search backend")
        self.reload_reference_data()

    # -- reference data ------------------------------------------------------------

    def reload_reference_data(self) -> None:
        self.districts: list[District] = self.store.districts()
        self.carriers: list[Carrier] = self.store.carriers()
        self.taxonomy = Taxonomy(self.store.categories())
        self.district_by_key = {d.key: d for d in self.districts}
        self.carrier_by_key = {c.key: c for c in self.carriers}

    @property
    def sync_name(self) -> str:
        return f"search:{self.search_backend.name}:{self.instance.key}"

    @property
    def fallback_sync_name(self) -> str | None:
        """The fallback's own sync position (it is kept in step separately)."""
        if self.fallback is None:
            return None
        return f"search:{self.fallback.name}:{self.instance.key}"

    def _backends(self) -> list[tuple[str, SearchBackend, str]]:
        """``(role, backend, sync position name)`` of the primary and the fallback."""
        found = [("primary", self.search_backend, self.sync_name)]
        if self.fallback is not None and self.fallback_sync_name is not None:
            found.append(("fallback", self.fallback, self.fallback_sync_name))
        return found

    def document_builder(self) -> DocumentBuilder:
        return DocumentBuilder(
            self.taxonomy,
            {c.key: c.name for c in self.carriers},
            {d.key: d.name for d in self.districts},
            self.custom_fields.index_fields,
        )

    def _plugin_checks(self, offer: Offer) -> list[FieldError]:
        errors: list[FieldError] = []
        for found in self.plugins.hook.validate_offer(offer=offer, directory=self):
            errors.extend(found or ())
        return errors

    def validation_context(self) -> ValidationContext:
        return ValidationContext(
            taxonomy=self.taxonomy,
            carriers=set(self.carrier_by_key),
            districts=set(self.district_by_key),
            checks=[self.custom_fields.check, self._plugin_checks],
        )

    # -- geography ----------------------------------------------------------------

    def geocode(self, query: str) -> GeocodeResult:
        """Resolve free text typed for a search (address, postcode, district);
        ``GeocodingError`` if not. The text may be a client's address: it is never
        written to the store's geocode cache (offers' addresses are, see ``locate``)."""
        return self.search_geocoder.geocode(query)

    def locate(self, offer: Offer) -> list[FieldError]:
        """Fill in the location from the address and the district from the location."""
        errors: list[FieldError] = []
        # a malformed postcode is reported by validation; geocoding it would only add noise
        postcode_ok = not offer.address.postcode or POSTCODE.match(offer.address.postcode)
        if offer.location is None and not offer.address.is_empty() and postcode_ok:
            try:
                result = self.geocoder.geocode(offer.address)
            except GeocodingError as exc:
                errors.append(FieldError("address", str(exc)))
            else:
                offer.location = Location(result.lat, result.lon, Precision(result.precision))
        if offer.district_manual:
            if not offer.district:
                errors.append(FieldError("district", "is set by hand but empty"))
        elif offer.location is not None and self.districts:
            nearest = assign_district(offer.location.lat, offer.location.lon, self.districts)
            offer.district = nearest.key if nearest else None
        return errors

    # -- writes -------------------------------------------------------------------

    def check(self, offer: Offer) -> list[FieldError]:
        """Locate and validate ``offer`` (changes location/district in place)."""
        errors = self.locate(offer)
        return errors + validate_offer(offer, self.validation_context())

    def save(
        self,
        offers: list[Offer],
        where: str = "offer",
        *,
        actor: Actor | None = None,
        expect: dict[str, int] | None = None,
        previous: dict[str, Offer] | None = None,
    ) -> list[Offer]:
        """Validate and write offers in one transaction with their history rows; all or
        nothing. ``actor``: who and how (default: the CLI's login name); ``expect``:
        offer id -> version the writer saw (``VersionConflict`` if it moved on);
        ``previous``: the stored offers, if already read (see ``Store.write_offers``)."""
        for i, offer in enumerate(offers):
            errors = self.check(offer)
            if errors:
                label = where if len(offers) == 1 else f"{where}[{i}]"
                raise OfferValidationError(errors, where=label)
        with self.store.transaction() as conn:
            existed = self.store.write_offers(
                conn, offers, actor=actor, expect=expect, previous=previous
            )
        self.after_write(
            {
                "created": [o for o in offers if o.id not in existed],
                "updated": [o for o in offers if o.id in existed],
            }
        )
        return offers

    def archive(
        self,
        ids: list[str],
        *,
        actor: Actor | None = None,
        expect: dict[str, int] | None = None,
    ) -> list[Offer]:
        """Set offers to ``archived`` (never deleted), with history rows; ``actor`` and
        ``expect`` as for ``save`` (an archiving reason goes into ``actor.note``)."""
        offers = self.store.get_offers(ids)
        missing = [i for i in ids if i not in offers]
        if missing:
            raise KeyError(f"no offer with id {missing[0]!r}")
        previous = self.store.get_offers(ids)
        for offer in offers.values():
            offer.status = "archived"
        with self.store.transaction() as conn:
            self.store.write_offers(
                conn, list(offers.values()), actor=actor, expect=expect, previous=previous
            )
        self.after_write({"archived": list(offers.values())})
        return list(offers.values())

    def after_write(self, changes: dict[str, list[Offer]], indexed: Collection[str] = ()) -> None:
        """After a commit: bring the index up to date (``sync_written``), then tell the
        plugins (``notify_written``)."""
        self.sync_written(changes, indexed)
        self.notify_written(changes)

    def sync_written(self, changes: dict[str, list[Offer]], indexed: Collection[str] = ()) -> None:
        """Bring the index up to date after a commit of ``changes``; a backend that is
        down is only logged (the outbox keeps the change). ``indexed``: ids of the
        written offers the primary backend holds already (``index_ahead.py``)."""
        written = {o.id: o for offers in changes.values() for o in offers}
        try:
            self.sync(known=written, indexed=indexed)
        except SearchUnavailable as exc:  # the outbox keeps the change for later
            log.warning("search index not updated now (%s); the sync step will retry", exc)

    def notify_written(self, changes: dict[str, list[Offer]]) -> None:
        """Tell the plugins (``offer_changed``) once per kind of change; their errors are
        only logged."""
        for change, offers in changes.items():
            if not offers:
                continue
            call_each(
                self.plugins,
                "offer_changed",
                log_errors=True,
                offers=offers,
                change=change,
                directory=self,
            )

    # -- reads --------------------------------------------------------------------

    def get(self, offer_id: str) -> Offer | None:
        return self.store.get_offer(offer_id)

    def get_many(self, ids: list[str]) -> dict[str, Offer]:
        return self.store.get_offers(ids)

    @functools.cached_property
    def query_expander(self) -> QueryExpander:
        """The forgiving text search: shipped synonyms, then the instance's
        ``search.synonyms``, then the plugins' (``register_synonyms``)."""
        synonyms = Synonyms()
        synonyms.add_rules(shipped_synonyms(), "directory_search/data/synonyms.txt")
        synonyms.add_rules(self.instance.search.synonyms, "search.synonyms")
        for plugin, rule in self.registry.synonym_rules:
            synonyms.add_rule(rule, f"synonym rule of plugin {plugin!r}")
        return QueryExpander(synonyms)

    def search(self, query: SearchQuery) -> SearchResult:
        """Search with the text expanded against the answering backend's vocabulary
        (``directory_search.expansion``): typos, variants, synonyms and compounds."""
        try:
            return forgiving_search(self.search_backend, query, self.query_expander)
        except SearchUnavailable as exc:
            if self.fallback is None:
                raise
            # one line per interval while the cluster is down, not one per search
            self._fallback_log.report("search (answered from the fallback)", exc)
            return forgiving_search(self.fallback, query, self.query_expander)

    # -- index maintenance ----------------------------------------------------------

    def sync(self, known: dict[str, Offer] | None = None, indexed: Collection[str] = ()) -> int:
        """Bring the search index up to date with the store (see ``sync.py``); return
        the number of outbox rows applied to the primary backend. ``indexed``: ids among
        ``known`` the primary backend holds already (``sync_index``).

        The fallback (if any) is synced too, from its own position, even when the primary
        is down; a ``SearchUnavailable`` of the primary is raised after that."""
        build = self.document_builder()
        applied = 0
        down: SearchUnavailable | None = None
        for role, backend, name in self._backends():
            try:
                ahead = indexed if role == "primary" else ()
                count = self._sync_one(role, backend, name, build, known, ahead)
            except SearchUnavailable as exc:
                if role != "primary" or self.fallback is None:
                    raise
                down = exc
                continue
            if role == "primary":
                applied = count
        if down is not None:
            raise down
        return applied

    def _sync_one(
        self,
        role: str,
        backend: SearchBackend,
        name: str,
        build: DocumentBuilder,
        known: dict[str, Offer] | None,
        indexed: Collection[str] = (),
    ) -> int:
        """Sync one backend; a lost index is rebuilt from the store instead (searches go
        to the fallback, or fail with a clear error, until it is back)."""
        try:
            return sync_index(self.store, backend, name, build, known=known, indexed=indexed)
        except IndexMissing as exc:
            first = self.store.sync_position(name) == 0  # never synced: a new index
            if not first:
                log.warning("%s search index missing (%s); rebuilding it from the store", role, exc)
            rebuilt = repair_index(self.store, backend, name, build)
            if rebuilt is not None and not first:
                log.warning("%s search index rebuilt from the store: %d offers", role, rebuilt)
        return sync_index(self.store, backend, name, build, known=known)

    def reindex(self, progress: Callable[[int], None] | None = None, fallback: bool = True) -> int:
        """Rebuild the primary index from the store (and the fallback's, unless
        ``fallback=False``); return the number of offers."""
        build = self.document_builder()
        count = 0
        for role, backend, name in self._backends():
            if role == "fallback" and not fallback:
                continue
            indexed = rebuild_index(self.store, backend, name, build, progress=progress)
            if role == "primary":
                count = indexed
        return count

    def sync_lag(self) -> int:
        """Outbox rows the primary backend has not seen yet."""
        return self.store.outbox_pending(self.store.sync_position(self.sync_name))

    def sync_lags(self) -> dict[str, int]:
        """Outbox rows not yet applied, per backend role (``primary``, ``fallback``)."""
        return {
            role: self.store.outbox_pending(self.store.sync_position(name))
            for role, _, name in self._backends()
        }

    def health(self) -> dict[str, Any]:
        """The ``/healthz`` report; see ``health.health_report``."""
        return health_report(self)

    def close(self) -> None:
        if self._health_pool is not None:
            self._health_pool.shutdown(wait=False, cancel_futures=True)
        self.search_backend.close()
        if self.fallback is not None:
            self.fallback.close()
        self.store.close()


def open_directory(
    instance: Instance,
    *,
    create: bool = True,
    extra_plugins: Iterable[tuple[str, object]] = (),
) -> Directory:
    """Open the store, search backend, geocoder and plugins of ``instance``.

    The instance's districts, carriers and categories are written to the store, so the
    instance file stays the source of truth for reference data. A search index this
    creates (a new instance, or an index file that was lost or moved) is filled from the
    store before this returns.
    """
    from directory_search.backends import open_backend

    from .gazetteer import Gazetteer
    from .geocoding import GeocoderChain, NominatimConfig

    pm = get_plugin_manager(instance.plugins, instance.disabled_plugins, extra_plugins)
    registry = collect(pm, (c.key for c in instance.categories))
    store = Store.open(instance.store_url, create=create)
    try:
        Taxonomy(instance.categories + registry.categories)  # a bad parent fails here
        store.replace_reference_data(
            instance.districts, instance.carriers, instance.categories + registry.categories
        )
        search, fallback = open_backend(instance, store)
    except Exception:
        store.close()
        raise
    settings = instance.geocoder
    nominatim = None
    if settings.nominatim_url:
        nominatim = NominatimConfig.from_base_url(
            settings.nominatim_url,
            settings.user_agent,
            min_delay_seconds=settings.min_delay_seconds,
            timeout=settings.timeout_seconds,
            country_codes=settings.country_codes,
        )
    geocoder = GeocoderChain(
        Gazetteer(instance.districts, city=instance.city),
        nominatim=nominatim,
        cache=StoreGeocodeCache(store),
    )
    geocoder = pm.hook.choose_geocoder(instance=instance, default=geocoder) or geocoder
    directory = Directory(
        instance, store, search, geocoder, plugins=pm, registry=registry, fallback=fallback
    )
    if search.created or (fallback is not None and fallback.created):
        # a new index file (a new instance, or an index that moved to a file of its
        # own): filled from the store now, before anyone searches it
        try:
            directory.sync()
        except SearchError as exc:  # the outbox keeps everything for the next sync
            log.warning("the new search index is filled at the next sync: %s", exc)
        except BaseException:
            directory.close()
            raise
    return directory
