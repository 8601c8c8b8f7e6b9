"""Errors the API shows to clients, and the checks of argument values that raise them.

A wrong argument is answered with a GraphQL error (HTTP 200, ``errors``) whose message
names the argument and says what is allowed, e.g.
``Argument "radiusKm": must be greater than 0 and at most 50 km, got -1`` or, for a
field of an input object, ``Argument "near": near.lat must be between -90 and 90, got
200``. The path is also in ``extensions.argument``. Only ``PublicError`` messages reach
clients; any other exception is masked (see ``app.build_schema``).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from directory_search.text import query_terms

from directory_core.labels import LanguageError, check_language
from directory_core.languages import ISO_639_1
from directory_core.model import WEEKDAYS
from directory_core.validation import POSTCODE, TIME

if TYPE_CHECKING:  # pragma: no cover
    from directory_core.directory import Directory
    from directory_core.instance import Limits

    from .inputs import GeoInput, OfferFilter, OfferSort

MAX_TEXT_LENGTH = 200
QUOTE_LENGTH = 80  # of a client's value quoted in an error message
_TOP_ARGUMENT = re.compile(r"^[^.\[]+")


class PublicError(Exception):
    """An error whose message is meant for the client (others are masked).

    ``extensions`` end up in the GraphQL error (graphql-core copies them from the
    original exception).
    """

    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any):
        super().__init__(message)
        self.message = message
        self.extensions = {"code": self.code, **extensions}


class InputError(PublicError):
    """An argument value is not allowed; ``path`` names it, e.g. ``near.lat``."""

    code = "BAD_USER_INPUT"

    def __init__(self, path: str, problem: str):
        argument = _TOP_ARGUMENT.match(path).group(0)  # type: ignore[union-attr]
        text = problem if path == argument else f"{path} {problem}"
        super().__init__(f'Argument "{argument}": {text}', argument=path)
        self.path = path
        self.problem = problem


class Unauthenticated(PublicError):
    """The field needs a signed-in caller, or the credentials sent are not valid."""

    code = "UNAUTHENTICATED"


class Forbidden(PublicError):
    """The caller is known but lacks the right (``extensions.carrier`` names the carrier
    whose offers it may not write, when there is one)."""

    code = "FORBIDDEN"


class Conflict(PublicError):
    """The offer changed since the caller read it (``extensions.currentVersion``)."""

    code = "CONFLICT"


class OfferInputError(PublicError):
    """An offer failed the validator: ``extensions.argument`` is the first field path
    (``input.address.postcode``), ``extensions.fields`` lists every problem."""

    code = "BAD_USER_INPUT"

    def __init__(self, argument: str, errors: list[tuple[str, str]]):
        fields = [{"field": f"{argument}.{name}", "message": text} for name, text in errors]
        listed = "; ".join(f"{f['field']} {f['message']}" for f in fields)
        super().__init__(
            f'Argument "{argument}": {listed}', argument=fields[0]["field"], fields=fields
        )


class ServiceUnavailable(PublicError):
    """A backend the answer needs is down (the store still holds everything)."""

    code = "SERVICE_UNAVAILABLE"


def quote(value: object, length: int = QUOTE_LENGTH) -> str:
    """``repr(value)`` for an error message, cut to ``length`` characters (with "…"):
    a 100 kB argument must not come back as a 100 kB error."""
    text = repr(value)
    return text if len(text) <= length else text[: length - 1] + "…"


def _num(value: float) -> str:
    return f"{value:g}"


def _listing(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "none"


# -- near -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NearForm:
    """Which form of ``GeoInput`` was used and its checked value."""

    form: str  # "point", "address", "postcode" or "district"
    lat: float = 0.0
    lon: float = 0.0
    text: str = ""


def check_near(near: GeoInput) -> NearForm:
    """Exactly one of lat+lon, address, postcode, district, each with a usable value."""
    given = [
        name
        for name in ("lat", "lon", "address", "postcode", "district")
        if getattr(near, name) is not None
    ]
    forms = ["lat+lon" if name in ("lat", "lon") else name for name in given]
    forms = list(dict.fromkeys(forms))
    allowed = "exactly one of lat+lon (together), address, postcode or district"
    if not forms:
        raise InputError("near", f"is empty: give {allowed}")
    if len(forms) > 1:
        raise InputError("near", f"allows {allowed}, got {' and '.join(forms)}")
    form = forms[0]
    if form == "lat+lon":
        if near.lat is None:
            raise InputError("near.lat", "is required together with near.lon")
        if near.lon is None:
            raise InputError("near.lon", "is required together with near.lat")
        for name, value, limit in (("lat", near.lat, 90), ("lon", near.lon, 180)):
            if not math.isfinite(value) or not -limit <= value <= limit:
                raise InputError(
                    f"near.{name}", f"must be between -{limit} and {limit}, got {_num(value)}"
                )
        return NearForm("point", lat=near.lat, lon=near.lon)
    text = " ".join(getattr(near, form).split())
    if not text:
        raise InputError(f"near.{form}", "must not be empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise InputError(
            f"near.{form}", f"must be at most {MAX_TEXT_LENGTH} characters, got {len(text)}"
        )
    if form == "postcode" and not POSTCODE.match(text):
        raise InputError("near.postcode", f"must be a five-digit postcode, got {quote(text)}")
    return NearForm(form, text=text)


# -- the other arguments of ``offers`` ---------------------------------------------------


def check_radius(radius_km: float | None, has_near: bool, limits: Limits) -> float | None:
    """The radius to search in: the instance's maximum when ``near`` comes without one."""
    maximum = limits.max_radius_km
    if radius_km is None:
        return maximum if has_near else None
    if not has_near:
        raise InputError("radiusKm", "needs near (the point to measure from)")
    if not math.isfinite(radius_km) or not 0 < radius_km <= maximum:
        raise InputError(
            "radiusKm",
            f"must be greater than 0 and at most {_num(maximum)} km, got {_num(radius_km)}",
        )
    return radius_km


