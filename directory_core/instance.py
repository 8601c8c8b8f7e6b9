"""An instance: one city's directory, configured by one TOML file.

See ``instances/dortmund.toml`` for a commented example. ``load_instance`` checks the
whole file and reports every problem with its place in the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directory_search.expansion import SynonymError, Synonyms

from .categories import Taxonomy, default_categories
from .model import Carrier, Category, District

KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class InstanceError(ValueError):
    """The instance file is missing or wrong; the message names file and place."""


@dataclass
class Limits:
    max_radius_km: float = 50.0
    default_page_size: int = 20
    max_page_size: int = 100
    max_query_depth: int = 12
    max_aliases: int = 20
    max_tokens: int = 4000


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
    path: str | None = None  # embedded: index file; default: the store's SQLite file
    url: str | None = None  # elasticsearch: cluster URL
    index_prefix: str | None = None  # elasticsearch: defaults to "directory-<instance key>"
    fallback: str | None = None  # "embedded": answer from it while Elasticsearch is down
    synonyms: tuple[str, ...] = ()  # synonym rules added to the shipped list (docs/search.md)


@dataclass
class Instance:
    key: str
    name: str
    city: str
    store_url: str
    search: SearchSettings = field(default_factory=SearchSettings)
    geocoder: GeocoderSettings = field(default_factory=GeocoderSettings)
    limits: Limits = field(default_factory=Limits)
    districts: list[District] = field(default_factory=list)
    carriers: list[Carrier] = field(default_factory=list)
    categories: list[Category] = field(default_factory=default_categories)
    plugins: list[str] = field(default_factory=list)  # enabled third-party plugins
    disabled_plugins: list[str] = field(default_factory=list)  # built-ins switched off
    plugin_settings: dict[str, Any] = field(default_factory=dict)  # [plugin.NAME] tables
    importers: dict[str, Any] = field(default_factory=dict)  # [importers.NAME] tables
    path: Path | None = None

    def taxonomy(self) -> Taxonomy:
        return Taxonomy(self.categories)


def _slug(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
    return re.sub(r"[^a-z0-9]+", "-", text.lower().translate(table)).strip("-")


class _Reader:
    """Pulls typed values out of the parsed TOML and collects errors with their place."""

    def __init__(self, source: str):
        self.source = source
        self.errors: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{self.source}: {where}: {message}")

    def get(self, table: dict, key: str, kind: type | tuple, where: str, default: Any = None):
        if key not in table:
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(f"{where}.{key}", f"must be a {names}, got {value!r}")
            return default
        return value

    def require(self, table: dict, key: str, kind: type | tuple, where: str):
        if key not in table:
            self.fail(f"{where}.{key}", "is required")
            return None
        return self.get(table, key, kind, where)


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
    head = data.get("instance", {})
    name = r.require(head, "name", str, "instance") or "?"
    city = r.get(head, "city", str, "instance", name)
    key = r.get(head, "key", str, "instance", _slug(name))
    if key and not KEY.match(key):
        r.fail("instance.key", f"must be lower-case letters, digits, '-', '_' or '.', got {key!r}")

    store = data.get("store", {})
    store_url = os.environ.get("DIRECTORY_STORE_URL") or r.get(
        store, "url", str, "store", f"sqlite:///var/{key}.sqlite"
    )

    search_table = data.get("search", {})
    search = SearchSettings(
        backend=r.get(search_table, "backend", str, "search", "embedded"),
        path=r.get(search_table, "path", str, "search"),
        url=os.environ.get("DIRECTORY_ELASTICSEARCH_URL")
        or r.get(search_table, "url", str, "search"),
        index_prefix=r.get(search_table, "index_prefix", str, "search") or f"directory-{key}",
        fallback=r.get(search_table, "fallback", str, "search"),
    )
    if search.backend not in ("embedded", "elasticsearch"):
        r.fail("search.backend", f"must be 'embedded' or 'elasticsearch', got {search.backend!r}")
    if search.backend == "elasticsearch" and not search.url:
        r.fail("search.url", "is required for the elasticsearch backend")
    if search.fallback not in (None, "embedded"):
        r.fail("search.fallback", f"must be 'embedded' if given, got {search.fallback!r}")
    search.synonyms = _synonym_rules(r, search_table)

    geo = data.get("geocoder", {})
    geocoder = GeocoderSettings(
        nominatim_url=r.get(geo, "nominatim_url", str, "geocoder") or None,
        user_agent=r.get(geo, "user_agent", str, "geocoder", "seniorennetz-directory"),
        min_delay_seconds=r.get(geo, "min_delay_seconds", float, "geocoder", 1.0),
        timeout_seconds=r.get(geo, "timeout_seconds", float, "geocoder", 5.0),
        country_codes=r.get(geo, "country_codes", str, "geocoder", "de"),
    )

    lim = data.get("limits", {})
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

    districts = []
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
        polygon = _polygon(r, d.get("polygon"), where) if "polygon" in d else None
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
    _unique(r, "districts", [d.key for d in districts])

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

    cat_table = data.get("categories", {})
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

    plugin_table = data.get("plugins", {})
    plugins = r.get(plugin_table, "enabled", list, "plugins", [])
    disabled = r.get(plugin_table, "disabled", list, "plugins", [])
    settings = {k: v for k, v in plugin_table.items() if isinstance(v, dict)}
    importers = data.get("importers", {})
    if not isinstance(importers, dict):
        r.fail("importers", "must be a table of importer settings")
        importers = {}

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
        districts=districts,
        carriers=carriers,
        categories=categories,
        plugins=[str(p) for p in plugins],
        disabled_plugins=[str(p) for p in disabled],
        plugin_settings=settings,
        importers=importers,
        path=path,
    )


def _table_list(r: _Reader, data: dict, key: str, where: str | None = None) -> list[dict]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        r.fail(where or key, "must be an array of tables ([[...]])")
        return []
    return value


def _polygon(r: _Reader, value: Any, where: str) -> list[list[tuple[float, float]]] | None:
    """``polygon = [[[lat, lon], ...], ...]``: rings, the first the outer boundary."""
    try:
        rings = [[(float(p[0]), float(p[1])) for p in ring] for ring in value]
    except (TypeError, ValueError, IndexError):
        r.fail(f"{where}.polygon", "must be a list of rings, each a list of [lat, lon] pairs")
        return None
    if not rings or any(len(ring) < 3 for ring in rings):
        r.fail(f"{where}.polygon", "each ring needs at least three points")
        return None
    return rings


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


def _unique(r: _Reader, where: str, keys: list[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            r.fail(where, f"key {key!r} appears twice")
        seen.add(key)
