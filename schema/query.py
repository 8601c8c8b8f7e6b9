"""The ``Query`` root: searching offers near a client, and the reference data.

Resolvers are plain (sync) functions, run in the request's worker thread (``http.py``
executes the whole operation there, off the event loop), so a directory call may read the
store or ask the search backend (SQLite, PostgreSQL, Elasticsearch) without blocking
other requests. ``offers`` turns its arguments into one ``SearchQuery`` (checked by
``errors.py``), asks the search backend for one page of ids and loads those offers in one
go (``offer_nodes``: their records from the app's ``OfferCache``, which reads what it
lacks from the store in one go). Totals and facets are computed only when the client
selects them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from directory_search.base import GeoPoint, SearchQuery, SearchUnavailable
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.types import Info

from directory_core.directory import Directory
from directory_core.gazetteer import name_key
from directory_core.geocoding import GeocodingError
from directory_core.model import KIND_LABELS, Precision

from . import types as t
from .context import Context
from .coverage import CoverageQuery
from .cursors import decode_cursor, encode_cursor
from .errors import (
    InputError,
    NearForm,
    ServiceUnavailable,
    check_filter,
    check_first,
    check_geocode_query,
    check_lang,
    check_near,
    check_offer_id,
    check_radius,
    check_sort,
    check_text,
    quote,
)
from .inputs import GeoInput, OfferFilter, OfferSort


def directory_of(info: Info[Context, Any]) -> Directory:
    """The directory this request works on (``context.Context``, made by ``app.py``)."""
    return info.context.directory


def offer_nodes(info: Info[Context, Any], ids: list[str]) -> dict[str, Any]:
    """The GraphQL offers with these ids (unknown ids are left out): ``types.RecordNode``
    of the cache's records when the app has a cache, else nodes of the directory's
    offers (``types.offer_node``)."""
    directory, extra = directory_of(info), info.context.extra
    offers = info.context.offers
    if offers is None:
        found = directory.get_many(ids)
        return {key: t.offer_node(offer, directory, extra) for key, offer in found.items()}
    records = offers.get_records(ids)
    return {key: t.record_node(record, directory, extra) for key, record in records.items()}


def _selected_names(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    into: set[str],
) -> set[str]:
    """Names of the fields selected at this level, looking into fragments."""
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FieldNode):
            into.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            _selected_names(selection.selection_set, fragments, into)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:  # validation has refused unknown ones and cycles
                _selected_names(fragment.selection_set, fragments, into)
    return into


def connection_fields(info: Info) -> set[str]:
    """The fields selected on the connection returned by the current field.

    Read from graphql-core's nodes: ``info.selected_fields`` would convert the whole
    selection below (every field of every offer) on each request to read one level."""
    raw = info._raw_info
    names: set[str] = set()
    for node in raw.field_nodes:
        _selected_names(node.selection_set, raw.fragments, names)
    return names


def resolve_near(directory: Directory, form: NearForm) -> t.GeocodeResult:
    """The point a checked ``GeoInput`` stands for (districts of the instance by key or
    name, the rest through the directory's geocoder)."""
    if form.form == "point":
        return t.GeocodeResult(
            lat=form.lat,
            lon=form.lon,
            precision=Precision.MANUAL.value,
            label=f"{form.lat:.6f}, {form.lon:.6f}",
            source="input",
        )
    if form.form == "district":
        wanted = name_key(form.text)
        city_prefix = name_key(directory.instance.city) + "-"
        if wanted.startswith(city_prefix):
            wanted = wanted[len(city_prefix) :]
        for district in directory.districts:
            if wanted in (name_key(district.key), name_key(district.name)):
                return t.GeocodeResult(
                    lat=district.lat,
                    lon=district.lon,
                    precision=Precision.DISTRICT.value,
                    label=f"{district.name} (Stadtbezirk, Bezugspunkt)",
                    source="gazetteer",
                )
        known = ", ".join(d.key for d in directory.districts) or "none"
        raise InputError(
            "near.district",
            f"has unknown district {quote(form.text)}; allowed (key or name): {known}",
        )
    try:
        found = directory.geocode(form.text)
    except GeocodingError as exc:
        raise InputError(f"near.{form.form}", f"could not be resolved: {exc}") from None
    return _geocode_result(found)


def _geocode_result(found: Any) -> t.GeocodeResult:
    return t.GeocodeResult(
        lat=found.lat,
        lon=found.lon,
        precision=found.precision,
        label=found.label,
        source=found.source,
    )


def _facets(directory: Directory, counts: dict[str, dict[str, int]]) -> t.Facets:
    categories = t.category_nodes(directory.taxonomy)
    districts = directory.district_by_key

    def facets(field: str, label: Callable[[str], str]) -> list[t.Facet]:
        items = sorted(counts.get(field, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        return [t.Facet(value=v, label=label(v), count=n) for v, n in items if n > 0]

    return t.Facets(
        kinds=facets("kind", lambda v: KIND_LABELS.get(v, v)),
        categories=facets("category", lambda v: categories[v].label if v in categories else v),
        districts=facets("district", lambda v: districts[v].name if v in districts else v),
    )


@strawberry.type
class Query(CoverageQuery):  # coverage: supply gaps (coverage.py)
    @strawberry.field(
        description=(
            "Offers, by default the active ones. With near: within radiusKm (default and "
            "maximum: the instance's limit), nearest first. Pages of `first` hits after the "
            "cursor `after`."
        )
    )
    def offers(
        self,
        info: Info,
        near: GeoInput | None = None,
        radius_km: float | None = None,
        text: str | None = None,
        filter_: Annotated[OfferFilter | None, strawberry.argument(name="filter")] = None,
        sort: OfferSort | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> t.OfferConnection:
        directory = directory_of(info)
        limits = directory.instance.limits
        # cheap checks first, in argument order; geocoding last
        near_form = check_near(near) if near is not None else None
        radius = check_radius(radius_km, near is not None, limits)
        text = check_text(text)
        filters = check_filter(filter_, directory)
        extra_filter = getattr(filter_, "extra", None)
        if extra_filter is not None:
            filters["extra"] = info.context.extra.filters(extra_filter)
        sort_value = check_sort(sort, near is not None, text is not None)
        size = check_first(first, limits)
        offset = decode_cursor(after)
        center = resolve_near(directory, near_form) if near_form is not None else None

        wanted = connection_fields(info)
        want_page = "edges" in wanted or "pageInfo" in wanted
        query = SearchQuery(
            near=GeoPoint(center.lat, center.lon) if center is not None else None,
            radius_km=radius,
            text=text,
            sort=sort_value,
            offset=offset,
            limit=size + 1 if want_page else 0,  # one more tells whether a next page exists
            want_total="totalCount" in wanted or "totalCountIsExact" in wanted,
            want_facets="facets" in wanted,
            **filters,
        )
        try:
            result = directory.search(query)
        except SearchUnavailable:
            raise ServiceUnavailable(
                "The search service is unavailable; try again in a moment."
            ) from None

        hits = result.hits[:size]
        edges: list[t.OfferEdge] = []
        if hits and "edges" in wanted:
            nodes = offer_nodes(info, [hit.id for hit in hits])
            for i, hit in enumerate(hits):
                node = nodes.get(hit.id)
                if node is None:  # removed since the index saw it; the next sync drops it
                    continue
                distance = hit.distance_km
                edges.append(
                    t.OfferEdge(
                        cursor=encode_cursor(offset + i),
                        distance_km=round(distance, 3) if distance is not None else None,
                        node=node,
                    )
                )
        end = encode_cursor(offset + len(hits) - 1) if hits else None
        return t.OfferConnection(
            edges=edges,
            page_info=t.PageInfo(has_next_page=len(result.hits) > size, end_cursor=end),
            total_count=result.total,  # type: ignore[arg-type]  # only read when selected
            facets=_facets(directory, result.facets) if result.facets is not None else None,
            total_count_is_exact=result.total_exact and result.facets_exact,
            center=center,
            corrected=result.corrected,
        )

    @strawberry.field(description="One offer by id (archived ones too); null if unknown.")
    def offer(self, info: Info, id: strawberry.ID) -> t.Offer | None:
        offer_id = check_offer_id(id)
        return offer_nodes(info, [offer_id]).get(offer_id)

    @strawberry.field(
        description=(
            "The category taxonomy, ordered by key; labels in `lang` (a page language: "
            '"de" default, "en", "tr", "ar", "ru", "uk", "pl", "ro", "bg", "el", "it").'
        )
    )
    def categories(
        self, info: Info, top_level: bool = False, lang: str | None = None
    ) -> list[t.Category]:
        nodes = t.category_nodes(directory_of(info).taxonomy, check_lang(lang))
        return [n for n in nodes.values() if not top_level or n.parent_key is None]

    @strawberry.field(description="The instance's districts, ordered by name.")
    def districts(self, info: Info) -> list[t.District]:
        return directory_of(info).districts  # type: ignore[return-value]  # same fields

    @strawberry.field(description="The carriers (Träger), ordered by name.")
    def carriers(self, info: Info) -> list[t.Carrier]:
        return directory_of(info).carriers  # type: ignore[return-value]  # same fields

    @strawberry.field(
        description=(
            "Resolve an address, postcode or district to a point (offline gazetteer, and "
            "Nominatim if configured)."
        )
    )
    def geocode(self, info: Info, query: str) -> t.GeocodeResult | None:
        text = check_geocode_query(query)
        try:
            found = directory_of(info).geocode(text)
        except GeocodingError as exc:
            raise InputError("query", f"could not be resolved: {exc}") from None
        return _geocode_result(found)
