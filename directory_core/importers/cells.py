"""Cell converters of the column mapping: each turns one cell of a row into a field
value or raises ``ValueError`` with the reason. Split from ``mapping.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..model import ScheduleRule
from ..schedule_text import parse_rules
from ..validation import EMAIL, PHONE, POSTCODE, WEBSITE

if TYPE_CHECKING:  # pragma: no cover
    pass

LIST_SEPARATORS = re.compile(r"\s*[;,]\s*")

TRUE_WORDS = frozenset({"ja", "j", "x", "yes", "y", "true", "wahr", "1", "✓", "✔"})
FALSE_WORDS = frozenset({"nein", "n", "no", "false", "falsch", "0", "-"})
_DATE_DE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:,?\s+(\d{1,2}):(\d{2}))?$")


def is_blank(value: Any) -> bool:
    """An empty cell: ``None``, ``""`` or only white space (``False`` and 0 are values)."""
    return value is None or (isinstance(value, str) and not value.strip())


# -- cell converters: each returns the field value or raises ValueError(reason) ----------


def to_text(value: Any) -> str:
    """Text of a cell; whole numbers lose the ".0" a spreadsheet gives them."""
    if type(value) is str:  # most cells: the checks below cannot apply
        return value.strip()
    if isinstance(value, bool) or isinstance(value, list | dict):
        raise ValueError(f"must be text, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def to_bool(value: Any) -> bool:
    """ja/nein, x, yes/no, true/false, 1/0 (case does not matter)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = str(value).strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"must be ja or nein (also yes/no, true/false, x, 1/0), got {value!r}")


def to_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise ValueError(f"must be a whole number, got {value!r}")


def to_decimal(value: Any) -> str:
    """A number as text; German "1.234,50" and "3,5" are read as 1234.50 and 3.5."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {value!r}")
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        text = str(value).strip().replace(" ", "").removesuffix("€")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"must be a number, got {value!r}")
    return str(number)


def to_float(value: Any) -> float:
    return float(to_decimal(value))


def to_date(value: Any) -> date:
    """A date cell, "31.12.2026" or "2026-12-31"."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = _DATE_DE.match(text)
    try:
        if match and match.group(4) is None:
            day, month, year = (int(g) for g in match.group(1, 2, 3))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"must be a date like 31.12.2026 or 2026-12-31, got {value!r}") from None


def to_datetime(value: Any) -> datetime:
    """A date or date and time; without a time zone it is taken as UTC."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        match = _DATE_DE.match(text)
        try:
            if match:
                day, month, year = (int(g) for g in match.group(1, 2, 3))
                hour, minute = int(match.group(4) or 0), int(match.group(5) or 0)
                result = datetime(year, month, day, hour, minute)
            else:
                result = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"must be a date like 31.12.2026 (or 2026-12-31T10:00), got {value!r}"
            ) from None
    return result if result.tzinfo else result.replace(tzinfo=UTC)


def to_list(value: Any) -> list[Any]:
    """Items of a cell separated by ';' or ',' (or a JSON list)."""
    if isinstance(value, list | tuple):
        return [v for v in value if not is_blank(v)]
    return [item for item in LIST_SEPARATORS.split(to_text(value)) if item]


def to_postcode(value: Any) -> str:
    """Five digits; numbers from spreadsheets (44263.0, 1067 for 01067) are repaired."""
    if isinstance(value, bool):
        raise ValueError(f"must be five digits, got {value!r}")
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        text = str(int(value)).zfill(5)
    else:
        text = to_text(value)
    if not POSTCODE.match(text):
        raise ValueError(f"must be five digits, got {to_text(value)!r}")
    return text


def to_schedule(value: Any) -> list[ScheduleRule]:
    """Text ("Di 14-16 Uhr; jeden 2. Mi 10-12") or a JSON list of texts and rule objects."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return parse_rules(to_text(value))
    rules: list[ScheduleRule] = []
    for item in value:
        if isinstance(item, dict):
            allowed = {"weekday", "start", "end", "frequency", "interval", "weeks_of_month"}
            unknown = sorted(set(item) - allowed)
            if unknown or not {"weekday", "start", "end"} <= set(item):
                raise ValueError(
                    f"a rule object has the keys {', '.join(sorted(allowed))} "
                    f"(weekday, start, end required), got {', '.join(sorted(item))}"
                )
            rules.append(ScheduleRule(**item))
        else:
            rules.extend(parse_rules(to_text(item)))
    return rules


def _checked(pattern: re.Pattern[str], what: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = to_text(value)
        if not pattern.match(text):
            raise ValueError(f"{what}, got {text!r}")
        return text

    return convert


to_email = _checked(EMAIL, "must be an e-mail address")
to_website = _checked(WEBSITE, "must be an http(s) address")
to_phone = _checked(PHONE, "may hold only digits, spaces and + ( ) / - .")
