"""The offline gazetteer: postcode centroids and district points shipped with the package.

It answers "where is 44263?" and "where is Hörde?" with no network, from the files in
``directory_core/data/`` (see ``data/ATTRIBUTION.md`` for origin, licence and how exact the
points are: 1–5 km). A city name alone ("Bochum") is deliberately not resolved: its centre
would be too coarse for a search near a client's home.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.resources import files

from .geo import validate_lat_lon
from .model import District, Location, Precision

SOURCES = ("gazetteer", "nominatim")
_PRECISIONS = frozenset(p.value for p in Precision)
_POSTCODE_RE = re.compile(r"(?<!\d)(\d{5})(?!\d)")
_PREFIX_RE = re.compile(r"^(?:stadtbezirk|bezirk)-")
_SHIPPED_POINT_NOTE = "Wikipedia-Infobox-Punkt, kein Flächenmittelpunkt (ca. 1–5 km genau)"


@dataclass(frozen=True)
class GeocodeResult:
    """A resolved location: where, how exactly, and how to show it to a person."""

    lat: float
    lon: float
    precision: str  # a ``Precision`` value: "manual", "address", "postcode", "district"
    label: str  # e.g. "44263 Dortmund (Postleitzahl, Mittelpunkt)"
    source: str = "gazetteer"  # "gazetteer" or "nominatim"

    def __post_init__(self) -> None:
        validate_lat_lon(self.lat, self.lon)
        if self.precision not in _PRECISIONS:
            raise ValueError(
                f"precision must be one of {sorted(_PRECISIONS)}, got {self.precision!r}"
            )
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)}, got {self.source!r}")

    def to_location(self) -> Location:
        """The model's ``Location`` for this result."""
        return Location(self.lat, self.lon, Precision(self.precision))


def name_key(text: str) -> str:
    """A comparison key: casefolded, umlauts spelled out, separators collapsed to "-".

    ``name_key("Dortmund-Hörde") == name_key("dortmund hoerde") == "dortmund-hoerde"``.
    """
    text = unicodedata.normalize("NFC", text).casefold()
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return _ascii_slug(text)


def _plain_key(text: str) -> str:
    """Like ``name_key`` but with umlauts reduced to their base letter ("Horde")."""
    return _ascii_slug(unicodedata.normalize("NFC", text).casefold())


