"""The benchmark's data: one instance over the districts of Dortmund and Bochum, N invented
offers written to CSV files and loaded through the normal import path.

* ``write_instance`` writes the instance file of a run: the districts of both shipped
  instance files, their carriers, a fresh SQLite store in the run's directory, the
  search backend under test and the ``[importers.csv]`` column mapping of the files.
* ``write_offers_csv`` writes N offers from ``directory_core.sample.generate_offers``
  (every kind and category, German texts, clustered around the district points), one
  CSV file per carrier (a carrier imports its own listings), with German column names,
  ``;`` as delimiter and decimal commas, the way a spreadsheet saves them. Every row has
  street, postcode and city; ``COORDINATE_SHARE`` of the rows also give latitude and
  longitude (distinct points, as a carrier's system with geocoded addresses exports),
  the others only the address, so the offline gazetteer geocodes them by postcode.
* ``import_offers`` loads the files with ``run_import`` and the built-in ``csv``
  importer: validation, geocoding, district assignment, the store and the search index,
  exactly as ``directory import CARRIER csv FILE`` does.
* ``nearby_queries`` draws the query points (near the district points, fixed seed).
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from directory_core.gazetteer import Gazetteer
from directory_core.instance import Instance, load_instance
from directory_core.languages import LANGUAGE_LABELS
from directory_core.model import KIND_LABELS, District, Offer
from directory_core.sample import generate_offers
from directory_core.schedule_text import format_rules

from .errors import BenchError

CITY_FILES = ("dortmund.toml", "bochum.toml")
INSTANCE_KEY = "bench"

#: Rows that carry latitude and longitude; the rest are geocoded from their postcode.
COORDINATE_SHARE = 0.8
#: Area codes of the phone numbers, per city.
PHONE_PREFIXES = {"Dortmund": "0231", "Bochum": "0234"}

#: Offer field -> column of the CSV files (``[importers.csv.columns]``).
COLUMNS: dict[str, str] = {
    "external_id": "Nr",
    "title": "Angebot",
    "kind": "Art",
    "description": "Beschreibung",
    "categories": "Kategorien",
    "street": "Straße",
    "postcode": "PLZ",
    "city": "Ort",
    "lat": "Breitengrad",
    "lon": "Längengrad",
    "phone": "Telefon",
    "email": "E-Mail",
    "website": "Internet",
    "channels": "Zugang",
    "languages": "Sprachen",
    "schedule": "Zeiten",
    "wheelchair": "Rollstuhlgerecht",
    "hearing_loop": "Induktionsschleife",
    "easy_language": "Leichte Sprache",
    "accessibility_note": "Hinweis Barrierefreiheit",
    "cost": "Kosten",
    "target_groups": "Zielgruppen",
}
CHANNEL_WORDS = {
    "in_person": "vor Ort",
    "phone": "Telefon",
    "online": "online",
    "home_visit": "Hausbesuch",
}
#: The text terms of the text queries, used in turn.
TEXT_TERMS = ("demenz", "pflege", "beratung")
QUERY_SPREAD_KM = 1.5  # standard deviation of the query points around a district point


def source_instance_files(folder: Path | None = None) -> list[Path]:
    """The shipped instance files of Dortmund and Bochum (from ``folder``, else the
    repository's ``instances/``, else ``./instances``)."""
    folders = [folder] if folder else []
    folders += [Path(__file__).resolve().parents[1] / "instances", Path.cwd() / "instances"]
    for candidate in folders:
        files = [candidate / name for name in CITY_FILES]
        if all(f.is_file() for f in files):
            return files
    raise BenchError(
        f"cannot find {' and '.join(CITY_FILES)} in {', '.join(str(f) for f in folders)}; "
        "run from the repository or pass --instances DIR"
    )


@dataclass
class City:
    """One source instance: its city, districts, carriers and postcodes."""

    name: str
    districts: list[District]
    carriers: list[str]
    postcodes: list[tuple[str, float, float]]

    @classmethod
    def from_instance(cls, instance: Instance) -> City:
        codes = Gazetteer().postcodes_in(instance.city)
        if not codes:
            raise BenchError(f"the gazetteer knows no postcodes of {instance.city!r}")
        return cls(
            name=instance.city,
            districts=list(instance.districts),
            carriers=[c.key for c in instance.carriers],
            postcodes=sorted((code, r.lat, r.lon) for code, r in codes.items()),
        )


def load_sources(files: Sequence[Path]) -> list[Instance]:
    return [load_instance(f) for f in files]


# -- the instance file of a run ---------------------------------------------------------


def _toml(value: Any) -> str:
    """A TOML value for strings, numbers, booleans and lists of them (JSON spelling is
    valid TOML for these)."""
    return json.dumps(value, ensure_ascii=False)


def instance_text(
    sources: Sequence[Instance],
    store_file: Path,
    *,
    backend: str = "embedded",
    es_url: str | None = None,
    index_prefix: str | None = None,
) -> str:
    """The TOML of the run's instance: districts and carriers of ``sources``, the store
    in ``store_file``, the backend under test and the column mapping of the CSV files."""
    limits = sources[0].limits
    lines = [
        "# Written by `directory bench` for one benchmark run; deleted with the run.",
        "[instance]",
        f"key = {_toml(INSTANCE_KEY)}",
        f"name = {_toml('Benchmark ' + ' + '.join(s.city for s in sources))}",
        f"city = {_toml(sources[0].city)}",
        "",
        "[store]",
        f"url = {_toml(f'sqlite:///{store_file}')}",
        "",
        "[search]",
        f"backend = {_toml(backend)}",
    ]
    if backend == "elasticsearch":
        lines += [f"url = {_toml(es_url)}", f"index_prefix = {_toml(index_prefix)}"]
    lines += [
        "",
        "[limits]",
        f"max_radius_km = {limits.max_radius_km}",
        f"default_page_size = {limits.default_page_size}",
        f"max_page_size = {limits.max_page_size}",
        "",
        "[plugins]",
        "enabled = []",
        "",
        "[importers.csv]",
        'delimiter = ";"',
        'encoding = "utf-8"',
        "",
        "[importers.csv.columns]",
        *(f"{name} = {_toml(column)}" for name, column in COLUMNS.items()),
    ]
    seen: set[str] = set()
    for source in sources:
        for d in source.districts:
            lines += [
                "",
                "[[districts]]",
                f"key = {_toml(d.key)}",
                f"name = {_toml(d.name)}",
                f"lat = {d.lat!r}",
                f"lon = {d.lon!r}",
                f"point_note = {_toml(d.point_note)}",
            ]
        for c in source.carriers:
            if c.key in seen:
                continue
            seen.add(c.key)
            lines += ["", "[[carriers]]", f"key = {_toml(c.key)}", f"name = {_toml(c.name)}"]
            if c.website:
                lines.append(f"website = {_toml(c.website)}")
    return "\n".join(lines) + "\n"


def write_instance(path: Path, sources: Sequence[Instance], store_file: Path, **search: Any):
    """Write the run's instance file and load it back (as the server will).

    ``DIRECTORY_STORE_URL`` and ``DIRECTORY_ELASTICSEARCH_URL`` would override the file;
    the returned instance ignores them (the server's environment drops them too).
    """
    path.write_text(instance_text(sources, store_file, **search), encoding="utf-8")
    instance = load_instance(path)
    settings = instance.search
    if search.get("es_url"):
        settings = replace(settings, url=search["es_url"])
    return replace(instance, store_url=f"sqlite:///{store_file}", search=settings)


# -- the offers -------------------------------------------------------------------------


class _NearestPostcode:
    """The postcode whose centroid is nearest to a point, cached on a grid of about
    200 m (the cell centre decides, so the answer is deterministic)."""

    CELL = 0.002  # degrees

    def __init__(self, postcodes: list[tuple[str, float, float]]):
        self.postcodes = postcodes
        self.cache: dict[tuple[int, int], str] = {}

    def __call__(self, lat: float, lon: float) -> str:
        key = (round(lat / self.CELL), round(lon / self.CELL))
        code = self.cache.get(key)
        if code is None:
            clat, clon = key[0] * self.CELL, key[1] * self.CELL
            scale = math.cos(math.radians(clat)) ** 2
            code = min(
                self.postcodes, key=lambda p: (p[1] - clat) ** 2 + scale * (p[2] - clon) ** 2
            )[0]
            self.cache[key] = code
        return code


def _yes(flag: bool) -> str:
    return "ja" if flag else "nein"


def _decimal(value: float) -> str:
    return f"{value:.6f}".replace(".", ",")


def offer_row(offer: Offer, labels: dict[str, str], with_coordinates: bool) -> list[str]:
    """The CSV cells of one offer in ``COLUMNS`` order (German, as a carrier exports)."""
    location = offer.location
    values = {
        "external_id": offer.external_id or "",
        "title": offer.title,
        "kind": KIND_LABELS[offer.kind],
        "description": offer.description,
        "categories": "; ".join(labels[key] for key in offer.categories),
        "street": offer.address.street,
        "postcode": offer.address.postcode,
        "city": offer.address.city,
        "lat": _decimal(location.lat) if with_coordinates and location else "",
        "lon": _decimal(location.lon) if with_coordinates and location else "",
        "phone": offer.contact.phone,
        "email": offer.contact.email,
        "website": offer.contact.website,
        "channels": "; ".join(CHANNEL_WORDS[c] for c in offer.channels),
        "languages": "; ".join(LANGUAGE_LABELS[code] for code in offer.languages),
        "schedule": format_rules(offer.schedule.rules),
        "wheelchair": _yes(offer.accessibility.wheelchair),
        "hearing_loop": _yes(offer.accessibility.hearing_loop),
        "easy_language": _yes(offer.accessibility.easy_language),
        "accessibility_note": offer.accessibility.note,
        "cost": "kostenlos" if offer.cost.free_of_charge else offer.cost.note,
        "target_groups": "; ".join(offer.target_groups),
    }
    return [values[name] for name in COLUMNS]


@dataclass
class Dataset:
    """The CSV files of a run and what is in them."""

    files: list[tuple[str, Path]]  # (carrier, file)
    offers: int = 0
    seconds: float = 0.0
    bytes: int = 0
    with_coordinates: int = 0
    postcode_only: int = 0
    cities: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "offers": self.offers,
            "csv_files": len(self.files),
            "csv_bytes": self.bytes,
            "generate_seconds": round(self.seconds, 3),
            "with_coordinates": self.with_coordinates,
            "postcode_only": self.postcode_only,
            "cities": self.cities,
            "kinds": self.kinds,
            "categories": self.categories,
        }


