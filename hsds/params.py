"""Query parameters of the HSDS API, checked as strictly as the GraphQL arguments.

Every problem is a ``ParameterError`` naming the parameter; the app answers it with
400 and ``{"error": {"code": "BAD_PARAMETER", "parameter": ..., "message": ...}}``.
Unknown parameters are errors too, so a misspelt filter never silently widens a result.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from directory_core.instance import Limits

MAX_TEXT_LENGTH = 200  # as GraphQL's ``text``
_POSTCODE = re.compile(r"^\d{5}$")
_PLUS_OFFSET = re.compile(r"(?<=:\d\d) (\d\d:?\d\d)$")


class ParameterError(ValueError):
    """A query parameter is wrong; ``parameter`` names it."""

    def __init__(self, parameter: str, problem: str):
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter


class Params:
    """The query string of one request, with typed, checked getters."""

    def __init__(self, query: Any, allowed: Iterable[str] = ()):
        """``query``: Starlette's ``QueryParams``; ``allowed``: the endpoint's parameters."""
        self.query: Mapping[str, str] = query
        allowed = set(allowed)
        for name in query:
            if name not in allowed:
                known = ", ".join(sorted(allowed)) or "none"
                raise ParameterError(name, f"is not a parameter of this endpoint; allowed: {known}")
        for name in allowed:
            if len(query.getlist(name)) > 1:
                raise ParameterError(name, "is given more than once")

    def text(self, name: str) -> str | None:
        value = self.query.get(name)
        if value is None or not value.strip():
            return None
        if len(value) > MAX_TEXT_LENGTH:
            raise ParameterError(
                name, f"must be at most {MAX_TEXT_LENGTH} characters, got {len(value)}"
            )
        return value.strip()

    def boolean(self, name: str) -> bool:
        value = self.query.get(name)
        if value is None:
            return False
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0", ""):
            return False
        raise ParameterError(name, f"must be true or false, got {value!r}")

    def integer(self, name: str, default: int, low: int, high: int | None) -> int:
        value = self.query.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise ParameterError(name, f"must be a whole number, got {value!r}") from None
        if number < low or (high is not None and number > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ParameterError(name, f"must be {bound}, got {number}")
        return number

    def number(self, name: str, low: float, high: float) -> float | None:
        value = self.query.get(name)
        if value is None or value == "":
            return None
        try:
            number = float(value)
        except ValueError:
            raise ParameterError(name, f"must be a number, got {value!r}") from None
        if not math.isfinite(number) or not low <= number <= high:
            raise ParameterError(name, f"must be between {low:g} and {high:g}, got {value}")
        return number

    def moment(self, name: str) -> datetime | None:
        """An ISO 8601 date or date-time (UTC when it has no offset)."""
        value = self.query.get(name)
        if value is None or value == "":
            return None
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            # an unencoded "+01:00" arrives as " 01:00" (a "+" in a query string is a space)
            value = _PLUS_OFFSET.sub(r"+\1", value)
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ParameterError(
                name, f"must be an ISO 8601 date or date-time, got {value!r}"
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def format(self) -> None:
        value = self.query.get("format")
        if value not in (None, "", "json"):
            raise ParameterError("format", f"only json is served, got {value!r}")


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def paging(params: Params, limits: Limits) -> Paging:
    """``page`` (from 1) and ``per_page`` (1 to the instance's maximum page size)."""
    params.format()
    return Paging(
        page=params.integer("page", 1, 1, 1_000_000),
        per_page=params.integer("per_page", limits.default_page_size, 1, limits.max_page_size),
    )


@dataclass(frozen=True)
class Near:
    """A checked nearby request: the postcode to geocode or a point, and a radius."""

    radius_km: float
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None


def near(params: Params, limits: Limits) -> Near | None:
    """``postcode`` (spec) or ``lat`` + ``lon`` (extension), with the radius as
    ``proximity`` in metres (spec) or ``radius_km`` (extension); without a radius the
    instance's maximum. A radius without a point is an error."""
    maximum = limits.max_radius_km
    postcode = params.text("postcode")
    lat = params.number("lat", -90, 90)
    lon = params.number("lon", -180, 180)
    if (lat is None) != (lon is None):
        missing = "lat" if lat is None else "lon"
        raise ParameterError(
            missing, "is required together with " + ("lon" if lat is None else "lat")
        )
    if postcode is not None and lat is not None:
        raise ParameterError("postcode", "cannot be combined with lat and lon; give one point")
    if postcode is not None and not _POSTCODE.match(postcode):
        raise ParameterError("postcode", f"must be five digits, got {postcode!r}")
    proximity = params.number("proximity", 0, math.inf)
    radius_km = params.number("radius_km", 0, math.inf)
    if proximity is not None and radius_km is not None:
        raise ParameterError("radius_km", "cannot be combined with proximity; give one radius")
    has_point = postcode is not None or lat is not None
    if (proximity is not None or radius_km is not None) and not has_point:
        name = "proximity" if proximity is not None else "radius_km"
        raise ParameterError(name, "needs postcode, or lat and lon (the point to measure from)")
    if not has_point:
        return None
    if proximity is not None:
        if not 0 < proximity <= maximum * 1000:
            raise ParameterError(
                "proximity",
                f"must be greater than 0 and at most {maximum * 1000:g} metres, got {proximity:g}",
            )
        radius = proximity / 1000
    elif radius_km is not None:
        if not 0 < radius_km <= maximum:
            raise ParameterError(
                "radius_km",
                f"must be greater than 0 and at most {maximum:g} km, got {radius_km:g}",
            )
        radius = radius_km
    else:
        radius = maximum
    return Near(radius_km=radius, postcode=postcode, lat=lat, lon=lon)