def _ascii_slug(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def find_postcodes(text: str) -> list[str]:
    """All five-digit groups in ``text`` that could be German postcodes, in order."""
    return _POSTCODE_RE.findall(text)


@dataclass(frozen=True)
class _Postcode:
    plz: str
    place: str
    lat: float
    lon: float
    shared_point: bool


@dataclass(frozen=True)
class _DistrictEntry:
    key: str
    name: str
    city: str | None
    lat: float
    lon: float
    from_instance: bool
    point_note: str

    @property
    def display_name(self) -> str:
        if not self.city or name_key(self.name).startswith(name_key(self.city)):
            return self.name
        return f"{self.city}-{self.name}"

    def aliases(self) -> Iterator[str]:
        names = [self.name]
        if self.city and name_key(self.name).startswith(name_key(self.city) + "-"):
            names.append(self.name[len(self.city) + 1 :])  # "Bochum-Ost" -> "Ost"
        for name in names:
            forms = [name]
            if self.city:
                forms += [f"{self.city}-{name}", f"{name} {self.city}"]
            for form in forms:
                yield name_key(form)
                yield _plain_key(form)
        yield name_key(self.key)


def _data_file(name: str) -> Iterable[dict[str, str]]:
    with files("directory_core").joinpath("data", name).open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


@cache
def _load_postcodes() -> dict[str, _Postcode]:
    """The shipped postcode centroids, read once per process."""
    return {
        row["plz"]: _Postcode(
            plz=row["plz"],
            place=row["places"].split(";")[0].strip(),
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            shared_point=row["quality_flag"].startswith("coord_shared"),
        )
        for row in _data_file("plz_de.csv")
    }


@cache
def _load_shipped_districts() -> tuple[_DistrictEntry, ...]:
    """The shipped district points (rows without coordinates are skipped), read once."""
    return tuple(
        _DistrictEntry(
            key=name_key(row["stadtbezirk"]),
            name=row["stadtbezirk"],
            city=row["city"],
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            from_instance=False,
            point_note=_SHIPPED_POINT_NOTE,
        )
        for row in _data_file("stadtbezirke.csv")
        if row["lat"] and row["lon"]
    )


def _postcode_result(row: _Postcode) -> GeocodeResult:
    how = "grober Platzhalterpunkt, Ortsmitte" if row.shared_point else "Mittelpunkt"
    label = f"{row.plz} {row.place} (Postleitzahl, {how})"
    return GeocodeResult(row.lat, row.lon, Precision.POSTCODE.value, label)


class Gazetteer:
    """Offline look-ups of postcodes and districts.

    ``districts`` are an instance's own district points (e.g. Bochum districts the shipped
    data has no coordinates for); they belong to ``city`` and win over shipped points with
    the same name. ``city`` also breaks ties when a bare name exists in several cities.
    """

    def __init__(self, districts: Iterable[District] = (), *, city: str | None = None) -> None:
        self.city = city
        self._extra = tuple(
            _DistrictEntry(
                key=d.key,
                name=d.name,
                city=city,
                lat=d.lat,
                lon=d.lon,
                from_instance=True,
                point_note=d.point_note,
            )
            for d in districts
        )

    @cached_property
    def _district_index(self) -> dict[str, list[_DistrictEntry]]:
        index: dict[str, list[_DistrictEntry]] = {}
        for entry in (*self._extra, *_load_shipped_districts()):
            for alias in entry.aliases():
                bucket = index.setdefault(alias, [])
                if entry not in bucket:
                    bucket.append(entry)
        return index

    def postcode(self, plz: str | int) -> GeocodeResult | None:
        """The centroid of a German area postcode, or ``None`` if it is unknown."""
        code = f"{plz:05d}" if isinstance(plz, int) else plz.strip()
        row = _load_postcodes().get(code)
        return None if row is None else _postcode_result(row)

    def postcodes_in(
        self, place: str, *, include_shared_points: bool = False
    ) -> dict[str, GeocodeResult]:
        """The postcodes whose (first) place name is ``place``, e.g. all of "Dortmund".

        Postcodes sitting on a shared placeholder point (44289, 44329, 44357 in Dortmund)
        are left out unless ``include_shared_points``.
        """
        wanted = name_key(place)
        return {
            row.plz: _postcode_result(row)
            for row in _load_postcodes().values()
            if name_key(row.place) == wanted and (include_shared_points or not row.shared_point)
        }

    def district(self, name_or_key: str, city: str | None = None) -> GeocodeResult | None:
        """The point of a district by name or key ("Hörde", "hoerde", "Dortmund-Hörde").

        Case, umlaut spelling and separators do not matter. Returns ``None`` if no
        district matches, or if a bare name is ambiguous between cities and neither
        ``city`` nor the gazetteer's city decides it.
        """
        entry = self._find_district(name_or_key, city)
        if entry is None:
            return None
        return GeocodeResult(
            entry.lat,
            entry.lon,
            Precision.DISTRICT.value,
            f"{entry.display_name} (Stadtbezirk, Bezugspunkt)",
        )

    def _find_district(self, text: str, city: str | None) -> _DistrictEntry | None:
        index = self._district_index
        candidates: list[_DistrictEntry] = []
        for key in (name_key(text), _plain_key(text)):
            key = _PREFIX_RE.sub("", key)
            candidates = index.get(key, [])
            if candidates:
                break
        if city is not None:
            candidates = [e for e in candidates if e.city and name_key(e.city) == name_key(city)]
        if any(e.from_instance for e in candidates):
            candidates = [e for e in candidates if e.from_instance]
        if len(candidates) > 1 and self.city is not None:
            local = [e for e in candidates if e.city and name_key(e.city) == name_key(self.city)]
            candidates = local or candidates
        return candidates[0] if len(candidates) == 1 else None

    def search(self, query: str) -> GeocodeResult | None:
        """Resolve free text: a postcode anywhere in it, else a district name.

        "Hörder Bahnhofstraße 16, 44263 Dortmund" and "44263 Dortmund" give the postcode
        centroid; "Dortmund-Hörde", "Hörde" or "Hörde, Dortmund" the district point. A city
        name alone ("Bochum") and unknown text give ``None``.
        """
        text = " ".join(query.split())
        if not text:
            return None
        for plz in find_postcodes(text):
            result = self.postcode(plz)
            if result is not None:
                return result
        rest = " ".join(_POSTCODE_RE.sub(" ", text).split())
        parts = [p.strip() for p in rest.split(",") if p.strip()]
        for candidate in dict.fromkeys([rest, *parts]):
            result = self.district(candidate)
            if result is not None:
                return result
        return None

    def district_points(self, city: str | None = None) -> list[District]:
        """All district points as model ``District`` objects (instance ones first)."""
        seen: set[tuple[str, str]] = set()
        result: list[District] = []
        for entry in (*self._extra, *_load_shipped_districts()):
            if city is not None and (not entry.city or name_key(entry.city) != name_key(city)):
                continue
            ident = (name_key(entry.city or ""), name_key(entry.name))
            if ident in seen:
                continue
            seen.add(ident)
            result.append(
                District(entry.key, entry.name, entry.lat, entry.lon, point_note=entry.point_note)
            )
        return result
