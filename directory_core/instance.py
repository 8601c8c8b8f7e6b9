"""An instance: one city's directory, configured by one TOML file.

See ``instances/dortmund.toml`` for a commented example. ``load_instance`` checks the
whole file and reports every problem with its place in the file, unknown keys too
(``[limts]``, ``max_radius``), with the closest known key.

Adding a setting: read it in ``parse_instance`` through the reader, e.g.
``r.get(r.table(data, "web"), "port", int, "web", 8000)`` (or ``r.require``); that one
call both reads the key and declares it (and its table), so it is known to the
unknown-key check; there is no second list to keep in step. Read it unconditionally
(an environment override goes *after* the read: ``os.environ.get(...) or value``), and
mark free-form tables with ``r.free(...)``.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directory_search.expansion import SynonymError, Synonyms
from directory_search.measures import TIME_OF_DAY

from .categories import Taxonomy, default_categories
from .instance_reader import _polygon, _Reader, _slug, _table_list, _unique
from .languages import ISO_639_1
from .model import Carrier, Category, District
from .population import Population, parse_population

KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_CSP_SOURCE = re.compile(r"^[^\s;,'\"]+$")  # one source; no quote, separator or space


class InstanceError(ValueError):
    """The instance file is missing or wrong; the message names file and place."""


@dataclass
class Limits:
    """The ``[limits]`` table: what one request may ask for (docs/limits.md)."""

    max_radius_km: float = 50.0
    default_page_size: int = 20
    max_page_size: int = 100
    max_query_depth: int = 12
    max_aliases: int = 20
    max_tokens: int = 4000
    # fields a query may resolve, counting each field once per list item it sits in
    # (lists with `first` by its value, other lists as LIST_SIZE_ESTIMATE items)
    max_query_cost: int = 200_000
    max_body_bytes: int = 65_536
    # a multipart upload (a spreadsheet for importOffers, the carrier area's upload form)
    # from a caller who sends credentials; anonymous requests keep max_body_bytes
    max_upload_bytes: int = 20 * 1024 * 1024
    max_variables_bytes: int = 16_384
    max_variable_list_length: int = 100
    max_response_bytes: int = 4_000_000
    max_execution_seconds: float = 10.0


@dataclass
class ServerSettings:
    """The ``[server]`` table: what the web app shows (docs/limits.md)."""

    graphiql: bool = True  # GraphiQL at /graphql in a browser
    introspection: bool = True  # __schema / __type queries
    health_details: bool = False  # the full /healthz report for anonymous callers
    # /healthz calls within this many seconds share one report (0: every call asks)
    health_cache_seconds: float = 1.0
    # GraphQL requests executed at once per process (None: 2 with the embedded backend,
    # whose searches keep a core busy, 8 with Elasticsearch, whose requests wait on it)
    graphql_threads: int | None = None
    # a bearer token that unlocks the full /healthz report; DIRECTORY_ADMIN_TOKEN overrides
    admin_token: str | None = None
    # Content-Security-Policy img-src sources besides 'self' (map tiles)
    img_src: list[str] = field(default_factory=lambda: ["https://*.tile.openstreetmap.org"])


@dataclass
class GeocoderSettings:
    nominatim_url: str | None = None  # e.g. "https://nominatim.example.org"
    user_agent: str = "seniorennetz-directory"
    min_delay_seconds: float = 1.0
    timeout_seconds: float = 5.0
    country_codes: str = "de"


@dataclass
class SearchSettings:
    backend: str = "embedded"  # "embedded" or "elasticsearch"
    path: str | None = None  # embedded: index file; default: beside the store (x.search.sqlite)
    url: str | None = None  # elasticsearch: cluster URL
    index_prefix: str | None = None  # elasticsearch: defaults to "directory-<instance key>"
    fallback: str | None = None  # "embedded": answer from it while Elasticsearch is down
    synonyms: tuple[str, ...] = ()  # synonym rules added to the shipped list (docs/search.md)
    # elasticsearch: seconds a request may take before it counts as unanswered (a search
    # then fails or falls back); a bulk import's requests get the same
    timeout_seconds: float = 2.0
    # seconds /healthz waits for each backend (store, search) before it reports it as
    # not answering: /healthz answers within about this, whatever the backends do
    health_timeout_seconds: float = 0.8
    # elasticsearch: after a request got no answer, fail at once (or fall back) for this
    # many seconds instead of waiting for the cluster again (the circuit breaker)
    breaker_seconds: float = 5.0


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors (openstreetmap.org/copyright)"


@dataclass
class WebSettings:
    """The web pages' settings (``[web]``): the map's tile server and its attribution."""

    tile_url: str = OSM_TILES
    tile_attribution: str = OSM_ATTRIBUTION


@dataclass
class CoverageSettings:
    """The gap analysis (``coverage.py``): when is an offer too far, which languages count.

    ``threshold_km`` maps a category key to the distance beyond which a postcode area
    counts as not reached; a category without an entry uses its nearest ancestor's, else
    ``default_threshold_km``.
    """

    threshold_km: dict[str, float] = field(
        default_factory=lambda: {"encounter": 2.0, "advice": 5.0}
    )
    default_threshold_km: float = 5.0
    languages: list[str] = field(default_factory=lambda: ["tr", "pl", "ru", "ar"])
    evening_from: str = "18:00"  # an offer open past this time is open in the evening
    # who sees the figures (the /gaps page and the GraphQL coverage query): "public",
    # "staff" (signed in: counsellor, editor or admin) or "off"
    access: str = "public"


COVERAGE_ACCESS = ("public", "staff", "off")


@dataclass
class Instance:
    key: str
    name: str
    city: str
    store_url: str
    search: SearchSettings = field(default_factory=SearchSettings)
    geocoder: GeocoderSettings = field(default_factory=GeocoderSettings)
    limits: Limits = field(default_factory=Limits)
    server: ServerSettings = field(default_factory=ServerSettings)
    districts: list[District] = field(default_factory=list)
    carriers: list[Carrier] = field(default_factory=list)
    categories: list[Category] = field(default_factory=default_categories)
    plugins: list[str] = field(default_factory=list)  # enabled third-party plugins
    disabled_plugins: list[str] = field(default_factory=list)  # built-ins switched off
    plugin_settings: dict[str, Any] = field(default_factory=dict)  # [plugin.NAME] tables
    importers: dict[str, Any] = field(default_factory=dict)  # [importers.NAME] tables
    populations: dict[str, Population] = field(default_factory=dict)  # by district key
    coverage: CoverageSettings = field(default_factory=CoverageSettings)
    path: Path | None = None
    web: WebSettings = field(default_factory=WebSettings)

    def taxonomy(self) -> Taxonomy:
        return Taxonomy(self.categories)


def load_instance(path: str | os.PathLike[str]) -> Instance:
    """Read and check an instance file; raise ``InstanceError`` listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise InstanceError(f"instance file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InstanceError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise InstanceError(f"{path}: not UTF-8 text: {exc}") from exc
    return parse_instance(data, source=str(path), path=path)


def parse_instance(data: dict[str, Any], source: str = "<instance>", path: Path | None = None):
    r = _Reader(source)
    head = r.table(data, "instance")
    name = r.require(head, "name", str, "instance") or "?"
    city = r.get(head, "city", str, "instance", name)
    key = r.get(head, "key", str, "instance", _slug(name))
    if key and not KEY.match(key):
        r.fail("instance.key", f"must be lower-case letters, digits, '-', '_' or '.', got {key!r}")

    store = r.table(data, "store")
    configured_store = r.get(store, "url", str, "store", f"sqlite:///var/{key}.sqlite")
    store_url = os.environ.get("DIRECTORY_STORE_URL") or configured_store

    search = _search_settings(r, data, key)
    geocoder = _geocoder_settings(r, data)
    limits = _limits(r, data)
    server = _server_settings(r, data)
    districts, populations = _districts(r, data)
    carriers = _carriers(r, data)
    categories = _categories(r, data)
    plugins, disabled, settings, importers = _plugin_settings(r, data)
    coverage = _coverage(r, r.table(data, "coverage"), categories)
    web = _web_settings(r, data)

    r.check_unknown(data)
    if r.errors:
        raise InstanceError("\n".join(r.errors))
    return Instance(
        key=key,
        name=name,
        city=city,
        store_url=store_url,
        search=search,
        geocoder=geocoder,
        limits=limits,
        server=server,
        districts=districts,
        carriers=carriers,
        categories=categories,
        plugins=[str(p) for p in plugins],
        disabled_plugins=[str(p) for p in disabled],
        plugin_settings=settings,
        importers=importers,
        populations=populations,
        coverage=coverage,
        path=path,
        web=web,
    )


def _search_settings(r: _Reader, data: dict, key: str) -> SearchSettings:
    """``[search]``."""
    search_table = r.table(data, "search")
    configured_url = r.get(search_table, "url", str, "search")
    search = SearchSettings(
        backend=r.get(search_table, "backend", str, "search", "embedded"),
        path=r.get(search_table, "path", str, "search"),
        url=os.environ.get("DIRECTORY_ELASTICSEARCH_URL") or configured_url,
        index_prefix=r.get(search_table, "index_prefix", str, "search") or f"directory-{key}",
        fallback=r.get(search_table, "fallback", str, "search"),
        **{
            name: r.get(search_table, name, float, "search", default)
            for name, default in (
                ("timeout_seconds", 2.0),
                ("health_timeout_seconds", 0.8),
                ("breaker_seconds", 5.0),
            )
        },
    )
    for setting in ("timeout_seconds", "health_timeout_seconds"):
        if getattr(search, setting) <= 0:
            r.fail(f"search.{setting}", f"must be positive, got {getattr(search, setting)!r}")
    if search.breaker_seconds < 0:
        r.fail("search.breaker_seconds", f"must be 0 (off) or more, got {search.breaker_seconds!r}")
    if search.backend not in ("embedded", "elasticsearch"):
        r.fail("search.backend", f"must be 'embedded' or 'elasticsearch', got {search.backend!r}")
    if search.backend == "elasticsearch" and not search.url:
        r.fail("search.url", "is required for the elasticsearch backend")
    if search.fallback not in (None, "embedded"):
        r.fail("search.fallback", f"must be 'embedded' if given, got {search.fallback!r}")
    search.synonyms = _synonym_rules(r, search_table)
    return search


def _geocoder_settings(r: _Reader, data: dict) -> GeocoderSettings:
    """``[geocoder]``."""
    geo = r.table(data, "geocoder")
    geocoder = GeocoderSettings(
        nominatim_url=r.get(geo, "nominatim_url", str, "geocoder") or None,
        user_agent=r.get(geo, "user_agent", str, "geocoder", "seniorennetz-directory"),
        min_delay_seconds=r.get(geo, "min_delay_seconds", float, "geocoder", 1.0),
        timeout_seconds=r.get(geo, "timeout_seconds", float, "geocoder", 5.0),
        country_codes=r.get(geo, "country_codes", str, "geocoder", "de"),
    )
    return geocoder


def _limits(r: _Reader, data: dict) -> Limits:
    """``[limits]``."""
    lim = r.table(data, "limits")
    defaults = Limits()
    limits = Limits(
        **{
            name: r.get(lim, name, type(default), "limits", default)
            for name, default in vars(defaults).items()
        }
    )
    for limit, value in vars(limits).items():
        if value <= 0:
            r.fail(f"limits.{limit}", f"must be positive, got {value!r}")
    if limits.default_page_size > limits.max_page_size:
        r.fail("limits.default_page_size", "must not exceed limits.max_page_size")
    return limits


def _server_settings(r: _Reader, data: dict) -> ServerSettings:
    """``[server]``."""
    srv = data.get("server", {})
    server = ServerSettings(
        graphiql=r.get(srv, "graphiql", bool, "server", True),
        introspection=r.get(srv, "introspection", bool, "server", True),
        health_details=r.get(srv, "health_details", bool, "server", False),
        health_cache_seconds=r.get(srv, "health_cache_seconds", float, "server", 1.0),
        graphql_threads=r.get(srv, "graphql_threads", int, "server"),
        admin_token=os.environ.get("DIRECTORY_ADMIN_TOKEN")
        or r.get(srv, "admin_token", str, "server")
        or None,
        img_src=r.get(srv, "img_src", list, "server", ServerSettings().img_src),
    )
    if server.health_cache_seconds < 0:
        r.fail("server.health_cache_seconds", "must be 0 or more seconds")
    if server.graphql_threads is not None and not 1 <= server.graphql_threads <= 64:
        r.fail("server.graphql_threads", "must be a whole number from 1 to 64")
    if not all(isinstance(s, str) and _CSP_SOURCE.match(s) for s in server.img_src):
        r.fail("server.img_src", "must be a list of CSP sources such as 'https://tile.example.org'")
    return server


def _districts(r: _Reader, data: dict) -> tuple[list[District], dict[str, Population]]:
    """``[[districts]]`` and their residents."""
    districts = []
    populations: dict[str, Population] = {}
    for i, d in enumerate(_table_list(r, data, "districts")):
        where = f"districts[{i}]"
        dname = r.require(d, "name", str, where)
        dkey = r.get(d, "key", str, where, _slug(dname or ""))
        lat = r.require(d, "lat", float, where)
        lon = r.require(d, "lon", float, where)
        if lat is not None and not -90 <= lat <= 90:
            r.fail(f"{where}.lat", f"must be between -90 and 90, got {lat}")
        if lon is not None and not -180 <= lon <= 180:
            r.fail(f"{where}.lon", f"must be between -180 and 180, got {lon}")
        polygon_value = r.get(d, "polygon", list, where)
        polygon = _polygon(r, polygon_value, where) if polygon_value is not None else None
        if dname and lat is not None and lon is not None:
            districts.append(
                District(
                    key=dkey,
                    name=dname,
                    lat=lat,
                    lon=lon,
                    polygon=polygon,
                    point_note=r.get(d, "point_note", str, where, ""),
                )
            )
        r.declare(where, "population")
        r.free(f"{where}.population")  # parse_population checks its own keys
        if "population" in d:  # residents, for the gap analysis (population.py)
            population = parse_population(d["population"], where, r)
            if population is not None and dkey:
                populations[dkey] = population
    _unique(r, "districts", [d.key for d in districts])
    return districts, populations


def _carriers(r: _Reader, data: dict) -> list[Carrier]:
    """``[[carriers]]``."""
    carriers = []
    for i, c in enumerate(_table_list(r, data, "carriers")):
        where = f"carriers[{i}]"
        cname = r.require(c, "name", str, where)
        ckey = r.require(c, "key", str, where)
        if ckey and not KEY.match(ckey):
            r.fail(f"{where}.key", f"must be lower-case letters, digits, '-', '_', got {ckey!r}")
        if cname and ckey:
            carriers.append(
                Carrier(key=ckey, name=cname, website=r.get(c, "website", str, where, ""))
            )
    _unique(r, "carriers", [c.key for c in carriers])
    return carriers


def _categories(r: _Reader, data: dict) -> list[Category]:
    """``[categories]``: the defaults and ``[[categories.extra]]``."""
    cat_table = r.table(data, "categories")
    categories = (
        []
        if r.get(cat_table, "replace_defaults", bool, "categories", False)
        else (default_categories())
    )
    for i, c in enumerate(_table_list(r, cat_table, "extra", "categories.extra")):
        where = f"categories.extra[{i}]"
        ckey = r.require(c, "key", str, where)
        label = r.require(c, "label", str, where)
        if ckey and label:
            categories.append(
                Category(key=ckey, label=label, parent=r.get(c, "parent", str, where))
            )
    if not r.errors:
        try:
            Taxonomy(categories)
        except ValueError as exc:
            r.fail("categories", str(exc))
    return categories


def _plugin_settings(r: _Reader, data: dict) -> tuple[list, list, dict[str, Any], dict[str, Any]]:
    """``[plugins]`` (enabled, disabled, their settings) and ``[importers]``."""
    plugin_table = r.table(data, "plugins")
    r.free("plugins", tables_only=True)  # [plugins.NAME]: each plugin's own settings
    plugins = r.get(plugin_table, "enabled", list, "plugins", [])
    disabled = r.get(plugin_table, "disabled", list, "plugins", [])
    settings = {k: v for k, v in plugin_table.items() if isinstance(v, dict)}
    importers = r.table(data, "importers")
    r.free("importers")  # checked by each importer (mapping.py) when it runs
    if not isinstance(importers, dict):
        r.fail("importers", "must be a table of importer settings")
        importers = {}
    return plugins, disabled, settings, importers


def _web_settings(r: _Reader, data: dict) -> WebSettings:
    """``[web]``."""
    web_table = r.table(data, "web")
    web = WebSettings(
        tile_url=r.get(web_table, "tile_url", str, "web", OSM_TILES),
        tile_attribution=r.get(web_table, "tile_attribution", str, "web", OSM_ATTRIBUTION),
    )
    if not re.match(r"^https?://[^/]+/.*\{z\}.*\{x\}.*\{y\}", web.tile_url):
        r.fail(
            "web.tile_url",
            f"must be an http(s) URL with {{z}}, {{x}} and {{y}}, got {web.tile_url!r}",
        )
    return web


def _coverage(r: _Reader, table: Any, categories: list[Category]) -> CoverageSettings:
    """The ``[coverage]`` table (see ``CoverageSettings``)."""
    settings = CoverageSettings()
    if not isinstance(table, dict):
        r.fail("coverage", "must be a table")
        return settings
    known = {"threshold_km", "default_threshold_km", "languages", "evening_from", "access"}
    for key in sorted(set(table) - known):
        r.fail(f"coverage.{key}", f"is not a known key; allowed: {', '.join(sorted(known))}")
    access = r.get(table, "access", str, "coverage", "public")
    if access not in COVERAGE_ACCESS:
        r.fail("coverage.access", f"must be one of {', '.join(COVERAGE_ACCESS)}, got {access!r}")
    else:
        settings.access = access
    default = r.get(table, "default_threshold_km", float, "coverage", 5.0)
    if default <= 0:
        r.fail("coverage.default_threshold_km", f"must be positive, got {default!r}")
    settings.default_threshold_km = default
    thresholds = r.get(table, "threshold_km", dict, "coverage", None)
    if thresholds is not None:
        keys = {c.key for c in categories}
        settings.threshold_km = {}
        for key, value in thresholds.items():
            where = f"coverage.threshold_km.{key}"
            if key not in keys:
                r.fail(where, "is not a category key of this instance")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                r.fail(where, f"must be a positive number of kilometres, got {value!r}")
            else:
                settings.threshold_km[key] = float(value)
    languages = r.get(table, "languages", list, "coverage", None)
    if languages is not None:
        bad = [code for code in languages if code not in ISO_639_1]
        if bad:
            r.fail("coverage.languages", f"has unknown language code {bad[0]!r} (ISO 639-1)")
        settings.languages = [str(code) for code in languages]
    evening = r.get(table, "evening_from", str, "coverage", "18:00")
    if not TIME_OF_DAY.match(evening):
        r.fail("coverage.evening_from", f"must be a time HH:MM, got {evening!r}")
    settings.evening_from = evening
    return settings


def _synonym_rules(r: _Reader, table: dict) -> tuple[str, ...]:
    """``search.synonyms``: a list of rules in the format of the shipped synonym list."""
    rules = r.get(table, "synonyms", list, "search", [])
    for number, rule in enumerate(rules, start=1):
        where = f"search.synonyms[{number}]"
        if not isinstance(rule, str):
            r.fail(where, f"must be a string like 'alzheimer, demenz', got {rule!r}")
            continue
        try:
            Synonyms().add_rule(rule, where)
        except SynonymError as exc:
            r.fail(where, str(exc).removeprefix(f"{where}: "))
    return tuple(rule for rule in rules if isinstance(rule, str))