def write_offers_csv(
    folder: Path, cities: Sequence[City], labels: dict[str, str], n: int, seed: int = 1
) -> Dataset:
    """Write ``n`` offers over ``cities`` (shares by number of districts) to one CSV
    file per carrier in ``folder``."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    total_districts = sum(len(c.districts) for c in cities)
    counts = [n * len(c.districts) // total_districts for c in cities]
    counts[0] += n - sum(counts)
    handles: dict[str, Any] = {}
    writers: dict[str, Any] = {}
    data = Dataset(files=[])
    kinds: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    try:
        for number, (city, count) in enumerate(zip(cities, counts, strict=True)):
            rng = random.Random(seed * 1000 + number)
            nearest = _NearestPostcode(city.postcodes)
            prefix = PHONE_PREFIXES.get(city.name)
            city_seed = seed * 1000 + number
            offers = generate_offers(city.districts, city.carriers, count, seed=city_seed)
            for offer in offers:
                location = offer.location
                assert location is not None  # the generator places every offer
                offer.address.postcode = nearest(location.lat, location.lon)
                offer.address.city = city.name
                if prefix:
                    offer.contact.phone = prefix + offer.contact.phone[4:]
                with_coordinates = rng.random() < COORDINATE_SHARE
                carrier = offer.carrier or city.carriers[0]
                writer = writers.get(carrier)
                if writer is None:
                    path = folder / f"angebote-{carrier}.csv"
                    handles[carrier] = path.open("w", encoding="utf-8", newline="")
                    writer = writers[carrier] = csv.writer(handles[carrier], delimiter=";")
                    writer.writerow(list(COLUMNS.values()))
                    data.files.append((carrier, path))
                writer.writerow(offer_row(offer, labels, with_coordinates))
                data.offers += 1
                data.with_coordinates += with_coordinates
                kinds[offer.kind] += 1
                categories.update(offer.categories)
            data.cities[city.name] = count
    finally:
        for handle in handles.values():
            handle.close()
    data.postcode_only = data.offers - data.with_coordinates
    data.kinds = dict(sorted(kinds.items()))
    data.categories = dict(sorted(categories.items()))
    data.bytes = sum(path.stat().st_size for _, path in data.files)
    data.seconds = time.perf_counter() - started
    return data


def import_offers(directory: Any, data: Dataset) -> dict[str, Any]:
    """Load the files of ``data`` with ``run_import`` and the ``csv`` importer (one run
    per carrier); every record must be created, none rejected."""
    from directory_core.importing import run_import

    started = time.perf_counter()
    created = 0
    per_run: list[float] = []
    for carrier, path in data.files:
        run_started = time.perf_counter()
        report = run_import(directory, carrier, "csv", str(path), user="bench")
        per_run.append(time.perf_counter() - run_started)
        if report.rejected:
            first = "; ".join(str(r) for r in report.rejected[:3])
            raise BenchError(
                f"{path.name}: {report.rejected_records} record(s) rejected, e.g. {first}"
            )
        created += len(report.created)
    seconds = time.perf_counter() - started
    if created != data.offers:
        raise BenchError(f"import created {created} offers, expected {data.offers}")
    return {
        "runs": len(data.files),
        "seconds": round(seconds, 3),
        "offers_per_second": round(data.offers / seconds, 1) if seconds else None,
        "slowest_run_seconds": round(max(per_run), 3),
    }


# -- queries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NearbyQuery:
    """A counsellor's search: a point, one category, and maybe a text term."""

    lat: float
    lon: float
    category: str
    text: str | None = None


def nearby_queries(
    districts: Sequence[District], categories: Iterable[str], count: int, seed: int
) -> list[NearbyQuery]:
    """``count`` queries at random points near random district points (normal spread of
    ``QUERY_SPREAD_KM``) with a random category; the same seed gives the same list."""
    rng = random.Random(seed)
    keys = sorted(categories)
    queries = []
    for _ in range(count):
        district = rng.choice(list(districts))
        lat = district.lat + rng.gauss(0, QUERY_SPREAD_KM) / 111.2
        lon = district.lon + rng.gauss(0, QUERY_SPREAD_KM) / (
            111.2 * math.cos(math.radians(district.lat))
        )
        queries.append(NearbyQuery(round(lat, 6), round(lon, 6), rng.choice(keys)))
    return queries


def with_text(queries: Sequence[NearbyQuery]) -> list[NearbyQuery]:
    """The same queries with a text term, ``TEXT_TERMS`` in turn."""
    return [replace(q, text=TEXT_TERMS[i % len(TEXT_TERMS)]) for i, q in enumerate(queries)]