def check_text(text: str | None) -> str | None:
    """Blank text means no text; text without any word to search for ("*", "-", an
    emoji) is an error rather than a search that silently matches everything."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_TEXT_LENGTH:
        raise InputError("text", f"must be at most {MAX_TEXT_LENGTH} characters, got {len(text)}")
    if not query_terms(text):  # the search backends' own notion of a word
        raise InputError(
            "text",
            "has no word to search for (letters or digits); leave text out to list all offers",
        )
    return text.strip()


def check_sort(sort: OfferSort | None, has_near: bool, has_text: bool) -> str | None:
    if sort is None:
        return None
    value = sort.value
    if value == "distance" and not has_near:
        raise InputError("sort", "DISTANCE needs near; use TITLE, or RELEVANCE with text")
    if value == "relevance" and not has_text:
        raise InputError("sort", "RELEVANCE needs text; use TITLE, or DISTANCE with near")
    return value


def check_first(first: int | None, limits: Limits) -> int:
    if first is None:
        return limits.default_page_size
    if not 0 <= first <= limits.max_page_size:
        raise InputError("first", f"must be between 0 and {limits.max_page_size}, got {first}")
    return first


def check_filter(flt: OfferFilter | None, directory: Directory) -> dict[str, Any]:
    """The ``SearchQuery`` fields for ``filter``; unknown keys and codes are errors."""
    if flt is None:
        return {}
    query: dict[str, Any] = {"include_archived": bool(flt.include_archived)}
    if flt.kinds:
        query["kinds"] = tuple(dict.fromkeys(k.value for k in flt.kinds))
    if flt.channels:
        query["channels"] = tuple(dict.fromkeys(c.value for c in flt.channels))
    if flt.accessibility:
        query["accessibility"] = tuple(dict.fromkeys(a.value for a in flt.accessibility))
    known = (
        ("categories", directory.taxonomy.by_key, "category"),
        ("districts", directory.district_by_key, "district"),
        ("carriers", directory.carrier_by_key, "carrier"),
        ("languages", ISO_639_1, "language code"),
    )
    for name, keys, what in known:
        values = getattr(flt, name)
        if not values:
            continue
        unknown = [v for v in values if v not in keys]
        if unknown:
            allowed = (
                "ISO 639-1 codes such as de, en, tr, ru, ar"
                if name == "languages"
                else _listing(keys)
            )
            raise InputError(
                f"filter.{name}", f"has unknown {what} {quote(unknown[0])}; allowed: {allowed}"
            )
        query[name] = tuple(dict.fromkeys(values))
    if flt.free_of_charge is not None:
        query["free_of_charge"] = flt.free_of_charge
    if flt.open_on is not None:
        query["open_on"] = WEEKDAYS.index(flt.open_on.value)
    if flt.open_at is not None:
        if not TIME.match(flt.open_at):
            raise InputError(
                "filter.openAt", f"must be a time HH:MM (00:00 to 23:59), got {quote(flt.open_at)}"
            )
        if flt.open_on is None:
            raise InputError("filter.openAt", "needs filter.openOn (the weekday)")
        query["open_at"] = flt.open_at
    return query


# -- other queries -------------------------------------------------------------------------


def check_offer_id(value: str) -> str:
    """Offer ids are UUIDs; returned in their canonical form."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise InputError("id", f"must be an offer id (a UUID), got {quote(value)}") from None


def check_geocode_query(query: str) -> str:
    text = " ".join(query.split())
    if not text:
        raise InputError("query", "must not be empty: give an address, postcode or district")
    if len(text) > MAX_TEXT_LENGTH:
        raise InputError("query", f"must be at most {MAX_TEXT_LENGTH} characters, got {len(text)}")
    return text


def check_lang(lang: str | None, argument: str = "lang") -> str:
    """A page language of ``directory_core.labels`` (default German), else an error
    listing the allowed codes."""
    try:
        return check_language(lang)
    except LanguageError as exc:
        raise InputError(argument, str(exc)) from None
